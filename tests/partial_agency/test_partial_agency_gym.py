"""performativeGYM-style pieces against independent references: finite differences of PR, residuals of the
stability equation, exact gradients of linear maps, and the credit stand-in's construction."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from aflab.partial_agency import gym as G
from aflab.partial_agency import learners as L
from aflab.partial_agency.maps import MixtureMap, location_family


@pytest.fixture(scope="module")
def nl():
    return G.NonlinearLocationMap(mu=(1.0, -0.5), eps=0.6)


def test_nonlinear_references(nl):
    ps, po = nl.stable_point(), nl.optimum()
    np.testing.assert_allclose(nl.gamma * ps, nl.mu + nl.eps * np.tanh(ps), atol=1e-12)
    np.testing.assert_allclose(nl.performative_gradient(po[None])[0], 0.0, atol=1e-10)
    res = optimize.minimize(
        lambda t: float(nl.performative_risk(t[None])[0]),
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 10000},
    )
    np.testing.assert_allclose(po, res.x, atol=1e-5)
    h = 1e-6
    t = np.array([[0.3, -1.1]])
    fd = [(nl.performative_risk(t + h * e) - nl.performative_risk(t - h * e))[0] / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(nl.performative_gradient(t)[0], fd, atol=1e-7)
    with pytest.raises(ValueError, match="eps"):
        G.NonlinearLocationMap(mu=(1.0,), eps=1.5)


def test_population_rrm_reaches_the_nonlinear_stable_point(nl):
    run = L.rrm(nl, np.zeros((2, 2)), 80, reference=nl.stable_point(), atol=1e-9)
    assert (run.status == "converged").all()


def test_decoupled_term_is_exact_for_a_linear_map_with_common_random_numbers():
    m = location_family(0.25, mu=(1.0, -0.5))
    theta = np.array([[0.4, 0.9], [1.5, -0.2]])
    est = G._decoupled_term(m, theta, np.random.default_rng(0), 200, 0.3)
    # d/dtheta' E_{D(theta')} l(z; theta) = A^T d/dz E l = A^T (-theta)
    np.testing.assert_allclose(est, -theta @ m.A, atol=1e-10)


def test_mixture_weight_estimate_is_the_mle():
    mx = MixtureMap(m0=-1.0, m1=2.0, s=1.0, k=0.5)
    z = mx.sample(np.array([[0.7]]), 3000, np.random.default_rng(1))
    pi = G._mixture_weight_estimate(mx, z)[0]
    zz = z[0, :, 0]
    phi0, phi1 = np.exp(-0.5 * (zz + 1) ** 2), np.exp(-0.5 * (zz - 2) ** 2)
    best = optimize.minimize_scalar(
        lambda p: -np.log((1 - p) * phi0 + p * phi1).sum(),
        bounds=(1e-4, 1 - 1e-4),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert pi == pytest.approx(best.x, abs=1e-6)


def test_adam_with_projection_stays_in_the_ball_and_reaches_the_optimum():
    m = location_family(0.25, mu=(1.0, -0.5))
    rng = np.random.default_rng(2)
    s = G.GymSettings(estimator="perfgd", lr=0.1, optimizer="adam", radius=2.5, n_samples=2000, decay=20)
    run = G.gym_descent(m, np.full((3, 2), 10.0), 300, rng, s)
    assert (np.linalg.norm(run.trajectory, axis=-1) <= 2.5 + 1e-9).all()
    np.testing.assert_allclose(run.limit, np.broadcast_to(m.optimum(), (3, 2)), atol=0.03)


def test_credit_standin():
    c = G.make_credit_standin(1.0, n_agents=4000)
    assert c.features.shape == (4000, 11) and c.strategic.sum() == 3 and not c.strategic[-1]
    assert 0.05 < c.labels.mean() < 0.12
    np.testing.assert_allclose(c.features[:, :10].mean(0), 0, atol=1e-9)
    ps = c.stable_point()
    assert ps is not None and np.linalg.norm(ps) <= c.iterate_radius


def test_bad_settings():
    m = location_family(0.25, mu=(1.0,))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="estimator"):
        G.gym_descent(m, np.zeros((1, 1)), 5, rng, G.GymSettings(estimator="nope"))
    with pytest.raises(ValueError, match="optimizer"):
        G.gym_descent(m, np.zeros((1, 1)), 5, rng, G.GymSettings(optimizer="rmsprop"))
    with pytest.raises(ValueError, match="mixture"):
        G.gym_descent(m, np.zeros((1, 1)), 5, rng, G.GymSettings(estimator="reinforce-est"))


def test_perdomo_credit_is_judged_over_independent_datasets():
    # one deterministic dataset made its 40 chains one observation; now each dataset is drawn from the cell's
    # seed and the Wilson interval counts datasets
    from aflab.core import get_claim

    claim = get_claim("partial_agency.perdomo-credit-rrm")
    cfg = claim.make_config("smoke", {"datasets": 3})
    a, b = claim.experiment(cfg, 5), claim.experiment(cfg, 6)
    assert sorted(a.dataset.unique()) == [0, 1, 2]
    status = lambda t: t[(t.kind == "rrm") & (t["round"] == 0)].dist.to_numpy()
    assert not np.allclose(status(a), status(b))  # other seed, other datasets
    pd.testing.assert_frame_equal(a, claim.experiment(cfg, 5))  # same seed, same numbers
    v = claim.verdict(cfg, pd.concat([a.assign(seed=5), b.assign(seed=6)], ignore_index=True))
    assert v.decisions[0].interval.n == 6


def test_perdomo_rgd_is_reported_per_run_not_from_the_last_row():
    # the comparison read the last row of the concatenated table (the last seed only) and the figure joined
    # one seed's trajectory to the next seed's start
    from aflab.core import get_claim

    claim = get_claim("partial_agency.perdomo-credit-rrm")
    cfg = claim.make_config("smoke", {"datasets": 2, "rgd_steps": (1.0,)})
    runs = [claim.experiment(cfg, s).assign(seed=s) for s in (5, 6)]
    table = pd.concat(runs, ignore_index=True)
    final = [t[(t.kind == "rgd") & (t["round"] == cfg.rgd_rounds)].dist.item() for t in runs]
    comp = next(c for c in claim.verdict(cfg, table).comparisons if c.quantity.startswith("RGD step 1"))
    assert comp.measured == pytest.approx(max(final)) and "worst of 2 runs" in comp.quantity
    fig = claim.figures(cfg, table)["perdomo_credit"]
    lines = fig.axes[1].get_lines()
    assert len(lines) == 2 and all(np.all(np.diff(ln.get_xdata()) > 0) for ln in lines)
