"""PerfGD with an estimated map beyond a pooled mean shift: strategic classification where only one label's
agents move.  References are independent of the learners: PR by finite differences, the optimum by BFGS on
PR, the class Jacobian by finite differences of the population statistic, the pooled-model fixed point by a
scipy root of the misspecified population gradient."""

import numpy as np
import pytest
from scipy import optimize

from aflab.partial_agency import learners as L
from aflab.partial_agency.maps import make_strategic_instance


def _fd(fun, t, h=1e-6):
    return np.stack([(fun(t + h * e) - fun(t - h * e)) / (2 * h) for e in np.eye(t.size)], axis=-1)


@pytest.mark.parametrize("moving_label", [None, 0, 1])
def test_performative_gradient_matches_finite_differences(moving_label):
    s = make_strategic_instance(0.5, n_agents=500, seed=7, moving_label=moving_label)
    t = np.array([0.7, -0.6, 0.3])
    fd = _fd(lambda v: s.performative_risk(v[None])[0], t)
    np.testing.assert_allclose(s.performative_gradient(t[None])[0], fd, atol=1e-8)
    J = _fd(lambda v: s.class_statistic(s.population(v[None]))[0], t)
    np.testing.assert_allclose(s.class_jacobian(t[None])[0], J, atol=1e-8)
    pooled = _fd(lambda v: s.location_statistic(s.population(v[None]))[0], t)
    np.testing.assert_allclose(s.mean_jacobian(t[None])[0], pooled, atol=1e-8)


def test_only_the_moving_label_moves():
    s = make_strategic_instance(1.0, n_agents=300, seed=1, moving_label=0)
    z = s.population(np.array([[1.0, 1.0, 1.0]]))[0]
    moved = np.any(np.abs(z[:, :-1] - s.features) > 0, axis=1)
    np.testing.assert_array_equal(moved, s.labels == 0)
    with pytest.raises(ValueError, match="moving_label"):
        make_strategic_instance(1.0, moving_label=2)


def test_class_statistic_perfgd_reaches_the_optimum_where_the_mean_shift_model_fails():
    s = make_strategic_instance(0.5, seed=7, moving_label=0)
    ps, po = s.stable_point(), s.optimum()
    assert np.linalg.norm(ps - po) > 0.4

    def pooled_model_gradient(t):  # what a learner that models D(theta) as a pooled mean shift follows
        t = t[None]
        z = s.population(t)
        return (s.grad_theta(z, t) + s.through_map_gradient(z, t, s.mean_jacobian(t)))[0]

    pooled_root = optimize.root(pooled_model_gradient, ps, method="hybr", options={"xtol": 1e-12}).x
    assert np.linalg.norm(pooled_model_gradient(pooled_root)) < 1e-8
    assert np.linalg.norm(pooled_root - po) > 0.3

    rng = np.random.default_rng(0)
    theta0 = ps + 0.1 * rng.standard_normal((4, 3))
    kw = {"lr": 1.0, "n_samples": 1000, "jacobian": "estimated", "explore": 0.05, "tol": 0.05}
    cls = L.perfgd(s, theta0, 300, rng, statistic="class", **kw)
    pooled = L.perfgd(s, theta0, 300, rng, statistic="pooled", **kw)
    assert np.all(cls.status == "settled") and np.all(pooled.status == "settled")
    assert np.median(np.linalg.norm(cls.limit - po, axis=1)) < 0.12
    assert np.median(np.linalg.norm(pooled.limit - pooled_root, axis=1)) < 0.08
    # the known exact Jacobian, population gradients: PerfGD lands on the BFGS optimum
    known = L.perfgd(s, theta0, 400, None, lr=1.0)
    np.testing.assert_allclose(known.limit, np.broadcast_to(po, known.limit.shape), atol=1e-5)


def test_statistic_validation():
    s = make_strategic_instance(0.5, n_agents=200, seed=7)
    with pytest.raises(ValueError, match="statistic"):
        L.perfgd(
            s, np.zeros((1, 3)), 5, np.random.default_rng(0), n_samples=10, jacobian="estimated", statistic="moments"
        )
