"""Predict-O-Matic: fixed points vs brute force, learners' rest points, scoring incentives vs closed forms."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aflab.partial_agency import predict_o_matic as P


def brute_force_crossings(F, n=200_001):
    xs = np.linspace(0, 1, n)
    g = F(xs) - xs
    idx = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]
    return np.sort(np.concatenate([xs[idx], xs[g == 0]]))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(bias=st.floats(-3, 3), slope=st.floats(-12, 14))
def test_fixed_points_match_brute_force(bias, slope):
    F = P.LogisticResponse(bias, slope)
    roots = brute_force_crossings(F)
    # two crossings inside one cell of the 4001-point grid are (by design) invisible to sign changes
    assume(roots.size < 2 or np.diff(roots).min() > 2.5e-4)
    fps = P.fixed_points(F)
    assert len(fps) >= 1  # F: [0,1] -> (0,1) continuous => at least one fixed point
    for f in fps:
        assert abs(F(np.array([f.p]))[0] - f.p) < 1e-9
        assert f.stable == (f.slope < 1 - 1e-9)
        assert f.slope == pytest.approx(float(F.derivative(np.array([f.p]))[0]), abs=1e-12)
    crossings = [f for f in fps if f.kind != "tangent"]
    assert len(crossings) == roots.size


def test_three_fixed_points_symmetric():
    F = P.LogisticResponse(0.0, 8.0)
    fps = P.fixed_points(F)
    assert [f.kind for f in fps] == ["attracting", "repelling", "attracting"]
    assert fps[0].p == pytest.approx(1 - fps[2].p, abs=1e-12)
    assert fps[1].p == pytest.approx(0.5, abs=1e-12)
    assert fps[1].slope == pytest.approx(2.0)  # F'(1/2) = slope / 4


def test_tangent_fixed_point_found():
    fps = P.fixed_points(P.LogisticResponse(0.0, 4.0))  # F'(1/2) = 1: touches the diagonal
    assert len(fps) == 1 and fps[0].kind == "tangent" and fps[0].p == pytest.approx(0.5, abs=1e-6)


def test_custom_callable_and_bad_F():
    fps = P.fixed_points(lambda p: 0.2 + 0.5 * p)  # fixed point 0.4, slope 0.5 (finite differences)
    assert len(fps) == 1 and fps[0].p == pytest.approx(0.4) and fps[0].slope == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="probability"):
        P.fixed_points(lambda p: 2 * p)
    with pytest.raises(ValueError, match="grid"):
        P.fixed_points(lambda p: p, grid=3)


def test_myopic_learner_lands_on_stable_fixed_points_by_basin():
    F = P.LogisticResponse(0.3, 8.0)
    fps = P.fixed_points(F)
    b = P.basins(F, "log", "myopic", starts=np.linspace(0.02, 0.98, 49))
    assert (b["fixed_point_index"] >= 0).all()
    stable_idx = {i for i, f in enumerate(fps) if f.stable}
    assert set(b["fixed_point_index"]) <= stable_idx
    # the basin boundary is the repelling fixed point
    rep = next(f.p for f in fps if not f.stable)
    below = b["starts"] < rep - 0.01
    assert (b["final"][below] < rep).all() and (b["final"][b["starts"] > rep + 0.01] > rep).all()


def test_full_learner_rests_where_full_gradient_vanishes():
    F = P.LogisticResponse(0.3, 3.0)
    run = P.run_predictor(F, np.array([0.1, 0.5, 0.9]), "log", "full")
    assert run.converged.all()
    g = P.predictor_gradient(F, run.final, "log", "full")
    np.testing.assert_allclose(g, 0, atol=1e-6)
    assert np.all(np.abs(run.final - F(run.final)) > 1e-3)  # rest points are not fixed points


def test_non_performative_world_is_honest():
    F = P.LogisticResponse(0.7, 0.0)
    for rule in P.RULES:
        for mode in ("myopic", "full"):
            run = P.run_predictor(F, np.array([0.2, 0.8]), rule, mode)
            np.testing.assert_allclose(run.final, F(0.0), atol=1e-6)
        a = P.incentive_analysis(F, rule)
        assert a.optimum_is_fixed_point and a.incentive_to_misreport < 1e-9


def test_quadratic_score_optimal_report_closed_form():
    a, b = 0.3, 0.25  # F(p) = a + b p; G(p) = 4p(a+bp) - 2p^2 - 2(a+bp) + 1, maximised at (2a - b)/(2 - 4b)
    F = lambda p: a + b * np.asarray(p, dtype=float)
    an = P.incentive_analysis(F, "quadratic")
    assert an.optimal_report == pytest.approx((2 * a - b) / (2 - 4 * b), abs=1e-7)
    assert an.fixed_points[0].p == pytest.approx(a / (1 - b))
    assert not an.optimum_is_fixed_point
    assert an.misreport == pytest.approx((2 * a - b) / (2 - 4 * b) - (a + b * (2 * a - b) / (2 - 4 * b)), abs=1e-7)
    assert an.incentive_to_misreport > 0


def test_log_score_at_fixed_point_is_minus_entropy():
    F = P.LogisticResponse(0.0, 8.0)
    an = P.incentive_analysis(F, "log")
    for f, s in zip(an.fixed_points, an.honest_scores):
        assert s == pytest.approx(-f.entropy_bits * np.log(2), rel=1e-9)
    # the best honest report is the lowest-entropy fixed point
    assert np.argmax(an.honest_scores) == np.argmin([f.entropy_bits for f in an.fixed_points])


def test_scores_are_strictly_proper():
    q = np.linspace(0.05, 0.95, 19)
    ps = np.linspace(0.001, 0.999, 9999)
    for rule in P.RULES:
        best = ps[np.argmax(P.expected_score(ps[None, :], q[:, None], rule), axis=1)]
        np.testing.assert_allclose(best, q, atol=2e-3)
        np.testing.assert_allclose(P.score_slope(q, q, rule), 0, atol=1e-12)


def test_simplex_fixed_points_binary_equivalence_and_symmetry():
    # K = 2 with coupling s I is the binary logistic F with slope 2 s
    F2 = P.SoftmaxResponse(np.zeros(2), 4.0 * np.eye(2))
    fps2 = sorted(f.p[1] for f in P.fixed_points_simplex(F2, resolution=200))
    fps1 = [f.p for f in P.fixed_points(P.LogisticResponse(0.0, 8.0))]
    np.testing.assert_allclose(fps2, fps1, atol=1e-8)
    F3 = P.SoftmaxResponse(np.zeros(3), 6.0 * np.eye(3))
    fps3 = P.fixed_points_simplex(F3)
    assert len(fps3) == 7  # 3 vertices-ish (stable), 3 edge saddles, the centre
    for f in fps3:
        np.testing.assert_allclose(F3(f.p), f.p, atol=1e-9)
    assert sum(f.stable for f in fps3) == 3
    assert any(np.allclose(f.p, 1 / 3) and not f.stable for f in fps3)


def test_simplex_learners():
    F3 = P.SoftmaxResponse(np.array([0.5, 0.0, 0.0]), 6.0 * np.eye(3))
    starts = np.random.default_rng(0).dirichlet(np.ones(3), 30)
    stable = np.array([f.p for f in P.fixed_points_simplex(F3) if f.stable])
    run = P.run_predictor_simplex(F3, starts, "log", "myopic")
    d = np.linalg.norm(run.final[:, None, :] - stable[None], axis=-1).min(axis=1)
    assert (d < 1e-3).all()  # fixed points are > 0.4 apart; starts near a saddle converge slowly
    full = P.run_predictor_simplex(F3, starts, "log", "full")
    assert full.converged.mean() >= 0.5  # flat directions at the vertices converge slowly
    # locally, differentiating through F pushes the world past the nearby stable fixed point towards
    # a more predictable outcome (which basin is reached can differ: the mean over starts need not drop)
    near = np.linalg.norm(full.final[:, None, :] - stable[None], axis=-1).argmin(axis=1)
    assert np.all(P.entropy_bits_simplex(full.outcome_prob) < P.entropy_bits_simplex(stable[near]))
    with pytest.raises(ValueError, match="starts"):
        P.run_predictor_simplex(F3, np.ones((2, 2)), "log", "myopic")
    with pytest.raises(ValueError, match="rule"):
        P.run_predictor(P.LogisticResponse(), np.array([0.5]), "brier", "myopic")


def test_full_gradients_match_finite_differences_of_expected_score():
    from scipy.special import softmax

    F = P.LogisticResponse(0.4, 5.0)
    ps = np.linspace(0.05, 0.95, 7)
    for rule in P.RULES:
        G = lambda p, rule=rule: P.expected_score(p, F(p), rule)
        num = (G(ps + 1e-6) - G(ps - 1e-6)) / 2e-6
        np.testing.assert_allclose(P.predictor_gradient(F, ps, rule, "full"), num, rtol=1e-5, atol=1e-7)
    rng = np.random.default_rng(0)
    F3 = P.SoftmaxResponse(rng.uniform(-1, 1, 3), 3.0 * np.eye(3))
    for rule in P.RULES:
        u = rng.normal(size=3)
        G3 = lambda v, rule=rule: float((F3(softmax(v)) * P.simplex_scores(softmax(v)[None], rule)[0]).sum())
        num = np.array([(G3(u + h) - G3(u - h)) / 2e-6 for h in 1e-6 * np.eye(3)])
        p0 = softmax(u)[None]
        step = P.run_predictor_simplex(F3, p0, rule, "full", lr=1e-6, steps=1)
        du = (np.log(step.final[0]) - np.log(p0[0])) / 1e-6  # logits are defined up to a constant
        np.testing.assert_allclose(du - du.mean(), num - num.mean(), atol=1e-5)
