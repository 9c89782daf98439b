"""Experiments of the waluigi theory checks: typed config in, tidy table out (no verdicts here).

Each experiment measures self-conditioned generation of the Bayes reader by Monte Carlo
(:mod:`montecarlo`), solves the same quantities exactly (:mod:`window_chain`) and writes the closed
forms (:mod:`theory`) next to them; :mod:`claims` judges the tables. Every experiment reads only its
config and seed. Each config carries one *mutation* switch (default off) that breaks the simulated
mechanism while the closed forms stay put: the contract test runs it and requires "refuted", so each
check can be seen to fail.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aflab.core import ClaimConfig
from aflab.waluigi import montecarlo as mc
from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import PersonaMixture, posterior, standard_mixture

KInt = Annotated[int, Field(ge=1, le=512)]


# ============================================================================ 1. unbounded memory
class UnboundedNeverCertainConfig(ClaimConfig):
    h: float = Field(0.05, gt=0, le=1, description="waluigi defection hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) per step after defection")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    prior: Literal["single", "beta"] = Field("single", description="one waluigi type or a Beta(a, b) hazard prior")
    beta_a: float = Field(0.5, gt=0, description="Beta prior a (prior='beta')")
    beta_b: float = Field(2.0, gt=0, description="Beta prior b (prior='beta')")
    n_traj: int = Field(20_000, ge=100, le=10**7, description="trajectories per seed")
    t_max: int = Field(400, ge=10, le=100_000, description="tokens generated per trajectory")
    k_compare: int = Field(16, ge=1, le=512, description="window for the log-odds comparison figure")
    memory: int = Field(
        0, ge=0, le=512, description="mutation: > 0 makes the simulated reader keep only its last `memory` tokens"
    )


def _unbounded_mixture(cfg: UnboundedNeverCertainConfig) -> PersonaMixture:
    beta = (cfg.beta_a, cfg.beta_b) if cfg.prior == "beta" else None
    return standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi, beta=beta, n_nodes=40)


def _log_odds_rows(mix: PersonaMixture, t_max: int, k_compare: int) -> pd.DataFrame:
    """Log-odds waluigi:luigi after t neutral tokens: closed form (full, window) vs the forward algorithm."""
    grid = np.unique(np.linspace(0, t_max, 41).astype(int))
    wal = np.array([i != 0 for i in range(mix.n_personas)])
    fwd = []
    for tt in grid:
        post = posterior(mix, np.zeros((1, max(tt, 1)), int) if tt else np.full((1, 1), -1))[0]
        fwd.append(np.log(post[wal].sum()) - np.log(post[~wal].sum()))
    return pd.DataFrame(
        {
            "part": "logodds",
            "t": grid,
            "logodds_full": th.log_odds_trajectory(mix, grid),
            "logodds_window": th.log_odds_trajectory(mix, grid, k=k_compare),
            "logodds_forward": fwd,
        }
    )


def unbounded_never_certain_experiment(cfg: UnboundedNeverCertainConfig, seed: int) -> pd.DataFrame:
    """Kaplan-Meier survival of the full-history reader vs S(t); early/late hazards; log-odds rows."""
    rng = np.random.default_rng(seed)
    mix = _unbounded_mixture(cfg)
    if cfg.memory:
        fe = mc.simulate_window(mix, cfg.memory, cfg.n_traj, cfg.t_max, rng)
    else:
        fe = mc.simulate_unbounded(mix, cfg.n_traj, cfg.t_max, rng)
    km = mc.kaplan_meier(fe.time, fe.observed, cfg.t_max)
    t = np.arange(cfg.t_max + 1)
    S_th = th.survival_unbounded(mix, t)
    q = max(1, cfg.t_max // 4)
    early = mc.constant_hazard(fe.time, fe.observed, 0, q)
    late = mc.constant_hazard(fe.time, fe.observed, cfg.t_max - q, cfg.t_max)
    surv = pd.DataFrame(
        {
            "part": "survival",
            "t": t,
            "S_mc": km.survival,
            "se": km.stderr,
            "lower": km.lower,
            "upper": km.upper,
            "S_theory": S_th,
        }
    )
    summ = pd.DataFrame(
        [
            {
                "part": "summary",
                "t": cfg.t_max,
                "n": cfg.n_traj,
                "p_by_tmax_mc": 1 - km.survival[-1],
                "se": km.stderr[-1],
                "p_by_tmax_theory": 1 - S_th[-1],
                "p_ever_theory": th.p_ever_unbounded(mix),
                "haz_early": early[0],
                "haz_early_se": early[1],
                "haz_late": late[0],
                "haz_late_se": late[1],
                "token_steps": fe.token_steps,
            }
        ]
    )
    return pd.concat([surv, _log_odds_rows(mix, cfg.t_max, cfg.k_compare), summ], ignore_index=True)


# ============================================================================ 2. window k: inevitable
class WindowInevitableConfig(ClaimConfig):
    h: float = Field(0.05, gt=0, le=1, description="waluigi defection hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) per step after defection")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    ks: tuple[KInt, ...] = Field((4, 8, 16, 32), min_length=1, description="context windows in tokens")
    n_traj: int = Field(10_000, ge=100, le=10**7, description="trajectories per seed and window")
    t_max: int = Field(1000, ge=10, le=100_000, description="tokens generated per trajectory")
    ignore_window: bool = Field(False, description="mutation: the simulated reader ignores its window (full history)")


def _simulate_windowed(mix: PersonaMixture, k: int, cfg, rng: np.random.Generator, events="revealing"):
    """The window-k reader, or the full-history reader when the config's mutation ``ignore_window`` is on."""
    if getattr(cfg, "ignore_window", False):
        return mc.simulate_unbounded(mix, cfg.n_traj, cfg.t_max, rng, events=events)
    return mc.simulate_window(mix, k, cfg.n_traj, cfg.t_max, rng, events=events)


