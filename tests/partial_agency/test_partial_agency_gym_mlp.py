"""MLP classifiers under strategic response (gym_mlp): closed-form derivatives against autograd, the references
against the linear model's independent solvers and their own defining equations, the learners, the verdict."""

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from aflab.partial_agency import claims_gym_mlp as C  # noqa: E402
from aflab.partial_agency import gym_mlp as GM  # noqa: E402
from aflab.partial_agency.maps import make_strategic_instance  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def mlp():
    base = make_strategic_instance(0.5, n_agents=600, lam=0.1, seed=7)
    return GM.MLPStrategicMap(base.features, base.labels, base.strategic, 0.5, 0.1, 3, moving_label=0)


@pytest.fixture(scope="module")
def refs(mlp):
    return GM.reference_points(mlp, mlp.init(2, np.random.default_rng(3)), steps=150)


@pytest.mark.parametrize("moving_label", [None, 0, 1])
def test_linear_model_references_equal_the_strategic_maps_solvers(moving_label):
    """hidden = 0 is Perdomo et al.'s linear map: the torch references must equal StrategicClassification's root
    finder (theta_PS) and BFGS (theta_PO), which share no code with them."""
    s = make_strategic_instance(0.5, n_agents=800, lam=0.1, seed=7, moving_label=moving_label)
    lin = GM.MLPStrategicMap(s.features, s.labels, s.strategic, 0.5, 0.1, 0, moving_label)
    r = GM.reference_points(lin, np.zeros((1, 3)), steps=50)
    np.testing.assert_allclose(r.stable[0], s.stable_point(), atol=1e-8)
    np.testing.assert_allclose(r.optimum[0], s.optimum(), atol=1e-7)
    assert r.certified.all()


def test_closed_form_derivatives_match_autograd(mlp):
    rng = np.random.default_rng(0)
    W = torch.tensor(mlp.init(3, rng, scale=2.0))
    X, y = GM._draw(mlp, 3, 50, rng)
    Xr = X.clone().requires_grad_(True)
    f = GM.scores(mlp, W, Xr)[0]
    gx = torch.autograd.grad(f.sum(), Xr)[0]
    torch.testing.assert_close(GM.input_gradient(mlp, W, X), gx, rtol=0, atol=1e-12)
    Wr = W.clone().requires_grad_(True)
    jac = torch.stack([torch.autograd.grad(GM.scores(mlp, Wr, X)[0][:, i].sum(), Wr)[0] for i in range(50)], 1)
    torch.testing.assert_close(GM.param_jacobian(mlp, W, X), jac, rtol=0, atol=1e-12)
    # the myopic gradient written out == the autograd switch with the map detached
    torch.testing.assert_close(GM.stop_gradient(mlp, W, X, y), GM.switch_gradient(mlp, W, X, y, "stop"))
    torch.testing.assert_close(GM.full_gradient(mlp, W, X, y), GM.switch_gradient(mlp, W, X, y, "full"))
    assert (GM.full_gradient(mlp, W, X, y) - GM.stop_gradient(mlp, W, X, y)).abs().max() > 1e-3


def test_sample_hessian_matches_torch_func_hessian(mlp):
    from torch.func import hessian, vmap

    rng = np.random.default_rng(1)
    W = torch.tensor(mlp.init(2, rng, scale=2.0))
    X, y = GM._draw(mlp, 2, 80, rng)
    Xm = GM.respond(mlp, W, X, y)

    def risk(w, x, yy):
        f = GM.scores(mlp, w[None], x[None])[0][0]
        return (torch.nn.functional.softplus(f) - yy * f).mean() + 0.5 * mlp.lam * (w**2).sum()

    _, H = GM.sample_hessian(mlp, W, Xm, y)
    torch.testing.assert_close(H, vmap(hessian(risk))(W, Xm, y), rtol=0, atol=1e-12)


def test_only_the_moving_label_responds(mlp):
    rng = np.random.default_rng(2)
    W = torch.tensor(mlp.init(1, rng))
    X, y = GM._draw(mlp, 1, 200, rng)
    moved = GM.respond(mlp, W, X, y)
    still = (y == 1)[0]
    torch.testing.assert_close(moved[0][still], X[0][still])
    assert (moved[0][~still] - X[0][~still]).abs().max() > 1e-3
    assert (moved[..., 2] == X[..., 2]).all()  # the third feature is not strategic


