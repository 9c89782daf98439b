"""Registered claims of the normativity system (verdicts decided from numbers across seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Verdict, register
from aflab.normativity import experiments as ex
from aflab.normativity import plots

# --------------------------------------------------------------------------- 1. cost bound


def cost_bound_verdict(cfg: ex.CostBoundConfig, table: pd.DataFrame) -> Verdict:
    exact = table[table.ratio_se == 0]
    sampled = table[table.ratio_se > 0]
    max_exact = float(exact.ratio.max())
    z = (sampled.ratio - 1.0) / sampled.ratio_se
    max_z = float(z.max()) if len(z) else float("-inf")
    adversarial = float(exact[exact.cost == "adversarial"].ratio.max())
    ok = max_exact <= 1 + cfg.tolerance and max_z < 4.0
    numbers = {
        "max_exact_ratio": max_exact,
        "max_sampled_z_over_bound": max_z,
        "tightest_adversarial_ratio": adversarial,
        "n_exact_checks": float(len(exact)),
        "n_sampled_checks": float(len(sampled)),
    }
    reason = (
        f"max E_pi(c)/bound over {len(exact)} exact checks = {max_exact:.12f} (<= 1 + {cfg.tolerance:g} passes); "
        f"sampled top-k-of-n max z above bound = {max_z:+.2f} (< 4 passes); adversarial cost reaches {adversarial:.6f}"
    )
    comps = (
        Comparison("max E_q(c) / (E_base(c)/q), exact", 1.0, max_exact, note="bound: <= 1"),
        Comparison("adversarial cost ratio (tightness)", 1.0, adversarial, note="the bound is attained"),
    )
    return Verdict("supported" if ok else "refuted", numbers, reason, comps)


register(
    Claim(
        id="normativity.quantilizer-cost-bound",
        statement=(
            "A q-quantilizer's expected cost is at most 1/q times the base distribution's, for every "
            "non-negative cost; best-of-n at most n times, uniform-of-top-k-of-n at most n/k times."
        ),
        source="Taylor 2016, 'Quantilizers: a safer alternative to maximizers for limited optimization' (AAAI workshop on AI, Ethics and Society): the cost bound",
        config=ex.CostBoundConfig,
        experiment=ex.cost_bound_experiment,
        verdict=cost_bound_verdict,
        figures=plots.cost_bound_figures,
        presets={
            "quick": {"n_envs": 60, "pool_size": 2000, "mc_draws": 10_000},
            "full": {"n_envs": 2000, "pool_size": 20_000, "mc_draws": 200_000},
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=5,
    )
)

# --------------------------------------------------------------------------- 2. Goodhart


def _paired_gap(table: pd.DataFrame, shape: str, q_eval: float, k: int) -> np.ndarray:
    """Per pool: true value at q_eval minus true value of the argmax (q = 1/K)."""
    grp = table[(table["shape"] == shape) & (table.method == "quantilizer")]
    at_q = grp[np.isclose(grp.knob, q_eval)].set_index(["seed", "pool"])["true"]
    at_max = grp[np.isclose(grp.knob, 1.0 / k)].set_index(["seed", "pool"])["true"]
    return (at_q - at_max).dropna().to_numpy()


def goodhart_verdict(cfg: ex.GoodhartConfig, table: pd.DataFrame) -> Verdict:
    numbers, comps, lows, highs = {}, [], [], []
    for shape in ("heavy", "corrupted", "gaussian"):
        gap = _paired_gap(table, shape, cfg.q_eval, cfg.pool_size)
        mean, se = float(gap.mean()), float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else float("nan")
        numbers[f"{shape}_gap"], numbers[f"{shape}_gap_se"] = mean, se
        curve = table[(table["shape"] == shape) & (table.method == "quantilizer")].groupby("knob")["true"].mean()
        numbers[f"{shape}_best_q"] = float(curve.idxmax())
        numbers[f"{shape}_true_at_best_q"] = float(curve.max())
        numbers[f"{shape}_true_at_argmax"] = float(curve.loc[curve.index.min()])
        # the gain as a function of q, at the grid points nearest to a few round values
        for q_target in (0.01, 0.2, 0.5):
            q_near = float(curve.index[np.argmin(np.abs(np.log(curve.index.to_numpy() / q_target)))])
            numbers[f"{shape}_gain_q{q_near:.3g}"] = float(curve.loc[q_near] - numbers[f"{shape}_true_at_argmax"])
        comps.append(
            Comparison(
                f"{shape}: E_q(V) - V(argmax) at q={cfg.q_eval:g}",
                None,
                mean,
                se,
                note="control: light tail" if shape == "gaussian" else "tail-wrong proxy",
            )
        )
        if shape != "gaussian":
            lows.append(mean - 2 * se if np.isfinite(se) else -np.inf)
            highs.append(mean + 2 * se if np.isfinite(se) else np.inf)
    # supported: both gaps' 2-se intervals above 0; refuted: either one entirely below 0
    label = "supported" if min(lows) > 0 else ("refuted" if min(highs) < 0 else "inconclusive")
    reason = (
        f"at q={cfg.q_eval:g} the quantilizer's true value exceeds the argmax's by "
        f"{numbers['heavy_gap']:.3f}±{numbers['heavy_gap_se']:.3f} (heavy-tailed error) and "
        f"{numbers['corrupted_gap']:.3f}±{numbers['corrupted_gap_se']:.3f} (corrupted region); "
        f"control (gaussian error): {numbers['gaussian_gap']:+.3f} (maximising wins there). Supported needs gap - 2se > 0 on both tail-wrong shapes; refuted if gap + 2se < 0 on either."
    )
    return Verdict(label, numbers, reason, tuple(comps))


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
            "quick": {"pool_size": 5000, "pools": 48, "n_q": 14},
            "full": {"pool_size": 50_000, "pools": 64, "n_q": 24},
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=8,
    )
)

# --------------------------------------------------------------------------- 3. CRMDP


def crmdp_verdict(cfg: ex.CRMDPConfig, table: pd.DataFrame) -> Verdict:
    in_claim = table[(table.corruption > 0) & (table.corruption <= cfg.claim_max_corruption + 1e-12)]
    if in_claim.empty:
        return Verdict(
            "inconclusive",
            {"n_levels_in_range": 0.0},
            f"no corruption level in (0, {cfg.claim_max_corruption:g}] was run; add some to `corruptions`",
        )
    per = in_claim.groupby(["agent", "corruption"])["value"].agg(["mean", "sem", "count"])
    numbers, comps = {}, []
    robust_ok = True
    for agent in ("decoupled", "levels"):
        worst = float(per.loc[agent]["mean"].max())
        numbers[f"{agent}_worst_regret"] = worst
        robust_ok &= worst <= cfg.regret_tolerance
        comps.append(
            Comparison(
                f"{agent}: worst mean regret, corruption in (0, {cfg.claim_max_corruption:g}]",
                None,
                worst,
                note=f"tolerance {cfg.regret_tolerance:g}",
            )
        )
    # plain RL: its regret averaged over the claimed corruption range, with a seed-level stderr
    plain = in_claim[in_claim.agent == "q_learning"].groupby("seed")["value"].mean()
    plain_cells = in_claim[in_claim.agent == "q_learning"]
    plain_mean = float(plain_cells["value"].mean())
    plain_se = float(np.sqrt((plain_cells["se"] ** 2).sum()) / len(plain_cells))
    clean = table[(table.agent == "q_learning") & (table.corruption == 0)]
    clean_mean = float(clean["value"].mean()) if len(clean) else 0.0
    clean_se = float(np.sqrt((clean["se"] ** 2).sum()) / len(clean)) if len(clean) else 0.0
    # plain RL "does not limit regret": corruption adds more than the tolerance to its own clean regret
    excess = plain_mean - clean_mean
    excess_se = float(np.hypot(plain_se, clean_se))
    plain_bad = excess - 2 * excess_se > cfg.regret_tolerance
    numbers.update(
        {
            "q_learning_mean_regret": plain_mean,
            "q_learning_se": plain_se,
            "q_learning_regret_uncorrupted": clean_mean,
            "q_learning_excess_regret": excess,
            "quantilizer_mean_regret": float(in_claim[in_claim.agent == "quantilizer"]["value"].mean()),
            "n_seeds": float(plain.size),
        }
    )
    wc = in_claim[in_claim.agent == "weight_corrupt"]["value"].mean()
    wh = in_claim[in_claim.agent == "weight_honest"]["value"].mean()
    numbers.update({"levels_weight_corrupt": float(wc), "levels_weight_honest": float(wh)})
    discount_ok = wc < 0.2 and wh > 0.8
    comps.append(Comparison("q_learning: mean regret over the range", None, plain_mean, plain_se))
    comps.append(
        Comparison("levels: mean P(good) of corrupt / honest sources", None, float(wc), note=f"honest: {wh:.3f}")
    )
    pc = table[table.agent == "quantilizer_p_corrupt"].groupby("corruption")["value"].mean()
    pc = pc[pc.index > 0]
    if len(pc):
        slack = float((pc / (pc.index.to_numpy() / cfg.quantile_q)).max())
        numbers["quantilizer_p_corrupt_over_bound"] = slack
        comps.append(
            Comparison(
                "quantilizer: max P(corrupt) / (rho / q)",
                1.0,
                slack,
                note="Everitt et al. 2017: <= 1 with a uniform base over states",
            )
        )
    ok = robust_ok and plain_bad and discount_ok
    reason = (
        f"corruption in (0, {cfg.claim_max_corruption:g}]: worst regret decoupled {numbers['decoupled_worst_regret']:.3f}, "
        f"levels {numbers['levels_worst_regret']:.3f} (<= {cfg.regret_tolerance:g} needed) vs plain Q-learning "
        f"{plain_mean:.3f} (uncorrupted {clean_mean:.3f}; excess {excess:.3f}±{excess_se:.3f}, > tolerance needed); level learner P(good): corrupt {wc:.2f} (<0.2), honest {wh:.2f} (>0.8)"
    )
    return Verdict("supported" if ok else "refuted", numbers, reason, tuple(comps))


register(
    Claim(
        id="normativity.crmdp-decoupled-limits-regret",
        statement=(
            "In corrupted-reward MDPs, decoupled feedback (cross-checked sources) and a level-aware learner that "
            "learns each source's reliability keep regret low as corruption grows, where plain RL does not; the "
            "level-aware learner learns to discount the corrupt sources."
        ),
        source="Everitt, Krakovna, Orseau, Hutter, Legg 2017, 'Reinforcement Learning with a Corrupted Reward Channel' (IJCAI), "
        "Secs. 5-6; Demski, 'Learning Normativity' (AF 2020)",
        config=ex.CRMDPConfig,
        experiment=ex.crmdp_experiment,
        verdict=crmdp_verdict,
        figures=plots.crmdp_figures,
        presets={
            "quick": {"mdps": 64, "q_steps": 5000},
            "full": {"mdps": 256, "q_steps": 20_000, "corruptions": (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)},
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=15,
    )
)

# --------------------------------------------------------------------------- 3b. meta-level feedback


def _paired(diff: pd.Series) -> tuple[float, float]:
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def meta_feedback_verdict(cfg: ex.MetaFeedbackConfig, table: pd.DataFrame) -> Verdict:
    key = ["seed", "corruption", "mdp"]
    a = table[table.variant == "object_level_only"].set_index(key)
    b = table[table.variant == "with_meta_feedback"].set_index(key)
    d_regret, se_regret = _paired(a["regret"] - b["regret"])
    d_weight, se_weight = _paired(a["weight_corrupt"] - b["weight_corrupt"])
    learned = float(b["meta_level"].mean())
    numbers = {
        "regret_reduction": d_regret,
        "regret_reduction_se": se_regret,
        "corrupt_weight_reduction": d_weight,
        "corrupt_weight_reduction_se": se_weight,
        "regret_object_level_only": float(a["regret"].mean()),
        "regret_with_meta": float(b["regret"].mean()),
        "weight_corrupt_object_level_only": float(a["weight_corrupt"].mean()),
        "weight_corrupt_with_meta": float(b["weight_corrupt"].mean()),
        "learned_meta_accuracy": learned,
        "true_meta_accuracy": cfg.meta_accuracy,
    }
    for rho, grp in table.groupby("corruption"):
        for variant, g in grp.groupby("variant"):
            numbers[f"regret_{variant}_at_{rho:g}"] = float(g["regret"].mean())
    if d_regret - 2 * se_regret > 0 and d_weight - 2 * se_weight > 0:
        label = "supported"
    elif d_regret + 2 * se_regret < 0 or d_weight + 2 * se_weight < 0:
        label = "refuted"
    else:
        label = "inconclusive"
    reason = (
        f"corruption {', '.join(f'{r:g}' for r in cfg.corruptions)}: meta-feedback ({cfg.meta_accuracy:g}-accurate) "
        f"cuts regret by {d_regret:.3f}±{se_regret:.3f} and the corrupt sources' P(good) by "
        f"{d_weight:.3f}±{se_weight:.3f} (paired per MDP; both must be > 2se); learned meta accuracy {learned:.2f}"
    )
    comps = (
        Comparison("regret: object-level only - with meta", None, d_regret, se_regret),
        Comparison(
            "learned meta-source accuracy",
            cfg.meta_accuracy,
            learned,
            note="Beta(2,2)-shrunk posterior mean over ~25 labels",
        ),
    )
    return Verdict(label, numbers, reason, comps)


register(
    Claim(
        id="normativity.levels-meta-feedback",
        statement=(
            "Feedback about feedback helps: a level-aware learner given a noisy meta-source (labels saying which "
            "sources are reliable, itself graded by the learner) discounts corrupt sources and loses less reward at "
            "corruption levels where object-level cross-checking alone starts to fail."
        ),
        source="Demski, 'Learning Normativity: A Research Agenda' (AF 2020): learn at all levels, share what is learned "
        "between levels; our operationalisation",
        config=ex.MetaFeedbackConfig,
        experiment=ex.meta_feedback_experiment,
        verdict=meta_feedback_verdict,
        figures=plots.meta_feedback_figures,
        presets={"quick": {"mdps": 64}, "full": {"mdps": 512, "corruptions": (0.4, 0.5, 0.6, 0.7, 0.8)}},
        seeds={"quick": 2, "full": 5},
        quick_budget_s=5,
    )
)

# --------------------------------------------------------------------------- 4. tampering


def tamper_verdict(cfg: ex.TamperConfig, table: pd.DataFrame) -> Verdict:
    rate = table.groupby("agent")["tampered"].mean()
    count = table.groupby("agent").size()
    ret = table.groupby("agent")["true_return"].mean()
    opt = float(ret["optimum"])
    numbers = {}
    for agent in ("box_planner", "box_learner", "ou_planner", "ou_learner", "current_reward"):
        numbers[f"{agent}_tamper_rate"] = float(rate[agent])
        numbers[f"{agent}_true_return_ratio"] = float(ret[agent] / opt)
    numbers["n_worlds"] = float(count["box_planner"])
    box_ok = min(rate["box_planner"], rate["box_learner"]) >= cfg.tamper_high
    ou_ok = max(rate["ou_planner"], rate["ou_learner"]) <= cfg.tamper_low
    util_ok = min(ret["ou_planner"], ret["ou_learner"]) > max(ret["box_planner"], ret["box_learner"])
    ok = box_ok and ou_ok and util_ok
    comps = tuple(
        Comparison(f"{a}: tampering rate", None, float(rate[a]), float(np.sqrt(rate[a] * (1 - rate[a]) / count[a])))
        for a in ("box_planner", "box_learner", "ou_planner", "ou_learner", "current_reward")
    )
    reason = (
        f"tampering rate: box maximiser planner {rate['box_planner']:.2f}, learner {rate['box_learner']:.2f} "
        f"(>= {cfg.tamper_high:g} needed); observation-utility planner {rate['ou_planner']:.2f}, learner "
        f"{rate['ou_learner']:.2f} (<= {cfg.tamper_low:g} needed); current-reward {rate['current_reward']:.2f}; "
        f"true return / optimum: OU {ret['ou_planner'] / opt:.2f} vs box {ret['box_planner'] / opt:.2f}"
    )
    return Verdict("supported" if ok else "refuted", numbers, reason, comps)


register(
    Claim(
        id="normativity.reward-box-tampering",
        statement=(
            "An agent maximising the output of a tamperable reward box learns to tamper with it; an "
            "observation-utility agent (which evaluates futures with its own utility function) does not, "
            "and keeps more true utility."
        ),
        source="Demski, 'Stable Pointers to Value' (Alternate Alignment Ideas, AF 2017-18); Dewey 2011; "
        "Everitt, Hutter, Kumar, Krakovna 2021, 'Reward tampering problems and solutions in RL' (Synthese)",
        config=ex.TamperConfig,
        experiment=ex.tamper_experiment,
        verdict=tamper_verdict,
        figures=plots.tamper_figures,
        presets={"quick": {"worlds": 48, "q_steps": 4000}, "full": {"worlds": 512, "q_steps": 12_000}},
        seeds={"quick": 2, "full": 5},
        quick_budget_s=10,
    )
)