def window_inevitable_experiment(cfg: WindowInevitableConfig, seed: int) -> pd.DataFrame:
    """Per window k: KM survival vs S_k(t) (closed form and solver), and events/exposure on the floor
    split at t_mid into an early and a late part (a constant hazard gives equal rates)."""
    rng = np.random.default_rng(seed)
    mix = standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi)
    t = np.arange(cfg.t_max + 1)
    S_unb = th.survival_unbounded(mix, t)
    frames = []
    for k in cfg.ks:
        fe = _simulate_windowed(mix, k, cfg, rng)
        km = mc.kaplan_meier(fe.time, fe.observed, cfg.t_max)
        cp = wc.clean_phase(mix, k, cfg.t_max)
        eps = th.hazard_floor(mix, k)
        frames.append(
            pd.DataFrame(
                {
                    "part": "survival",
                    "k": k,
                    "t": t,
                    "S_mc": km.survival,
                    "se": km.stderr,
                    "lower": km.lower,
                    "upper": km.upper,
                    "S_theory": th.survival_window(mix, t, k),
                    "S_solver": cp.survival,
                    "S_unbounded": S_unb,
                }
            )
        )
        # split the floor phase where the closed-form survival has fallen by a factor 2
        span = max(1, int(np.ceil(np.log(2) / max(eps, 1e-12))))
        mid = int(min(k + span, cfg.t_max - 1))
        e_ev, e_exp = _events_exposure(fe, k, mid)
        l_ev, l_exp = _events_exposure(fe, mid, cfg.t_max)
        frames.append(
            pd.DataFrame(
                [
                    {
                        "part": "floor",
                        "k": k,
                        "eps_theory": eps,
                        "eps_solver": cp.hazard_floor,
                        "events_early": e_ev,
                        "exposure_early": e_exp,
                        "events_late": l_ev,
                        "exposure_late": l_exp,
                        "t_mid": mid,
                        "S_end_mc": km.survival[-1],
                        "S_end_theory": th.survival_window(mix, [cfg.t_max], k)[0],
                        "n": cfg.n_traj,
                        "token_steps": fe.token_steps,
                    }
                ]
            )
        )
    return pd.concat(frames, ignore_index=True)


def _events_exposure(fe: mc.FirstEvents, t_from: int, t_to: int) -> tuple[int, int]:
    lam, _, exposure = mc.constant_hazard(fe.time, fe.observed, t_from, t_to)
    return (round(lam * exposure) if exposure else 0), exposure


