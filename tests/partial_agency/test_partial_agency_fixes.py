"""Regression tests for the fidelity defects of issue 17, each checked against an independent reference
(a theorem's constants by finite differences, numpy's own sampler, a closed-form orbit)."""

import numpy as np
import pytest

from aflab.partial_agency import learners as L
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.diagnostics import rrm_condition
from aflab.partial_agency.maps import LinearGaussianMap, location_family, make_strategic_instance


# ------------------------------------------------------------------------------------------ moving_label
def test_torch_world_moves_only_the_moving_label():
    """torch_world's sampler must shift exactly the agents that maps.shift shifts (only label moving_label)."""
    torch = pytest.importorskip("torch")
    from aflab.partial_agency.torch_switch import torch_world

    s = make_strategic_instance(0.5, n_agents=1000, seed=7, moving_label=0)
    sample, _ = torch_world(s)
    theta = np.array([[1.5, -2.0, 0.7]])
    z = sample(torch.tensor(theta), 20000, torch.Generator().manual_seed(0)).numpy()[0]
    X, y = z[:, :-1], z[:, -1]
    pop = s.population(theta)[0]
    for label in (0, 1):
        np.testing.assert_allclose(
            X[y == label].mean(0), pop[pop[:, -1] == label, :-1].mean(0), atol=0.05, err_msg=f"label {label}"
        )


def test_torch_full_learner_reaches_the_optimum_with_a_class_dependent_response():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from aflab.partial_agency.torch_switch import performative_descent, torch_world

    s = make_strategic_instance(0.5, n_agents=1000, seed=7, moving_label=0)
    ps, po = s.stable_point(), s.optimum()
    gap = np.linalg.norm(ps - po)
    assert gap > 0.3
    sample, loss = torch_world(s)
    full = performative_descent(sample, loss, np.zeros((1, 3)), "full", rounds=300, lr=1.0, n_samples=2000, seed=3)
    assert np.linalg.norm(full.limit[0] - po) < 0.1 * gap


# ------------------------------------------------------------------------------------------ beta
def test_location_beta_is_max_gamma_one_and_the_condition_follows_the_theorem():
    m = location_family(1.5, mu=(1.0,), gamma=2.0)
    assert m.beta == 2.0
    assert not rrm_condition(m.eps, m.gamma, m.beta).holds  # Thm 3.5 needs eps < gamma / beta = 1


def _lipschitz_theta_z(grad, theta, z, dz_fn, rng, trials=400):
    """Largest finite-difference Lipschitz ratios of grad(z, theta) in theta and in z."""
    lt = lz = 0.0
    for _ in range(trials):
        d = rng.standard_normal(theta.shape) * 1e-3
        lt = max(lt, float(np.linalg.norm(grad(z, theta + d) - grad(z, theta)) / np.linalg.norm(d)))
        dz = dz_fn(z.shape)
        lz = max(lz, float(np.linalg.norm(grad(z + dz, theta) - grad(z, theta)) / np.linalg.norm(dz)))
    return lt, lz


