"""Claim experiments: typed config in, tidy table out.  Each cell runs ``cfg.replicates`` chains
vectorised as arrays of shape (replicates, ...); the runner adds the seed axis on top.

Tables mix a few row types (column ``row``): ``"limit"`` (one learner's limit on one map/eps),
``"trajectory"`` (first coordinate over rounds, averaged over replicates), ``"pr_curve"``
(performative risk along the line through theta_PS and theta_PO), ``"rate"`` (RRM contraction),
``"forecast"`` (Predict-O-Matic final forecasts) and ``"incentive"`` (optimal reports).
Columns a row type does not use are NaN / empty strings, so every column stays a plain dtype.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aflab.core import ClaimConfig
from aflab.partial_agency import learners as L
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.diagnostics import rrm_condition
from aflab.partial_agency.maps import (
    MixtureMap,
    MultiLearnerGame,
    location_family,
    make_strategic_instance,
    pricing_demand,
)


def _nan_reduce(fn, a: np.ndarray) -> np.ndarray:
    """fn over axis 0 ignoring NaN (diverged chains); all-NaN columns give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(a, axis=0)


MYOPIC = ("RRM", "RGD", "SGD-greedy", "SGD-lazy")
FULL = ("PerfGD", "PerfGD-est", "DFO-2pt")


# ================================================================================================
# claim 1: myopic learners reach stable points, not optima
# ================================================================================================
class StableNotOptimalConfig(ClaimConfig):
    eps_values: tuple[float, ...] = Field(
        (0.1, 0.25, 0.4), min_length=1, description="sensitivities for location/pricing/game maps, each in (0, gamma/2)"
    )
    strategic_eps_values: tuple[float, ...] = Field(
        (0.5, 1.0), min_length=1, description="strategic-classification eps (agents move eps*theta)"
    )
    mixture_eps_values: tuple[float, ...] = Field(
        (0.4,), min_length=1, description="mixture-map W1-sensitivity eps = k |m1 - m0| / 4"
    )
    maps: tuple[str, ...] = Field(
        ("location", "pricing", "strategic", "mixture", "game"),
        min_length=1,
        description="subset of location, pricing, strategic, mixture, game",
    )
    dfo_maps: tuple[str, ...] = Field(
        ("location", "pricing", "strategic", "mixture"),
        description="maps on which the (slow) two-point derivative-free learner runs",
    )
    replicates: int = Field(4, ge=1, le=256, description="chains per seed, vectorised")
    rounds: int = Field(200, ge=20, le=20000, description="deployments per learner")
    n_samples: int = Field(1000, ge=10, le=10**6, description="samples per deployment")
    dfo_rounds: int = Field(600, ge=20, le=50000, description="rounds of the two-point derivative-free learner")
    myopic_learners: tuple[str, ...] = Field(MYOPIC, min_length=1, description=f"subset of {', '.join(MYOPIC)}")
    full_learners: tuple[str, ...] = Field(FULL, min_length=1, description=f"subset of {', '.join(FULL)}")
    stop_gradient: bool = Field(
        True,
        description="mechanism switch: False makes RGD and SGD differentiate through the map (the stop-gradient "
        "removed); RRM has no such variant, so leave it out of myopic_learners then",
    )

    @model_validator(mode="after")
    def _known_learners(self):
        for field, allowed in (("myopic_learners", MYOPIC), ("full_learners", FULL)):
            bad = [x for x in getattr(self, field) if x not in allowed]
            if bad:
                raise ValueError(f"{field}: unknown learner(s) {bad}; choose from {', '.join(allowed)}")
        if not self.stop_gradient and "RRM" in self.myopic_learners:
            raise ValueError("myopic_learners: RRM has no through-the-map variant; drop it when stop_gradient=False")
        return self


def _instance(name: str, eps: float):
    if name == "location":
        return location_family(eps, mu=(1.0, -0.5), sigma=1.0, gamma=1.0, c=0.0)
    if name == "pricing":
        return pricing_demand(eps, base_demand=(2.0, 1.0), sigma=0.5, lam=1.0)
    if name == "strategic":
        return make_strategic_instance(eps, n_agents=2000, seed=7)
    if name == "mixture":
        return MixtureMap(m0=-1.0, m1=2.0, s=1.0, a=0.0, k=eps / 0.75)  # W1-sensitivity eps = k * 3 / 4
    if name == "game":
        return MultiLearnerGame(mu=[1.0, 0.5], B=[[0.5, 0.5], [0.5, 0.5]], eps=eps, sigma=1.0, gamma=1.0)
    raise ValueError(f"unknown map {name!r}; choose from location, pricing, strategic, mixture, game")