# ============================================================================ 3. hazard vs k
class HazardVsKConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, lt=1, description="hazard of the single waluigi type")
    beta_a: float = Field(0.5, gt=0, le=20, description="Beta prior a: the power-law exponent is -(a+1)")
    beta_b: float = Field(2.0, gt=0, le=50, description="Beta prior b")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi population")
    k_min: int = Field(8, ge=1, le=64, description="smallest window in the fit")
    k_max: int = Field(128, ge=4, le=512, description="largest window in the fit (asymptotic regime)")
    n_k: int = Field(9, ge=3, le=40, description="windows on a geometric grid for the fit")
    mc_ks: tuple[KInt, ...] = Field((2, 4, 8, 16), min_length=1, description="windows measured by Monte Carlo")
    n_traj: int = Field(5000, ge=100, le=10**7, description="MC trajectories per seed, window and prior")
    t_max: int = Field(3000, ge=10, le=100_000, description="MC tokens per trajectory")
    slope_tol: float = Field(0.2, gt=0, lt=1, description="allowed relative gap of fitted slopes to the asymptotes")
    ignore_window: bool = Field(False, description="mutation: the simulated reader ignores its window (full history)")

    @model_validator(mode="after")
    def _range(self):
        if self.k_max <= self.k_min:
            raise ValueError("k_max must exceed k_min")
        return self


def hazard_mixtures(cfg: HazardVsKConfig) -> dict[str, PersonaMixture]:
    """One waluigi type, and a Beta(a, b) population with enough Gauss-Jacobi nodes to be exact (2n-2 >= k)."""
    nodes = max(24, cfg.k_max // 2 + 2, max(cfg.mc_ks) // 2 + 2)
    return {
        "single": standard_mixture(h=cfg.h, r=1.0, p_waluigi=cfg.p_waluigi),
        "beta": standard_mixture(beta=(cfg.beta_a, cfg.beta_b), r=1.0, p_waluigi=cfg.p_waluigi, n_nodes=nodes),
    }


def closed_floor(cfg: HazardVsKConfig, prior: str, k) -> np.ndarray:
    """eps_k in closed form: exponential for one type, Beta functions for the spread."""
    if prior == "single":
        return th.hazard_floor_single(cfg.h, cfg.p_waluigi, k)
    return th.hazard_floor_beta(cfg.beta_a, cfg.beta_b, cfg.p_waluigi, k)


def hazard_vs_k_experiment(cfg: HazardVsKConfig, seed: int) -> pd.DataFrame:
    """Solver rows (eps_k by 1 - rho(Q) on a geometric k grid) and MC rows (events / exposure on the floor)."""
    rng = np.random.default_rng(seed)
    ks = np.unique(np.round(np.geomspace(cfg.k_min, cfg.k_max, cfg.n_k)).astype(int))
    rows = []
    for prior, mix in hazard_mixtures(cfg).items():
        for k in ks:
            rows.append(
                {
                    "part": "solver",
                    "prior": prior,
                    "k": int(k),
                    "eps_solver": wc.clean_phase(mix, int(k), 0).hazard_floor,
                    "eps_theory": float(closed_floor(cfg, prior, k)),
                }
            )
        for k in cfg.mc_ks:
            fe = _simulate_windowed(mix, k, cfg, rng)
            lam, _se, exposure = mc.constant_hazard(fe.time, fe.observed, k, cfg.t_max)
            rows.append(
                {
                    "part": "mc",
                    "prior": prior,
                    "k": int(k),
                    "events": round(lam * exposure) if exposure else 0,
                    "exposure": exposure,
                    "eps_theory": float(closed_floor(cfg, prior, k)),
                    "token_steps": fe.token_steps,
                }
            )
    return pd.DataFrame(rows)


# ============================================================================ 4. approximate absorption
class ApproxAbsorbingConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, le=1, description="waluigi defection hazard per step")
    r: float = Field(0.5, gt=0, lt=1, description="P(revealing token) after defection (< 1: not exactly absorbing)")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    ks: tuple[Annotated[int, Field(ge=1, le=16)], ...] = Field(
        (1, 2, 4, 6, 8, 10), min_length=3, description="windows (solver builds 2^k states)"
    )
    n_traj: int = Field(2000, ge=50, le=10**7, description="trajectories per seed and window")
    t_max: int = Field(10**6, ge=100, description="censoring time of an exit")
    pmf_k: int = Field(4, ge=1, le=16, description="window of the exit-time distribution figure")
    pmf_t: int = Field(80, ge=5, le=10_000, description="time range of the exit-time distribution figure")
    window_offset: int = Field(0, ge=0, le=4, description="mutation: the simulated reader sees k + offset tokens")


