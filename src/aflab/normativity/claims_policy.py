"""Policy alignment vs value learning (issue 19, item 3): one check and two claims.

1. ``normativity.jb-rotation-preserves-choices`` (check, a): rotated Jeffrey-Bolker pairs rank every
   proposition, choose from every menu and pick the same policy exactly alike.
2. ``normativity.value-learner-depends-on-rotation`` (claim, b): a value learner that acts on an inferred
   utility with the AI's beliefs behaves differently for pairs no choice data can tell apart, in a measured
   share of random environments; the policy-aligned agent never does.
3. ``normativity.policy-alignment-price`` (claim, c): the price of policy alignment (true expected utility
   lost against an oracle with the AI's beliefs) is zero without a belief gap and grows at second order
   with it -- small disagreements are nearly free.

Model: :mod:`aflab.normativity.policy_alignment`; docs: ``docs/policy_alignment.md``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import new_figure
from aflab.core.stats import Interval, Threshold, decide, loglog_slope, proportion_ci
from aflab.normativity import policy_alignment as PA

SOURCE = "Demski, 'Policy Approval' (Alignment Forum, 2018; Alternate Alignment Ideas)"


def exact_count(value: float, n: int) -> Interval:
    """A count computed exactly (no sampling error): a zero-width interval."""
    return Interval(float(value), float(value), float(value), 1.0, "exact", 0.0, n)


# ------------------------------------------------------------------------------------------ 1: check (a)
class JbRotationPreservesChoicesConfig(ClaimConfig):
    n_frames: int = Field(200, ge=2, le=100_000, description="random frames (and decision problems) per seed")
    n_atoms: int = Field(5, ge=2, le=10, description="atoms of the abstract frames (2^n - 1 propositions)")
    n_menus: int = Field(200, ge=1, le=100_000, description="random menus of 2..6 propositions per seed")
    rotation_scale: float = Field(0.95, ge=0, lt=1, description="share of the admissible interval of c used")
    n_states: int = Field(3, ge=2, le=8, description="decision frames: states")
    n_obs: int = Field(3, ge=1, le=5, description="decision frames: AI observations")
    n_actions: int = Field(3, ge=2, le=5, description="decision frames: actions")
    rotate_probability: bool = Field(True, description="mutation off-switch: pair U' with the unrotated P")


def _random_menus(rng: np.random.Generator, n_menus: int, n_props: int) -> np.ndarray:
    sizes = rng.integers(2, 7, size=n_menus)
    menus = np.zeros((n_menus, n_props), bool)
    for i, k in enumerate(sizes):
        menus[i, rng.choice(n_props, size=min(k, n_props), replace=False)] = True
    return menus


def jb_rotation_preserves_choices_experiment(cfg: JbRotationPreservesChoicesConfig, seed: int) -> pd.DataFrame:
    """Abstract frames (all propositions, random menus) and decision frames (all policies), each rotated."""
    rng = np.random.default_rng(seed)
    n = cfg.n_frames
    props = PA.all_propositions(cfg.n_atoms)
    p = rng.dirichlet(np.ones(cfg.n_atoms), size=n)
    u = PA.centre_utility(p, rng.normal(size=(n, cfg.n_atoms)))
    c = PA.sample_rotation(rng, u, cfg.rotation_scale)
    p2, u2 = PA.rotate(p, u, c, cfg.rotate_probability)
    v, v2 = PA.desirability(p, u, props), PA.desirability(p2, u2, props)
    menus = _random_menus(rng, cfg.n_menus, len(props))
    menu_diff = (PA.menu_choices(v, menus) != PA.menu_choices(v2, menus)).sum(axis=1)
    mobius = np.abs(v2 - v / (1 + c[:, None] * v)).max(axis=1) if cfg.rotate_probability else np.full(n, np.nan)
    abstract = pd.DataFrame(
        {"kind": "abstract", "frame": np.arange(n), "c": c, "discordant": PA.discordant_pairs(v, v2)}
    ).assign(menu_mismatches=menu_diff, mobius_error=mobius, policy_mismatch=False)
    s, o, a = cfg.n_states, cfg.n_obs, cfg.n_actions
    env = PA.make_environments(rng, n, s, o, a, 1.0, "random")
    p_h = env.human(0.5)
    pa, ua = PA.atoms(p_h, PA.centred_sa(p_h, env.u))
    cd = PA.sample_rotation(rng, ua, cfg.rotation_scale)
    pr, ur = PA.rotate(pa, ua, cd, cfg.rotate_probability)
    values, policies = PA.policy_values(pr, ur, s, o, a)
    chosen = policies[values.argmax(axis=1)]
    decision = pd.DataFrame(
        {
            "kind": "decision",
            "frame": np.arange(n),
            "c": cd,
            "discordant": PA.discordant_pairs(PA.policy_values(pa, ua, s, o, a)[0], values),
            "menu_mismatches": 0,
            "mobius_error": np.nan,
            "policy_mismatch": (chosen != PA.policy_aligned(p_h, env.u)).any(axis=1),
        }
    )
    return pd.concat([abstract, decision], ignore_index=True)


T_DISCORD = Threshold(
    "pairs of propositions (and of policies) ranked in opposite order by a pair and its rotation",
    "equals",
    0.0,
    "V'(A) = V(A) / (1 + c V(A)) is increasing in V(A) wherever 1 + c U > 0, so no pair of propositions can swap "
    "(Jeffrey 1965, ch. 8; Bolker 1967): exactly 0 discordant pairs (near-ties within 1e-9 are not counted)",
)
T_MENU = Threshold(
    "menus (and policy choices) decided differently by a pair and its rotation",
    "equals",
    0.0,
    "choices from menus follow the ranking, so equal rankings give equal choices on every menu: exactly 0",
)


def jb_rotation_preserves_choices_verdict(cfg: JbRotationPreservesChoicesConfig, table: pd.DataFrame) -> Verdict:
    n = len(table)
    mismatches = int(table["menu_mismatches"].sum() + table["policy_mismatch"].sum())
    decisions = [
        decide(exact_count(table["discordant"].sum(), n), T_DISCORD),
        decide(exact_count(mismatches, n), T_MENU),
    ]
    err = float(table["mobius_error"].max()) if table["mobius_error"].notna().any() else float("nan")
    nums = {"max_mobius_error": err, "menus_checked": float(cfg.n_menus * (n // 2)), "frames": float(n)}
    comps = (Comparison("max |V' - V / (1 + c V)|", 0.0, err, note="the closed form of the rotated desirability"),)
    return Verdict.from_decisions(decisions, nums, comparisons=comps)


def jb_rotation_preserves_choices_figures(cfg, table: pd.DataFrame) -> dict:
    fig, ax = new_figure(width=6)
    a = table[table["kind"] == "abstract"]
    ax.scatter(a["c"], np.maximum(a["mobius_error"].fillna(1.0), 1e-18), s=8, alpha=0.6, label="|V' - V/(1+cV)| (max)")
    ax.scatter(table["c"], table["discordant"] + 1e-18, s=8, alpha=0.6, label="discordant pairs (+1e-18)")
    ax.set_yscale("log")
    ax.set(xlabel="rotation parameter c", ylabel="error / count", title="Jeffrey-Bolker rotation: rankings unchanged")
    ax.legend(fontsize=8)
    return {"rotation": fig}


register(
    Claim(
        id="normativity.jb-rotation-preserves-choices",
        statement="Rotated Jeffrey-Bolker pairs (P(1+cU), U/(1+cU)) rank every proposition, choose from every menu "
        "and approve the same policy exactly as (P, U): probability and utility cannot be separated by choices.",
        source=f"Jeffrey 1965 (The Logic of Decision, ch. 8); Bolker 1967; {SOURCE}, the section on the "
        "Jeffrey-Bolker rotation and why value learning is underdetermined (as recalled)",
        config=JbRotationPreservesChoicesConfig,
        experiment=jb_rotation_preserves_choices_experiment,
        verdict=jb_rotation_preserves_choices_verdict,
        figures=jb_rotation_preserves_choices_figures,
        presets={"smoke": {"n_frames": 60, "n_menus": 60}, "quick": {}, "full": {"n_frames": 2000, "n_menus": 2000}},
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=T_DISCORD,
        counterfactual=Counterfactual("U' paired with the unrotated P", {"rotate_probability": False}),
    )
)


# ------------------------------------------------------------------------------------------ 2: claim (b)
class ValueLearnerDependsOnRotationConfig(ClaimConfig):
    n_env: int = Field(1000, ge=10, le=1_000_000, description="random environments per seed")
    n_states: int = Field(4, ge=2, le=20)
    n_obs: int = Field(3, ge=1, le=5)
    n_actions: int = Field(3, ge=2, le=5)
    sensor_conc: float = Field(0.5, gt=0, le=100, description="Dirichlet concentration of the sensor rows")
    belief_gap: float = Field(0.3, ge=0, le=1, description="how far the human's beliefs are from the AI's")
    rotation_scales: tuple[float, ...] = Field((0.1, 0.3, 0.5, 0.7, 0.9), min_length=1)
    headline_scale: float = Field(0.5, ge=0, lt=1, description="the rotation scale the headline is read at")
    learner_beliefs: str = Field(
        "ai",
        pattern="^(ai|inferred)$",
        description="'ai': the learner acts on U' with the AI's beliefs; 'inferred': on the consistent pair (P', U')",
    )


def value_learner_depends_on_rotation_experiment(cfg: ValueLearnerDependsOnRotationConfig, seed: int) -> pd.DataFrame:
    """For every environment and rotation scale: two pairs of the identified set (rotations c1, c2); do the
    value learner's and the policy-aligned agent's policies differ between them?"""
    if cfg.headline_scale not in cfg.rotation_scales:
        raise ValueError("headline_scale must be one of rotation_scales")
    rng = np.random.default_rng(seed)
    s, o, a = cfg.n_states, cfg.n_obs, cfg.n_actions
    env = PA.make_environments(rng, cfg.n_env, s, o, a, cfg.sensor_conc, "random")
    p_h = env.human(cfg.belief_gap)
    pa, ua = PA.atoms(p_h, PA.centred_sa(p_h, env.u))
    rows = []
    for scale in cfg.rotation_scales:
        pols = {}
        for k in (1, 2):
            c = PA.sample_rotation(rng, ua, scale)
            pr, ur = PA.rotate(pa, ua, c)
            if cfg.learner_beliefs == "ai":
                vl = PA.value_learner(env.p_true, ur.reshape(-1, s, o, a)[:, :, 0, :])
            else:
                vl = PA.choice_given_observation(pr, ur, s, o, a)
            values, policies = PA.policy_values(pr, ur, s, o, a)
            pols[k] = (vl, policies[values.argmax(axis=1)])
        rows.append(
            pd.DataFrame(
                {
                    "scale": scale,
                    "env": np.arange(cfg.n_env),
                    "vl_differs": (pols[1][0] != pols[2][0]).any(axis=1),
                    "pa_differs": (pols[1][1] != pols[2][1]).any(axis=1),
                    "vl_true_gap": PA.true_value(env.p_true, env.u, pols[1][0])
                    - PA.true_value(env.p_true, env.u, pols[2][0]),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


#: the headline statistic, naming the rotation scale it is read at (``T_VL`` names the preset's 0.5)
VL_STATISTIC = (
    "share of random environments where the value learner's policy differs between two equivalent pairs "
    "(rotation scale {scale:g})"
)
T_VL = Threshold(
    VL_STATISTIC.format(scale=0.5),
    "above",
    0.05,
    "the post's point is that non-identifiability of (P, U) changes what a value learner does; if it changed the "
    "policy in fewer than 1 environment in 20 at a moderate rotation (halfway to the edge of the identified set), "
    "the point would be a curiosity rather than an obstacle",
)


T_PA = Threshold(
    "environments where the policy-aligned agent's policy differs between the two pairs",
    "equals",
    0.0,
    "the policy-aligned choice is a choice among propositions of the human's frame, which rotated pairs rank alike",
)


def value_learner_depends_on_rotation_verdict(cfg: ValueLearnerDependsOnRotationConfig, table: pd.DataFrame) -> Verdict:
    head = table[table["scale"] == cfg.headline_scale]
    t_vl = dataclasses.replace(T_VL, statistic=VL_STATISTIC.format(scale=cfg.headline_scale))
    d_vl = decide(proportion_ci(int(head["vl_differs"].sum()), len(head)), t_vl)
    d_pa = decide(exact_count(int(table["pa_differs"].sum()), len(table)), T_PA)
    by_scale = table.groupby("scale")["vl_differs"].mean()
    nums = {f"vl_differs_share_scale_{s:g}": float(v) for s, v in by_scale.items()}
    nums["mean_abs_true_value_gap"] = float(head["vl_true_gap"].abs().mean())
    differ = head[head["vl_differs"]]
    nums["mean_abs_true_value_gap_where_differs"] = float(differ["vl_true_gap"].abs().mean()) if len(differ) else 0.0
    comps = [Comparison(f"value learner differs, scale {s:g}", None, float(v)) for s, v in by_scale.items()]
    return Verdict.from_decisions([d_vl, d_pa], nums, comparisons=comps)


def value_learner_depends_on_rotation_figures(cfg, table: pd.DataFrame) -> dict:
    fig, ax = new_figure(width=6)
    for col, label in (("vl_differs", "value learner (U' + AI beliefs)"), ("pa_differs", "policy-aligned agent")):
        per_seed = table.groupby(["scale", "seed"])[col].mean().unstack()
        m, sd = per_seed.mean(axis=1), per_seed.std(axis=1, ddof=1).fillna(0)
        ax.errorbar(m.index, m, yerr=2 * sd / np.sqrt(per_seed.shape[1]), marker="o", capsize=3, label=label)
    ax.set(
        xlabel="rotation scale (share of the admissible interval of c)",
        ylabel="share of environments: policy differs between two equivalent pairs",
        title="Which (P, U) pair was inferred changes the value learner",
    )
    ax.legend(fontsize=8)
    return {"dependence_vs_scale": fig}


register(
    Claim(
        id="normativity.value-learner-depends-on-rotation",
        statement="A value learner that infers the human's utility from choices (so only up to a Jeffrey-Bolker "
        "rotation) and acts on it with the AI's own beliefs behaves differently depending on which of the "
        "equivalent (P, U) pairs it inferred, in a material share of environments; a policy-aligned agent, which "
        "picks the policy the human's own (P, U) approves, never does.",
        source=f"{SOURCE}, sections on the Jeffrey-Bolker rotation and on policy approval vs value learning (as recalled)",
        config=ValueLearnerDependsOnRotationConfig,
        experiment=value_learner_depends_on_rotation_experiment,
        verdict=value_learner_depends_on_rotation_verdict,
        figures=value_learner_depends_on_rotation_figures,
        presets={"smoke": {"n_env": 300}, "quick": {}, "full": {"n_env": 20_000}},
        seeds={"smoke": 2, "quick": 3, "full": 10},
        quick_budget_s=5,
        kind="claim",
        threshold=T_VL,
        refuted_if="the value learner's policy changes between equivalent pairs in fewer than 1 environment in 20 "
        "(CI below 0.05), or the policy-aligned agent's policy changes at all",
        counterfactual=Counterfactual(
            "the value learner acts on the consistent inferred pair (P', U') instead of on U' with the AI's beliefs",
            {"learner_beliefs": "inferred"},
        ),
    )
)


# ------------------------------------------------------------------------------------------ 3: claim (c)
class PolicyAlignmentPriceConfig(ClaimConfig):
    n_env: int = Field(2000, ge=10, le=1_000_000, description="random environments per seed")
    n_states: int = Field(4, ge=2, le=20)
    n_obs: int = Field(3, ge=1, le=5)
    n_actions: int = Field(3, ge=2, le=5)
    sensor_conc: float = Field(0.5, gt=0, le=100)
    gaps: tuple[float, ...] = Field((0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0), min_length=3, description="belief gaps")
    small_gap_max: float = Field(0.4, gt=0, le=1, description="the exponent is fitted on 0 < gap <= this")
    rotation_scale: float = Field(0.5, ge=0, lt=1, description="the value learner's rotation (for comparison)")
    gap_all_or_nothing: bool = Field(
        False, description="counterfactual: the human's beliefs jump to the wrong model at any gap > 0"
    )


def policy_alignment_price_experiment(cfg: PolicyAlignmentPriceConfig, seed: int) -> pd.DataFrame:
    """Per belief gap and environment kind ('random' wrong sensor model; 'distrust': the human does not trust
    the AI's sensor): the oracle's, the policy-aligned agent's, the value learner's and the best constant
    policy's true expected utility (mean over environments)."""
    if 0.0 not in cfg.gaps:
        raise ValueError("gaps must include 0 (no belief advantage)")
    rng = np.random.default_rng(seed)
    s, o, a = cfg.n_states, cfg.n_obs, cfg.n_actions
    rows = []
    for wrong in ("random", "distrust"):
        env = PA.make_environments(rng, cfg.n_env, s, o, a, cfg.sensor_conc, wrong)
        oracle = PA.true_value(env.p_true, env.u, PA.value_learner(env.p_true, env.u))
        const = PA.best_constant_value(env.p_true, env.u)
        c_draw = rng.uniform(size=cfg.n_env)
        for gap in cfg.gaps:
            g = 1.0 if (cfg.gap_all_or_nothing and gap > 0) else gap
            p_h = env.human(g)
            pa_pol = PA.policy_aligned(p_h, env.u)
            uc = PA.centred_sa(p_h, env.u)
            lo, hi = PA.admissible_c(uc.reshape(cfg.n_env, -1))
            c = cfg.rotation_scale * (lo + (hi - lo) * c_draw)
            vl = PA.true_value(env.p_true, uc, PA.value_learner(env.p_true, PA.rotated_utility_sa(uc, c)))
            shift = (uc - env.u)[:, 0, 0]  # centring is a constant per environment
            rows.append(
                {
                    "wrong": wrong,
                    "gap": gap,
                    "oracle": float(oracle.mean()),
                    "policy_aligned": float(PA.true_value(env.p_true, env.u, pa_pol).mean()),
                    "value_learner": float((vl - shift).mean()),
                    "constant": float(const.mean()),
                    "declines_sensor": float((pa_pol == pa_pol[:, :1]).all(axis=1).mean()),
                }
            )
    return pd.DataFrame(rows).assign(
        price=lambda d: d["oracle"] - d["policy_aligned"],
        vl_loss=lambda d: d["oracle"] - d["value_learner"],
        voi=lambda d: d["oracle"] - d["constant"],
    )


#: the headline statistic, naming the fitted gap range (``T_PRICE`` names the preset's 0.4)
PRICE_STATISTIC = "log-log slope of the price of policy alignment vs the belief gap (0 < gap <= {gap_max:g})"
T_PRICE = Threshold(
    PRICE_STATISTIC.format(gap_max=0.4),
    "above",
    1.0,
    "a slope of 1 would mean every small disagreement costs in proportion; the argmax argument (a policy changes "
    "only when the gap crosses an observation's decision margin, and then loses in proportion to that margin) "
    "predicts 2. Above 1 is the claim that small belief gaps are nearly free",
)
T_ZERO = Threshold(
    "price of policy alignment without a belief gap",
    "equals",
    0.0,
    "with the human's beliefs equal to the AI's, the approved policy is the oracle's (exactly 0 up to rounding)",
)


def policy_alignment_price_verdict(cfg: PolicyAlignmentPriceConfig, table: pd.DataFrame) -> Verdict:
    rnd = table[table["wrong"] == "random"]
    small = rnd[(rnd["gap"] > 0) & (rnd["gap"] <= cfg.small_gap_max)]
    slope = loglog_slope(small["gap"], small["price"], clusters=small["seed"])
    zero = rnd[rnd["gap"] == 0]["price"].abs().max()
    d_zero = decide(exact_count(round(float(zero), 12), len(rnd)), T_ZERO)
    share = table.assign(share=table["price"] / table["voi"], vl_share=table["vl_loss"] / table["voi"])
    nums = {}
    for (wrong, gap), g in share.groupby(["wrong", "gap"]):
        nums[f"price_share_{wrong}_gap_{gap:g}"] = float(g["share"].mean())
    for wrong, g in share.groupby("wrong"):
        nums[f"value_learner_loss_share_{wrong}"] = float(g["vl_share"].mean())
        cross = g.groupby("gap")[["share", "vl_share"]].mean()
        above = cross[cross["share"] > cross["vl_share"]]
        nums[f"crossing_gap_{wrong}"] = float(above.index.min()) if len(above) else float("nan")
    dis = table[(table["wrong"] == "distrust") & (table["gap"] > 0) & (table["gap"] <= cfg.small_gap_max)]
    dist = loglog_slope(dis["gap"], dis["price"], clusters=dis["seed"])
    nums["slope_distrust"] = dist.estimate
    declined = table[(table["wrong"] == "distrust") & (table["gap"] == 1.0)]["declines_sensor"]
    nums["distrust_full_declines_sensor_share"] = float(declined.mean()) if len(declined) else float("nan")
    comps = (
        Comparison("price exponent (random wrong model)", 2.0, slope.estimate, slope.se, "argmax argument: 2"),
        Comparison("price exponent (distrusted sensor)", 2.0, dist.estimate, dist.se),
        Comparison(
            "full distrust: policy ignores the sensor (share)", 1.0, nums["distrust_full_declines_sensor_share"]
        ),
    )
    note = f"value learner's loss (rotation scale {cfg.rotation_scale:g}) as a share of the VOI: " + ", ".join(
        f"{w} {nums[f'value_learner_loss_share_{w}']:.2f}" for w in ("random", "distrust")
    )
    t_price = dataclasses.replace(T_PRICE, statistic=PRICE_STATISTIC.format(gap_max=cfg.small_gap_max))
    return Verdict.from_decisions([decide(slope, t_price), d_zero], nums, note, comps)


def policy_alignment_price_figures(cfg, table: pd.DataFrame) -> dict:
    fig, (ax, bx) = new_figure(ncols=2, width=4.6)
    t = table.assign(share=table["price"] / table["voi"], vl_share=table["vl_loss"] / table["voi"])
    for wrong, g in t.groupby("wrong"):
        m = g.groupby("gap")[["share", "vl_share"]].mean()
        ax.plot(m.index, m["share"], "o-", label=f"policy alignment, {wrong}")
        ax.plot(m.index, m["vl_share"], "--", label=f"value learner (rotated), {wrong}")
        pos = m[m.index > 0]
        bx.loglog(pos.index, pos["share"], "o-", label=f"{wrong}")
    x = np.array([0.05, 0.4])
    bx.loglog(x, 0.5 * x**2 / 0.16, "k:", label="slope 2")
    bx.loglog(x, 0.5 * x / 0.4, "k--", lw=0.8, label="slope 1")
    ax.set(xlabel="belief gap (AI's advantage)", ylabel="true utility lost / value of the AI's information")
    ax.set_title("Price of policy alignment", fontsize=10)
    bx.set(xlabel="belief gap", ylabel="price / VOI")
    bx.set_title("small gaps: second order", fontsize=10)
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    return {"price_vs_gap": fig}


register(
    Claim(
        id="normativity.policy-alignment-price",
        statement="The price of policy alignment -- the true expected utility it loses against an oracle that acts "
        "on the AI's (correct) beliefs -- is zero when the human's beliefs match the AI's and grows with the AI's "
        "belief advantage, superlinearly for small gaps (small disagreements are nearly free; the argmax argument "
        "says second order in the limit, the test is only 'faster than linear'); a human who does not trust the "
        "AI's sensor gets a policy that ignores it.",
        source=f"{SOURCE}, section on what policy approval gives up (using only the knowledge the human's beliefs "
        "endorse), as recalled; the exponent is this lab's reading of the argmax argument",
        config=PolicyAlignmentPriceConfig,
        experiment=policy_alignment_price_experiment,
        verdict=policy_alignment_price_verdict,
        figures=policy_alignment_price_figures,
        presets={"smoke": {"n_env": 1500}, "quick": {"n_env": 4000}, "full": {"n_env": 50_000}},
        seeds={"smoke": 3, "quick": 5, "full": 10},
        quick_budget_s=5,
        kind="claim",
        threshold=T_PRICE,
        refuted_if="the price grows at most linearly in the gap (slope CI below 1) or is non-zero without a gap",
        counterfactual=Counterfactual(
            "the human's beliefs jump to the wrong model at any gap > 0 (the gap no longer sets how far they are off)",
            {"gap_all_or_nothing": True},
        ),
    )
)