def test_references_solve_their_defining_problems(mlp, refs):
    assert refs.certified.all()
    X, y = GM.population(mlp, 2)
    ps = torch.tensor(refs.stable)
    # theta_PS is a fixed point of population RRM: the exact minimiser on the data it induces is itself
    again = GM._newton_minimise(mlp, ps, X, y, 30, tol=1e-13)
    np.testing.assert_allclose(again.numpy(), refs.stable, atol=1e-9)

    # theta_PO is a strict local minimum of PR, and better than theta_PS
    def pr(W):
        return GM.decoupled_risk(mlp, W, W, *GM.population(mlp, W.shape[0])).numpy()

    po = torch.tensor(refs.optimum)
    pert = torch.tensor(np.random.default_rng(4).standard_normal((40, mlp.n_params))) * 1e-3
    assert (pr(po[0] + pert) > pr(po[:1])[0]).all()
    assert (pr(po) < pr(ps) - 1e-4).all()
    assert (refs.stable_spectral_abscissa < 0).all()


def test_function_distance_ignores_hidden_unit_permutations(mlp, refs):
    h, d = mlp.hidden, mlp.d
    W = refs.stable[:1]
    perm = np.array([2, 0, 1])
    W1, b1, w2, b2 = W[0, : h * d].reshape(h, d), W[0, h * d : h * d + h], W[0, h * d + h : -1], W[0, -1:]
    Wp = np.concatenate([W1[perm].ravel(), b1[perm], w2[perm], b2])[None]
    assert GM.function_distance(mlp, W, Wp)[0] < 1e-12
    assert np.linalg.norm(W - Wp) > 0.1


def test_sampled_learners_reach_their_references(mlp, refs):
    rng = np.random.default_rng(5)
    W0 = mlp.init(2, np.random.default_rng(3))
    rrm = GM.mlp_rrm(mlp, W0, 25, rng, n_samples=4000)
    lim = rrm.trajectory[:, 8:].mean(1)
    gap = GM.function_distance(mlp, refs.stable, refs.optimum)
    assert (GM.function_distance(mlp, lim, refs.stable) / gap < 0.05).all()
    full = GM.mlp_descent(mlp, W0, 300, rng, GM.MLPSettings("full", 2.0, 100.0, 2000))
    assert (GM.function_distance(mlp, full.limit, refs.optimum) / gap < 0.05).all()
    assert (GM.function_distance(mlp, full.limit, refs.stable) / gap > 0.8).all()
    with pytest.raises(ValueError, match="estimator"):
        GM.mlp_descent(mlp, W0, 3, rng, GM.MLPSettings("perfgd"))


def test_map_rejects_bad_input(mlp):
    with pytest.raises(ValueError, match="moving_label"):
        GM.MLPStrategicMap(mlp.features, mlp.labels, mlp.strategic, 0.5, moving_label=2)
    with pytest.raises(ValueError, match="lam"):
        GM.MLPStrategicMap(mlp.features, mlp.labels, mlp.strategic, 0.5, lam=0.0)


def _doctored(dist_ref: float) -> pd.DataFrame:
    rows = [
        {"row": "reference", "learner": "", "ps_residual": 1e-14, "po_residual": 1e-14, "fgap": 0.5, "pgap": 0.5}
        | {"po_min_eig": 0.05, "ps_abscissa": -0.04, "dist_ref": np.nan, "dist_other": np.nan}
        | {"position": np.nan, "param_dist_ref": np.nan}
    ]
    rng = np.random.default_rng(0)
    for label in C.MLP_LEARNERS:
        for init in range(4):
            for _ in range(3):
                d = dist_ref + 0.002 * rng.standard_normal()
                rows.append(
                    {"row": "chain", "learner": label, "seed": 0, "init": init, "dist_ref": d}
                    | {"dist_other": 1.0, "position": 0.0}
                )
    return pd.DataFrame(rows).assign(param_dist_ref=0.0)


def test_the_interval_is_over_initialisations_not_chains():
    # the chains of one initialisation share its reference: 4 initialisations x 3 chains is n = 4, not 12
    v = C.mlp_strategic_stable_vs_optimal_verdict(C.MlpStrategicStableVsOptimalConfig(), _doctored(0.01))
    assert v.decisions[0].interval.n == 4


def test_verdict_flips_on_doctored_tables():
    cfg = C.MlpStrategicStableVsOptimalConfig()
    assert C.mlp_strategic_stable_vs_optimal_verdict(cfg, _doctored(0.01)).label == "supported"
    assert C.mlp_strategic_stable_vs_optimal_verdict(cfg, _doctored(0.2)).label == "refuted"
    bad = _doctored(0.01)
    bad.loc[0, "ps_residual"] = 1e-3
    assert C.mlp_strategic_stable_vs_optimal_verdict(cfg, bad).label == "refuted"
