"""Learners' limits against closed forms (location family) and independent references (strategic classification)."""

import numpy as np
import pytest

from aflab.partial_agency import learners as L
from aflab.partial_agency.maps import (
    MixtureMap,
    MultiLearnerGame,
    location_family,
    make_strategic_instance,
)


@pytest.fixture(scope="module")
def loc():
    return location_family(0.3, mu=(1.0, -0.5), sigma=1.0, gamma=1.0, c=0.0)  # PS = mu/0.7, PO = mu/0.4


def _close(run, target, atol):
    assert np.isin(run.status, ("converged", "settled")).all(), run.status
    np.testing.assert_allclose(run.limit, np.broadcast_to(target, run.limit.shape), atol=atol)


def test_population_rrm_contracts_exactly_at_eps_over_gamma(loc):
    theta0 = np.array([[5.0, 5.0], [-3.0, 2.0]])
    run = L.rrm(loc, theta0, 25)
    ps = np.array([1.0, -0.5]) / 0.7
    t = np.arange(26)[None, :, None]
    expected = ps + (0.3**t) * (theta0[:, None, :] - ps)  # theta_t - PS = (eps/gamma)^t (theta_0 - PS)
    np.testing.assert_allclose(run.trajectory, expected, atol=1e-12)


def test_myopic_learners_reach_closed_form_stable_point(loc):
    rng = np.random.default_rng(0)
    ps = loc.stable_point()
    np.testing.assert_allclose(ps, np.array([1.0, -0.5]) / 0.7)
    theta0 = ps + rng.standard_normal((4, 2))
    _close(L.rrm(loc, theta0, 30, rng, n_samples=5000), ps, 0.05)
    _close(L.rgd(loc, theta0, 150, rng, lr=0.3, n_samples=2000), ps, 0.05)
    _close(L.stochastic_gd(loc, theta0, 400, rng, lr0=0.3, batch=64), ps, 0.08)
    _close(L.stochastic_gd(loc, theta0, 40, rng, lr0=0.3, batch=64, deploy_every=10), ps, 0.08)


def test_full_learners_reach_closed_form_optimum(loc):
    rng = np.random.default_rng(1)
    po = loc.optimum()
    np.testing.assert_allclose(po, np.array([1.0, -0.5]) / 0.4)
    theta0 = po + rng.standard_normal((4, 2))
    _close(L.perfgd(loc, theta0, 200, rng, lr=0.3, n_samples=2000), po, 0.05)
    _close(L.perfgd(loc, theta0, 300, rng, lr=0.3, n_samples=2000, jacobian="estimated", explore=0.1), po, 0.15)
    _close(L.two_point_dfo(loc, theta0, 800, rng, lr0=0.15, n_samples=1000, decay=80), po, 0.15)
    _close(L.perfgd(loc, theta0, 200, None, lr=0.3), po, 1e-8)  # population gradients: exact


def test_strategic_learners_stable_vs_optimal():
    s = make_strategic_instance(0.5, seed=7)
    ps, po = s.stable_point(), s.optimum()  # root of the stability equation / BFGS minimum of PR
    assert np.linalg.norm(ps - po) > 0.1
    rng = np.random.default_rng(2)
    theta0 = np.zeros((3, 3))
    _close(L.rrm(s, theta0, 20), ps, 1e-8)  # population RRM (exact inner minimisation)
    _close(L.rgd(s, theta0, 300, None, lr=1.0), ps, 1e-5)
    _close(L.perfgd(s, theta0, 300, None, lr=1.0), po, 1e-5)
    _close(L.rgd(s, theta0, 200, rng, lr=1.0, n_samples=1000, tol=0.05), ps, 0.04)
    _close(L.perfgd(s, theta0, 200, rng, lr=1.0, n_samples=1000, tol=0.05), po, 0.04)