def _myopic_runs(dmap, cfg: StableNotOptimalConfig, theta0: np.ndarray, rng: np.random.Generator, lr: float) -> dict:
    """The stop-gradient learners (``stop_gradient=False``: RGD and SGD differentiate through the map
    instead -- the counterfactual under which they must end at the optimum)."""
    n, T = cfg.n_samples, cfg.rounds
    mode = "stop" if cfg.stop_gradient else "full"
    makers = {
        "RRM": lambda: L.rrm(dmap, theta0, max(20, T // 5), rng, n_samples=n, tol=0.05),
        "RGD": lambda: L.repeated_gradient(dmap, theta0, T, rng, lr=lr, n_samples=n, mode=mode, tol=0.05, name="RGD"),
        "SGD-greedy": lambda: L.stochastic_gd(dmap, theta0, T * 2, rng, lr0=lr, batch=64, decay=20.0, mode=mode),
        "SGD-lazy": lambda: L.stochastic_gd(
            dmap, theta0, T // 5, rng, lr0=lr, batch=64, deploy_every=10, decay=20.0, mode=mode
        ),
    }
    return {name: makers[name]() for name in MYOPIC if name in cfg.myopic_learners}


def _full_runs(dmap, cfg: StableNotOptimalConfig, theta0: np.ndarray, rng: np.random.Generator, lr: float) -> dict:
    """The learners that differentiate through the map (known or estimated Jacobian, or no model at all)."""
    n, T = cfg.n_samples, cfg.rounds
    makers = {"PerfGD": lambda: L.perfgd(dmap, theta0, T, rng, lr=lr, n_samples=n, tol=0.05)}
    if getattr(dmap, "location_type", False):
        makers["PerfGD-est"] = lambda: L.perfgd(
            dmap, theta0, T, rng, lr=lr, n_samples=n, jacobian="estimated", explore=0.1, tol=0.05
        )
    if dmap.name in cfg.dfo_maps and dmap.name != "game":
        makers["DFO-2pt"] = lambda: L.two_point_dfo(
            dmap, theta0, cfg.dfo_rounds, rng, lr0=0.5 * lr, delta=0.25, n_samples=n, decay=cfg.dfo_rounds / 10
        )
    return {name: makers[name]() for name in FULL if name in makers and name in cfg.full_learners}


def _learners(
    dmap, cfg: StableNotOptimalConfig, theta0: np.ndarray, rng: np.random.Generator
) -> list[tuple[str, L.LearnerRun]]:
    lr = 1.0 if dmap.name == "strategic" else 0.3
    runs = _myopic_runs(dmap, cfg, theta0, rng, lr) | _full_runs(dmap, cfg, theta0, rng, lr)
    return list(runs.items())


def stable_not_optimal_experiment(cfg: StableNotOptimalConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for name in cfg.maps:
        eps_list = {"strategic": cfg.strategic_eps_values, "mixture": cfg.mixture_eps_values}.get(name, cfg.eps_values)
        for eps in eps_list:
            rows += _stable_not_optimal_rows(cfg, name, eps, rng)
    return pd.DataFrame(rows)


_SNO_COLUMNS = ("row", "map", "eps", "learner", "agency", "replicate", "status", "dist_ps", "dist_po", "proj")
_SNO_COLUMNS += ("gap", "x", "y", "ps_x", "po_x")
_SNO_BLANK = {"learner": "", "agency": "", "replicate": -1, "status": "", "dist_ps": np.nan, "dist_po": np.nan}
_SNO_BLANK |= {"proj": np.nan, "x": np.nan, "y": np.nan}


def _sno_row(**fields) -> dict:
    """One row of the stable-vs-optimal table (columns in :data:`_SNO_COLUMNS` order, blanks filled)."""
    merged = {**_SNO_BLANK, **fields}
    return {k: merged[k] for k in _SNO_COLUMNS}


def _stable_not_optimal_rows(cfg: StableNotOptimalConfig, name: str, eps: float, rng) -> list[dict]:
    """One map at one eps: every learner's limits and mean trajectory, and the performative risk along PS-PO."""
    dmap = _instance(name, eps)
    ps, po = dmap.stable_point(), dmap.optimum()
    if ps is None or po is None:
        raise ValueError(
            f"map {name} at eps={eps} has no stable point or optimum; "
            "use eps < gamma/2 (0.5 here) for location/pricing/game"
        )
    gap = float(np.linalg.norm(ps - po))
    base = {"map": name, "eps": float(eps), "gap": gap, "ps_x": float(ps[0]), "po_x": float(po[0])}
    theta0 = ps + rng.normal(0.0, 1.0, (cfg.replicates, dmap.dim)) * max(gap, 0.2)
    rows: list[dict] = []
    for learner, run in _learners(dmap, cfg, theta0, rng):
        rows += _learner_limit_rows(base, learner, run, ps, po, cfg.replicates)
    s = np.linspace(-0.75, 1.75, 41)
    line = ps[None, :] + s[:, None] * (po - ps)[None, :]
    pr = dmap.performative_risk(line)
    rows += [_sno_row(row="pr_curve", x=float(si), y=float(v), **base) for si, v in zip(s, pr)]
    return rows


def _learner_limit_rows(base: dict, learner: str, run, ps, po, replicates: int) -> list[dict]:
    """A learner's limit per replicate (distances to PS and PO, projection on PS-PO: 0 at PS, 1 at PO) and
    its mean first-coordinate trajectory at 60 points."""
    lim, gap = run.limit, base["gap"]
    dps = np.linalg.norm(lim - ps, axis=1)
    dpo = np.linalg.norm(lim - po, axis=1)
    proj = (lim - ps) @ (po - ps) / gap**2  # 0 at theta_PS, 1 at theta_PO
    agency = "myopic" if learner in MYOPIC else "full"
    rows = [
        _sno_row(
            row="limit",
            learner=learner,
            agency=agency,
            replicate=r,
            status=str(run.status[r]),
            dist_ps=float(dps[r]),
            dist_po=float(dpo[r]),
            proj=float(proj[r]),
            **base,
        )
        for r in range(replicates)
    ]
    traj = _nan_reduce(np.nanmean, run.trajectory[:, :, 0])
    idx = np.unique(np.linspace(0, traj.size - 1, 60).astype(int))
    x = [float(t / max(traj.size - 1, 1)) for t in idx]
    rows += [
        _sno_row(row="trajectory", learner=learner, agency=agency, x=xt, y=float(traj[t]), **base)
        for xt, t in zip(x, idx)
    ]
    return rows


# ================================================================================================
# claim 2: RRM converges linearly iff-ish eps < gamma/beta
# ================================================================================================
class RRMRateConfig(ClaimConfig):
    eps_values: tuple[float, ...] = Field(
        (0.2, 0.5, 0.8, 1.2, 1.5),
        min_length=2,
        description="location-family eps; gamma = beta = 1, so eps < 1 is the condition",
    )
    strategic_eps_values: tuple[float, ...] = Field(
        (0.005, 0.01, 0.5, 2.0, 8.0),
        min_length=1,
        description="strategic-classification eps (population RRM); the sufficient condition holds below ~0.019",
    )
    replicates: int = Field(8, ge=1, le=256, description="chains per seed, vectorised")
    rounds: int = Field(40, ge=10, le=2000, description="RRM rounds")
    n_samples: int = Field(20000, ge=100, le=10**7, description="samples per RRM round (location family)")
    dim: int = Field(3, ge=1, le=50, description="dimension of theta for the location family")
    stale_deploy: bool = Field(
        False, description="mutation: RRM learns from the data of the model deployed one round earlier"
    )


def _measured_rate(traj: np.ndarray, target: np.ndarray, floor: float) -> np.ndarray:
    """Median one-step ratio |theta_{t+1} - PS| / |theta_t - PS| over rounds above the noise floor."""
    d = np.linalg.norm(traj - target, axis=-1)  # (R, T+1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d[:, 1:] / d[:, :-1]
    ok = (d[:, :-1] > floor) & (d[:, 1:] > floor) & np.isfinite(ratio)
    out = np.full(traj.shape[0], np.nan)
    for r in range(traj.shape[0]):
        if ok[r].sum() >= 1:
            out[r] = np.median(ratio[r, ok[r]])
    return out


def rrm_rate_experiment(cfg: RRMRateConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for eps in cfg.eps_values:
        rows += _location_rate_rows(cfg, eps, rng)
    for eps in cfg.strategic_eps_values:
        rows += _strategic_rate_rows(cfg, eps, rng)
    return pd.DataFrame(rows)


_RRM_COLUMNS = ("row", "map", "eps", "replicate", "condition_holds", "rate_bound", "rate", "status", "final_dist")
_RRM_COLUMNS += ("round", "dist")


def _rrm_row(**fields) -> dict:
    """One row of the RRM-rate table (columns in :data:`_RRM_COLUMNS` order, blanks filled)."""
    merged = {"replicate": -1, "rate": np.nan, "status": "", "final_dist": np.nan, "round": -1, "dist": np.nan}
    merged |= fields
    return {k: merged[k] for k in _RRM_COLUMNS}


def _rate_rows(base: dict, rate, run, final, replicates: int) -> list[dict]:
    return [
        _rrm_row(
            row="rate",
            replicate=r,
            rate=float(rate[r]),
            status=str(run.status[r]),
            final_dist=float(final[r]),
            **base,
        )
        for r in range(replicates)
    ]


def _location_rate_rows(cfg: RRMRateConfig, eps: float, rng) -> list[dict]:
    """RRM on the location family from far starts: measured contraction rate per replicate, median distance."""
    mu = np.linspace(1.0, -1.0, cfg.dim)
    dmap = location_family(eps, mu=mu, sigma=1.0, gamma=1.0, c=0.0)
    ps = dmap.stable_point()
    cond = rrm_condition(dmap.eps, dmap.gamma, dmap.beta)
    theta0 = ps + 10.0 * rng.standard_normal((cfg.replicates, cfg.dim))  # far: several rounds above the noise floor
    floor = 10 * dmap.sigma * np.sqrt(cfg.dim / cfg.n_samples) / dmap.gamma  # 10x the per-round noise
    run = L.rrm(
        dmap,
        theta0,
        cfg.rounds,
        rng,
        n_samples=cfg.n_samples,
        deploy_lag=int(cfg.stale_deploy),
        reference=ps,
        atol=floor,
    )
    rate = _measured_rate(run.trajectory, ps, floor)
    final = np.linalg.norm(run.limit - ps, axis=1)
    base = {"map": "location", "eps": float(eps), "condition_holds": cond.holds, "rate_bound": cond.rate_bound}
    rows = _rate_rows(base, rate, run, final, cfg.replicates)
    d = np.linalg.norm(run.trajectory - ps, axis=-1)
    dmed = _nan_reduce(np.nanmedian, d)
    rows += [_rrm_row(row="dist", round=t, dist=float(dmed[t]), **base) for t in range(d.shape[1])]
    return rows


def _strategic_rate_rows(cfg: RRMRateConfig, eps: float, rng) -> list[dict]:
    """Exact (population) RRM on the strategic-classification instance: rate per replicate."""
    dmap = make_strategic_instance(eps, n_agents=2000, seed=7)
    ps = dmap.stable_point()
    cond = rrm_condition(eps, dmap.gamma, dmap.beta)
    theta0 = rng.standard_normal((cfg.replicates, dmap.dim))
    cert = {"reference": ps, "atol": 1e-6} if ps is not None else {}
    run = L.rrm(dmap, theta0, cfg.rounds, tol=1e-4, deploy_lag=int(cfg.stale_deploy), **cert)
    rate = _measured_rate(run.trajectory, ps, 1e-10) if ps is not None else np.full(cfg.replicates, np.nan)
    final = np.linalg.norm(run.limit - ps, axis=1) if ps is not None else np.full(cfg.replicates, np.nan)
    base = {"map": "strategic", "eps": float(eps), "condition_holds": cond.holds, "rate_bound": cond.rate_bound}
    return _rate_rows(base, rate, run, final, cfg.replicates)


# ================================================================================================
# claim 3: full-agency predictors pick lower-entropy worlds
# ================================================================================================
class EntropyConfig(ClaimConfig):
    slopes: tuple[float, ...] = Field(
        (-6.0, 3.0, 6.0, 10.0), min_length=1, description="performativity strength: F(p) = sigmoid(b + slope (p - 1/2))"
    )
    instances: int = Field(
        16, ge=1, le=4096, description="random worlds (biases b ~ U(-bias_range, bias_range)) per seed"
    )
    bias_range: float = Field(1.0, ge=0, le=5, description="half-width of the bias distribution")
    n_starts: int = Field(41, ge=3, le=2001, description="starting forecasts, uniform on (0.01, 0.99)")
    steps: int = Field(3000, ge=50, le=100000, description="ascent steps per learner")
    lr: float = Field(1.0, gt=0, le=10, description="ascent step size (logit space)")
    simplex_slopes: tuple[float, ...] = Field(
        (6.0,), description="couplings s of K=3 worlds F(p) = softmax(b + s p); () to skip"
    )
    simplex_instances: int = Field(
        6, ge=1, le=1024, description="random K=3 worlds (b ~ U(-bias_range, bias_range)^3) per seed"
    )
    simplex_steps: int = Field(800, ge=50, le=100000, description="ascent steps of the K=3 learners")
    full_learner: Literal["local", "global"] = Field(
        "local",
        description="which full agent the verdict compares with the myopic learner: the local gradient learner "
        "from the same starts, or the global score maximiser",
    )
    influence_sign: float = Field(
        1.0,
        ge=-1,
        le=1,
        description="mechanism switch: the full learner's through-F gradient term is multiplied by this "
        "(1: true gradient; -1: a broken learner that pushes the world towards uncertainty)",
    )


def _simplex_rows(cfg: EntropyConfig, rng: np.random.Generator) -> list[dict]:
    """K = 3 worlds: myopic / full learners from Dirichlet(1) starts, and the global score maximiser
    (argmax of G on a resolution-60 simplex grid, polished by the full learner).  All worlds and
    starts run in one vectorised call (one row of the batch per (world, start))."""
    rows = []
    grid = P.simplex_grid(3, 60)
    grid = grid[(grid > 0).all(axis=1)]
    W, M = cfg.simplex_instances, cfg.n_starts
    for slope in cfg.simplex_slopes:
        bias = rng.uniform(-cfg.bias_range, cfg.bias_range, (W, 3))
        starts = rng.dirichlet(np.ones(3), (W, M))
        F_rows = P.SoftmaxResponse(np.repeat(bias, M, axis=0), slope * np.eye(3))
        for rule in P.RULES:
            runs = {
                mode: P.run_predictor_simplex(
                    F_rows,
                    starts.reshape(W * M, 3),
                    rule,
                    mode,
                    lr=cfg.lr,
                    steps=cfg.simplex_steps,
                    influence=cfg.influence_sign,
                )
                for mode in ("myopic", "full")
            }
            best = []
            for i in range(W):
                Fi = P.SoftmaxResponse(bias[i], slope * np.eye(3))
                best.append(grid[np.argmax((Fi(grid) * P.simplex_scores(grid, rule)).sum(axis=1))])
            runs["full-global"] = P.run_predictor_simplex(
                P.SoftmaxResponse(bias, slope * np.eye(3)),
                np.array(best),
                rule,
                "full",
                lr=cfg.lr,
                steps=cfg.simplex_steps,
            )
            for mode, run in runs.items():
                per = 1 if mode == "full-global" else M
                H = P.entropy_bits_simplex(run.outcome_prob).reshape(W, per)
                gap = np.abs(run.final - run.outcome_prob).sum(axis=1).reshape(W, per)
                conv = run.converged.reshape(W, per)
                for i in range(W):
                    rows.append(
                        {
                            "row": "world",
                            "outcomes": 3,
                            "slope": float(slope),
                            "rule": rule,
                            "learner": mode,
                            "instance": i,
                            "bias": np.nan,
                            "entropy": float(H[i].mean()),
                            "self_fulfilment_gap": float(gap[i].mean()),
                            "converged_frac": float(conv[i].mean()),
                            "start": np.nan,
                            "final": np.nan,
                        }
                    )
    return rows


def entropy_experiment(cfg: EntropyConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bias = rng.uniform(-cfg.bias_range, cfg.bias_range, cfg.instances)
    starts = np.broadcast_to(np.linspace(0.01, 0.99, cfg.n_starts), (cfg.instances, cfg.n_starts))
    rows = []
    for slope in cfg.slopes:
        F = P.LogisticResponse(bias[:, None], slope)
        for rule in P.RULES:
            for mode in ("myopic", "full"):
                run = P.run_predictor(
                    F,
                    starts,
                    rule,
                    mode,
                    lr=cfg.lr,
                    steps=cfg.steps,
                    record_every=cfg.steps,
                    influence=cfg.influence_sign,
                )
                q = run.outcome_prob
                H = P.entropy_bits(q)
                for i in range(cfg.instances):
                    rows.append(
                        {
                            "row": "world",
                            "outcomes": 2,
                            "slope": float(slope),
                            "rule": rule,
                            "learner": mode,
                            "instance": i,
                            "bias": float(bias[i]),
                            "entropy": float(H[i].mean()),
                            "self_fulfilment_gap": float(np.abs(run.final[i] - q[i]).mean()),
                            "converged_frac": float(run.converged[i].mean()),
                            "start": np.nan,
                            "final": np.nan,
                        }
                    )
                # forecasts of instance 0, for the basin figure
                for j in range(cfg.n_starts):
                    rows.append(
                        {
                            "row": "forecast",
                            "outcomes": 2,
                            "slope": float(slope),
                            "rule": rule,
                            "learner": mode,
                            "instance": 0,
                            "bias": float(bias[0]),
                            "entropy": float(H[0, j]),
                            "self_fulfilment_gap": float(abs(run.final[0, j] - q[0, j])),
                            "converged_frac": float(run.converged[0, j]),
                            "start": float(starts[0, j]),
                            "final": float(run.final[0, j]),
                        }
                    )
        for rule in P.RULES:  # the idealised full agent: the global score maximiser (start-independent)
            for i in range(cfg.instances):
                Fi = P.LogisticResponse(float(bias[i]), float(slope))
                p_star, _ = P.optimal_report(Fi, rule)
                q_star = float(Fi(np.array([p_star]))[0])
                rows.append(
                    {
                        "row": "world",
                        "outcomes": 2,
                        "slope": float(slope),
                        "rule": rule,
                        "learner": "full-global",
                        "instance": i,
                        "bias": float(bias[i]),
                        "entropy": float(P.entropy_bits(q_star)),
                        "self_fulfilment_gap": abs(p_star - q_star),
                        "converged_frac": 1.0,
                        "start": np.nan,
                        "final": p_star,
                    }
                )
    rows.extend(_simplex_rows(cfg, rng))
    return pd.DataFrame(rows)


# ================================================================================================
# claim 4: honest reports optimal only at fixed points
# ================================================================================================
class IncentiveConfig(ClaimConfig):
    slopes: tuple[float, ...] = Field(
        (0.0, 0.5, 2.0, 6.0, -3.0),
        min_length=2,
        description="performativity strength; must include 0 (the non-performative control)",
    )
    instances: int = Field(12, ge=1, le=4096, description="random worlds per seed")
    bias_range: float = Field(1.5, ge=0, le=5, description="biases b ~ U(-bias_range, bias_range)")
    grid: int = Field(4001, ge=101, le=200001, description="grid for fixed points and the optimal report")
    honest_tol: float = Field(1e-6, gt=0, le=0.01, description="|p* - F(p*)| below this counts as honest")
    influence_scale: float = Field(
        1.0, ge=0, le=1, description="mechanism switch: every world's slope is multiplied by this (0: no influence)"
    )


def incentive_experiment(cfg: IncentiveConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bias = rng.uniform(-cfg.bias_range, cfg.bias_range, cfg.instances)
    rows = []
    for slope in cfg.slopes:
        for i, b in enumerate(bias):
            F = P.LogisticResponse(float(b), float(slope) * cfg.influence_scale)
            for rule in P.RULES:
                a = P.incentive_analysis(F, rule, grid=cfg.grid, tol=cfg.honest_tol)
                rows.append(
                    {
                        "row": "incentive",
                        "slope": float(slope),
                        "rule": rule,
                        "instance": i,
                        "bias": float(b),
                        "optimal_report": a.optimal_report,
                        "outcome_prob": a.outcome_prob_at_optimum,
                        "misreport": abs(a.misreport),
                        "incentive": a.incentive_to_misreport,
                        "influence_term": a.influence_term,
                        "honest": bool(a.optimum_is_fixed_point),
                        "n_fixed_points": len(a.fixed_points),
                    }
                )
    return pd.DataFrame(rows)
