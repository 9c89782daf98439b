"""Theory checks about bounded-context personas: closed forms vs the exact window-chain solver vs Monte Carlo.

Source: comments under "The Waluigi Effect (mega-post)", LessWrong 2023 (an LLM as a high-order
Markov model; finite context makes the waluigi transition inevitable; the reply: waluigis are only
approximately absorbing and other absorbing classes, e.g. repetition, compete).

Every statement here is a theorem about the Bayes-mixture reader (derivations in ``docs/waluigi.md``),
so each is registered as ``kind="check"``: it can only fail by a bug. A check compares

* a Monte Carlo estimate with its closed form: "equals" holds when the 4-standard-error interval
  (level 0.99994, a false alarm once in ~16,000 comparisons of a correct simulator) contains it;
* the exact solver with the closed form: within a relative tolerance (solver accuracy);
* a closed-form inequality (P(ever) < 1, eps_k > 0): a point interval on the right side.

Each check also declares a mutation (a simulated reader that ignores its window, forgets, or sees one
token too many) under which the contract test requires "refuted". Experiments are in
:mod:`aflab.waluigi.experiments`, figures in :mod:`aflab.waluigi.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Decision, Interval, Threshold, decide, proportion_ci, z_interval
from aflab.waluigi import experiments as ex
from aflab.waluigi import plots
from aflab.waluigi import theory as th

SOURCE = "Comments under 'The Waluigi Effect (mega-post)', LessWrong, 2023"
#: 4 standard errors, two-sided: what every MC-vs-closed-form comparison uses.
LEVEL = 0.99994
MC_WHY = (
    "a theorem: the Monte Carlo must agree with the closed form; the 4-SE interval (level 0.99994) rejects a "
    "correct simulator once in ~16,000 comparisons"
)
SOLVER_WHY = "a theorem: the exact solver must reproduce the closed form up to its numerical tolerance"


def mc_agrees(statistic: str, interval: Interval, theory: float) -> Decision:
    """MC interval vs closed form (``equals``: supported when the interval contains it)."""
    return decide(interval, Threshold(statistic, "equals", float(theory), MC_WHY))


def solver_agrees(statistic: str, value: float, theory: float, rtol: float) -> Decision:
    """Solver value vs closed form within ``rtol`` (a tolerance interval around the solver value)."""
    tol = rtol * abs(theory)
    iv = Interval(float(value), float(value) - tol, float(value) + tol, 1.0, f"solver, rel. tol {rtol:g}")
    return decide(iv, Threshold(statistic, "equals", float(theory), SOLVER_WHY))


def point(value: float, method: str = "closed form") -> Interval:
    """A number known exactly (closed form or exact solver) as a zero-width interval."""
    return Interval(float(value), float(value), float(value), 1.0, method)


def rate_ci(events: float, exposure: float) -> Interval:
    """A constant per-step hazard: events among Bernoulli exposure steps, Wilson interval at LEVEL."""
    return proportion_ci(int(events), int(exposure), LEVEL)


# ============================================================================ 1. unbounded memory
def unbounded_never_certain_verdict(cfg: ex.UnboundedNeverCertainConfig, table: pd.DataFrame) -> Verdict:
    """MC P(transition by t_max) = closed form; closed-form P(ever) < 1; the MC hazard falls (late < early)."""
    s = table[table.part == "summary"]
    p_mc = float(s.p_by_tmax_mc.mean())
    se = float(np.sqrt((s.se**2).sum()) / len(s))
    p_th, p_ever = float(s.p_by_tmax_theory.iloc[0]), float(s.p_ever_theory.iloc[0])
    early, late = float(s.haz_early.mean()), float(s.haz_late.mean())
    drop_se = float(np.sqrt((s.haz_early_se**2).sum() + (s.haz_late_se**2).sum()) / len(s))
    decisions = [
        mc_agrees(f"P(transition by t={cfg.t_max}), MC", z_interval(p_mc, se, LEVEL, int(s.n.sum())), p_th),
        decide(
            point(1.0 - p_ever),
            Threshold(
                "P(never transition) = 1 - P(ever), closed form",
                "above",
                1e-12,
                "the claim: a transition is never certain (1e-12: above float rounding)",
            ),
        ),
        decide(
            z_interval(late - early, drop_se, LEVEL),
            Threshold(
                "late minus early hazard (last vs first quarter of t_max), MC",
                "below",
                0.0,
                "every luigi-like token is evidence against the waluigi, so the hazard must fall",
            ),
        ),
    ]
    comps = (
        Comparison("P(transition by t_max)", p_th, p_mc, se),
        Comparison("P(ever transition) (limit)", p_ever, p_mc, se, "measured at t_max"),
    )
    return Verdict.from_decisions(
        decisions,
        {"p_ever_theory": p_ever, "hazard_early": early, "hazard_late": late, "horizon_gap": p_ever - p_th},
        comparisons=comps,
    )


register(
    Claim(
        id="waluigi.unbounded-never-certain",
        statement="With unbounded memory every luigi-like token is evidence against the waluigi, the hazard "
        "decays to 0 and P(ever transition) stays below 1, equal to the closed form.",
        source=SOURCE,
        config=ex.UnboundedNeverCertainConfig,
        experiment=ex.unbounded_never_certain_experiment,
        verdict=unbounded_never_certain_verdict,
        figures=plots.unbounded_never_certain_figures,
        presets={
            "smoke": {"n_traj": 3000, "t_max": 200},
            "quick": {"n_traj": 8000, "t_max": 300},
            "full": {"n_traj": 200_000, "t_max": 2000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=8,
        kind="check",
        counterfactual=Counterfactual("the simulated reader keeps only its last 4 tokens", {"memory": 4}),
    )
)


# ============================================================================ 2. window k: inevitable
def window_inevitable_verdict(cfg: ex.WindowInevitableConfig, table: pd.DataFrame) -> Verdict:
    """Per k: MC floor hazard = eps_k (closed form); solver = closed form; eps_k > 0; late rate = early rate."""
    f = table[table.part == "floor"]
    decisions, comps, nums = [], [], {}
    for k, g in f.groupby("k"):
        eps_th, eps_sv = float(g.eps_theory.iloc[0]), float(g.eps_solver.iloc[0])
        e_ev, e_exp = g.events_early.sum(), g.exposure_early.sum()
        l_ev, l_exp = g.events_late.sum(), g.exposure_late.sum()
        all_ = rate_ci(e_ev + l_ev, e_exp + l_exp)
        early, late = rate_ci(e_ev, e_exp), rate_ci(l_ev, l_exp)
        drift_se = float(np.hypot(early.se or 0.0, late.se or 0.0))
        decisions += [
            mc_agrees(f"floor hazard eps_{k}, MC", all_, eps_th),
            solver_agrees(f"floor hazard eps_{k}, solver 1 - rho(Q)", eps_sv, eps_th, 1e-8),
            decide(
                point(eps_th),
                Threshold(f"eps_{k}, closed form", "above", 0.0, "the claim: a window leaves a positive floor"),
            ),
            mc_agrees(
                f"late minus early floor hazard, k={k}, MC",
                z_interval(late.estimate - early.estimate, drift_se, LEVEL),
                0.0,
            ),
        ]
        nums[f"S_tmax_k{k}"] = float(g.S_end_mc.mean())
        comps.append(Comparison(f"hazard floor eps_{k}", eps_th, all_.estimate, all_.se, f"solver {eps_sv:.6g}"))
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


register(
    Claim(
        id="waluigi.window-inevitable",
        statement="With a window of k tokens the waluigi's hazard stops falling at a floor eps_k > 0 that does not "
        "depend on run length, so survival -> 0: the transition becomes inevitable.",
        source=SOURCE,
        config=ex.WindowInevitableConfig,
        experiment=ex.window_inevitable_experiment,
        verdict=window_inevitable_verdict,
        figures=plots.window_inevitable_figures,
        presets={
            "smoke": {"n_traj": 2000, "t_max": 400, "ks": (4, 8)},
            "quick": {"n_traj": 5000, "t_max": 1000},
            "full": {"n_traj": 100_000, "t_max": 3000, "ks": (2, 4, 8, 16, 32, 64)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=8,
        kind="check",
        counterfactual=Counterfactual("the simulated reader ignores its window", {"ignore_window": True}),
    )
)


# ============================================================================ 3. hazard vs k
def hazard_fits(table: pd.DataFrame) -> dict[str, dict[str, th.LineFit]]:
    s = table[table.part == "solver"].drop_duplicates(["prior", "k"])
    return {
        prior: th.fit_exponential_and_power(g.k.to_numpy(), g.eps_solver.to_numpy()) for prior, g in s.groupby("prior")
    }


def _shape_decisions(cfg: ex.HazardVsKConfig, fits) -> list[Decision]:
    """Which law fits better (R^2) and whether the fitted slope sits within slope_tol of the asymptote."""
    asym = th.asymptotic_slopes(h=cfg.h, a=cfg.beta_a)
    fs, fb = fits["single"], fits["beta"]
    why_tol = (
        f"the fit over k = {cfg.k_min}..{cfg.k_max} is pre-asymptotic; slope_tol = {cfg.slope_tol:g} is the relative "
        "gap allowed to the k -> infinity slope"
    )
    out: list[Decision] = []
    for name, fit, target in (
        ("single type: d log eps / dk", fs["exponential"], asym["exp_slope"]),
        ("Beta types: d log eps / d log k", fb["power"], asym["power_exponent"]),
    ):
        lo, hi = sorted((target * (1 - cfg.slope_tol), target * (1 + cfg.slope_tol)))
        out.append(
            decide(point(fit.slope, "least squares on solver values"), Threshold(name, "within", lo, why_tol, hi))
        )
    out.append(
        decide(
            point(fs["exponential"].r2 - fs["power"].r2, "R^2 difference"),
            Threshold("single type: R^2 exponential minus R^2 power law", "above", 0.0, "exponential decay in k"),
        )
    )
    out.append(
        decide(
            point(fb["power"].r2 - fb["exponential"].r2, "R^2 difference"),
            Threshold("Beta types: R^2 power law minus R^2 exponential", "above", 0.0, "polynomial decay in k"),
        )
    )
    return out[2:] + out[:2]  # the shapes (which law fits better) first, then the slopes


def hazard_vs_k_verdict(cfg: ex.HazardVsKConfig, table: pd.DataFrame) -> Verdict:
    """Solver = closed form on the k grid; MC floors = closed form; exponential (one type) vs power law (Beta)."""
    fits = hazard_fits(table)
    decisions, comps = _shape_decisions(cfg, fits), []  # the statement itself first: which law, which slope
    s = table[table.part == "solver"].drop_duplicates(["prior", "k"])
    for (prior, k), g in s.groupby(["prior", "k"]):
        decisions.append(solver_agrees(f"eps_{k} ({prior}), solver", g.eps_solver.iloc[0], g.eps_theory.iloc[0], 1e-6))
    for (prior, k), g in table[table.part == "mc"].groupby(["prior", "k"]):
        iv = rate_ci(g.events.sum(), g.exposure.sum())
        decisions.append(mc_agrees(f"eps_{k} ({prior}), MC", iv, g.eps_theory.iloc[0]))
        comps.append(Comparison(f"eps_{k} ({prior})", float(g.eps_theory.iloc[0]), iv.estimate, iv.se))
    asym = th.asymptotic_slopes(h=cfg.h, a=cfg.beta_a)
    fs, fb = fits["single"], fits["beta"]
    nums = {
        "single_exp_slope": fs["exponential"].slope,
        "single_exp_r2": fs["exponential"].r2,
        "single_power_r2": fs["power"].r2,
        "beta_power_exponent": fb["power"].slope,
        "beta_power_r2": fb["power"].r2,
        "beta_exp_r2": fb["exponential"].r2,
        "theory_exp_slope": asym["exp_slope"],
        "theory_power_exponent": asym["power_exponent"],
    }
    comps += [
        Comparison("single type: d log eps / dk", asym["exp_slope"], fs["exponential"].slope),
        Comparison("Beta prior: d log eps / d log k", asym["power_exponent"], fb["power"].slope),
    ]
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


register(
    Claim(
        id="waluigi.hazard-vs-k",
        statement="The hazard floor falls exponentially in k for one waluigi type but only polynomially "
        "(~k^-(a+1)) for a Beta(a, b) spread of types.",
        source=SOURCE + "; derivation in docs/waluigi.md",
        config=ex.HazardVsKConfig,
        experiment=ex.hazard_vs_k_experiment,
        verdict=hazard_vs_k_verdict,
        figures=plots.hazard_vs_k_figures,
        presets={
            "smoke": {"n_traj": 1500, "mc_ks": (2, 8), "k_max": 64, "n_k": 6, "t_max": 1500},
            "quick": {"n_traj": 3000},
            "full": {"n_traj": 50_000, "k_max": 256, "n_k": 13, "mc_ks": (2, 4, 8, 16, 24)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 4},
        quick_budget_s=8,
        kind="check",
        counterfactual=Counterfactual("the simulated reader ignores its window", {"ignore_window": True}),
    )
)


# ============================================================================ 4. approximate absorption
def approx_absorbing_verdict(cfg: ex.ApproxAbsorbingConfig, table: pd.DataFrame) -> Verdict:
    """Per k: MC mean exit = (1 - q^k)/(r q^k) = solver, no exit censored; log E[exit] grows linearly in k."""
    e = ex.exit_summary(table)
    decisions, comps = [], []
    for row in e.itertuples():
        k = int(row.k)
        iv = z_interval(row.mean_mc, row.se, LEVEL, int(row.n))
        decisions += [
            mc_agrees(f"mean exit time, k={k}, MC", iv, row.mean_theory),
            solver_agrees(f"mean exit time, k={k}, solver", row.mean_solver, row.mean_theory, 1e-6),
            decide(
                point(row.censored / row.n, "count"),
                Threshold(
                    f"fraction of exits censored at t_max, k={k}",
                    "below",
                    1e-12,
                    "approximately (not exactly) absorbing: every trajectory leaves the class",
                ),
            ),
        ]
        comps.append(Comparison(f"E[exit time], k={k}", row.mean_theory, row.mean_mc, row.se))
    fit = th.fit_line(e.k, np.log(e.mean_mc))
    slope_th = float(-np.log1p(-cfg.r))
    slope_iv = z_interval(fit.slope, fit.slope_se, LEVEL, len(e))
    decisions.append(
        decide(
            slope_iv,
            Threshold(
                "d log E[exit] / dk, MC",
                "above",
                0.0,
                "the exit time must grow with the window; the closed-form slope is -log(1-r)",
            ),
        )
    )
    comps.append(Comparison("d log E[exit] / dk (large k)", slope_th, fit.slope, fit.slope_se))
    return Verdict.from_decisions(decisions, {"log_exit_slope": fit.slope, "theory_slope": slope_th}, comparisons=comps)


register(
    Claim(
        id="waluigi.approx-absorbing",
        statement="Waluigis are only approximately absorbing: once revealed the window-k reader leaves the "
        "waluigi class again, but the exit time grows (exponentially) with k.",
        source=SOURCE + " (reply: 'approximately absorbing classes')",
        config=ex.ApproxAbsorbingConfig,
        experiment=ex.approx_absorbing_experiment,
        verdict=approx_absorbing_verdict,
        figures=plots.approx_absorbing_figures,
        presets={
            "smoke": {"n_traj": 400, "ks": (1, 2, 4, 6), "pmf_t": 40},
            "quick": {"n_traj": 800, "ks": (1, 2, 4, 6, 8)},
            "full": {"n_traj": 20_000, "ks": (1, 2, 4, 6, 8, 10, 12, 14)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 4},
        quick_budget_s=8,
        kind="check",
        counterfactual=Counterfactual("the simulated reader sees k + 1 tokens", {"window_offset": 1}),
    )
)


# ============================================================================ 5. competing classes
def _split_decisions(s: pd.DataFrame) -> tuple[list[Decision], list[Comparison]]:
    decisions, comps = [], []
    for row in s.itertuples():
        tag = "full memory" if row.memory == "full" else f"k={int(row.k)}"
        for cls, name in (("rev", "waluigi"), ("col", "repetition")):
            iv = proportion_ci(int(getattr(row, f"n_{cls}")), int(row.n), LEVEL)
            p_th, p_sv = float(getattr(row, f"p_{cls}_theory")), float(getattr(row, f"p_{cls}_solver"))
            decisions.append(mc_agrees(f"P(first departure = {name}), {tag}, MC", iv, p_th))
            if np.isfinite(p_sv):
                decisions.append(solver_agrees(f"P(first departure = {name}), {tag}, solver", p_sv, p_th, 1e-7))
            comps.append(Comparison(f"P(first departure = {name}), {tag}", p_th, iv.estimate, iv.se))
        if row.memory == "window":
            decisions.append(
                decide(
                    proportion_ci(int(row.n_col), int(row.n), LEVEL),
                    Threshold(
                        f"P(first departure = repetition), k={int(row.k)}, MC",
                        "above",
                        0.0,
                        "the reply: another absorbing class competes, so the waluigi is not inevitable",
                    ),
                )
            )
            if row.n_floor > 0:
                iv = proportion_ci(int(row.n_floor_col), int(row.n_floor), LEVEL)
                decisions.append(
                    mc_agrees(f"repetition share of floor departures, k={int(row.k)}, MC", iv, row.share_theory)
                )
    return decisions, comps


def _headline_decisions(cfg: ex.CompetingClassesConfig, w: pd.DataFrame) -> list[Decision]:
    """The smaller-hazard class wins the floor as k grows: its share rises from the smallest to the largest
    k (MC, difference of proportions) and exceeds 1/2 at the largest k (MC)."""
    smaller = "repetition" if cfg.g < cfg.h else "waluigi"

    def share(row) -> tuple[float, float, int]:
        col = row.n_floor_col / row.n_floor
        p = col if smaller == "repetition" else 1 - col
        return float(p), float(p * (1 - p) / row.n_floor), int(row.n_floor)

    lo_row, hi_row = w.iloc[0], w.iloc[-1]
    if lo_row.n_floor == 0 or hi_row.n_floor == 0:
        nan = Interval(float("nan"), float("nan"), float("nan"))
        return [decide(nan, Threshold(f"{smaller} share of floor departures", "above", 0.5, "no floor events"))]
    (p0, v0, _), (p1, v1, n1) = share(lo_row), share(hi_row)
    k0, k1 = int(lo_row.k), int(hi_row.k)
    n_win = round(p1 * n1)
    return [
        decide(
            z_interval(p1 - p0, float(np.sqrt(v0 + v1)), LEVEL),
            Threshold(
                f"{smaller} (smaller hazard) share of floor departures, k={k1} minus k={k0}, MC",
                "above",
                0.0,
                "the reply's headline: the smaller-hazard class wins more of the floor as k grows "
                "(its floor share -> 1; derivation in docs/waluigi.md)",
            ),
        ),
        decide(
            proportion_ci(n_win, n1, LEVEL),
            Threshold(
                f"{smaller} (smaller hazard) share of floor departures, k={k1}, MC",
                "above",
                0.5,
                "'wins': the smaller-hazard class takes most floor departures at the largest window",
            ),
        ),
    ]


def competing_classes_verdict(cfg: ex.CompetingClassesConfig, table: pd.DataFrame) -> Verdict:
    s = ex.split_summary(table)
    w = s[s.memory == "window"].sort_values("k")
    decisions, comps = _split_decisions(s)
    decisions = _headline_decisions(cfg, w) + decisions
    nums = {f"floor_share_repetition_k{int(r.k)}": float(r.share_mc) for r in w.itertuples() if r.n_floor > 0}
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


register(
    Claim(
        id="waluigi.competing-classes",
        statement="Other absorbing classes (repetition / mode collapse) compete with the waluigi, so the waluigi "
        "transition is not inevitable even with a finite window; as k grows the class with the smaller hazard "
        "wins the floor; the split follows the closed form.",
        source=SOURCE + " (reply: other absorbing classes)",
        config=ex.CompetingClassesConfig,
        experiment=ex.competing_classes_experiment,
        verdict=competing_classes_verdict,
        figures=plots.competing_classes_figures,
        presets={
            "smoke": {"n_traj": 2500, "ks": (1, 32), "t_max": 2000, "t_max_unbounded": 200},
            "quick": {"n_traj": 5000},
            "full": {"n_traj": 100_000, "ks": (1, 2, 4, 8, 16, 32, 64, 128)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 4},
        quick_budget_s=8,
        kind="check",
        counterfactual=Counterfactual("the simulated reader ignores its window", {"ignore_window": True}),
    )
)


# ============================================================================ 6. the comment's three-state persona
def three_state_persona_verdict(cfg: ex.ThreeStatePersonaConfig, table: pd.DataFrame) -> Verdict:
    """Floors: MC and solver = the comment's closed form; occupancy: sparse/shift solver and the renewal formula
    = the dense direct solve (to 1e-10); exit times: MC and solver = (1 - q^k)/(r q^k)."""
    e = table[table.part == "exact"].drop_duplicates("k")
    decisions, comps = [], []
    for row in e.itertuples():
        k = int(row.k)
        decisions.append(
            solver_agrees(f"eps_{k}, solver vs the comment's closed form", row.eps_solver, row.eps_closed, 1e-9)
        )
        for name in ("occ_solver", "occ_renewal"):
            iv = Interval(
                getattr(row, name), getattr(row, name) - 1e-10, getattr(row, name) + 1e-10, 1.0, "abs. tol 1e-10"
            )
            decisions.append(
                decide(
                    iv,
                    Threshold(
                        f"waluigi-window occupancy, k={k}, {name[4:]}",
                        "equals",
                        float(row.occ_dense),
                        "the stationary law of the 2^k-window chain solved densely and directly; 1e-10 absolute",
                    ),
                )
            )
        decisions.append(solver_agrees(f"mean exit time, k={k}, solver", row.exit_solver, row.exit_closed, 1e-8))
        comps.append(Comparison(f"occupancy k={k} (dense solve vs solver)", row.occ_dense, row.occ_solver))
    m = (
        table[table.part == "mc"]
        .groupby("k")
        .agg(
            events=("events", "sum"),
            exposure=("exposure", "sum"),
            n=("exit_n", "sum"),
            s=("exit_sum", "sum"),
            ss=("exit_sumsq", "sum"),
            eps=("eps_closed", "first"),
            exit_=("exit_closed", "first"),
        )
    )
    for k, row in m.iterrows():
        iv = rate_ci(row.events, row.exposure)
        decisions.append(mc_agrees(f"floor eps_{k}, MC", iv, row.eps))
        mean = row.s / row.n
        se = float(np.sqrt(max(row.ss / row.n - mean**2, 0.0) / row.n))
        decisions.append(mc_agrees(f"mean exit time, k={k}, MC", z_interval(mean, se, LEVEL, int(row.n)), row.exit_))
        comps.append(Comparison(f"floor eps_{k} (the comment's model)", float(row.eps), iv.estimate, iv.se))
    toy = e[e.k == e.k.max()].iloc[0]
    nums = {f"eps_k{int(r.k)}": float(r.eps_closed) for r in e.itertuples()}
    nums |= {f"occupancy_k{int(r.k)}": float(r.occ_dense) for r in e.itertuples()}
    return Verdict.from_decisions(
        decisions, nums, f"floor at k={int(toy.k)}: {toy.eps_closed:.3g} (independent of r)", comps
    )


register(
    Claim(
        id="waluigi.three-state-persona",
        statement="The comment's toy model (luigi; a waluigi hidden until it defects, revealed at that moment, then "
        "revealing each later token with probability r): its window-k floor is w h (1-h)^k / (1 - w + w (1-h)^k) "
        "for every r, and its waluigi occupancy follows the renewal formula exit / (exit + 1/eps_k).",
        source=SOURCE + " (the original comment's toy model)",
        config=ex.ThreeStatePersonaConfig,
        experiment=ex.three_state_persona_experiment,
        verdict=three_state_persona_verdict,
        figures=plots.three_state_persona_figures,
        presets={
            "smoke": {"ks": (2, 4, 6), "mc_ks": (2, 4), "n_traj": 1500, "t_max": 800},
            "quick": {},
            "full": {"ks": (2, 4, 6, 8, 10, 12), "mc_ks": (2, 4, 6, 8), "n_traj": 50_000, "t_max": 20_000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 4},
        quick_budget_s=10,
        kind="check",
        counterfactual=Counterfactual("the simulated waluigi may defect silently (r_defect = r)", {"silent": True}),
    )
)
