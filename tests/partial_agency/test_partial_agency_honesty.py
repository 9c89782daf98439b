"""Honesty mechanisms against independent references: first-order conditions, brute-force best responses,
a QP for the simplex projection, properness for the erasure oracle."""

import numpy as np
import pytest
from scipy import optimize

from aflab.partial_agency import honesty as Hn
from aflab.partial_agency import predict_o_matic as P


def test_logistic_as_softmax_is_the_binary_world():
    b = np.array([-0.7, 0.2, 1.1])
    F = Hn.logistic_as_softmax(b, 6.0)
    p = np.array([0.1, 0.5, 0.8])
    np.testing.assert_allclose(F(np.stack([1 - p, p], 1))[:, 1], P.LogisticResponse(b, 6.0)(p), atol=1e-12)


def test_projection_matches_a_quadratic_programme():
    rng = np.random.default_rng(0)
    v = rng.normal(0, 1, (20, 4))
    proj = Hn.project_simplex(v)
    for x, y in zip(v, proj):
        res = optimize.minimize(
            lambda w: np.sum((w - x) ** 2),
            np.full(4, 0.25),
            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
            bounds=[(0, 1)] * 4,
            method="SLSQP",
            options={"ftol": 1e-12},
        )
        np.testing.assert_allclose(y, res.x, atol=1e-5)


@pytest.mark.parametrize("rule", P.RULES)
def test_honest_symmetric_profiles_are_stationary_only_under_zero_sum(rule):
    """At p1 = p2 = a fixed point the zero-sum payoff gradients vanish (the influence terms cancel); with
    own-score payoffs they do not (each predictor wants to move the world)."""
    F1 = P.LogisticResponse(0.4, 3.0)
    (fp,) = P.fixed_points(F1)
    F = Hn.logistic_as_softmax(np.array([0.4]), 3.0)
    p = np.array([[1 - fp.p, fp.p]])
    ga, gb = Hn._payoff_gradients(F, p, p, rule, 1.0)
    tangent = lambda g: g[:, 1] - g[:, 0]
    assert abs(tangent(ga)[0]) < 1e-9 and abs(tangent(gb)[0]) < 1e-9
    ga, _ = Hn._payoff_gradients(F, p, p, rule, 0.0)
    assert abs(tangent(ga)[0]) > 1e-3


@pytest.mark.parametrize("rule", P.RULES)
def test_dishonest_ends_are_local_equilibria(rule):
    """In bistable worlds (slope 6) some independent starts end on asymmetric profiles that are not honest:
    each report is a best response to the other within +-0.05 (brute force on a fine local grid), so the play
    is stuck at a (local) equilibrium, not merely slow."""
    rng = np.random.default_rng(1)
    b = rng.uniform(-1, 1, 60)
    F = Hn.logistic_as_softmax(b, 6.0)
    s1, s2 = rng.dirichlet(np.ones(2), 60), rng.dirichlet(np.ones(2), 60)
    a, c = Hn.zero_sum_play(F, s1, s2, rule, steps=3000)
    pbar = (a + c) / 2
    gap = np.abs(F(pbar) - pbar).sum(1) / 2
    bad = np.nonzero(gap > 1e-3)[0]
    assert 0 < bad.size < 30
    assert (np.abs(a - c).sum(1)[bad] > 0.1).all()  # asymmetric: symmetric stationary profiles are honest
    for i in bad[:4]:
        Fi = P.LogisticResponse(b[i], 6.0)
        for me, other in ((a[i, 1], c[i, 1]), (c[i, 1], a[i, 1])):
            grid = np.clip(me + np.linspace(-0.05, 0.05, 2001), 1e-9, 1 - 1e-9)
            q = Fi((grid + other) / 2)
            pay = P.expected_score(grid, q, rule) - P.expected_score(other, q, rule)
            q_me = Fi(np.array([(me + other) / 2]))
            mine = P.expected_score(me, q_me, rule) - P.expected_score(other, q_me, rule)
            assert mine[0] >= pay.max() - 1e-6


@pytest.mark.parametrize("rule", P.RULES)
def test_erasure_oracle_answers_the_counterfactual_question(rule):
    F = Hn.logistic_as_softmax(np.array([0.8, -0.5]), 6.0)
    default = np.full((2, 2), 0.5)
    p = Hn.erasure_oracle(F, default, np.full((2, 2), 0.5), rule, np.random.default_rng(2), erase=1.0, rounds=20000)
    np.testing.assert_allclose(p, F(default), atol=0.02)


def test_reinforce_full_agent_finds_the_manipulative_optimum():
    rng = np.random.default_rng(3)
    b = np.full(8, 0.5)
    p = Hn.reinforce_predictor(b, 3.0, np.full(8, 0.5), "log", rng, rounds=8000)
    p_star, _ = P.optimal_report(P.LogisticResponse(0.5, 3.0), "log")
    fixed = P.fixed_points(P.LogisticResponse(0.5, 3.0))[0].p
    assert abs(p_star - fixed) > 0.02  # the optimum is a misreport here
    assert np.abs(p - p_star).mean() < 0.5 * abs(p_star - fixed)  # nearer the optimum than the honest report