@pytest.mark.parametrize("seed", range(20))
def test_rrm_condition_on_random_linear_gaussian_instances(seed):
    """On random instances: beta bounds the measured joint smoothness, and where the condition holds the
    population RRM map contracts at rate <= eps beta / gamma (Perdomo et al. 2020 Thm 3.5)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    A = rng.standard_normal((d, d)) * rng.uniform(0.1, 1.5)
    m = LinearGaussianMap(rng.standard_normal(d), A, 1.0, float(rng.uniform(0.3, 3.0)), float(rng.uniform(0, 1)))
    theta = rng.standard_normal((1, d))
    z = rng.standard_normal((1, 1, d))
    lt, lz = _lipschitz_theta_z(
        lambda zz, th: m.grad_theta(zz, th), theta, z, lambda shape: rng.standard_normal(shape) * 1e-3, rng
    )
    assert max(lt, lz) <= m.beta * (1 + 1e-6)
    cond = rrm_condition(m.eps, m.gamma, m.beta)
    a, b = rng.standard_normal((2, 50, d)) * 5
    ratio = np.linalg.norm(m.rrm_population(a) - m.rrm_population(b), axis=1) / np.linalg.norm(a - b, axis=1)
    assert ratio.max() <= m.eps / m.gamma + 1e-9  # one step: |A|_2 / gamma (the spectral radius is asymptotic)
    if cond.holds:
        assert ratio.max() <= cond.rate_bound + 1e-9


def test_strategic_beta_bound_covers_theta_and_feature_smoothness():
    """The strategic beta_bound must dominate both Lipschitz constants of grad_theta l on its ball,
    measured by finite differences at the agent with the largest features."""
    s = make_strategic_instance(0.5, n_agents=500, seed=7)
    rng = np.random.default_rng(0)
    for radius in (0.2, 0.5, 1.0, np.sqrt(2 * np.log(2) / s.lam)):
        big = np.argmax(np.linalg.norm(s.features, axis=1))
        x = s.features[big]
        theta = (x / np.linalg.norm(x) * radius * 0.01)[None, :]  # near 0: sigmoid' = 1/4, the worst case
        z = np.concatenate([x, [0.0]])[None, None, :]
        lt, _ = _lipschitz_theta_z(s.grad_theta, theta, z, lambda shape: np.zeros(shape) + 1e-3, rng, trials=50)
        assert lt <= s.beta_bound(radius) * (1 + 1e-6), (radius, lt, s.beta_bound(radius))
        theta_edge = rng.standard_normal((1, 3))
        theta_edge *= radius / np.linalg.norm(theta_edge)
        _, lz = _lipschitz_theta_z(
            s.grad_theta,
            theta_edge,
            z,
            lambda shape: np.concatenate(
                [rng.standard_normal(shape[:-1] + (3,)) * 1e-3, np.zeros(shape[:-1] + (1,))], -1
            ),
            rng,
            trials=50,
        )
        assert lz <= s.beta_bound(radius) * (1 + 1e-6)
    assert np.linalg.norm(s.stable_point()) <= s.iterate_radius == pytest.approx(np.sqrt(2 * np.log(2) / s.lam))


def test_strategic_population_rrm_contracts_within_the_bound_where_the_condition_holds():
    s = make_strategic_instance(0.01, n_agents=500, seed=7)
    cond = rrm_condition(s.eps, s.gamma, s.beta)
    assert cond.holds
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20, 3))
    a *= np.sqrt(2 * np.log(2) / s.lam) / np.linalg.norm(a, axis=1, keepdims=True) * rng.uniform(0, 1, (20, 1))
    b = a + rng.standard_normal((20, 3)) * 0.1
    ratio = np.linalg.norm(s.rrm_population(a) - s.rrm_population(b), axis=1) / np.linalg.norm(a - b, axis=1)
    assert ratio.max() <= cond.rate_bound


# ------------------------------------------------------------------------------------------ convergence
def test_slow_geometric_approach_is_not_called_converged():
    """Population RRM at eps = 0.9 for 40 rounds is still ~0.15-0.25 from theta_PS = 10: not converged."""
    m = location_family(0.9, mu=(1.0,))
    ps = m.stable_point()
    assert ps[0] == pytest.approx(10.0)
    run = L.rrm(m, np.zeros((1, 1)), 40)
    assert run.status[0] != "converged"
    with pytest.raises(L.DivergenceError, match="settled"):
        run.require_converged()
    certified = L.rrm(m, np.zeros((1, 1)), 40, reference=ps, atol=1e-3)
    assert certified.status[0] == "not_converged"
    banach = L.rrm(m, np.zeros((1, 1)), 40, contraction=0.9, atol=1e-3)  # Thm 3.5's rate eps beta / gamma
    assert banach.status[0] == "not_converged"
    long = L.rrm(m, np.zeros((1, 1)), 300, contraction=0.9, atol=1e-3)
    assert long.status[0] == "converged"
    np.testing.assert_allclose(long.require_converged(), ps[None], atol=1e-3 + 1e-9 + 10 * 0.9**225)


def test_reference_certifies_noisy_learners():
    m = location_family(0.3, mu=(1.0, -0.5))
    rng = np.random.default_rng(0)
    run = L.rgd(m, np.zeros((3, 2)), 150, rng, lr=0.3, n_samples=2000, reference=m.stable_point(), atol=0.05)
    assert (run.status == "converged").all()
    far = L.rgd(m, np.zeros((3, 2)), 150, rng, lr=0.3, n_samples=2000, reference=m.optimum(), atol=0.05)
    assert (far.status == "not_converged").all()


# ------------------------------------------------------------------------------------------ Predict-O-Matic steps
def _learner_map(F, rule, lr):
    """The myopic learner's own update p -> p' (logit-space ascent), an independent re-implementation."""

    def step(p):
        u = np.log(p / (1 - p))
        slope = (F(p) - p) / (p * (1 - p)) if rule == "log" else 4 * (F(p) - p)
        u = u + lr * p * (1 - p) * slope
        return 1 / (1 + np.exp(-u))

    return step


@pytest.mark.parametrize("rule", P.RULES)
def test_fixed_point_stability_depends_on_the_learners_step(rule):
    F = P.LogisticResponse(0.0, -40.0)  # one fixed point p = 1/2 with F' = -10
    (fp,) = P.fixed_points(F)
    assert fp.p == pytest.approx(0.5) and fp.slope == pytest.approx(-10.0)
    w = 0.25 if rule == "log" else 4 * 0.25**2
    assert fp.max_stable_lr[rule] == pytest.approx(2 / (w * 11))
    (at_1,) = P.fixed_points(F, rule=rule, lr=1.0)
    assert at_1.multiplier == pytest.approx(1 - w * 11) and not at_1.stable and at_1.kind == "overshooting"
    (small,) = P.fixed_points(F, rule=rule, lr=0.05)
    assert small.stable and small.kind == "attracting"
    # the learner's map, derived independently: its derivative at p* is the multiplier
    step, h = _learner_map(F, rule, 1.0), 1e-6
    u = lambda p: np.log(p / (1 - p))
    deriv = (u(step(0.5 + h)) - u(step(0.5 - h))) / (u(0.5 + h) - u(0.5 - h))
    assert deriv == pytest.approx(at_1.multiplier, rel=1e-4)


@pytest.mark.parametrize("rule", P.RULES)
def test_two_cycles_are_detected_and_reported(rule):
    F = P.LogisticResponse(0.0, -40.0)
    b = P.basins(F, rule, "myopic")
    cycling = b["status"] == "2-cycle"
    assert cycling.sum() >= 190  # at lr = 1 the fixed point repels: almost every start ends on the cycle
    assert (b["fixed_point_index"][cycling] == -1).all()
    lo, hi = np.sort(np.stack([b["final"][cycling], b["cycle_partner"][cycling]]), axis=0)
    step = _learner_map(F, rule, 1.0)
    np.testing.assert_allclose(step(lo), hi, atol=1e-7)  # a genuine 2-cycle of the learner's own map
    np.testing.assert_allclose(step(hi), lo, atol=1e-7)
    assert lo.mean() == pytest.approx(1 - hi.mean(), abs=1e-6)  # symmetric about 1/2 (F is)
    slow = P.basins(F, rule, "myopic", lr=0.05)
    assert (slow["status"] == "fixed_point").mean() > 0.95
