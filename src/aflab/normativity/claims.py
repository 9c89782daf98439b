"""Registered claims of the normativity system, each decided by :func:`aflab.core.stats.decide`.

1. ``normativity.quantilizer-cost-bound`` (check: Taylor 2016's bound, a theorem)
2. ``normativity.goodhart-quantilize-beats-max`` (claim)
3. ``normativity.crmdp-decoupled-limits-regret`` (claim; its ablation -- the same free sweep of reports,
   each state trusted about itself -- is the counterfactual)
4. ``normativity.levels-meta-feedback`` (claim)
5. ``normativity.reward-box-tampering`` (check: the observation-utility agents are handed u0, so "they do
   not tamper" holds by construction; :mod:`aflab.normativity.claims_pointer` tests a pointer that can fail)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Interval, Threshold, decide, difference_ci, mean_ci, proportion_ci, z_interval
from aflab.normativity import crmdp, plots, tamper
from aflab.normativity import experiments as ex


def _named(threshold: Threshold, statistic: str) -> Threshold:
    """The same line and reason for another instance of the statistic (another level, agent or shape)."""
    return dataclasses.replace(threshold, statistic=statistic)


# --------------------------------------------------------------------------- 1. cost bound (check)

COST_THRESHOLD = Threshold(
    "largest exact E_pi[c] / (factor * E_base[c]) over all checks",
    "below",
    1 + 1e-9,
    "Taylor 2016: no action gets more than 1/q (n, n/k) times its base mass, so the ratio is <= 1 for every "
    "non-negative cost; the exact computations are float sums, 1e-9 is their rounding allowance",
)
SAMPLED_COST_THRESHOLD = Threshold(
    "worst Monte Carlo top-k-of-n ratio to its n/k bound (4-SE interval)",
    "below",
    1.5,
    "the sampled ratio's expectation is <= 1, and = 1 where the bound is attained (n = k = 1), so a Monte Carlo "
    "interval cannot sit strictly below 1; what it can exclude is a real violation: the bug a sampler is prone "
    "to (best of the n instead of a uniform pick among the top k) multiplies the ratio by up to k >= 2, so the "
    "4-SE interval (level 0.99994) must stay below 1.5",
)


def cost_bound_verdict(cfg: ex.CostBoundConfig, table: pd.DataFrame) -> Verdict:
    """Exact checks: the maximum ratio (a zero-width interval: exact sums) below 1 + 1e-9. Sampled top-k-of-n:
    the check whose 4-SE interval reaches highest must lie below 1.5 (:data:`SAMPLED_COST_THRESHOLD`)."""
    exact = table[table.ratio_se == 0]
    sampled = table[table.ratio_se > 0]
    worst = float(exact.ratio.max())
    decisions = [decide(Interval(worst, worst, worst, method="max over exact checks", n=len(exact)), COST_THRESHOLD)]
    if len(sampled):
        ivs = [z_interval(r, se, level=0.99994) for r, se in zip(sampled.ratio, sampled.ratio_se)]
        decisions.append(decide(max(ivs, key=lambda iv: iv.high), SAMPLED_COST_THRESHOLD))
    adversarial = float(exact[exact.cost == "adversarial"].ratio.max())
    numbers = {
        "tightest_adversarial_ratio": adversarial,
        "n_exact_checks": float(len(exact)),
        "n_sampled_checks": float(len(sampled)),
    }
    comps = (
        Comparison("max E_q(c) / (E_base(c)/q), exact", 1.0, worst, note="bound: <= 1"),
        Comparison("adversarial cost ratio (tightness)", 1.0, adversarial, note="the bound is attained"),
    )
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


register(
    Claim(
        id="normativity.quantilizer-cost-bound",
        statement=(
            "A q-quantilizer's expected cost is at most 1/q times the base distribution's, for every "
            "non-negative cost; best-of-n at most n times, uniform-of-top-k-of-n at most n/k times (a theorem, "
            "checked on random environments with ties, Goodhart pools and Monte Carlo samplers)."
        ),
        source="Taylor 2016, 'Quantilizers: a safer alternative to maximizers for limited optimization' (AAAI "
        "workshop on AI, Ethics and Society): the cost bound",
        config=ex.CostBoundConfig,
        experiment=ex.cost_bound_experiment,
        verdict=cost_bound_verdict,
        figures=plots.cost_bound_figures,
        presets={
            "smoke": {"n_envs": 20, "pool_size": 500, "mc_draws": 10_000, "n_q": 5},
            "quick": {"n_envs": 60, "pool_size": 2000, "mc_draws": 20_000},
            "full": {"n_envs": 2000, "pool_size": 20_000, "mc_draws": 200_000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=COST_THRESHOLD,
        counterfactual=Counterfactual(
            "the policy keeps only the top q/2 of base mass while the bound is checked at 1/q", {"policy_q_scale": 0.5}
        ),
    )
)

# --------------------------------------------------------------------------- 2. Goodhart

GOODHART_THRESHOLD = Threshold(
    "true value at q_eval minus true value of the proxy argmax, heavy-tailed proxy error (mean over pools)",
    "above",
    0.0,
    "the claim is that quantilizing beats maximising when the proxy's tail is wrong: any positive paired gap "
    "whose interval excludes 0 supports it, a negative one refutes it; q_eval = 0.05 is fixed in advance "
    "(not the best q found afterwards)",
)


def _paired_gap(table: pd.DataFrame, shape: str, q_eval: float, k: int) -> np.ndarray:
    """Per pool: true value at q_eval minus true value of the argmax (q = 1/K)."""
    grp = table[(table["shape"] == shape) & (table.method == "quantilizer")]
    at_q = grp[np.isclose(grp.knob, q_eval)].set_index(["seed", "pool"])["true"]
    at_max = grp[np.isclose(grp.knob, 1.0 / k)].set_index(["seed", "pool"])["true"]
    return (at_q - at_max).dropna().to_numpy()


def goodhart_verdict(cfg: ex.GoodhartConfig, table: pd.DataFrame) -> Verdict:
    """Paired per pool (pools are independent draws): the gap E_q[V] - V(argmax) at q_eval, with its
    t-interval; decisions on the heavy-tailed and the corrupted-region shapes, the light-tailed gaussian
    shape reported as the control (where maximising should win)."""
    numbers, comps, decisions = {}, [], []
    for shape in ("heavy", "corrupted", "gaussian"):
        iv = mean_ci(_paired_gap(table, shape, cfg.q_eval, cfg.pool_size))
        numbers[f"{shape}_gap"] = iv.estimate
        curve = table[(table["shape"] == shape) & (table.method == "quantilizer")].groupby("knob")["true"].mean()
        numbers[f"{shape}_best_q"] = float(curve.idxmax())
        numbers[f"{shape}_true_at_best_q"] = float(curve.max())
        numbers[f"{shape}_true_at_argmax"] = float(curve.loc[curve.index.min()])
        comps.append(
            Comparison(
                f"{shape}: E_q(V) - V(argmax) at q={cfg.q_eval:g}",
                None,
                iv.estimate,
                iv.se,
                note="control: light tail" if shape == "gaussian" else "tail-wrong proxy",
            )
        )
        if shape == "heavy":
            decisions.append(decide(iv, GOODHART_THRESHOLD))
        elif shape == "corrupted":
            decisions.append(
                decide(
                    iv,
                    _named(
                        GOODHART_THRESHOLD,
                        GOODHART_THRESHOLD.statistic.replace("heavy-tailed proxy error", "corrupted region"),
                    ),
                )
            )
    note = f"control (gaussian error): {numbers['gaussian_gap']:+.3f} (maximising wins there)"
    return Verdict.from_decisions(decisions, numbers, note, comps)


register(
    Claim(
        id="normativity.goodhart-quantilize-beats-max",
        statement=(
            "When the proxy's tail is wrong (heavy-tailed error, a corrupted region), a quantilizer gets more "
            "true reward than the proxy maximiser; the gap as a function of q is the true-vs-q curve."
        ),
        source="Taylor 2016 (quantilizers); Demski, 'Learning Normativity' / 'Recursive Quantilizers II' (AF 2020); "
        "Kwa, Thomas, Garriga-Alonso 2024 'Catastrophic Goodhart'",
        config=ex.GoodhartConfig,
        experiment=ex.goodhart_experiment,
        verdict=goodhart_verdict,
        figures=plots.goodhart_figures,
        presets={
            "smoke": {"pool_size": 1000, "pools": 16, "n_q": 6},
            "quick": {"pool_size": 5000, "pools": 48, "n_q": 14},
            "full": {"pool_size": 50_000, "pools": 64, "n_q": 24},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=8,
        kind="claim",
        threshold=GOODHART_THRESHOLD,
        refuted_if="on a tail-wrong proxy shape the quantilizer at q_eval gets less true value than the argmax "
        "(paired interval below 0)",
        counterfactual=Counterfactual(
            "the proxy's tail is right: light-tailed error (t with 1000 df) and no corrupted region",
            {"tail_df": 1000.0, "corrupt_frac": 0.0},
        ),
    )
)

# --------------------------------------------------------------------------- 3. CRMDP

REGRET_THRESHOLD = Threshold(
    "decoupled (cross-checking) agent's mean regret at the worst corruption level in (0, claim_max]",
    "below",
    ex.REGRET_TOLERANCE,
    "regret is on a [0, 1] reward scale where the best state is worth ~0.96 and a uniformly random one 0.5; "
    "'limited regret' means losing less than a tenth of the scale, where the trusting ablation loses ~0.4",
)
ABLATION_THRESHOLD = Threshold(
    "regret of the same free sweep trusting each state about itself minus the decoupled agent's (paired)",
    "above",
    0.1,
    "the ablation sees exactly the same sweep of reports but no cross-checks; the claim is that cross-checking "
    "is what limits regret, so removing it must cost more than the 0.1 tolerance",
)
QLEARN_THRESHOLD = Threshold(
    "plain Q-learning: regret with corruption in (0, claim_max] minus its uncorrupted regret",
    "above",
    0.1,
    "'plain RL does not limit regret': corruption must add more than the same 0.1 tolerance to its own "
    "uncorrupted regret (so its exploration budget is not what is measured)",
)
WEIGHT_THRESHOLD = Threshold(
    "level learner's mean P(good) of corrupt sources",
    "below",
    0.2,
    "'learns to discount the corrupt sources': their posterior reliability must end below 0.2, against a prior "
    "mean of 0.7",
)


def _per_mdp(table: pd.DataFrame, agent: str) -> pd.Series:
    return table[table.agent == agent].set_index(["seed", "corruption", "mdp"])["value"]


def crmdp_verdict(cfg: ex.CRMDPConfig, table: pd.DataFrame) -> Verdict:
    """Per corruption level in (0, claim_max]: the decoupled and level agents' mean regret over MDPs (t-interval)
    below 0.1 at every level (headline: the decoupled agent's worst level); the paired regret excess of the
    ablation over the decoupled agent, pooled over the range, above 0.1; plain Q-learning's corrupted-minus-
    clean regret (Welch) above 0.1; the level learner's P(good) of corrupt sources below 0.2."""
    rng_mask = (table.corruption > 0) & (table.corruption <= cfg.claim_max_corruption + 1e-12)
    in_claim = table[rng_mask]
    if in_claim.empty:
        iv = mean_ci([])
        return Verdict.from_decisions([decide(iv, REGRET_THRESHOLD)], {}, "no corruption level in the claimed range")
    by_level = {
        agent: sorted(
            (
                (decide(mean_ci(g["value"]), _named(REGRET_THRESHOLD, f"{agent}: mean regret at rho={rho:g}")), rho)
                for rho, g in in_claim[in_claim.agent == agent].groupby("corruption")
            ),
            key=lambda x: -x[0].interval.high,
        )
        for agent in ("decoupled", "levels")
    }
    head = by_level["decoupled"][0][0]
    head = dataclasses.replace(head, threshold=REGRET_THRESHOLD)
    decisions = [head] + [d for d, _ in by_level["decoupled"][1:]] + [d for d, _ in by_level["levels"]]
    ablation = (_per_mdp(in_claim, "own_reports_max") - _per_mdp(in_claim, "decoupled")).dropna()
    decisions.append(decide(mean_ci(ablation), ABLATION_THRESHOLD))
    q_in = in_claim[in_claim.agent == "q_learning"]["value"]
    q_clean = table[(table.agent == "q_learning") & (table.corruption == 0)]["value"]
    if len(q_clean):
        decisions.append(decide(difference_ci(q_in, q_clean), QLEARN_THRESHOLD))
    wc = in_claim[in_claim.agent == "weight_corrupt"]["value"].dropna()
    decisions.append(decide(mean_ci(wc), WEIGHT_THRESHOLD))
    comps = []
    for agent in crmdp.AGENTS:
        for rho, g in table[table.agent == agent].groupby("corruption"):
            iv = mean_ci(g["value"])
            comps.append(Comparison(f"{agent}: regret at rho={rho:g}", None, iv.estimate, iv.se))
    pc = in_claim[in_claim.agent == "quantilizer_p_corrupt"].groupby("corruption")["value"].mean()
    numbers = {
        "decoupled_worst_regret": by_level["decoupled"][0][0].interval.estimate,
        "levels_worst_regret": by_level["levels"][0][0].interval.estimate,
        "own_reports_max_mean_regret": float(in_claim[in_claim.agent == "own_reports_max"]["value"].mean()),
        "q_learning_mean_regret": float(q_in.mean()),
        "q_learning_regret_uncorrupted": float(q_clean.mean()) if len(q_clean) else float("nan"),
        "quantilizer_mean_regret": float(in_claim[in_claim.agent == "quantilizer"]["value"].mean()),
        "levels_weight_honest": float(in_claim[in_claim.agent == "weight_honest"]["value"].mean()),
        "quantilizer_p_corrupt_over_bound": float((pc / (pc.index.to_numpy() / cfg.quantile_q)).max()),
    }
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


register(
    Claim(
        id="normativity.crmdp-decoupled-limits-regret",
        statement=(
            "In corrupted-reward MDPs, decoupled feedback (each state's reward cross-checked by other states' "
            "reports) and a level-aware learner that learns each source's reliability keep regret low as "
            "corruption grows while honest sources are the majority (corruption up to 1/2), where the same "
            "sweep of reports trusting each state about itself, and plain RL, "
            "do not; the level-aware learner learns to discount the corrupt sources."
        ),
        source="Everitt, Krakovna, Orseau, Hutter, Legg 2017, 'Reinforcement Learning with a Corrupted Reward "
        "Channel' (IJCAI), Secs. 5-6; Demski, 'Learning Normativity' (AF 2020)",
        config=ex.CRMDPConfig,
        experiment=ex.crmdp_experiment,
        verdict=crmdp_verdict,
        figures=plots.crmdp_figures,
        presets={
            "smoke": {"side": 4, "mdps": 24, "q_steps": 600, "corruptions": (0.0, 0.3)},
            "quick": {"mdps": 64, "q_steps": 5000},
            "full": {"mdps": 256, "q_steps": 20_000, "corruptions": (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=15,
        kind="claim",
        threshold=REGRET_THRESHOLD,
        refuted_if="at some corruption level in (0, 0.5] the cross-checking agent's mean regret interval lies "
        "above 0.1, or cross-checking buys less than 0.1 regret over trusting each state's own report",
        counterfactual=Counterfactual(
            "no cross-checking: each state reports only on itself (the free sweep of reports stays)",
            {"reviews_per_state": 0},
        ),
    )
)

# --------------------------------------------------------------------------- 3b. meta-level feedback

META_THRESHOLD = Threshold(
    "regret reduction from the meta-source's information (uninformative labels minus informative), paired per MDP",
    "above",
    0.0,
    "the claim is that feedback about feedback helps at the corruption levels where cross-checking starts to "
    "fail. The baseline is the same learner given coin-flip labels (accuracy 1/2), not no labels: labels of any "
    "quality change the learner's prior on each source, and that alone cuts the regret, so only the difference "
    "to coin flips measures what the meta-source says. Any positive paired reduction whose interval excludes 0 "
    "supports it, a negative one refutes it",
)
META_WEIGHT_THRESHOLD = Threshold(
    "reduction of the corrupt sources' P(good) from the meta-source's information, paired per MDP",
    "above",
    0.0,
    "the mechanism: the meta-source's labels must make the learner discount corrupt sources more than coin-flip "
    "labels do, not less",
)


def meta_feedback_verdict(cfg: ex.MetaFeedbackConfig, table: pd.DataFrame) -> Verdict:
    """Paired per (seed, corruption, MDP): regret and corrupt-source weight with coin-flip labels minus with
    the meta-source's labels, each with its t-interval over MDPs, both above 0. The learner without any
    labels is reported (``regret_object_level_only``), not judged."""
    key = ["seed", "corruption", "mdp"]
    none, a, b = (table[table.variant == v].set_index(key) for v in ex.META_VARIANTS)
    d_regret = mean_ci(a["regret"] - b["regret"])
    d_weight = mean_ci(a["weight_corrupt"] - b["weight_corrupt"])
    d_any_labels = mean_ci(none["regret"] - a["regret"])
    numbers = {"learned_meta_accuracy": float(b["meta_level"].mean()), "true_meta_accuracy": cfg.meta_accuracy}
    for variant, g in (("object_level_only", none), ("uninformative_meta", a), ("with_meta", b)):
        numbers[f"regret_{variant}"] = float(g["regret"].mean())
        numbers[f"weight_corrupt_{variant}"] = float(g["weight_corrupt"].mean())
    numbers.update(d_any_labels.as_numbers("regret_cut_by_coin_flip_labels"))
    for rho, grp in table.groupby("corruption"):
        for variant, g in grp.groupby("variant"):
            numbers[f"regret_{variant}_at_{rho:g}"] = float(g["regret"].mean())
    comps = (
        Comparison("regret: coin-flip labels - meta-source's labels", None, d_regret.estimate, d_regret.se),
        Comparison("regret: no labels - coin-flip labels (not judged)", None, d_any_labels.estimate, d_any_labels.se),
        Comparison(
            "learned meta-source accuracy",
            cfg.meta_accuracy,
            numbers["learned_meta_accuracy"],
            note="Beta(2,2)-shrunk posterior mean over ~25 labels",
        ),
    )
    return Verdict.from_decisions(
        [decide(d_regret, META_THRESHOLD), decide(d_weight, META_WEIGHT_THRESHOLD)], numbers, comparisons=comps
    )


register(
    Claim(
        id="normativity.levels-meta-feedback",
        statement=(
            "Feedback about feedback helps: a level-aware learner given a noisy meta-source (labels saying which "
            "sources are reliable, itself graded by the learner) discounts corrupt sources and loses less reward at "
            "corruption levels where object-level cross-checking alone starts to fail. Judged against the same "
            "learner given coin-flip labels, so that what counts is the meta-source's information."
        ),
        source="Demski, 'Learning Normativity: A Research Agenda' (AF 2020): learn at all levels, share what is "
        "learned between levels; our operationalisation",
        config=ex.MetaFeedbackConfig,
        experiment=ex.meta_feedback_experiment,
        verdict=meta_feedback_verdict,
        figures=plots.meta_feedback_figures,
        presets={
            "smoke": {"mdps": 48, "corruptions": (0.6,)},
            # 1024 MDPs a level: the information's effect (~0.003 regret) needs a CI half-width ~0.0013
            "quick": {"mdps": 1024},
            "full": {"mdps": 1024, "corruptions": (0.4, 0.5, 0.6, 0.7, 0.8)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=40,
        kind="claim",
        threshold=META_THRESHOLD,
        refuted_if="the paired regret reduction from the meta-source's information (coin-flip labels minus its "
        "labels) has its interval below 0 (its information hurts)",
        counterfactual=Counterfactual(
            "level 3 switched off: the learner takes a misleading meta-source (20 % accurate) to be 80 % accurate "
            "and never grades it",
            {"meta_accuracy": 0.2, "assumed_meta_accuracy": 0.8},
        ),
    )
)

# --------------------------------------------------------------------------- 4. tampering (check)

TAMPER_THRESHOLD = Threshold(
    "observation-utility planner's tampering rate",
    "below",
    0.1,
    "the agent is handed u0, so it never gains by rewriting the box; it crosses the box only after a slip "
    "puts the box on a shortest path (slip 0.05 per step), which stays well under 0.1",
)
BOX_THRESHOLD = Threshold(
    "reward-box maximiser's tampering rate",
    "above",
    0.8,
    "rewriting the box triples its output everywhere, so a maximiser of the box's output tampers in every "
    "layout it can reach the box in; 0.8 leaves room for the learner's finite exploration",
)
RETURN_THRESHOLD = Threshold(
    "true return of the observation-utility planner minus the box planner's (per layout)",
    "above",
    0.0,
    "the agent that keeps pointing at u0 must keep more of it than the one that rewrote its reward",
)


def tamper_verdict(cfg: ex.TamperConfig, table: pd.DataFrame) -> Verdict:
    """Wilson intervals of each agent's tampering rate (observation-utility agents below 0.1, box maximisers
    above 0.8) and the paired true-return difference OU planner - box planner above 0."""
    rate = table.groupby("agent")["tampered"].agg(["sum", "size"])

    def rate_ci(agent: str):
        return proportion_ci(int(rate.loc[agent, "sum"]), int(rate.loc[agent, "size"]))

    ret = table.pivot_table(index=["seed", "world"], columns="agent", values="true_return")
    decisions = [
        decide(rate_ci("ou_planner"), TAMPER_THRESHOLD),
        decide(rate_ci("ou_learner"), _named(TAMPER_THRESHOLD, "observation-utility learner's tampering rate")),
        decide(rate_ci("box_planner"), BOX_THRESHOLD),
        decide(rate_ci("box_learner"), _named(BOX_THRESHOLD, "reward-box learner's tampering rate")),
        decide(mean_ci(ret["ou_planner"] - ret["box_planner"]), RETURN_THRESHOLD),
    ]
    opt = float(ret["optimum"].mean())
    numbers = {f"{a}_true_return_ratio": float(ret[a].mean() / opt) for a in tamper.AGENTS}
    numbers["current_reward_tamper_rate"] = float(
        rate.loc["current_reward", "sum"] / rate.loc["current_reward", "size"]
    )
    comps = tuple(Comparison(f"{a}: tampering rate", None, rate_ci(a).estimate, rate_ci(a).se) for a in tamper.AGENTS)
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


register(
    Claim(
        id="normativity.reward-box-tampering",
        statement=(
            "An agent maximising the output of a tamperable reward box learns to tamper with it; an "
            "observation-utility agent handed the designer's utility u0 (it evaluates futures with u0, never with "
            "the box) does not, and keeps more true utility. The second half holds by construction: it checks the "
            "gridworld and the agents, not the idea (see normativity.stable-pointer-learned for a pointer that "
            "can fail)."
        ),
        source="Demski, 'Stable Pointers to Value' (Alternate Alignment Ideas, AF 2017-18); Dewey 2011; "
        "Everitt, Hutter, Kumar, Krakovna 2021, 'Reward tampering problems and solutions in RL' (Synthese)",
        config=ex.TamperConfig,
        experiment=ex.tamper_experiment,
        verdict=tamper_verdict,
        figures=plots.tamper_figures,
        presets={
            "smoke": {"side": 4, "worlds": 48, "q_steps": 1500},
            "quick": {"worlds": 48, "q_steps": 4000},
            "full": {"worlds": 512, "q_steps": 12_000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=10,
        kind="check",
        threshold=TAMPER_THRESHOLD,
        counterfactual=Counterfactual(
            "the observation-utility agents evaluate futures with the box's output instead of u0", {"ou_reads": "box"}
        ),
    )
)
