"""The partial-agency claims (issue 6, item 5), each decided from measured numbers across seeds and eps.

1. ``partial_agency.myopic-reach-stable-not-optimal``
2. ``partial_agency.rrm-linear-below-gamma-over-beta``
3. ``partial_agency.full-agents-lower-entropy``
4. ``partial_agency.honest-only-at-fixed-points``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Verdict, register
from aflab.partial_agency import experiments as E
from aflab.partial_agency import plots


# ------------------------------------------------------------------------------------------------
# 1
# ------------------------------------------------------------------------------------------------
def stable_not_optimal_verdict(cfg: E.StableNotOptimalConfig, table: pd.DataFrame) -> Verdict:
    """Per (map, eps, learner) cell: r_PS = median |limit - PS| / |PS - PO|, r_PO likewise (diverged chains dropped).

    supported: every myopic cell has r_PS < at_tol, and on every (map, eps) some full learner has
    r_PO < at_tol (the optimum is reachable and distinct); refuted: some myopic cell ends closer to
    PO than to PS; inconclusive otherwise (noise, non-convergence, controls failing).
    """
    lim = table[table["row"] == "limit"]
    n_div = int((lim["status"] == "diverged").sum())
    ok = lim[lim["status"] != "diverged"].assign(
        r_ps=lambda d: d["dist_ps"] / d["gap"], r_po=lambda d: d["dist_po"] / d["gap"]
    )
    cells = ok.groupby(["map", "eps", "learner", "agency"], as_index=False).agg(
        r_ps=("r_ps", "median"), r_po=("r_po", "median")
    )
    my = cells[cells["agency"] == "myopic"]
    full = cells[cells["agency"] == "full"]
    toward_po = my[my["r_po"] < my["r_ps"]]
    not_at_ps = my[my["r_ps"] >= cfg.at_tol]
    best_full = full.groupby(["map", "eps"])["r_po"].min()
    controls_fail = best_full[best_full >= cfg.at_tol]
    nums = {
        "myopic_cells": float(len(my)),
        "myopic_worst_r_ps": float(my["r_ps"].max()),
        "myopic_median_r_ps": float(my["r_ps"].median()),
        "myopic_median_r_po": float(my["r_po"].median()),
        "full_best_worst_r_po": float(best_full.max()),
        "full_median_r_po": float(full["r_po"].median()),
        "min_gap": float(lim["gap"].min()),
        "diverged_chains": float(n_div),
        "at_tol": cfg.at_tol,
    }
    comps = []
    for name, g in my.groupby("map"):
        comps.append(
            Comparison(
                f"{name}: myopic median |lim-PS|/gap",
                0.0,
                float(g["r_ps"].median()),
                note=f"worst {g['r_ps'].max():.3f}; |lim-PO|/gap {g['r_po'].median():.3f} (theory 1)",
            )
        )
    for name, g in full.groupby("map"):
        comps.append(Comparison(f"{name}: full median |lim-PO|/gap", 0.0, float(g["r_po"].median())))
    if len(toward_po):
        first = toward_po.iloc[0]
        return Verdict(
            "refuted",
            nums,
            f"{len(toward_po)} myopic cells end nearer the optimum than the stable point, "
            f"e.g. {first['learner']} on {first['map']} eps={first['eps']:g}: r_PS={first['r_ps']:.3f}, "
            f"r_PO={first['r_po']:.3f}",
            tuple(comps),
        )
    if len(not_at_ps) or len(controls_fail):
        why = []
        if len(not_at_ps):
            w = not_at_ps.sort_values("r_ps").iloc[-1]
            why.append(
                f"{len(not_at_ps)} myopic cells not within {cfg.at_tol} gap of PS "
                f"(worst {w['learner']} on {w['map']} eps={w['eps']:g}: r_PS={w['r_ps']:.3f})"
            )
        if len(controls_fail):
            why.append(f"no full learner reached PO on {list(controls_fail.index)}")
        return Verdict("inconclusive", nums, "; ".join(why), tuple(comps))
    return Verdict(
        "supported",
        nums,
        f"all {len(my)} myopic cells end at theta_PS (median |lim-PS| = {nums['myopic_median_r_ps']:.3f} gap, "
        f"worst {nums['myopic_worst_r_ps']:.3f}; |lim-PO| = {nums['myopic_median_r_po']:.2f} gap) while full "
        f"learners reach theta_PO (median {nums['full_median_r_po']:.3f} gap)",
        tuple(comps),
    )


register(
    Claim(
        id="partial_agency.myopic-reach-stable-not-optimal",
        statement=(
            "Myopic (stop-gradient) learners -- repeated risk minimisation, repeated gradient descent, greedy and "
            "lazy stochastic deployment -- converge to performatively stable points, not to performative optima; "
            "on maps where the two differ the measured gap is the whole |theta_PS - theta_PO|, while learners that "
            "differentiate through the map (PerfGD, two-point derivative-free) reach the optimum."
        ),
        source=(
            "Perdomo, Zrnic, Mendler-Duenner, Hardt 2020 (Performative Prediction) sec. 3-5; Miller, Perdomo, Zrnic 2021; "
            "Izzo, Ying, Zou 2021 (PerfGD); Demski 2019, Partial Agency sequence"
        ),
        config=E.StableNotOptimalConfig,
        experiment=E.stable_not_optimal_experiment,
        verdict=stable_not_optimal_verdict,
        figures=plots.stable_not_optimal_figures,
        presets={
            "quick": {
                "eps_values": (0.25,),
                "strategic_eps_values": (0.5,),
                "replicates": 3,
                "rounds": 150,
                "n_samples": 800,
                "dfo_rounds": 500,
                "dfo_maps": ("location",),
            },
            "full": {
                "eps_values": (0.1, 0.25, 0.4),
                "strategic_eps_values": (0.25, 0.5),
                "mixture_eps_values": (0.4, 0.6),
                "replicates": 4,
                "rounds": 300,
                "n_samples": 2000,
                "dfo_rounds": 1000,
            },
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=12,
    )
)


# ------------------------------------------------------------------------------------------------
# 2
# ------------------------------------------------------------------------------------------------
def rrm_rate_verdict(cfg: E.RRMRateConfig, table: pd.DataFrame) -> Verdict:
    """Where eps*beta/gamma < 1: every chain must converge with median measured rate <= bound + slack.
    Beyond it on the location family (where the bound is tight): divergence must be detected in every chain
    of at least one eps.  Strategic eps beyond the (conservative) bound are reported, not judged."""
    rate = table[table["row"] == "rate"]
    cells = rate.groupby(["map", "eps"], as_index=False).agg(
        holds=("condition_holds", "first"),
        bound=("rate_bound", "first"),
        rate=("rate", "median"),
        conv=("status", lambda s: float(np.mean(s == "converged"))),
        div=("status", lambda s: float(np.mean(s == "diverged"))),
    )
    inside = cells[cells["holds"]]
    fail_conv = inside[inside["conv"] < 1]
    fail_rate = inside[inside["rate"] > inside["bound"] + cfg.rate_slack]
    unmeasured = inside[inside["rate"].isna()]
    beyond_loc = cells[(~cells["holds"]) & (cells["map"] == "location")]
    diverging = beyond_loc[beyond_loc["div"] == 1]
    loc_in = inside[inside["map"] == "location"]
    strat_out = cells[(~cells["holds"]) & (cells["map"] == "strategic")]
    nums = {
        "settings_inside": float(len(inside)),
        "inside_converged_frac": float(inside["conv"].mean()),
        "max_rate_minus_bound": float((inside["rate"] - inside["bound"]).max()),
        "location_max_abs_rate_error": float((loc_in["rate"] - loc_in["bound"]).abs().max()),
        "beyond_settings_location": float(len(beyond_loc)),
        "beyond_all_diverged": float(len(diverging)),
        "strategic_beyond_bound_converged_frac": float(strat_out["conv"].mean()) if len(strat_out) else float("nan"),
    }
    comps = tuple(
        Comparison(
            f"{r['map']} eps={r['eps']:g}: RRM rate",
            float(r["bound"]),
            float(r["rate"]),
            note=f"converged {r['conv']:.2f}, diverged {r['div']:.2f}, condition {'holds' if r['holds'] else 'fails'}",
        )
        for _, r in cells.iterrows()
    )
    strat_note = (
        (
            "; strategic beyond the bound: "
            + ", ".join(
                f"eps={r['eps']:g} converged {r['conv']:.2f}/diverged {r['div']:.2f}" for _, r in strat_out.iterrows()
            )
        )
        if len(strat_out)
        else ""
    )
    if len(fail_conv) or len(fail_rate):
        bad = pd.concat([fail_conv, fail_rate]).iloc[0]
        return Verdict(
            "refuted",
            nums,
            f"condition holds but RRM failed on {bad['map']} eps={bad['eps']:g}: converged "
            f"{bad['conv']:.2f}, rate {bad['rate']:.3f} vs bound {bad['bound']:.3f}" + strat_note,
            comps,
        )
    if len(unmeasured):
        return Verdict(
            "inconclusive",
            nums,
            f"rate not measurable (no rounds above the noise floor) on "
            f"{list(zip(unmeasured['map'], unmeasured['eps']))}",
            comps,
        )
    if len(beyond_loc) == 0:
        return Verdict(
            "inconclusive", nums, "no location-family eps beyond gamma/beta configured; cannot test divergence", comps
        )
    if len(diverging) == 0:
        return Verdict(
            "refuted", nums, "no eps beyond gamma/beta diverged on the location family (tight example)", comps
        )
    return Verdict(
        "supported",
        nums,
        f"all {len(inside)} settings with eps*beta/gamma < 1 converged at rate <= bound (location: measured rate "
        f"within {nums['location_max_abs_rate_error']:.3f} of eps); {len(diverging)}/{len(beyond_loc)} location "
        f"eps > gamma/beta diverged and were flagged" + strat_note,
        comps,
    )


register(
    Claim(
        id="partial_agency.rrm-linear-below-gamma-over-beta",
        statement=(
            "Repeated risk minimisation converges linearly, at rate eps*beta/gamma, to the performatively stable "
            "point when the map's sensitivity eps < gamma/beta, and can diverge beyond it."
        ),
        source="Perdomo, Zrnic, Mendler-Duenner, Hardt 2020, Thm 3.5 and Prop. 3.6",
        config=E.RRMRateConfig,
        experiment=E.rrm_rate_experiment,
        verdict=rrm_rate_verdict,
        figures=plots.rrm_rate_figures,
        presets={
            "quick": {"replicates": 4, "rounds": 30, "n_samples": 5000},
            "full": {
                "eps_values": (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 1.05, 1.2, 1.5, 2.0),
                "strategic_eps_values": (0.01, 0.02, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0),
                "replicates": 8,
                "rounds": 50,
                "n_samples": 20000,
            },
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=8,
    )
)


# ------------------------------------------------------------------------------------------------
# 3
# ------------------------------------------------------------------------------------------------
def entropy_verdict(cfg: E.EntropyConfig, table: pd.DataFrame) -> Verdict:
    """Paired difference D = H(myopic world) - H(full world) per (seed, instance), same starts, per
    (number of outcomes K, slope, rule).

    A cell is 'lower' if mean D > 0 with t = mean/se > 3, 'higher' if mean D < 0 with t < -3, else 'tie'.
    supported: every cell lower; refuted: some cell higher; inconclusive: otherwise.  The global score
    maximiser ('full-global') is reported alongside but does not decide.
    """
    w = table[table["row"] == "world"]
    if "outcomes" not in w:
        w = w.assign(outcomes=2)
    piv = w.pivot_table(
        index=["seed", "outcomes", "slope", "rule", "instance"], columns="learner", values="entropy"
    ).reset_index()
    piv["D"] = piv["myopic"] - piv["full"]
    piv["Dg"] = piv["myopic"] - piv["full-global"]
    cells = []
    for (k, slope, rule), g in piv.groupby(["outcomes", "slope", "rule"]):
        d = g["D"].to_numpy()
        se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan
        t = d.mean() / se if se and se > 0 else (np.inf * np.sign(d.mean()) if d.mean() != 0 else 0.0)
        label = "lower" if d.mean() > 0 and t > 3 else ("higher" if d.mean() < 0 and t < -3 else "tie")
        cells.append(
            {
                "outcomes": int(k),
                "slope": slope,
                "rule": rule,
                "D": d.mean(),
                "t": t,
                "label": label,
                "Dg": g["Dg"].mean(),
                "H_myopic": g["myopic"].mean(),
                "H_full": g["full"].mean(),
                "H_global": g["full-global"].mean(),
            }
        )
    c = pd.DataFrame(cells)
    gap = w[w["learner"] == "full"]["self_fulfilment_gap"].mean()
    nums = {
        "cells": float(len(c)),
        "cells_lower": float((c["label"] == "lower").sum()),
        "cells_higher": float((c["label"] == "higher").sum()),
        "mean_entropy_drop": float(c["D"].mean()),
        "mean_entropy_drop_global": float(c["Dg"].mean()),
        "cells_global_lower": float((c["Dg"] > 0).sum()),
        "full_self_fulfilment_gap": float(gap),
        "myopic_self_fulfilment_gap": float(w[w["learner"] == "myopic"]["self_fulfilment_gap"].mean()),
    }
    comps = tuple(
        Comparison(
            f"K={r['outcomes']} slope={r['slope']:g} {r['rule']}: H(myopic)-H(full) [bits]",
            None,
            float(r["D"]),
            note=f"t={r['t']:.1f} ({r['label']}); H myopic {r['H_myopic']:.3f}, full {r['H_full']:.3f}, "
            f"global {r['H_global']:.3f}",
        )
        for _, r in c.iterrows()
    )
    desc = ", ".join(
        f"{'K=3 ' if r['outcomes'] == 3 else ''}slope {r['slope']:g}/{r['rule'][:4]}: {r['D']:+.3f} ({r['label']})"
        for _, r in c.iterrows()
    )
    tail = (
        f"; global maximiser lower in {int(nums['cells_global_lower'])}/{len(c)} cells; full agents' reports are "
        f"not fixed points (mean |p-F(p)| = {gap:.3f} vs myopic {nums['myopic_self_fulfilment_gap']:.1e})"
    )
    if (c["label"] == "higher").any():
        return Verdict(
            "refuted",
            nums,
            "full-gradient predictors end in HIGHER-entropy worlds in some cells: " + desc + tail,
            comps,
        )
    if (c["label"] == "lower").all():
        return Verdict(
            "supported",
            nums,
            "full-gradient predictors end in lower-entropy worlds in every cell: " + desc + tail,
            comps,
        )
    return Verdict("inconclusive", nums, "mixed: " + desc + tail, comps)


register(
    Claim(
        id="partial_agency.full-agents-lower-entropy",
        statement=(
            "A predictor that maximises its expected proper score through the effect of its forecast on the "
            "outcome (full agency) ends in lower-entropy, more predictable worlds than a myopic predictor started "
            "from the same forecasts, which settles on a self-fulfilling fixed point p = F(p) "
            "(binary and 3-outcome worlds)."
        ),
        source="Demski 2019, 'The Parable of Predict-O-Matic' and the Partial Agency sequence (LessWrong/AF)",
        config=E.EntropyConfig,
        experiment=E.entropy_experiment,
        verdict=entropy_verdict,
        figures=plots.entropy_figures,
        presets={
            "quick": {"instances": 12, "n_starts": 31, "steps": 1200, "simplex_instances": 4, "simplex_steps": 600},
            "full": {
                "slopes": (-8.0, -4.0, 3.0, 4.5, 6.0, 10.0),
                "instances": 32,
                "n_starts": 41,
                "steps": 3000,
                "simplex_slopes": (3.0, 6.0),
                "simplex_instances": 12,
                "simplex_steps": 2000,
            },
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=12,
    )
)


# ------------------------------------------------------------------------------------------------
# 4
# ------------------------------------------------------------------------------------------------
def incentive_verdict(cfg: E.IncentiveConfig, table: pd.DataFrame) -> Verdict:
    """Control (slope 0): the optimal report must be honest (|p* - F(p*)| < honest_tol) in every instance,
    else refuted (proper-score premise broken).  Performative (slope != 0): the optimal report must be a
    fixed point in at most 5% of instances, else refuted; supported when both hold."""
    inc = table[table["row"] == "incentive"]
    ctrl = inc[inc["slope"] == 0]
    perf = inc[inc["slope"] != 0]
    if len(ctrl) == 0:
        return Verdict("inconclusive", {}, "no slope-0 control in the config", ())
    honest_frac = float(perf["honest"].mean()) if len(perf) else float("nan")
    nums = {
        "control_max_misreport": float(ctrl["misreport"].max()),
        "performative_honest_frac": honest_frac,
        "performative_min_misreport": float(perf["misreport"].min()),
        "performative_median_misreport": float(perf["misreport"].median()),
        "performative_median_incentive": float(perf["incentive"].median()),
        "max_influence_when_honest": float(perf[perf["honest"]]["influence_term"].abs().max())
        if perf["honest"].any()
        else 0.0,
        "instances": float(len(inc)),
    }
    comps = [Comparison("slope 0: |p* - F(p*)|", 0.0, nums["control_max_misreport"], note="max over instances")]
    for (slope, rule), g in perf.groupby(["slope", "rule"]):
        comps.append(
            Comparison(
                f"slope={slope:g} {rule}: |p* - F(p*)|",
                None,
                float(g["misreport"].median()),
                note=f"honest in {g['honest'].mean():.2f}; score gain from misreporting {g['incentive'].median():.2e}",
            )
        )
    if nums["control_max_misreport"] >= cfg.honest_tol:
        return Verdict(
            "refuted",
            nums,
            f"even without performativity the optimal report is dishonest "
            f"(|p*-F(p*)| = {nums['control_max_misreport']:.2e})",
            tuple(comps),
        )
    if honest_frac > 0.05:
        return Verdict(
            "refuted",
            nums,
            f"under performativity the optimal report is honest in {honest_frac:.0%} of worlds (> 5%)",
            tuple(comps),
        )
    return Verdict(
        "supported",
        nums,
        f"slope 0: optimal report honest (max |p*-F(p*)| {nums['control_max_misreport']:.1e}); slope != 0: honest in "
        f"{honest_frac:.0%} of worlds, median misreport {nums['performative_median_misreport']:.3f}, "
        f"median score gain over the best honest report {nums['performative_median_incentive']:.2e}",
        tuple(comps),
    )


register(
    Claim(
        id="partial_agency.honest-only-at-fixed-points",
        statement=(
            "Under a strictly proper scoring rule (log or quadratic) a forecaster is incentivised to report honestly "
            "when its report does not move the outcome; when it does, the score-maximising report is generically "
            "not a fixed point p = F(p) -- honesty is optimal only at fixed points where F'(p)(s(p,1)-s(p,0)) = 0."
        ),
        source=(
            "Oesterheld, Treutlein, Cooper, Hudson 2023, 'Incentivizing honest performative predictions with proper "
            "scoring rules' (UAI); Armstrong's self-fulfilling-prophecy oracles; Demski 2019 Predict-O-Matic"
        ),
        config=E.IncentiveConfig,
        experiment=E.incentive_experiment,
        verdict=incentive_verdict,
        figures=plots.incentive_figures,
        presets={
            "quick": {"instances": 8},
            "full": {
                "instances": 64,
                "grid": 20001,
                "slopes": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0, -1.0, -3.0, -6.0),
            },
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=3,
    )
)