def test_torch_switch_stop_vs_full():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    from aflab.partial_agency.torch_switch import performative_descent, torch_world

    loc = location_family(0.3, mu=(1.0, -0.5))
    sample, loss = torch_world(loc)
    stop = performative_descent(sample, loss, np.zeros((2, 2)), "stop", rounds=150, lr=0.3, n_samples=500, seed=0)
    full = performative_descent(sample, loss, np.zeros((2, 2)), "full", rounds=150, lr=0.3, n_samples=500, seed=0)
    _close(stop, loc.stable_point(), 0.06)
    _close(full, loc.optimum(), 0.06)
    s = make_strategic_instance(0.5, n_agents=1000, seed=7)
    sample, loss = torch_world(s)
    stop = performative_descent(
        sample, loss, np.zeros((1, 3)), "stop", rounds=150, lr=1.0, n_samples=400, seed=1, tol=0.05
    )
    full = performative_descent(
        sample, loss, np.zeros((1, 3)), "full", rounds=150, lr=1.0, n_samples=400, seed=1, tol=0.05
    )
    assert np.linalg.norm(stop.limit[0] - s.stable_point()) < np.linalg.norm(stop.limit[0] - s.optimum())
    assert np.linalg.norm(full.limit[0] - s.optimum()) < np.linalg.norm(full.limit[0] - s.stable_point())
    with pytest.raises(ValueError, match="mode"):
        performative_descent(sample, loss, np.zeros((1, 3)), "half")
    with pytest.raises(ValueError, match="no reparameterised"):
        torch_world(MixtureMap())


def test_mixture_and_game_limits():
    m = MixtureMap(k=0.4 / 0.75)
    _close(L.rrm(m, np.zeros((2, 1)), 60), m.stable_point(), 1e-8)
    _close(L.perfgd(m, np.zeros((2, 1)), 400, None, lr=0.3), m.optimum(), 1e-6)
    g = MultiLearnerGame(mu=[1.0, 0.5], B=[[0.5, 0.5], [0.5, 0.5]], eps=0.25)
    rng = np.random.default_rng(3)
    _close(L.rrm(g, np.zeros((2, 2)), 40, rng, n_samples=5000), g.stable_point(), 0.05)
    _close(L.perfgd(g, np.zeros((2, 2)), 300, rng, lr=0.3, n_samples=2000), g.optimum(), 0.05)


@pytest.mark.parametrize("eps", [1.05, 1.5, 3.0])
def test_divergence_detected_beyond_gamma_over_beta(eps):
    m = location_family(eps, mu=(1.0, -0.5))
    rng = np.random.default_rng(4)
    run = L.rrm(m, m.stable_point() + rng.standard_normal((3, 2)), 80, rng, n_samples=1000)
    assert (run.status == "diverged").all()
    assert (run.diverged_at >= 0).all()
    with pytest.raises(L.DivergenceError, match="did not converge"):
        run.require_converged()
    if eps >= 1.5:  # blew past 1e6: the frozen iterates are NaN, not garbage
        assert np.isnan(run.final).all()


def test_gradient_learner_divergence_with_too_large_step(loc):
    run = L.rgd(loc, np.zeros((2, 2)), 100, None, lr=3.0)  # step > 2/(gamma - eps): oscillating blow-up
    assert (run.status == "diverged").all()


def test_no_false_divergence_at_noise_floor():
    m = location_family(0.2, mu=(1.0, -0.5))
    rng = np.random.default_rng(5)
    run = L.rrm(m, np.tile(m.stable_point(), (200, 1)), 40, rng, n_samples=200, tol=0.1)
    assert run.n_diverged == 0
    run = L.rgd(m, np.tile(m.stable_point(), (200, 1)), 60, rng, lr=0.5, n_samples=50, tol=0.2)
    assert run.n_diverged == 0


def test_strategic_rrm_oscillates_far_beyond_the_bound():
    s = make_strategic_instance(8.0, seed=7)
    run = L.rrm(s, np.zeros((1, 3)), 40, tol=1e-4)
    assert run.status[0] == "not_converged"
    d = np.diff(run.trajectory[0, -10:], axis=0)
    assert np.all(np.linalg.norm(d, axis=1) > 0.1)  # a persistent 2-cycle, not convergence


def test_bad_learner_input(loc):
    with pytest.raises(ValueError, match="theta0"):
        L.rrm(loc, np.zeros((2, 3)), 5)
    with pytest.raises(ValueError, match="lr"):
        L.rgd(loc, np.zeros((1, 2)), 5, lr=-1.0)
    with pytest.raises(ValueError, match="mode"):
        L.repeated_gradient(loc, np.zeros((1, 2)), 5, mode="half")
    with pytest.raises(ValueError, match="location-type"):
        L.perfgd(MixtureMap(), np.zeros((1, 1)), 5, np.random.default_rng(0), n_samples=10, jacobian="estimated")
    with pytest.raises(ValueError, match="n_samples"):
        L.perfgd(loc, np.zeros((1, 2)), 5, jacobian="estimated")