def approx_absorbing_experiment(cfg: ApproxAbsorbingConfig, seed: int) -> pd.DataFrame:
    """Exit times from the waluigi class per window: MC sums, solver mean, closed form; and the pmf at pmf_k."""
    rng = np.random.default_rng(seed)
    mix = standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi)
    rows = []
    for k in cfg.ks:
        ex = mc.simulate_exit(mix, k + cfg.window_offset, cfg.n_traj, cfg.t_max, rng)
        sol = wc.exit_time(mix, k)
        rows.append(
            {
                "part": "exit",
                "k": k,
                "n": cfg.n_traj,
                "sum": float(ex.time.sum()),
                "sumsq": float((ex.time.astype(float) ** 2).sum()),
                "censored": int((~ex.observed).sum()),
                "mean_theory": float(th.exit_time_mean(cfg.r, k)),
                "sd_theory": float(np.sqrt(th.exit_time_var(cfg.r, k))),
                "mean_solver": sol.mean,
                "token_steps": ex.token_steps,
            }
        )
    k = cfg.pmf_k
    ex = mc.simulate_exit(mix, k + cfg.window_offset, cfg.n_traj, cfg.t_max, rng)
    sol = wc.exit_time(mix, k, t_max=cfg.pmf_t)
    t = np.arange(cfg.pmf_t + 1)
    freq = np.bincount(np.minimum(ex.time, cfg.pmf_t + 1), minlength=cfg.pmf_t + 2)[: cfg.pmf_t + 1] / cfg.n_traj
    pmf = pd.DataFrame(
        {
            "part": "pmf",
            "k": k,
            "t": t,
            "pmf_mc": freq,
            "pmf_solver": sol.pmf,
            "pmf_theory": th.exit_time_pmf(cfg.r, k, cfg.pmf_t),
            "n": cfg.n_traj,
        }
    )
    return pd.concat([pd.DataFrame(rows), pmf], ignore_index=True)


