"""Distribution maps against closed forms, Monte Carlo and independent solvers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from aflab.partial_agency.diagnostics import (
    estimate_sensitivity,
    performative_summary,
    rrm_condition,
)
from aflab.partial_agency.maps import (
    LinearGaussianMap,
    MixtureMap,
    MultiLearnerGame,
    location_family,
    make_strategic_instance,
    pricing_demand,
)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    eps=st.floats(0.0, 0.45),
    gamma=st.floats(1.0, 3.0),
    c=st.sampled_from([0.0, 0.5, 1.0]),
    mu=st.floats(-3, 3).filter(lambda m: abs(m) > 0.1),
)
def test_location_family_closed_forms(eps, gamma, c, mu):
    m = location_family(eps, mu=(mu,), sigma=0.7, gamma=gamma, c=c)
    # the formulas written out by hand (Miller et al. 2021 sec. 2): PS = mu/(gamma-eps), PO = mu(1-c eps)/(gamma-2eps+c eps^2)
    assert m.stable_point()[0] == pytest.approx(mu / (gamma - eps), rel=1e-10)
    assert m.optimum()[0] == pytest.approx(mu * (1 - c * eps) / (gamma - 2 * eps + c * eps**2), rel=1e-10)
    # PO minimises PR: an independent scalar minimiser on the closed-form PR agrees
    res = optimize.minimize_scalar(lambda t: float(m.performative_risk(np.array([[t]]))[0]))
    assert res.x == pytest.approx(m.optimum()[0], abs=1e-5)
    # the gradient is the derivative of PR
    t0 = np.array([[0.3]])
    fd = (m.performative_risk(t0 + 1e-6) - m.performative_risk(t0 - 1e-6)) / 2e-6
    assert m.performative_gradient(t0)[0, 0] == pytest.approx(fd[0], rel=1e-5, abs=1e-7)


def test_squared_loss_has_ps_equal_po_and_c0_differs():
    sq = location_family(0.4, mu=(1.0, 2.0), gamma=1.0, c=1.0)
    np.testing.assert_allclose(sq.stable_point(), sq.optimum(), rtol=1e-12)
    lin = location_family(0.4, mu=(1.0, 2.0), gamma=1.0, c=0.0)
    np.testing.assert_allclose(lin.stable_point(), np.array([1.0, 2.0]) / 0.6)
    np.testing.assert_allclose(lin.optimum(), np.array([1.0, 2.0]) / 0.2)


def test_performative_risk_matches_monte_carlo():
    m = location_family(0.3, mu=(1.0, -1.0), sigma=0.8, gamma=1.5, c=0.5)
    rng = np.random.default_rng(0)
    theta = np.array([[0.7, 0.2]])
    z = m.sample(theta, 400_000, rng)
    mc = m.loss(z, theta)
    assert abs(mc.mean() - m.performative_risk(theta)[0]) < 5 * mc.std() / np.sqrt(mc.size)


def test_no_optimum_when_pr_unbounded():
    m = location_family(0.6, mu=(1.0,), c=0.0)  # gamma - 2 eps < 0
    assert m.optimum() is None
    s = performative_summary(m)
    assert s.status.startswith("no optimum") and np.isnan(s.distance)


def test_pricing_closed_forms():
    p = pricing_demand(0.5, base_demand=(2.0, 1.0), lam=1.0)
    np.testing.assert_allclose(p.stable_point(), np.array([2.0, 1.0]) / 1.5)
    np.testing.assert_allclose(p.optimum(), np.array([2.0, 1.0]) / 2.0)


def test_strategic_rrm_argmin_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    s = make_strategic_instance(0.5, n_agents=600, seed=3)
    theta = np.array([[0.4, -0.2, 0.1]])
    z = s.population(theta)
    w = s.rrm_argmin(z, np.zeros((1, 3)))[0]
    X, y = z[0, :, :-1], z[0, :, -1]
    # sklearn minimises C * sum log-loss + 1/2 |w|^2  <=>  mean log-loss + lam/2 |w|^2 with C = 1/(lam n)
    ref = LogisticRegression(C=1 / (s.lam * len(y)), fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y).coef_[0]
    np.testing.assert_allclose(w, ref, atol=1e-6)
    assert np.linalg.norm(w) <= np.sqrt(2 * np.log(2) / s.lam)


def test_strategic_stable_and_optimal_points_differ_and_satisfy_their_equations():
    s = make_strategic_instance(0.5, seed=7)
    ps, po = s.stable_point(), s.optimum()
    # stability equation: E_{D(PS)} grad l(z; PS) = 0, i.e. PS = argmin of the risk on D(PS)
    np.testing.assert_allclose(s.rrm_population(ps[None])[0], ps, atol=1e-8)
    # optimality: full performative gradient vanishes, checked by finite differences of PR
    h = 1e-6
    fd = np.array(
        [
            (s.performative_risk((po + h * e)[None]) - s.performative_risk((po - h * e)[None]))[0] / (2 * h)
            for e in np.eye(3)
        ]
    )
    np.testing.assert_allclose(fd, 0, atol=1e-6)
    assert np.linalg.norm(ps - po) > 0.1
    assert s.performative_risk(po[None])[0] < s.performative_risk(ps[None])[0]


def test_mixture_moments_and_stable_points():
    m = MixtureMap(m0=-1.0, m1=2.0, s=0.5, a=0.3, k=0.8)
    rng = np.random.default_rng(1)
    theta = np.array([[0.4]])
    z = m.sample(theta, 400_000, rng)[0, :, 0]
    assert z.mean() == pytest.approx(m.mean(0.4), abs=0.01)
    assert z.var() == pytest.approx(m.variance(0.4), rel=0.01)
    for r in m.stable_points():
        assert m.mean(r) == pytest.approx(r, abs=1e-10)
    po = m.optimum()
    assert abs(m.performative_gradient(po[None])[0, 0]) < 1e-8


def test_mixture_can_have_several_stable_points():
    m = MixtureMap(m0=-2.0, m1=2.0, s=0.5, a=0.0, k=3.0)  # theta = -2 + 4 sigmoid(3 theta): three roots
    assert m.stable_points().size == 3


def test_game_equilibria():
    g = MultiLearnerGame(mu=[1.0, 0.5], B=[[0.5, 0.5], [0.5, 0.5]], eps=0.3)
    ps, ne = g.stable_point(), g.optimum()

    # at the Nash point each learner's own performative gradient vanishes (finite differences of its own risk)
    def own_risk(theta, i):
        mean = g.mu + g.eps * g.B @ theta
        return 0.5 * g.gamma * theta[i] ** 2 - theta[i] * mean[i]

    for i in range(2):
        e = np.eye(2)[i] * 1e-6
        assert (own_risk(ne + e, i) - own_risk(ne - e, i)) / 2e-6 == pytest.approx(0, abs=1e-7)
    np.testing.assert_allclose(g.rrm_population(ps[None])[0], ps, atol=1e-12)
    assert np.linalg.norm(ps - ne) > 0.05


def test_rrm_condition_and_bad_input():
    assert rrm_condition(0.5, 1.0, 1.0).holds
    c = rrm_condition(1.5, 1.0, 1.0)
    assert not c.holds and c.rate_bound == 1.5 and "diverge" in c.message
    with pytest.raises(ValueError, match="gamma"):
        rrm_condition(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="eps"):
        rrm_condition(float("nan"), 1.0, 1.0)
    with pytest.raises(ValueError, match="A must be"):
        LinearGaussianMap(np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="gamma"):
        location_family(0.1, gamma=-1)
    with pytest.raises(ValueError, match="n_strategic"):
        make_strategic_instance(0.1, n_strategic=9)


@pytest.mark.parametrize("eps", [0.0, 0.3, 1.2])
def test_sensitivity_estimate_location(eps):
    est = estimate_sensitivity(location_family(eps, mu=(1.0, 2.0)), np.zeros(2), np.random.default_rng(2))
    assert est.eps_hat == pytest.approx(eps, abs=0.06)


def test_sensitivity_estimate_mixture():
    m = MixtureMap(k=0.5)  # eps = k |m1 - m0| / 4 = 0.375, attained where pi' is largest
    est = estimate_sensitivity(m, np.zeros(1), np.random.default_rng(3), radius=0.5, n_samples=20_000)
    assert est.eps_hat == pytest.approx(m.eps, rel=0.2)
