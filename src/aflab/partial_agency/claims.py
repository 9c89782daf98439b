"""The partial-agency claims (issue 6, item 5), each decided from measured numbers across seeds and eps.

1. ``partial_agency.myopic-reach-stable-not-optimal``
2. ``partial_agency.rrm-linear-below-gamma-over-beta``
3. ``partial_agency.full-agents-lower-entropy``
4. ``partial_agency.honest-only-at-fixed-points``
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Interval, Threshold, decide, level_text, mean_ci, proportion_ci
from aflab.partial_agency import experiments as E
from aflab.partial_agency import plots


def _headline_first(decisions: list, headline: Threshold) -> list:
    """The first decision keeps the claim's threshold (the report's headline); the others' statistics are
    renamed with their own ``label``; every reason starts with its label, so it says which cell it is."""
    out = []
    for i, (d, label) in enumerate(decisions):
        thr = headline if i == 0 else dataclasses.replace(d.threshold, statistic=f"{label}: {d.threshold.statistic}")
        out.append(dataclasses.replace(d, threshold=thr, reason=f"{label}: {d.reason}"))
    return out


# ------------------------------------------------------------------------------------------------
# 1
# ------------------------------------------------------------------------------------------------
STABLE_THRESHOLD = Threshold(
    "worst myopic cell: limit position s on PS->PO (0 = PS, 1 = PO)",
    "below",
    0.25,
    "the claim says stop-gradient learners end at the stable point, not the optimum; a limit within a quarter "
    "of the PS-PO gap of PS (s < 0.25) is 'at PS' and can only come from the stable point, since the maps' "
    "only other candidate, PO, sits at s = 1 -- the same band, 1 - 0.25, defines 'at PO' for the full "
    "learners (the control); s is a signed projection, so sampling noise averages out instead of adding up",
)
FULL_THRESHOLD = Threshold(
    "best full learner: limit position s on PS->PO (per map, eps)",
    "above",
    0.75,
    "control: on every map some learner that differentiates through the map must reach the optimum "
    "(within a quarter of the gap), else the maps do not separate the two points and the test says nothing",
)


def stable_not_optimal_verdict(cfg: E.StableNotOptimalConfig, table: pd.DataFrame) -> Verdict:
    """Per (map, eps, learner) cell: the mean over chains (seed x replicate) of the limit's position
    s = (lim - PS).(PO - PS) / |PO - PS|^2, with its t-interval (diverged chains dropped and counted).

    Decisions: every myopic cell s < 0.25 (the headline is the cell whose interval reaches highest),
    and on every (map, eps) the best full learner's s > 0.75.
    """
    lim = table[table["row"] == "limit"]
    ok = lim[lim["status"] != "diverged"]
    thr, full_thr = STABLE_THRESHOLD, FULL_THRESHOLD
    my_dec, comps = [], []
    for (name, eps, learner), g in ok[ok["agency"] == "myopic"].groupby(["map", "eps", "learner"]):
        iv = mean_ci(g["proj"])
        my_dec.append((decide(iv, thr), f"{name} eps={eps:g} {learner}"))
        comps.append(Comparison(f"{name} eps={eps:g} {learner}: s (myopic)", 0.0, iv.estimate, iv.se))
    full_dec = []
    for (name, eps), g in ok[ok["agency"] == "full"].groupby(["map", "eps"]):
        best = max((mean_ci(h["proj"]) for _, h in g.groupby("learner")), key=lambda iv: iv.estimate)
        full_dec.append((decide(best, full_thr), f"{name} eps={eps:g}"))
        comps.append(Comparison(f"{name} eps={eps:g}: best full learner's s", 1.0, best.estimate, best.se))
    if not my_dec:
        return Verdict.from_decisions([decide(mean_ci([]), thr)], {}, "no myopic chain finished")
    my_dec.sort(key=lambda d: -d[0].interval.high)
    my = ok[ok["agency"] == "myopic"]
    nums = {
        "myopic_cells": float(len(my_dec)),
        "myopic_mean_s": float(my["proj"].mean()),
        "myopic_median_dist_ps_over_gap": float((my["dist_ps"] / my["gap"]).median()),
        "full_mean_s": float(ok[ok["agency"] == "full"]["proj"].mean()),
        "min_gap": float(lim["gap"].min()),
        "diverged_chains": float((lim["status"] == "diverged").sum()),
    }
    note = (
        f"{len(my_dec)} myopic cells, mean s = {nums['myopic_mean_s']:.3f}; full learners mean s = "
        f"{nums['full_mean_s']:.3f}; {int(nums['diverged_chains'])} diverged chains dropped"
    )
    decisions = _headline_first(my_dec, STABLE_THRESHOLD) + [
        dataclasses.replace(d, reason=f"{label}: {d.reason}") for d, label in full_dec
    ]
    return Verdict.from_decisions(decisions, nums, note, comps)


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
            "smoke": {
                "maps": ("location", "pricing"),
                "eps_values": (0.25,),
                "myopic_learners": ("RGD", "SGD-greedy"),
                "full_learners": ("PerfGD",),
                "replicates": 3,
                "rounds": 60,
                "n_samples": 200,
            },
            "quick": {
                "eps_values": (0.25,),
                "strategic_eps_values": (0.5,),
                "replicates": 5,
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
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=12,
        # a check (since 2026-12-06): a stop-gradient learner can only rest where E_D(theta) grad = 0, which is
        # theta_PS by definition, and every eps here is inside Perdomo et al.'s convergence condition, so the
        # statement holds unless a chain diverges (counted and reported) -- a check of the learners, not a claim
        kind="check",
        threshold=STABLE_THRESHOLD,
        refuted_if="some stop-gradient learner's mean limit lies beyond a quarter of the way from theta_PS to "
        "theta_PO (CI of s above 0.25) on a map where the two differ",
        counterfactual=Counterfactual(
            "the stop-gradient removed: RGD and SGD differentiate through the map (they become PerfGD-like)",
            {"stop_gradient": False},
        ),
    )
)


# ------------------------------------------------------------------------------------------------
# 2
# ------------------------------------------------------------------------------------------------
RATE_THRESHOLD = Threshold(
    "measured RRM contraction minus the bound eps*beta/gamma (worst setting inside the condition)",
    "below",
    0.05,
    "Thm 3.5 guarantees |theta_t+1 - PS| <= (eps beta/gamma) |theta_t - PS|; on the location family the bound "
    "is attained exactly, so the measured median one-step ratio must sit at or under it; 0.05 is the slack "
    "for the sampling noise of a median ratio over rounds above the noise floor",
)
NOT_CONVERGED_THRESHOLD = Threshold(
    "fraction of chains inside the condition that did not converge",
    "below",
    0.2,
    "inside the condition every chain must converge; 0.2 lets the Wilson interval of a few dozen chains decide",
)
DIVERGED_THRESHOLD = Threshold(
    "fraction of location-family chains beyond gamma/beta flagged diverged",
    "above",
    0.5,
    "Prop. 3.6: beyond eps = gamma/beta RRM on the location family diverges from every start but PS, so every "
    "chain should be flagged; more than half flagged shows the detector sees it",
)


def rrm_rate_verdict(cfg: E.RRMRateConfig, table: pd.DataFrame) -> Verdict:
    """Inside eps*beta/gamma < 1 (per map and eps): mean over chains of (measured rate - bound) with its
    t-interval below 0.05, and the fraction of chains not converged (Wilson) below 0.2; beyond the bound on
    the location family (where it is tight): the fraction of chains flagged diverged above 0.5.
    Strategic settings beyond the (sufficient, not necessary) bound are reported, not judged."""
    rate = table[table["row"] == "rate"]
    inside = rate[rate["condition_holds"]]
    rate_dec, comps = [], []
    for (name, eps), g in inside.groupby(["map", "eps"]):
        iv = mean_ci(g["rate"] - g["rate_bound"])
        rate_dec.append((decide(iv, RATE_THRESHOLD), f"{name} eps={eps:g}"))
        comps.append(
            Comparison(f"{name} eps={eps:g}: RRM rate", float(g["rate_bound"].iloc[0]), float(g["rate"].median()))
        )
    rate_dec.sort(key=lambda d: -d[0].interval.high if np.isfinite(d[0].interval.high) else -np.inf)
    not_conv = int((inside["status"] != "converged").sum())
    beyond = rate[(~rate["condition_holds"]) & (rate["map"] == "location")]
    n_div = int((beyond["status"] == "diverged").sum())
    decisions = _headline_first(rate_dec, RATE_THRESHOLD) + [
        decide(proportion_ci(not_conv, len(inside)), NOT_CONVERGED_THRESHOLD),
        decide(proportion_ci(n_div, len(beyond)), DIVERGED_THRESHOLD),
    ]
    strat_out = rate[(~rate["condition_holds"]) & (rate["map"] == "strategic")]
    for eps, g in strat_out.groupby("eps"):
        comps.append(
            Comparison(
                f"strategic eps={eps:g} (beyond the sufficient bound): converged fraction",
                None,
                float((g["status"] == "converged").mean()),
            )
        )
    loc_in = inside[inside["map"] == "location"]
    nums = {
        "settings_inside": float(inside.groupby(["map", "eps"]).ngroups),
        "chains_inside_not_converged": float(not_conv),
        "location_max_abs_rate_error": float((loc_in["rate"] - loc_in["rate_bound"]).abs().max()),
        "beyond_location_chains": float(len(beyond)),
        "beyond_location_diverged": float(n_div),
    }
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


register(
    Claim(
        id="partial_agency.rrm-linear-below-gamma-over-beta",
        statement=(
            "Repeated risk minimisation converges linearly, at rate eps*beta/gamma, to the performatively stable "
            "point when the map's sensitivity eps < gamma/beta, and can diverge beyond it (a theorem, checked)."
        ),
        source="Perdomo, Zrnic, Mendler-Duenner, Hardt 2020, Thm 3.5 and Prop. 3.6",
        config=E.RRMRateConfig,
        experiment=E.rrm_rate_experiment,
        verdict=rrm_rate_verdict,
        figures=plots.rrm_rate_figures,
        presets={
            "smoke": {
                "eps_values": (0.2, 0.5, 1.5),
                "strategic_eps_values": (0.01,),
                "replicates": 4,
                "rounds": 20,
                "n_samples": 2000,
            },
            "quick": {"replicates": 4, "rounds": 30, "n_samples": 5000},
            "full": {
                "eps_values": (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 1.05, 1.2, 1.5, 2.0),
                "strategic_eps_values": (0.005, 0.01, 0.015, 0.05, 0.5, 1.0, 2.0, 4.0, 8.0),
                "replicates": 8,
                "rounds": 50,
                "n_samples": 20000,
            },
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=8,
        kind="check",
        threshold=RATE_THRESHOLD,
        counterfactual=Counterfactual(
            "RRM learns from the data of the model deployed a round earlier (a stale deployment)",
            {"stale_deploy": True},
        ),
    )
)


# ------------------------------------------------------------------------------------------------
# 3
# ------------------------------------------------------------------------------------------------
ENTROPY_THRESHOLD = Threshold(
    "H(myopic world) - H(full world) [bits], worst (K, slope, rule) family, paired per world",
    "above",
    0.0,
    "the claim is an ordering in every world family: full-gradient predictors end in lower-entropy worlds than "
    "myopic ones started from the same forecasts, so each family's mean paired difference must be > 0; "
    "intervals are Bonferroni-corrected over the families (level 1 - 0.05/families), so that picking the worst "
    "of several families does not manufacture a refutation",
)


def entropy_verdict(cfg: E.EntropyConfig, table: pd.DataFrame) -> Verdict:
    """Per world family (K outcomes, slope, rule): D = H(myopic) - H(full) per world (seed, instance), averaged
    over the shared starts; a t-interval over worlds at the Bonferroni level 1 - 0.05/families.

    supported: every family's interval above 0; refuted: some family's interval below 0. The headline is
    the family whose interval reaches lowest. ``full_learner="global"`` compares against the global score
    maximiser instead of the local gradient learner (the counterfactual: an idealised full agent)."""
    w = table[table["row"] == "world"]
    if "outcomes" not in w:
        w = w.assign(outcomes=2)
    full = "full-global" if cfg.full_learner == "global" else "full"
    families = list(w.groupby(["outcomes", "slope", "rule"]))
    level = 1 - 0.05 / max(len(families), 1)
    decisions, comps = [], []
    for (k, slope, rule), g in families:
        piv = g.pivot_table(index=["seed", "instance"], columns="learner", values="entropy")
        iv = mean_ci(piv["myopic"] - piv[full], level=level)
        decisions.append((decide(iv, ENTROPY_THRESHOLD), f"K={k} slope={slope:g} {rule}"))
        comps.append(
            Comparison(
                f"K={k} slope={slope:g} {rule}: H(myopic)-H({full}) [bits]",
                None,
                iv.estimate,
                iv.se,
                note=f"{level_text(level)} CI [{iv.low:+.4f}, {iv.high:+.4f}], {iv.n} worlds; global maximiser "
                f"{float((piv['myopic'] - piv['full-global']).mean()):+.3f}",
            )
        )
    decisions.sort(key=lambda d: d[0].interval.high if np.isfinite(d[0].interval.high) else np.inf)
    decisions = _headline_first(decisions, ENTROPY_THRESHOLD)
    glob = w.pivot_table(index=["seed", "outcomes", "instance", "slope", "rule"], columns="learner", values="entropy")
    nums = {
        "families": float(len(decisions)),
        "families_lower": float(sum(d.label == "supported" for d in decisions)),
        "families_higher": float(sum(d.label == "refuted" for d in decisions)),
        "mean_entropy_drop_local": float((glob["myopic"] - glob["full"]).mean()),
        "mean_entropy_drop_global": float((glob["myopic"] - glob["full-global"]).mean()),
        "full_self_fulfilment_gap": float(w[w["learner"] == "full"]["self_fulfilment_gap"].mean()),
        "myopic_self_fulfilment_gap": float(w[w["learner"] == "myopic"]["self_fulfilment_gap"].mean()),
    }
    note = (
        f"{full} learner lower in {int(nums['families_lower'])}/{len(decisions)} families, higher in "
        f"{int(nums['families_higher'])}; mean drop local {nums['mean_entropy_drop_local']:+.3f}, global "
        f"maximiser {nums['mean_entropy_drop_global']:+.3f} bits"
    )
    return Verdict.from_decisions(decisions, nums, note, comps)


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
            "smoke": {
                "slopes": (3.0, 6.0),
                "instances": 6,
                "n_starts": 11,
                "steps": 400,
                "simplex_slopes": (),
            },
            "quick": {"instances": 48, "n_starts": 31, "steps": 1200, "simplex_instances": 12, "simplex_steps": 600},
            "full": {
                "slopes": (-8.0, -4.0, 3.0, 4.5, 6.0, 10.0),
                "instances": 64,
                "n_starts": 41,
                "steps": 3000,
                "simplex_slopes": (3.0, 6.0),
                "simplex_instances": 24,
                "simplex_steps": 2000,
            },
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=12,
        kind="claim",
        threshold=ENTROPY_THRESHOLD,
        refuted_if="the world-clustered interval of the mean entropy difference H(myopic) - H(full) lies below 0 "
        "(full-gradient predictors end in higher-entropy worlds)",
        counterfactual=Counterfactual(
            "the full agent is the global score maximiser instead of a local gradient learner (an idealised "
            "full agent: for binary outcomes its world is provably no more uncertain than any fixed point's)",
            {"full_learner": "global"},
            expect="supported",
        ),
    )
)


# ------------------------------------------------------------------------------------------------
# 4
# ------------------------------------------------------------------------------------------------
HONEST_THRESHOLD = Threshold(
    "fraction of performative worlds (slope != 0) whose score-maximising report is a fixed point",
    "below",
    0.05,
    "Oesterheld et al. 2023: the optimal report is a fixed point only where F'(p)(s(p,1) - s(p,0)) = 0, a "
    "measure-zero event for random logistic worlds, so the fraction must be ~0; 5 % leaves room for the "
    "grid-and-refine optimiser's tolerance, and the Wilson interval of a few dozen worlds resolves it",
)
CONTROL_THRESHOLD = Threshold(
    "largest |p* - F(p*)| in the non-performative control (slope 0)",
    "below",
    1e-6,
    "without performativity a strictly proper score makes the honest report optimal (p* = F), up to the "
    "optimiser's tolerance (bounded scalar search, xatol 1e-12, inside a grid bracket: ~1e-8 measured); the "
    "same 1e-6 is the 'honest' cut-off for performative worlds (honest_tol)",
)


def incentive_verdict(cfg: E.IncentiveConfig, table: pd.DataFrame) -> Verdict:
    """Control (slope 0): the largest misreport (a zero-width interval: it is a maximum over exact
    optimisations) must be below 1e-4; performative worlds: the Wilson interval of the fraction of worlds
    whose optimal report is honest must lie below 0.05."""
    inc = table[table["row"] == "incentive"]
    ctrl = inc[inc["slope"] == 0]
    perf = inc[inc["slope"] != 0]
    worst = float(ctrl["misreport"].max()) if len(ctrl) else float("nan")
    ctrl_iv = Interval(worst, worst, worst, method="max over worlds", n=len(ctrl))
    decisions = [
        decide(proportion_ci(int(perf["honest"].sum()), len(perf)), HONEST_THRESHOLD),
        decide(ctrl_iv, CONTROL_THRESHOLD),
    ]
    nums = {
        "performative_median_misreport": float(perf["misreport"].median()),
        "performative_min_misreport": float(perf["misreport"].min()),
        "performative_median_incentive": float(perf["incentive"].median()),
        "instances": float(len(inc)),
    }
    comps = [Comparison("slope 0: max |p* - F(p*)|", 0.0, worst)]
    for (slope, rule), g in perf.groupby(["slope", "rule"]):
        comps.append(
            Comparison(
                f"slope={slope:g} {rule}: |p* - F(p*)|",
                None,
                float(g["misreport"].median()),
                note=f"honest in {g['honest'].mean():.2f}; score gain from misreporting {g['incentive'].median():.2e}",
            )
        )
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


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
            "smoke": {"instances": 6, "grid": 1001},
            "quick": {"instances": 8},
            "full": {
                "instances": 64,
                "grid": 20001,
                "slopes": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0, -1.0, -3.0, -6.0),
            },
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=3,
        kind="check",
        threshold=HONEST_THRESHOLD,
        counterfactual=Counterfactual(
            "the report no longer moves the outcome (every world's slope multiplied by 0)", {"influence_scale": 0.0}
        ),
    )
)
