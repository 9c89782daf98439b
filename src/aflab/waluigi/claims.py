"""Claims about bounded-context personas: closed forms vs exact window-chain solver vs Monte Carlo.

Source: comments under "The Waluigi Effect (mega-post)", LessWrong 2023 (an LLM as a high-order
Markov model; finite context makes the waluigi transition inevitable; the reply: waluigis are only
approximately absorbing and other absorbing classes, e.g. repetition, compete).

Each experiment measures by Monte Carlo of self-conditioned generation (:mod:`montecarlo`) and by the
exact solver (:mod:`window_chain`), and the verdict compares both with the closed forms
(:mod:`theory`) within 3 standard errors. Figures are in :mod:`plots`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aflab.core import Claim, ClaimConfig, Comparison, Verdict, register
from aflab.waluigi import montecarlo as mc
from aflab.waluigi import plots
from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import PersonaMixture, posterior, standard_mixture

SOURCE = "Comments under 'The Waluigi Effect (mega-post)', LessWrong, 2023"
Z_MAX = 3.0  # agreement threshold in standard errors

KInt = Annotated[int, Field(ge=1, le=512)]


def _z(measured: float, theory: float, se: float) -> float:
    return float((measured - theory) / se) if se > 0 else (0.0 if measured == theory else float("inf"))


# ============================================================================ 1. unbounded memory
class UnboundedConfig(ClaimConfig):
    h: float = Field(0.05, gt=0, le=1, description="waluigi defection hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) per step after defection")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    prior: Literal["single", "beta"] = Field("single", description="one waluigi type or a Beta(a, b) hazard prior")
    beta_a: float = Field(0.5, gt=0, description="Beta prior a (prior='beta')")
    beta_b: float = Field(2.0, gt=0, description="Beta prior b (prior='beta')")
    n_traj: int = Field(20_000, ge=100, le=10**7, description="trajectories per seed")
    t_max: int = Field(400, ge=10, le=100_000, description="tokens generated per trajectory")
    k_compare: int = Field(16, ge=1, le=512, description="window for the log-odds comparison figure")


def _unbounded_mixture(cfg: UnboundedConfig) -> PersonaMixture:
    beta = (cfg.beta_a, cfg.beta_b) if cfg.prior == "beta" else None
    return standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi, beta=beta, n_nodes=40)


def experiment_unbounded(cfg: UnboundedConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = _unbounded_mixture(cfg)
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
    # log-odds waluigi:luigi after t neutral tokens: closed form vs the forward algorithm of the reader
    grid = np.unique(np.linspace(0, cfg.t_max, 41).astype(int))
    lo_full = th.log_odds_trajectory(mix, grid)
    lo_win = th.log_odds_trajectory(mix, grid, k=cfg.k_compare)
    wal = np.array([i != 0 for i in range(mix.n_personas)])
    fwd = []
    for tt in grid:
        post = posterior(mix, np.zeros((1, max(tt, 1)), int) if tt else np.full((1, 1), -1))[0]
        fwd.append(np.log(post[wal].sum()) - np.log(post[~wal].sum()))
    odds = pd.DataFrame(
        {"part": "logodds", "t": grid, "logodds_full": lo_full, "logodds_window": lo_win, "logodds_forward": fwd}
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
    return pd.concat([surv, odds, summ], ignore_index=True)


def verdict_unbounded(cfg: UnboundedConfig, table: pd.DataFrame) -> Verdict:
    s = table[table.part == "summary"]
    p_mc = float(s.p_by_tmax_mc.mean())
    se = float(np.sqrt((s.se**2).sum()) / len(s))
    p_th = float(s.p_by_tmax_theory.iloc[0])
    p_ever = float(s.p_ever_theory.iloc[0])
    z = _z(p_mc, p_th, se)
    early, late = float(s.haz_early.mean()), float(s.haz_late.mean())
    late_se = float(np.sqrt((s.haz_late_se**2).sum()) / len(s))
    upper = p_mc + Z_MAX * se
    nums = {
        "p_by_tmax_mc": p_mc,
        "se": se,
        "p_by_tmax_theory": p_th,
        "p_ever_theory": p_ever,
        "z": z,
        "hazard_early": early,
        "hazard_late": late,
        "upper_bound": upper,
    }
    comps = (
        Comparison("P(transition by t_max)", p_th, p_mc, se),
        Comparison("P(ever transition) (limit)", p_ever, p_mc, se, "measured at t_max"),
    )
    if abs(z) > Z_MAX:
        return Verdict(
            "refuted",
            nums,
            f"MC P(transition by {cfg.t_max}) = {p_mc:.4f} vs closed form {p_th:.4f}: z = {z:+.2f}",
            comps,
        )
    if upper >= 1.0 or late + Z_MAX * late_se >= early:
        return Verdict(
            "refuted",
            nums,
            f"P(transition by {cfg.t_max}) = {p_mc:.4f} (upper {upper:.4f}); "
            f"hazard early {early:.2e} vs late {late:.2e}: no sign of a limit below 1",
            comps,
        )
    if p_ever - p_th > 0.01:
        return Verdict(
            "inconclusive",
            nums,
            f"horizon too short: closed form still climbs from {p_th:.4f} to {p_ever:.4f}; raise t_max",
            comps,
        )
    return Verdict(
        "supported",
        nums,
        f"P(transition by {cfg.t_max}) = {p_mc:.4f} +- {se:.4f} vs closed form "
        f"{p_th:.4f} (z = {z:+.2f}); limit P(ever) = {p_ever:.4f} < 1; hazard falls "
        f"{early:.2e} -> {late:.2e}",
        comps,
    )


register(
    Claim(
        id="waluigi.unbounded-never-certain",
        statement="With unbounded memory every luigi-like token is evidence against the waluigi, the hazard "
        "decays to 0 and P(ever transition) stays below 1, equal to the closed form.",
        source=SOURCE,
        config=UnboundedConfig,
        experiment=experiment_unbounded,
        verdict=verdict_unbounded,
        figures=plots.figures_unbounded,
        presets={"quick": {"n_traj": 8000, "t_max": 300}, "full": {"n_traj": 200_000, "t_max": 2000}},
        seeds={"quick": 2, "full": 5},
        quick_budget_s=8,
    )
)


# ============================================================================ 2. window k: inevitable
class WindowConfig(ClaimConfig):
    h: float = Field(0.05, gt=0, le=1, description="waluigi defection hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) per step after defection")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    ks: tuple[KInt, ...] = Field((4, 8, 16, 32), min_length=1, description="context windows in tokens")
    n_traj: int = Field(10_000, ge=100, le=10**7, description="trajectories per seed and window")
    t_max: int = Field(1000, ge=10, le=100_000, description="tokens generated per trajectory")
    s_end_max: float = Field(0.01, gt=0, lt=1, description="survival at t_max must fall below this")


def experiment_window(cfg: WindowConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi)
    t = np.arange(cfg.t_max + 1)
    S_unb = th.survival_unbounded(mix, t)
    frames = []
    for k in cfg.ks:
        fe = mc.simulate_window(mix, k, cfg.n_traj, cfg.t_max, rng)
        km = mc.kaplan_meier(fe.time, fe.observed, cfg.t_max)
        cp = wc.clean_phase(mix, k, cfg.t_max)
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
        # constant-hazard MLE on the homogeneous part, split into an early and a late half
        all_ = mc.constant_hazard(fe.time, fe.observed, k, cfg.t_max)
        span = max(1, int(np.ceil(0.7 / max(all_[0], 1e-9))))
        mid = min(k + span, cfg.t_max - 1)
        e_ev, e_exp = _events_exposure(fe, k, mid)
        l_ev, l_exp = _events_exposure(fe, mid, cfg.t_max)
        frames.append(
            pd.DataFrame(
                [
                    {
                        "part": "floor",
                        "k": k,
                        "eps_theory": th.hazard_floor(mix, k),
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


def _rate(ev: float, exp_: float) -> tuple[float, float]:
    if exp_ <= 0:
        return float("nan"), float("nan")
    lam = ev / exp_
    return lam, float(np.sqrt(max(lam * (1 - lam), 1e-300) / exp_))


def verdict_window(cfg: WindowConfig, table: pd.DataFrame) -> Verdict:
    f = table[table.part == "floor"]
    nums, comps, fails, short = {}, [], [], []
    for k, g in f.groupby("k"):
        eps_th, eps_sv = float(g.eps_theory.iloc[0]), float(g.eps_solver.iloc[0])
        lam_all, se_all = _rate(
            g.events_early.sum() + g.events_late.sum(), g.exposure_early.sum() + g.exposure_late.sum()
        )
        lam_e, se_e = _rate(g.events_early.sum(), g.exposure_early.sum())
        lam_l, se_l = _rate(g.events_late.sum(), g.exposure_late.sum())
        z = _z(lam_all, eps_th, se_all)
        z_drift = _z(lam_l, lam_e, float(np.hypot(se_e, se_l)))
        s_end = float(g.S_end_mc.mean())
        nums.update(
            {
                f"eps_k{k}_mc": lam_all,
                f"eps_k{k}_se": se_all,
                f"eps_k{k}_theory": eps_th,
                f"eps_k{k}_solver": eps_sv,
                f"z_k{k}": z,
                f"late_vs_early_z_k{k}": z_drift,
                f"S_tmax_k{k}": s_end,
            }
        )
        comps.append(Comparison(f"hazard floor eps_{k}", eps_th, lam_all, se_all, f"solver {eps_sv:.6g}"))
        if abs(z) > Z_MAX or lam_all - Z_MAX * se_all <= 0 or abs(eps_sv / eps_th - 1) > 1e-8:
            fails.append(f"k={k}: eps MC {lam_all:.4g}+-{se_all:.2g} vs theory {eps_th:.4g} (z={z:+.1f})")
        elif z_drift < -Z_MAX:
            fails.append(f"k={k}: hazard declines with run length (late vs early z={z_drift:+.1f})")
        if s_end > cfg.s_end_max:
            short.append(f"k={k}: S({cfg.t_max}) = {s_end:.3g}")
    if fails:
        return Verdict("refuted", nums, "; ".join(fails), tuple(comps))
    if short:
        return Verdict("inconclusive", nums, "survival not yet near 0 (raise t_max): " + "; ".join(short), tuple(comps))
    worst = max(abs(nums[f"z_k{k}"]) for k in f.k.unique())
    return Verdict(
        "supported",
        nums,
        f"for k in {sorted(f.k.unique().tolist())} the MC hazard settles on the floor "
        f"eps_k > 0 (max |z| = {worst:.2f} vs closed form; late = early within 3 se) and "
        f"S({cfg.t_max}) <= {max(nums[f'S_tmax_k{k}'] for k in f.k.unique()):.2g}",
        tuple(comps),
    )


register(
    Claim(
        id="waluigi.window-inevitable",
        statement="With a window of k tokens the waluigi's hazard stops falling at a floor eps_k > 0 that does not "
        "depend on run length, so survival -> 0: the transition becomes inevitable.",
        source=SOURCE,
        config=WindowConfig,
        experiment=experiment_window,
        verdict=verdict_window,
        figures=plots.figures_window,
        presets={
            "quick": {"n_traj": 5000, "t_max": 1000},
            "full": {"n_traj": 100_000, "t_max": 3000, "ks": (2, 4, 8, 16, 32, 64)},
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=8,
    )
)


# ============================================================================ 3. hazard vs k
class HazardKConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, lt=1, description="hazard of the single waluigi type")
    beta_a: float = Field(0.5, gt=0, description="Beta(a, b) prior over hazards: a")
    beta_b: float = Field(2.0, gt=0, description="Beta(a, b) prior over hazards: b")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi (rest: luigi)")
    k_min: int = Field(8, ge=1, le=256, description="smallest window of the fit")
    k_max: int = Field(128, ge=4, le=390, description="largest window of the fit")
    n_k: int = Field(9, ge=3, le=40, description="windows on a geometric grid for the fit")
    mc_ks: tuple[KInt, ...] = Field((2, 4, 8, 16), min_length=1, description="windows measured by Monte Carlo")
    n_traj: int = Field(5000, ge=100, le=10**7, description="MC trajectories per seed, window and prior")
    t_max: int = Field(3000, ge=10, le=100_000, description="MC tokens per trajectory")
    slope_tol: float = Field(0.2, gt=0, lt=1, description="allowed relative gap of fitted slopes to the asymptotes")

    @model_validator(mode="after")
    def _range(self):
        if self.k_max <= self.k_min:
            raise ValueError("k_max must exceed k_min")
        return self


def _hazard_mixtures(cfg: HazardKConfig) -> dict[str, PersonaMixture]:
    nodes = max(24, cfg.k_max // 2 + 2, max(cfg.mc_ks) // 2 + 2)  # Gauss-Jacobi exact up to 2n-2 tokens
    return {
        "single": standard_mixture(h=cfg.h, r=1.0, p_waluigi=cfg.p_waluigi),
        "beta": standard_mixture(beta=(cfg.beta_a, cfg.beta_b), r=1.0, p_waluigi=cfg.p_waluigi, n_nodes=nodes),
    }


def _closed_floor(cfg: HazardKConfig, prior: str, k) -> np.ndarray:
    if prior == "single":
        return th.hazard_floor_single(cfg.h, cfg.p_waluigi, k)
    return th.hazard_floor_beta(cfg.beta_a, cfg.beta_b, cfg.p_waluigi, k)


def experiment_hazard_k(cfg: HazardKConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ks = np.unique(np.round(np.geomspace(cfg.k_min, cfg.k_max, cfg.n_k)).astype(int))
    rows = []
    for prior, mix in _hazard_mixtures(cfg).items():
        for k in ks:
            rows.append(
                {
                    "part": "solver",
                    "prior": prior,
                    "k": int(k),
                    "eps_solver": wc.clean_phase(mix, int(k), 0).hazard_floor,
                    "eps_theory": float(_closed_floor(cfg, prior, k)),
                }
            )
        for k in cfg.mc_ks:
            fe = mc.simulate_window(mix, k, cfg.n_traj, cfg.t_max, rng)
            lam, _se, exposure = mc.constant_hazard(fe.time, fe.observed, k, cfg.t_max)
            rows.append(
                {
                    "part": "mc",
                    "prior": prior,
                    "k": int(k),
                    "events": round(lam * exposure),
                    "exposure": exposure,
                    "eps_theory": float(_closed_floor(cfg, prior, k)),
                    "token_steps": fe.token_steps,
                }
            )
    return pd.DataFrame(rows)


def hazard_fits(table: pd.DataFrame) -> dict[str, dict[str, th.LineFit]]:
    s = table[table.part == "solver"].drop_duplicates(["prior", "k"])
    return {
        prior: th.fit_exponential_and_power(g.k.to_numpy(), g.eps_solver.to_numpy()) for prior, g in s.groupby("prior")
    }


def verdict_hazard_k(cfg: HazardKConfig, table: pd.DataFrame) -> Verdict:
    fits = hazard_fits(table)
    asym = th.asymptotic_slopes(h=cfg.h, a=cfg.beta_a)
    fs, fb = fits["single"], fits["beta"]
    nums = {
        "single_exp_slope": fs["exponential"].slope,
        "single_exp_r2": fs["exponential"].r2,
        "single_power_exponent": fs["power"].slope,
        "single_power_r2": fs["power"].r2,
        "beta_exp_slope": fb["exponential"].slope,
        "beta_exp_r2": fb["exponential"].r2,
        "beta_power_exponent": fb["power"].slope,
        "beta_power_r2": fb["power"].r2,
        "theory_exp_slope": asym["exp_slope"],
        "theory_power_exponent": asym["power_exponent"],
    }
    comps = [
        Comparison(
            "single type: d log eps / dk",
            asym["exp_slope"],
            fs["exponential"].slope,
            None,
            f"R2 exp {fs['exponential'].r2:.4f} vs power {fs['power'].r2:.4f}",
        ),
        Comparison(
            "Beta prior: d log eps / d log k",
            asym["power_exponent"],
            fb["power"].slope,
            None,
            f"R2 power {fb['power'].r2:.4f} vs exp {fb['exponential'].r2:.4f}",
        ),
    ]
    fails = []
    s = table[table.part == "solver"]
    solver_err = float(np.max(np.abs(s.eps_solver / s.eps_theory - 1)))
    nums["solver_vs_closed_form_max_rel_err"] = solver_err
    if solver_err > 1e-6:
        fails.append(f"solver vs closed form rel. error {solver_err:.1e}")
    m = table[table.part == "mc"]
    zs = []
    for (prior, k), g in m.groupby(["prior", "k"]):
        lam, se = _rate(g.events.sum(), g.exposure.sum())
        z = _z(lam, float(g.eps_theory.iloc[0]), se)
        zs.append(abs(z))
        nums[f"mc_{prior}_k{k}"], nums[f"mc_{prior}_k{k}_z"] = lam, z
        comps.append(Comparison(f"eps_{k} ({prior})", float(g.eps_theory.iloc[0]), lam, se))
        if abs(z) > Z_MAX:
            fails.append(f"MC eps_{k} ({prior}) z = {z:+.1f}")
    if not fs["exponential"].r2 > fs["power"].r2:
        fails.append("single type: power law fits better than exponential")
    if not fb["power"].r2 > fb["exponential"].r2:
        fails.append("Beta prior: exponential fits better than power law")
    rel_s = abs(fs["exponential"].slope / asym["exp_slope"] - 1)
    rel_b = abs(fb["power"].slope / asym["power_exponent"] - 1)
    nums["single_slope_rel_gap"], nums["beta_exponent_rel_gap"] = rel_s, rel_b
    if rel_s > cfg.slope_tol or rel_b > cfg.slope_tol:
        fails.append(f"fitted slopes off the asymptotes by {rel_s:.0%} (single) / {rel_b:.0%} (Beta)")
    if fails:
        return Verdict("refuted", nums, "; ".join(fails), tuple(comps))
    return Verdict(
        "supported",
        nums,
        f"single type: exponential (slope {fs['exponential'].slope:.4f}/token vs log(1-h) = "
        f"{asym['exp_slope']:.4f}, R2 {fs['exponential'].r2:.4f} > power {fs['power'].r2:.4f}); "
        f"Beta({cfg.beta_a:g},{cfg.beta_b:g}): power law (exponent {fb['power'].slope:.3f} vs "
        f"-(a+1) = {asym['power_exponent']:.2f}, R2 {fb['power'].r2:.4f} > exp {fb['exponential'].r2:.4f}); "
        f"MC max |z| = {max(zs):.2f}",
        tuple(comps),
    )


register(
    Claim(
        id="waluigi.hazard-vs-k",
        statement="The hazard floor falls exponentially in k for one waluigi type but only polynomially "
        "(~k^-(a+1)) for a Beta(a, b) spread of types.",
        source=SOURCE + "; derivation in docs/waluigi.md",
        config=HazardKConfig,
        experiment=experiment_hazard_k,
        verdict=verdict_hazard_k,
        figures=plots.figures_hazard_k,
        presets={
            "quick": {"n_traj": 3000},
            "full": {"n_traj": 50_000, "k_max": 256, "n_k": 13, "mc_ks": (2, 4, 8, 16, 24)},
        },
        seeds={"quick": 2, "full": 4},
        quick_budget_s=8,
    )
)


# ============================================================================ 4. approximate absorption
class ExitConfig(ClaimConfig):
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


def experiment_exit(cfg: ExitConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = standard_mixture(h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi)
    rows = []
    for k in cfg.ks:
        ex = mc.simulate_exit(mix, k, cfg.n_traj, cfg.t_max, rng)
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
    ex = mc.simulate_exit(mix, k, cfg.n_traj, cfg.t_max, rng)
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


def verdict_exit(cfg: ExitConfig, table: pd.DataFrame) -> Verdict:
    e = exit_summary(table)
    nums, comps, fails = {}, [], []
    for _, row in e.iterrows():
        k = int(row.k)
        z = _z(row.mean_mc, row.mean_theory, row.se)
        nums.update(
            {
                f"exit_k{k}_mc": row.mean_mc,
                f"exit_k{k}_se": row.se,
                f"exit_k{k}_theory": row.mean_theory,
                f"exit_k{k}_solver": row.mean_solver,
                f"z_k{k}": z,
            }
        )
        comps.append(
            Comparison(
                f"E[exit time], k={k}",
                float(row.mean_theory),
                float(row.mean_mc),
                float(row.se),
                f"solver {row.mean_solver:.6g}",
            )
        )
        if abs(z) > Z_MAX or abs(row.mean_solver / row.mean_theory - 1) > 1e-6:
            fails.append(
                f"k={k}: MC {row.mean_mc:.4g}+-{row.se:.2g}, solver {row.mean_solver:.6g} vs theory "
                f"{row.mean_theory:.6g} (z={z:+.1f})"
            )
        if row.censored > 0:
            fails.append(f"k={k}: {int(row.censored)} trajectories never left the class by {cfg.t_max}")
    fit = th.fit_line(e.k, np.log(e.mean_mc))
    slope_th = -np.log1p(-cfg.r)
    nums.update({"log_exit_slope": fit.slope, "log_exit_slope_se": fit.slope_se, "theory_slope": slope_th})
    comps.append(Comparison("d log E[exit] / dk (large k)", slope_th, fit.slope, fit.slope_se))
    if fit.slope - Z_MAX * fit.slope_se <= 0:
        fails.append(f"exit time does not grow with k (slope {fit.slope:.3f}+-{fit.slope_se:.3f})")
    if fails:
        return Verdict("refuted", nums, "; ".join(fails), tuple(comps))
    kmax = int(e.k.max())
    return Verdict(
        "supported",
        nums,
        f"exits always happen (no censoring) but E[exit] grows ~e^({fit.slope:.3f} k) "
        f"(theory -log(1-r) = {slope_th:.3f}), reaching {nums[f'exit_k{kmax}_mc']:.4g} at k={kmax}; "
        f"MC, solver and closed form agree (max |z| = "
        f"{max(abs(nums[f'z_k{int(k)}']) for k in e.k):.2f})",
        tuple(comps),
    )


register(
    Claim(
        id="waluigi.approx-absorbing",
        statement="Waluigis are only approximately absorbing: once revealed the window-k reader leaves the "
        "waluigi class again, but the exit time grows (exponentially) with k.",
        source=SOURCE + " (reply: 'approximately absorbing classes')",
        config=ExitConfig,
        experiment=experiment_exit,
        verdict=verdict_exit,
        figures=plots.figures_exit,
        presets={
            "quick": {"n_traj": 800, "ks": (1, 2, 4, 6, 8)},
            "full": {"n_traj": 20_000, "ks": (1, 2, 4, 6, 8, 10, 12, 14)},
        },
        seeds={"quick": 2, "full": 4},
        quick_budget_s=8,
    )
)


# ============================================================================ 5. competing classes
class SplitConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, le=1, description="waluigi defection hazard per step")
    g: float = Field(0.05, gt=0, le=1, description="repetition (mode-collapse) hazard per step")
    r: float = Field(1.0, ge=0, le=1, description="P(revealing token) after defection")
    rho: float = Field(1.0, gt=0, le=1, description="P(collapse token) after collapse")
    p_waluigi: float = Field(0.3, gt=0, lt=1, description="prior weight of the waluigi")
    p_repetition: float = Field(0.3, gt=0, lt=1, description="prior weight of the repetition persona")
    ks: tuple[KInt, ...] = Field((1, 2, 4, 8, 16, 32), min_length=1, description="context windows")
    n_traj: int = Field(10_000, ge=100, le=10**7, description="trajectories per seed and window")
    t_max: int = Field(3000, ge=10, le=100_000, description="tokens per trajectory (window runs)")
    t_max_unbounded: int = Field(400, ge=10, le=100_000, description="tokens per trajectory (full memory)")

    @model_validator(mode="after")
    def _weights(self):
        if self.p_waluigi + self.p_repetition >= 1:
            raise ValueError("p_waluigi + p_repetition must be < 1 (the rest is the luigi)")
        return self


def _split_mixture(cfg: SplitConfig) -> PersonaMixture:
    return standard_mixture(
        h=cfg.h, r=cfg.r, p_waluigi=cfg.p_waluigi, g=cfg.g, p_repetition=cfg.p_repetition, rho=cfg.rho
    )


def experiment_split(cfg: SplitConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = _split_mixture(cfg)
    rows = []
    fe = mc.simulate_unbounded(mix, cfg.n_traj, cfg.t_max_unbounded, rng, events="departure")
    inc = th.departure_incidence_unbounded(mix, cfg.t_max_unbounded)
    lim = th.departure_split_unbounded(mix)
    rows.append(
        {
            "memory": "full",
            "k": 0,
            "n": cfg.n_traj,
            "n_revealing": int((fe.event_class == 0).sum()),
            "n_collapse": int((fe.event_class == 1).sum()),
            "p_rev_theory": inc["revealing"][-1],
            "p_col_theory": inc["collapse"][-1],
            "p_rev_solver": np.nan,
            "p_col_solver": np.nan,
            "p_rev_limit": lim["revealing"],
            "p_col_limit": lim["collapse"],
            "token_steps": fe.token_steps,
        }
    )
    for k in cfg.ks:
        fe = mc.simulate_window(mix, k, cfg.n_traj, cfg.t_max, rng, events="departure")
        inc = th.departure_incidence_window(mix, k, cfg.t_max)
        lim = th.departure_split_window(mix, k)
        cp = wc.clean_phase(mix, k, cfg.t_max, events="departure")
        rows.append(
            {
                "memory": "window",
                "k": k,
                "n": cfg.n_traj,
                "n_revealing": int((fe.event_class == 0).sum()),
                "n_collapse": int((fe.event_class == 1).sum()),
                "p_rev_theory": inc["revealing"][-1],
                "p_col_theory": inc["collapse"][-1],
                "p_rev_solver": cp.incidence["revealing"][-1],
                "p_col_solver": cp.incidence["collapse"][-1],
                "p_rev_limit": lim["revealing"],
                "p_col_limit": lim["collapse"],
                "token_steps": fe.token_steps,
            }
        )
    return pd.DataFrame(rows)


def split_summary(table: pd.DataFrame) -> pd.DataFrame:
    g = table.groupby(["memory", "k"]).agg(
        n=("n", "sum"),
        n_rev=("n_revealing", "sum"),
        n_col=("n_collapse", "sum"),
        p_rev_theory=("p_rev_theory", "first"),
        p_col_theory=("p_col_theory", "first"),
        p_rev_solver=("p_rev_solver", "first"),
        p_col_solver=("p_col_solver", "first"),
        p_rev_limit=("p_rev_limit", "first"),
        p_col_limit=("p_col_limit", "first"),
    )
    g["p_rev_mc"], g["p_col_mc"] = g.n_rev / g.n, g.n_col / g.n
    return g.reset_index()


def verdict_split(cfg: SplitConfig, table: pd.DataFrame) -> Verdict:
    s = split_summary(table)
    nums, comps, fails, zs = {}, [], [], []
    for _, row in s.iterrows():
        tag = "full" if row.memory == "full" else f"k{int(row.k)}"
        for cls, short in (("rev", "waluigi"), ("col", "repetition")):
            p_th = float(row[f"p_{cls}_theory"])
            p_mc = float(row[f"p_{cls}_mc"])
            se = float(np.sqrt(max(p_th * (1 - p_th), 1e-12) / row.n))
            z = _z(p_mc, p_th, se)
            zs.append(abs(z))
            nums[f"p_{short}_{tag}_mc"], nums[f"p_{short}_{tag}_theory"], nums[f"z_{short}_{tag}"] = p_mc, p_th, z
            comps.append(
                Comparison(
                    f"P(first departure = {short}), {tag}",
                    p_th,
                    p_mc,
                    se,
                    "" if np.isnan(row[f"p_{cls}_solver"]) else f"solver {row[f'p_{cls}_solver']:.6g}",
                )
            )
            if abs(z) > Z_MAX:
                fails.append(f"{tag} {short}: MC {p_mc:.4f} vs theory {p_th:.4f} (z={z:+.1f})")
            if not np.isnan(row[f"p_{cls}_solver"]) and abs(row[f"p_{cls}_solver"] - p_th) > 1e-9:
                fails.append(f"{tag} {short}: solver {row[f'p_{cls}_solver']:.6g} vs theory {p_th:.6g}")
        if row.memory == "window":
            se_c = float(np.sqrt(max(row.p_col_mc * (1 - row.p_col_mc), 1e-12) / row.n))
            if row.p_col_mc - Z_MAX * se_c <= 0:
                fails.append(f"{tag}: mode collapse never wins (P = {row.p_col_mc:.4f}); waluigi inevitable after all")
    if fails:
        return Verdict("refuted", nums, "; ".join(fails), tuple(comps))
    w = s[s.memory == "window"]
    lo, hi = w.p_rev_mc.min(), w.p_rev_mc.max()
    return Verdict(
        "supported",
        nums,
        f"with a window the first departure is the waluigi with P in [{lo:.3f}, {hi:.3f}] "
        f"and mode collapse otherwise (never certain); MC, solver and closed form agree "
        f"(max |z| = {max(zs):.2f})",
        tuple(comps),
    )


register(
    Claim(
        id="waluigi.competing-classes",
        statement="Other absorbing classes (repetition / mode collapse) compete with the waluigi, so the waluigi "
        "transition is not inevitable even with a finite window; the split follows the closed form.",
        source=SOURCE + " (reply: other absorbing classes)",
        config=SplitConfig,
        experiment=experiment_split,
        verdict=verdict_split,
        figures=plots.figures_split,
        presets={"quick": {"n_traj": 5000}, "full": {"n_traj": 100_000, "ks": (1, 2, 4, 8, 16, 32, 64, 128)}},
        seeds={"quick": 2, "full": 4},
        quick_budget_s=8,
    )
)