def exit_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Pooled MC mean exit time and its standard error per k, next to solver and closed form."""
    e = (
        table[table.part == "exit"]
        .groupby("k")
        .agg(
            n=("n", "sum"),
            s=("sum", "sum"),
            ss=("sumsq", "sum"),
            censored=("censored", "sum"),
            mean_theory=("mean_theory", "first"),
            mean_solver=("mean_solver", "first"),
        )
    )
    e["mean_mc"] = e.s / e.n
    e["se"] = np.sqrt(np.maximum(e.ss / e.n - e.mean_mc**2, 0) / e.n)
    return e.reset_index()


# ============================================================================ 5. competing classes
class CompetingClassesConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, le=1, description="waluigi defection hazard per step")
    g: float = Field(0.05, gt=0, le=1, description="repetition (mode-collapse) hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) after defection")
    rho: float = Field(1.0, gt=0, le=1, description="P(collapse token) after collapse")
    p_waluigi: float = Field(0.3, gt=0, lt=1, description="prior weight of the waluigi")
    p_repetition: float = Field(0.3, gt=0, lt=1, description="prior weight of the repetition persona")
    ks: tuple[KInt, ...] = Field((1, 2, 4, 8, 16, 32), min_length=2, description="context windows")
    n_traj: int = Field(10_000, ge=100, le=10**7, description="trajectories per seed and window")
    t_max: int = Field(3000, ge=10, le=100_000, description="tokens per trajectory (window runs)")
    t_max_unbounded: int = Field(400, ge=10, le=100_000, description="tokens per trajectory (full memory)")
    ignore_window: bool = Field(False, description="mutation: the simulated reader ignores its window (full history)")

    @model_validator(mode="after")
    def _weights(self):
        if self.p_waluigi + self.p_repetition >= 1:
            raise ValueError("p_waluigi + p_repetition must be < 1 (the rest is the luigi)")
        if self.g == self.h:
            raise ValueError("g must differ from h: the headline compares the smaller-hazard class with the other")
        return self


def split_mixture(cfg: CompetingClassesConfig) -> PersonaMixture:
    return standard_mixture(
        h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi, g=cfg.g, p_repetition=cfg.p_repetition, rho=cfg.rho
    )


def floor_share(mix: PersonaMixture, k: int, cls: str) -> float:
    """Share of class ``cls`` in the floor hazard: lambda_X(k) / lambda(k) for full event-free windows."""
    token_class = mix.alphabet.is_collapse() if cls == "collapse" else mix.alphabet.is_revealing()
    lam_x = th.class_hazard_at_length(mix, k, token_class)
    return float(lam_x / th.hazard_floor(mix, k, "departure"))


def _split_row(cfg, mix, fe, memory: str, k: int, inc, lim, solver=None) -> dict:
    floor = fe.observed & (fe.time >= k) if k else np.zeros(fe.time.shape, bool)
    return {
        "memory": memory,
        "k": k,
        "n": cfg.n_traj,
        "n_revealing": int((fe.event_class == 0).sum()),
        "n_collapse": int((fe.event_class == 1).sum()),
        "n_floor": int(floor.sum()),
        "n_floor_collapse": int((floor & (fe.event_class == 1)).sum()),
        "p_rev_theory": inc["revealing"][-1],
        "p_col_theory": inc["collapse"][-1],
        "p_rev_solver": np.nan if solver is None else solver.incidence["revealing"][-1],
        "p_col_solver": np.nan if solver is None else solver.incidence["collapse"][-1],
        "p_rev_limit": lim["revealing"],
        "p_col_limit": lim["collapse"],
        "floor_share_collapse_theory": floor_share(mix, k, "collapse") if k else np.nan,
        "token_steps": fe.token_steps,
    }


def competing_classes_experiment(cfg: CompetingClassesConfig, seed: int) -> pd.DataFrame:
    """First departure (revealing vs collapse token) by MC, closed form and solver, full memory and per k;
    also the departures in the floor phase (t >= k), whose class split is the headline."""
    rng = np.random.default_rng(seed)
    mix = split_mixture(cfg)
    fe = mc.simulate_unbounded(mix, cfg.n_traj, cfg.t_max_unbounded, rng, events="departure")
    inc = th.departure_incidence_unbounded(mix, cfg.t_max_unbounded)
    rows = [_split_row(cfg, mix, fe, "full", 0, inc, th.departure_split_unbounded(mix))]
    for k in cfg.ks:
        fe = _simulate_windowed(mix, k, cfg, rng, events="departure")
        inc = th.departure_incidence_window(mix, k, cfg.t_max)
        cp = wc.clean_phase(mix, k, cfg.t_max, events="departure")
        rows.append(_split_row(cfg, mix, fe, "window", k, inc, th.departure_split_window(mix, k), cp))
    return pd.DataFrame(rows)


def split_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Pooled counts and MC proportions per (memory, k), next to closed form and solver."""
    g = table.groupby(["memory", "k"]).agg(
        n=("n", "sum"),
        n_rev=("n_revealing", "sum"),
        n_col=("n_collapse", "sum"),
        n_floor=("n_floor", "sum"),
        n_floor_col=("n_floor_collapse", "sum"),
        p_rev_theory=("p_rev_theory", "first"),
        p_col_theory=("p_col_theory", "first"),
        p_rev_solver=("p_rev_solver", "first"),
        p_col_solver=("p_col_solver", "first"),
        p_rev_limit=("p_rev_limit", "first"),
        p_col_limit=("p_col_limit", "first"),
        share_theory=("floor_share_collapse_theory", "first"),
    )
    g["p_rev_mc"], g["p_col_mc"] = g.n_rev / g.n, g.n_col / g.n
    g["share_mc"] = g.n_floor_col / g.n_floor.where(g.n_floor > 0)
    return g.reset_index()


