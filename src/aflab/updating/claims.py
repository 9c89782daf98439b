"""The radical-probabilism claims and checks (issue 19, item 2).

1. ``updating.jeffrey-order-vs-bayes-factors`` (check): Jeffrey updates given as targets are order
   dependent; the same experiences given as Bayes factors commute (Field 1978; Wagner 2002;
   Diaconis & Zabell 1982).
2. ``updating.merging-hard-not-soft`` (check): two agents with different priors merge under hard Jeffrey
   shifts on the constructed stream and never under soft (Field) shifts (Huttegger 2015, as modelled in
   :mod:`aflab.updating.merging`).
3. ``updating.predictable-updates-exploitable`` (claim a): a bettor profits exactly from predictable updates.
4. ``updating.li-prices-martingale`` (claim b): the LI market's predictable drift shrinks over days.

Sources as recalled (the posts could not be re-read here): Demski, "Radical Probabilism" (LessWrong /
Alignment Forum, 2020), sections on Jeffrey updates and virtual evidence, on the dynamic constraints that
replace Bayes' rule (conservation of expected evidence, "no predictable updates", convergence,
calibration), and on logical induction as the model radical probabilist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Interval, Threshold, decide, loglog_slope, mean_ci
from aflab.updating import experiments as E
from aflab.updating import plots

SOURCE_RP = "Demski, 'Radical Probabilism' (Alignment Forum, 2020)"


def exact_interval(value: float, n: int) -> Interval:
    """A zero-width interval for a number computed exactly (no sampling error: the identity holds or not)."""
    return Interval(float(value), float(value), float(value), 1.0, "exact", 0.0, n)


def range_interval(values: np.ndarray) -> Interval:
    """[min, max] of deterministic per-instance values (the check must hold for every instance)."""
    v = np.asarray(values, float)
    return Interval(float(np.median(v)), float(v.min()), float(v.max()), 1.0, "min-max", None, int(v.size))


# ------------------------------------------------------------------------------------------- 1 (check)
T_FIELD = Threshold(
    "max |Field(E then F) - Field(F then E)|",
    "equals",
    0.0,
    "Field's update multiplies the prior by one factor per cell of each partition; products commute, so in exact "
    "rational arithmetic the two orders agree exactly (Field 1978)",
)
T_JEFFREY = Threshold(
    "generic instances where the two orders of Jeffrey updates agree",
    "equals",
    0.0,
    "the last Jeffrey update fixes its own partition's probabilities and generically moves the other's, so with a "
    "random (non-product) prior the two orders differ with probability 1 (Diaconis & Zabell 1982)",
)
T_DZ = Threshold(
    "instances where 'the orders agree' differs from the Diaconis-Zabell condition",
    "equals",
    0.0,
    "Jeffrey updates on E and F commute iff each leaves the other partition's probabilities unchanged (Diaconis & "
    "Zabell 1982); product priors satisfy it, generic ones do not",
)
T_RIGID = Threshold(
    "max rigidity residual |p'(w|E_i) - p(w|E_i)|",
    "equals",
    0.0,
    "Jeffrey's rule keeps every conditional probability given a cell (rigidity): exactly 0 in rational arithmetic",
)


def jeffrey_order_vs_bayes_factors_verdict(cfg: E.JeffreyOrderVsBayesFactorsConfig, table: pd.DataFrame) -> Verdict:
    generic = table[~table["product"]]
    n = len(table)
    decisions = [
        decide(exact_interval(table["field_gap"].max(), n), T_FIELD),
        decide(exact_interval(int((generic["jeffrey_gap"] == 0).sum()), len(generic)), T_JEFFREY),
        decide(exact_interval(int((table["commutes"] != table["dz_condition"]).sum()), n), T_DZ),
        decide(exact_interval(max(table["rigidity"].max(), table["conditioning_gap"].max()), n), T_RIGID),
    ]
    nums = {
        "instances": float(n),
        "generic_instances": float(len(generic)),
        "median_jeffrey_gap_generic": float(generic["jeffrey_gap"].median()) if len(generic) else float("nan"),
        "max_jeffrey_gap_product": float(table.loc[table["product"], "jeffrey_gap"].max()) if n > len(generic) else 0.0,
        "last_target_kept_share": float(table["last_target_kept"].mean()),
        "median_first_target_lost": float(generic["first_target_lost"].median()) if len(generic) else float("nan"),
    }
    comps = (
        Comparison("max |Field EF - FE| (exact)", 0.0, float(table["field_gap"].max())),
        Comparison("Jeffrey: product priors commute (max gap)", 0.0, nums["max_jeffrey_gap_product"]),
        Comparison("Jeffrey: last update keeps its targets (share)", 1.0, nums["last_target_kept_share"]),
    )
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


def jeffrey_order_vs_bayes_factors_figures(cfg, table: pd.DataFrame) -> dict:
    return {"order": plots.order_figure(table)}


register(
    Claim(
        id="updating.jeffrey-order-vs-bayes-factors",
        statement="Jeffrey updates given as target probabilities are order dependent (two experiences on partitions "
        "E and F give different posteriors in the two orders unless each leaves the other's partition unchanged), "
        "while the same experiences given as Bayes factors commute exactly.",
        source="Field 1978 (A note on Jeffrey conditionalization, Phil. Sci. 45); Diaconis & Zabell 1982 (JASA 77); "
        f"Wagner 2002 (Phil. Sci. 69); {SOURCE_RP}, section on Jeffrey updates and Field's reparametrisation",
        config=E.JeffreyOrderVsBayesFactorsConfig,
        experiment=E.jeffrey_order_vs_bayes_factors_experiment,
        verdict=jeffrey_order_vs_bayes_factors_verdict,
        figures=jeffrey_order_vs_bayes_factors_figures,
        presets={"smoke": {"n_instances": 24}, "quick": {"n_instances": 60}, "full": {"n_instances": 400}},
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=T_FIELD,
        counterfactual=Counterfactual(
            "the second experience's Bayes factors are recomputed against the already-updated belief (Jeffrey's "
            "update in Field's clothing)",
            {"factors_from_current": True},
        ),
    )
)


# ------------------------------------------------------------------------------------------- 2 (check)
T_SOFT_INVARIANT = Threshold(
    "max spread of log(P_A/P_B) - log(prior_A/prior_B) over theta (soft shifts)",
    "below",
    1e-9,
    "soft shifts multiply both agents' beliefs by the same likelihood, so the ratio of their posteriors is the prior "
    "ratio up to a constant: the spread is 0 up to float rounding (1e-9 allows ~1e5 ulps over 400 days)",
)
T_SOFT_STUCK = Threshold(
    "final / initial disagreement, soft shifts on the constructed stream",
    "within",
    1 - 1e-6,
    "on the alternating stream each pair of soft shifts multiplies both theta's likelihoods by the same number, so "
    "the agents' predictives return exactly to their initial disagreement (ratio 1, float rounding allowed)",
    upper=1 + 1e-6,
)
T_HARD_MERGE = Threshold(
    "final / initial disagreement, hard shifts on the constructed stream",
    "below",
    1e-3,
    "hard shifts pull every agent's predictive toward the common target by a share v/(m(1-m)) of the gap; on the "
    "constructed stream the agents merged to < 1e-3 of their initial disagreement (the check's bar)",
)
T_GAIN = Threshold(
    "max |m' - (m + v (q - m) / (m (1 - m)))| (hard shift closed form)",
    "below",
    1e-9,
    "the closed form of a hard shift's effect on the predictive, checked on every step (float rounding only)",
)


def merging_hard_not_soft_verdict(cfg: E.MergingHardNotSoftConfig, table: pd.DataFrame) -> Verdict:
    con = table[table["stream"] == "constructed"]
    ratio = con["final"] / con["initial"]
    soft, hard = ratio[con["arm"] == "soft"], ratio[con["arm"] == "hard"]
    rnd = table[table["stream"] == "random"]
    decisions = [
        decide(
            exact_interval(table.loc[table["arm"] == "soft", "log_ratio_spread"].max(), len(table)), T_SOFT_INVARIANT
        ),
        decide(range_interval(soft), T_SOFT_STUCK),
        decide(range_interval(hard), T_HARD_MERGE),
        decide(exact_interval(table["gain_residual"].max(), len(table)), T_GAIN),
    ]
    merged = {arm: float((g["final"] < cfg.merged_tol).mean()) for arm, g in rnd.groupby("arm")}
    nums = {
        "constructed_hard_max_ratio": float(hard.max()),
        "constructed_soft_min_ratio": float(soft.min()),
        "random_hard_merged_share": merged.get("hard", float("nan")),
        "random_soft_merged_share": merged.get("soft", float("nan")),
        "random_hard_median_final": float(rnd.loc[rnd["arm"] == "hard", "final"].median()),
        "random_soft_median_final": float(rnd.loc[rnd["arm"] == "soft", "final"].median()),
    }
    note = (
        f"random witness streams ({cfg.n_days} days): share of pairs within {cfg.merged_tol:g} -- hard "
        f"{nums['random_hard_merged_share']:.0%}, soft {nums['random_soft_merged_share']:.0%}; median final "
        f"disagreement hard {nums['random_hard_median_final']:.2g}, soft {nums['random_soft_median_final']:.2g} "
        "(soft shifts merge when the common likelihood concentrates; the constructed stream is where it does not)"
    )
    comps = (Comparison("soft: final/initial disagreement (constructed)", 1.0, float(soft.median())),)
    return Verdict.from_decisions(decisions, nums, note, comps)


def merging_hard_not_soft_figures(cfg, table: pd.DataFrame) -> dict:
    return {"merging": plots.merging_figure(table)}


register(
    Claim(
        id="updating.merging-hard-not-soft",
        statement="Two agents with different (mutually absolutely continuous) priors who receive the same uncertain "
        "evidence merge their opinions when the evidence is a hard Jeffrey shift (the same posterior probabilities "
        "for both), but not in general when it is a soft Field shift (the same Bayes factors): on a constructed "
        "stream of balanced glimpses soft-shifting agents keep their initial disagreement for ever.",
        source="Huttegger 2015 (Merging of opinions and probability kinematics, Rev. Symb. Logic 8); "
        f"{SOURCE_RP}, section on merging / convergence (model in aflab.updating.merging)",
        config=E.MergingHardNotSoftConfig,
        experiment=E.merging_hard_not_soft_experiment,
        verdict=merging_hard_not_soft_verdict,
        figures=merging_hard_not_soft_figures,
        presets={"smoke": {"n_pairs": 16, "n_days": 300}, "quick": {"n_pairs": 40}, "full": {"n_pairs": 400}},
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=T_SOFT_INVARIANT,
        counterfactual=Counterfactual(
            "the hard arm applies each glimpse as a Bayes factor (both arms soft)", {"hard_as_factor": True}
        ),
    )
)


# ------------------------------------------------------------------------------------------- 3 (claim a)
T_CAPTURE = Threshold(
    "learner's capture efficiency (profit / (eps sum s_t)), mean over the eps grid",
    "above",
    0.5,
    "the oracle who knows the drift captures efficiency 1 in expectation; the claim is that predictability, and only "
    "predictability, is what a bookie can exploit, so a bettor who sees nothing but the agent's past prices must "
    "recover most of it -- more than half -- over 2000 days, averaged over drifts of 5-40% of each step (each "
    "drift's efficiency is reported: the smallest is captured least). Each agent's anchor is drawn off the "
    "bettor's bin edges, so the bins do not hand it the drift's sign",
)
T_CONTROL = Threshold(
    "learner's mean profit per agent against the martingale control (price units)",
    "equals",
    0.0,
    "a stake chosen from the past against a martingale has expected profit exactly 0 (the martingale transform "
    "theorem) -- the profit itself, not profit / volatility, whose ratio is biased because the volatility depends "
    "on the path; decided on a 99.9% t-interval over the independent control agents (one false alarm in 1000 runs)",
)


def _rates(table: pd.DataFrame) -> pd.DataFrame:
    """Per (arm, seed, eps): sums of learner profit, oracle profit and volatility."""
    return table.groupby(["arm", "seed", "eps"], as_index=False)[["learner", "oracle", "volatility"]].sum()


def predictable_updates_exploitable_verdict(cfg: E.PredictableUpdatesExploitableConfig, table: pd.DataFrame) -> Verdict:
    r = _rates(table)
    treated = r[(r["arm"] == "treated") & (r["eps"] > 0)].assign(
        eff=lambda d: d["learner"] / (d["eps"] * d["volatility"])
    )
    control = table[table["arm"] == "control"]
    eff = mean_ci(treated.groupby("seed")["eff"].mean())
    # every control run is an independent agent: the theorem's interval is over runs (hundreds of them)
    ctrl = mean_ci(control["learner"], level=0.999)
    per_eps = treated.groupby("eps")["eff"].mean()
    oracle = treated.assign(o=lambda d: d["oracle"] / (d["eps"] * d["volatility"])).groupby("seed")["o"].mean()
    nums = {f"efficiency_eps_{e:g}": float(v) for e, v in per_eps.items()}
    nums["oracle_efficiency"] = float(oracle.mean())
    nums["control_profit_per_volatility"] = float(control["learner"].sum() / control["volatility"].sum())
    comps = [Comparison(f"learner efficiency at eps={e:g}", None, float(v)) for e, v in per_eps.items()]
    comps.append(Comparison("oracle efficiency (theory 1)", 1.0, float(oracle.mean()), mean_ci(oracle).se))
    return Verdict.from_decisions([decide(eff, T_CAPTURE), decide(ctrl, T_CONTROL)], nums, comparisons=comps)


def predictable_updates_exploitable_figures(cfg, table: pd.DataFrame) -> dict:
    return {"profit_vs_drift": plots.profit_figure(table)}


register(
    Claim(
        id="updating.predictable-updates-exploitable",
        statement="A bettor who trades with an agent at the agent's own prices on consecutive days earns positive "
        "expected profit exactly when the agent's updates are predictable (E[P_t+1 | P_t] != P_t): against a "
        "predictable agent a bettor that sees only past prices captures most of the drift, against a martingale "
        "agent with equally skewed but unpredictable steps it earns nothing.",
        source=f"{SOURCE_RP}, sections on conservation of expected evidence and the diachronic Dutch book",
        config=E.PredictableUpdatesExploitableConfig,
        experiment=E.predictable_updates_exploitable_experiment,
        verdict=predictable_updates_exploitable_verdict,
        figures=predictable_updates_exploitable_figures,
        presets={
            "smoke": {"runs_per_eps": 30},
            # 200 agents per drift: with anchors off the bins' edges, 40 left the 5-seed interval +-0.1 wide
            "quick": {"runs_per_eps": 200},
            "full": {"runs_per_eps": 1000, "eps_grid": (0.02, 0.05, 0.1, 0.2, 0.4)},
        },
        seeds={"smoke": 3, "quick": 5, "full": 10},
        quick_budget_s=10,
        kind="claim",
        threshold=T_CAPTURE,
        refuted_if="the past-prices bettor captures less than half the predictable drift (efficiency CI below 0.5), "
        "or it earns a non-zero profit against the martingale control",
        counterfactual=Counterfactual(
            "the treated agent's steps are as skewed but their sign is a hidden fair coin (a martingale)",
            {"agent": "martingale"},
        ),
    )
)


# ------------------------------------------------------------------------------------------- 4 (claim b)
T_SHRINK = Threshold(
    "log-log slope of the martingale residual RMS E[P_t+1 - P_t | P_t] vs day",
    "below",
    0.0,
    "the claim is that the predictable part of the LI market's moves on undecided sentences shrinks over days; any "
    "negative exponent counts, decided on the t-interval of per-market slopes (each stretch of pi is an independent "
    "run). A size measure: a martingale that only calms down passes it too (the sampling floor alone falls as "
    "day^-1.2 on these tables), so it is required but never sufficient; the noise-corrected share decides",
)
T_SHARE = Threshold(
    "late - early share of each move that was predictable (noise-corrected)",
    "below",
    0.0,
    "a market that only calms down would keep the same predictable share of a smaller move; a radical probabilist's "
    "share must fall too (the share is corrected for the martingale sampling floor, so more data does not fake it)",
)


T_SUMMABLE = Threshold(
    "log-log slope of the class-level drift |E[P_t+1 - P_t | class]| vs day (prime, composite_neg, undecidable)",
    "below",
    -1.0,
    "within a class whose sentences all move one way (true theorems creep up, undecidable atoms creep down) a "
    "bettor can predict the sign of every move; the LI criterion forbids only unbounded exploitation, which such a "
    "bettor gets iff the drift is not summable -- a drift ~ day^a sums to a bounded total iff a < -1",
)
#: the scenario's classes whose moves keep one sign (the price walks monotonically toward its limit)
MONOTONE_CLASSES = ("prime", "composite_neg", "undecidable")


def excess_share(t: pd.DataFrame) -> pd.Series:
    """``sqrt(max(drift^2 - floor^2, 0)) / rms_move``: the predictable share above the sampling noise."""
    return np.sqrt(np.maximum(t["rms_drift"] ** 2 - t["noise_floor"] ** 2, 0)) / t["rms_move"]


def li_prices_martingale_verdict(cfg: E.LiPricesMartingaleConfig, table: pd.DataFrame) -> Verdict:
    t = table[table["scope"] == "all"].sort_values(["seed", "era_start"])
    slope = loglog_slope(t["era_mid"], t["rms_drift"], clusters=t["seed"])
    share = t.assign(share=excess_share(t)).groupby("seed")["share"]
    delta = mean_ci(share.last() - share.first())
    eras = t.groupby("era_start")[["rms_drift", "noise_floor", "rms_move"]].mean()
    nums = {f"rms_drift_era_{int(e)}": float(v) for e, v in eras["rms_drift"].items()}
    nums.update({f"noise_floor_era_{int(e)}": float(v) for e, v in eras["noise_floor"].items()})
    nums["early_share"], nums["late_share"] = float(share.first().mean()), float(share.last().mean())
    cls = table[(table["scope"] != "all") & (table["era_start"] == table["era_start"].max())]
    z = cls.groupby("scope").apply(lambda g: float(g["mean_move"].mean() / g["rms_move"].mean()), include_groups=False)
    nums.update({f"late_signed_drift_over_rms_{k}": float(v) for k, v in z.items()})
    mono = table[table["scope"].isin(MONOTONE_CLASSES)].assign(drift=lambda d: d["mean_move"].abs())
    curve = mono.groupby(["seed", "era_start"], as_index=False).agg(
        era_mid=("era_mid", "first"), drift=("drift", "mean")
    )
    summable = loglog_slope(curve["era_mid"], curve["drift"], clusters=curve["seed"])
    note = "late-era signed mean move / RMS move by class: " + ", ".join(f"{k} {v:+.2f}" for k, v in z.items())
    decisions = [decide(delta, T_SHARE), decide(slope, T_SHRINK), decide(summable, T_SUMMABLE)]
    return Verdict.from_decisions(decisions, nums, note)


def li_prices_martingale_figures(cfg, table: pd.DataFrame) -> dict:
    return {"residual": plots.residual_figure(table)}


register(
    Claim(
        id="updating.li-prices-martingale",
        statement="The logical-induction market's prices behave as a radical probabilist's credences: on sentences "
        "not yet decided, the predictable part of the next day's move, E[P_t+1 - P_t | P_t], shrinks over days -- "
        "in size and as a share of the move; where a class of sentences moves predictably (true theorems creep up), the drift is summable, so exploiting it earns a bounded total.",
        source=f"{SOURCE_RP}, sections on logical induction as radical probabilism and the dynamic constraints "
        "(Garrabrant et al. 2016, properties of the limit); prices from aflab li run pi (shipped table)",
        config=E.LiPricesMartingaleConfig,
        experiment=E.li_prices_martingale_experiment,
        verdict=li_prices_martingale_verdict,
        figures=li_prices_martingale_figures,
        presets={"smoke": {}, "quick": {}, "full": {}},
        seeds={"smoke": 3, "quick": 5, "full": 10},
        quick_budget_s=10,
        kind="claim",
        threshold=T_SHARE,
        refuted_if="the predictable share of the moves grows (late - early share CI above 0), the residual does not "
        "fall over days (slope CI above 0), or the class-level drift is not summable (slope CI above -1)",
        counterfactual=Counterfactual(
            "the market's late updates made predictable at unchanged volatility: in the last era each move keeps "
            "its size and takes the sign of 1/2 - P_t (the residual's size still falls; its share must not)",
            {"late_signs_from_price": True},
        ),
    )
)