# ============================================================================ 6. the comment's three-state persona
class ThreeStatePersonaConfig(ClaimConfig):
    h: float = Field(0.5, gt=0, lt=1, description="waluigi defection hazard per step")
    r: float = Field(0.3, gt=0, lt=1, description="P(revealing token) per step after the defection step")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    ks: tuple[Annotated[int, Field(ge=1, le=12)], ...] = Field(
        (2, 4, 6, 8, 10), min_length=1, description="windows (the occupancy's dense check builds 2^k x 2^k)"
    )
    mc_ks: tuple[Annotated[int, Field(ge=1, le=12)], ...] = Field((2, 4, 6), description="windows measured by MC")
    n_traj: int = Field(4000, ge=100, le=10**7, description="MC trajectories per window")
    t_max: int = Field(2000, ge=10, le=100_000, description="MC tokens per trajectory")
    silent: bool = Field(False, description="mutation: the simulated waluigi may defect silently (aflab's old model)")


def three_state_mixture(cfg: ThreeStatePersonaConfig, silent: bool = False) -> PersonaMixture:
    """Luigi + the comment's waluigi: hidden, revealed at the moment it defects, then revealing w.p. r."""
    return standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi, r_defect=None if silent else 1.0)


def dense_occupancy(mix: PersonaMixture, k: int) -> float:
    """Stationary fraction of windows holding a revealing token: the 2^k x 2^k chain built densely from the
    reader's predictive of every window and solved directly (the reference for the sparse/shift solvers)."""
    from aflab.waluigi.model import bayes_predictive, index_windows

    V = mix.alphabet.size
    n = V**k
    win = index_windows(np.arange(n), k, V)
    pred = bayes_predictive(mix, win)
    P = np.zeros((n, n))
    for x in range(V):
        P[np.arange(n), (np.arange(n) * V + x) % n] += pred[:, x]
    A = (np.eye(n) - P).T
    A[0] = 1.0
    b = np.zeros(n)
    b[0] = 1.0
    pi = np.linalg.solve(A, b)
    return float(pi[mix.alphabet.is_revealing()[win].any(axis=1)].sum())


def three_state_persona_experiment(cfg: ThreeStatePersonaConfig, seed: int) -> pd.DataFrame:
    """Per k: closed-form floor w h (1-h)^k / (1 - w + w (1-h)^k), solver floor, occupancy (dense / solver /
    renewal), exit time; per MC k: floor events and exposure, exit-time sums (the simulated persona is the
    silent one under the mutation)."""
    rng = np.random.default_rng(seed)
    mix = three_state_mixture(cfg)
    sim = three_state_mixture(cfg, silent=cfg.silent)
    rows = []
    for k in cfg.ks:
        q = (1 - cfg.h) ** k
        rows.append(
            {
                "part": "exact",
                "k": k,
                "eps_closed": cfg.p_waluigi * cfg.h * q / (1 - cfg.p_waluigi + cfg.p_waluigi * q),
                "eps_solver": wc.clean_phase(mix, k, 0).hazard_floor,
                "occ_dense": dense_occupancy(mix, k),
                "occ_solver": wc.stationary_occupancy(mix, k)["revealing"],
                "occ_renewal": th.waluigi_occupancy(mix, k),
                "exit_closed": float(th.exit_time_mean(cfg.r, k)),
                "exit_solver": wc.exit_time(mix, k).mean,
            }
        )
    for k in cfg.mc_ks:
        fe = mc.simulate_window(sim, k, cfg.n_traj, cfg.t_max, rng)
        ev, exposure = _events_exposure(fe, k, cfg.t_max)
        ex = mc.simulate_exit(sim, k, cfg.n_traj, 10**7, rng)
        rows.append(
            {
                "part": "mc",
                "k": k,
                "events": ev,
                "exposure": exposure,
                "exit_n": cfg.n_traj,
                "exit_sum": float(ex.time.sum()),
                "exit_sumsq": float((ex.time.astype(float) ** 2).sum()),
                "eps_closed": float(th.hazard_floor_single(cfg.h, cfg.p_waluigi, k)),
                "exit_closed": float(th.exit_time_mean(cfg.r, k)),
            }
        )
    return pd.DataFrame(rows)
