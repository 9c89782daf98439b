"""Everitt et al. 2017 as in the paper (:mod:`aflab.normativity.everitt`): two theorem checks.

- ``normativity.crmdp-quantilisation-bound``: the delta-quantilising agent's regret bound on >= 1,000 random
  corrupted-reward MDPs per seed (exact expectations), plus the same agent under stochastic transitions,
  where the deterministic bound is only reported against the measurement;
- ``normativity.crmdp-no-free-lunch``: without decoupled feedback every agent's worst-case regret over an
  indistinguishable pair of CRMDPs is >= 1/2; with it (honest reviews) the cross-checking agent escapes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import PALETTE, new_figure
from aflab.core.stats import Interval, Threshold, decide, mean_ci
from aflab.normativity import everitt
from aflab.normativity.mdp import grid_next_state, long_run_true_reward, q_learning

# --------------------------------------------------------------------------- quantilisation bound


class QuantilisationBoundConfig(ClaimConfig):
    mdps: int = Field(600, ge=10, le=1_000_000, description="random CRMDPs per state count and seed")
    state_counts: tuple[int, ...] = Field((10, 25, 100), min_length=1, description="|S| of the random CRMDPs")
    deltas: tuple[float, ...] = Field(
        (0.04, 0.1, 0.2, 0.3, 0.5), min_length=1, description="delta: the agent quantilises over ceil(delta |S|)"
    )
    max_corrupt_frac: float = Field(0.3, gt=0, lt=1, description="q ~ U{0, ..., floor(this * |S|)} per MDP")
    side: int = Field(5, ge=3, le=10, description="grid side of the stochastic-transition CRMDPs")
    slips: tuple[float, ...] = Field((0.1, 0.3), description="slip probabilities of the stochastic-transition runs")
    argmax_agent: bool = Field(
        False, description="mutation: the agent settles in the observed argmax while the bound is for its k"
    )


BOUND_THRESHOLD = Threshold(
    "largest measured regret minus the bound max r - (1 - q/k) r_(k+q), deterministic CRMDPs",
    "below",
    1e-12,
    "a theorem: the regret is computed exactly (quantiliser distribution times true rewards), so it may exceed "
    "the bound only by float rounding",
)


def _quantilisation_rows(cfg: QuantilisationBoundConfig, rewards, n_states: int, q: np.ndarray) -> list[pd.DataFrame]:
    best = rewards.true.max(axis=1)
    frames = []
    for delta in cfg.deltas:
        k = np.full(len(q), int(np.ceil(delta * n_states)))
        choice = everitt.quantilising_choice(rewards.observed, 1 if cfg.argmax_agent else k)
        regret = best - (choice * rewards.true).sum(axis=1)
        bound = best - everitt.quantilisation_bound(rewards.true, k, q)
        frames.append(
            pd.DataFrame(
                {"kind": "deterministic", "n_states": n_states, "delta": float(delta), "slip": 0.0, "q": q, "k": k}
                | {"regret": regret, "bound": bound, "corrupt_mass": (choice * rewards.corrupt).sum(axis=1)}
            )
        )
    return frames


def quantilisation_bound_experiment(cfg: QuantilisationBoundConfig, seed: int) -> pd.DataFrame:
    """Exact regret and bound per (MDP, delta); half the MDPs have adversarial corruption (corrupt states truly
    0, shown as 1). Stochastic-transition rows: the same agent choosing *targets* of a go-and-stay policy on a
    grid with slips, each target valued by its stationary distribution."""
    rng = np.random.default_rng(seed)
    frames = []
    for n_states in cfg.state_counts:
        q = rng.integers(0, int(cfg.max_corrupt_frac * n_states) + 1, cfg.mdps)
        adversarial = np.arange(cfg.mdps) % 2 == 0
        rewards = everitt.random_crmdps(rng, cfg.mdps, n_states, q, adversarial)
        frames += _quantilisation_rows(cfg, rewards, n_states, q)
    s = cfg.side**2
    q = rng.integers(0, int(cfg.max_corrupt_frac * s) + 1, cfg.mdps)
    rewards = everitt.random_crmdps(rng, cfg.mdps, s, q, np.arange(cfg.mdps) % 2 == 0)
    for slip in cfg.slips:
        stat = everitt.stationary_values(cfg.side, slip)  # (targets, states)
        w, w_obs = rewards.true @ stat.T, rewards.observed @ stat.T
        for delta in cfg.deltas:
            k = np.full(cfg.mdps, int(np.ceil(delta * s)))
            choice = everitt.quantilising_choice(w_obs, 1 if cfg.argmax_agent else k)
            regret = w.max(axis=1) - (choice * w).sum(axis=1)
            bound = rewards.true.max(axis=1) - everitt.quantilisation_bound(rewards.true, k, q)
            frames.append(
                pd.DataFrame(
                    {"kind": "stochastic", "n_states": s, "delta": float(delta), "slip": float(slip), "q": q, "k": k}
                    | {"regret": regret, "bound": bound, "corrupt_mass": np.nan}
                )
            )
    return pd.concat(frames, ignore_index=True)


def quantilisation_bound_verdict(cfg: QuantilisationBoundConfig, table: pd.DataFrame) -> Verdict:
    """The largest exact excess regret - bound over every deterministic (MDP, delta) row (a zero-width interval)
    below 1e-12. Stochastic transitions: the excess of the measured regret over the deterministic bound is
    reported (mean with its t-interval, and the fraction of rows above the bound), not judged."""
    det = table[table.kind == "deterministic"]
    excess = float((det.regret - det.bound).max())
    decision = decide(Interval(excess, excess, excess, method="max over MDPs", n=len(det)), BOUND_THRESHOLD)
    adv = det[det.q > 0]
    numbers = {
        "deterministic_rows": float(len(det)),
        "tightest_regret_over_bound": float((adv.regret / adv.bound.where(adv.bound > 0)).max()),
        "mean_regret": float(det.regret.mean()),
        "mean_bound": float(det.bound.mean()),
    }
    comps = [Comparison("max exact regret - bound (deterministic)", 0.0, excess, note="bound: <= 0")]
    for slip, g in table[table.kind == "stochastic"].groupby("slip"):
        iv = mean_ci(g.regret - g.bound)
        numbers[f"slip_{slip:g}_frac_above_bound"] = float((g.regret > g.bound + 1e-12).mean())
        comps.append(
            Comparison(
                f"slip {slip:g}: measured regret - deterministic bound",
                None,
                iv.estimate,
                iv.se,
                note=f"above the bound in {numbers[f'slip_{slip:g}_frac_above_bound']:.1%} of (MDP, delta) rows",
            )
        )
    return Verdict.from_decisions([decision], numbers, comparisons=comps)


def quantilisation_bound_figures(cfg: QuantilisationBoundConfig, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.6)
    det = table[table.kind == "deterministic"].assign(frac=lambda d: d.q / d.n_states)
    det = det.assign(band=pd.cut(det.frac, [-0.01, 0.05, 0.15, 0.31], labels=["q/|S| <= 0.05", "<= 0.15", "<= 0.3"]))
    for i, (band, g) in enumerate(det.groupby("band", observed=True)):
        m = g.groupby("delta")[["regret", "bound"]].mean()
        axes[0].plot(m.index, m["regret"], "o-", color=PALETTE[i], label=f"regret, {band}")
        axes[0].plot(m.index, m["bound"], "x:", color=PALETTE[i], label=f"bound, {band}")
    axes[0].set(xlabel="delta (quantilised fraction of states)", ylabel="mean regret", title="Deterministic CRMDPs")
    axes[0].legend(fontsize=6)
    st = table[table.kind == "stochastic"]
    for i, (slip, g) in enumerate(st.groupby("slip")):
        m = g.groupby("delta")[["regret", "bound"]].mean()
        axes[1].plot(m.index, m["regret"], "o-", color=PALETTE[i], label=f"regret, slip {slip:g}")
        axes[1].plot(m.index, m["bound"], "x:", color=PALETTE[i], label="deterministic bound" if i == 0 else None)
    axes[1].set(xlabel="delta", ylabel="mean regret", title="Stochastic transitions (go-and-stay targets)")
    axes[1].legend(fontsize=6)
    return {"regret_vs_delta": fig}


register(
    Claim(
        id="normativity.crmdp-quantilisation-bound",
        statement=(
            "With at most q corrupt states, an agent that settles in a state drawn uniformly from the top "
            "k = ceil(delta |S|) by observed reward has expected true reward >= (1 - q/k) r_(k+q), i.e. regret <= "
            "max r - (1 - q/k) r_(k+q) (the paper's 1 - (1 - sqrt(q/|S|))^2 for delta = sqrt(q/|S|) and rich "
            "rewards); checked exactly on random CRMDPs, and measured under stochastic transitions."
        ),
        source="Everitt, Krakovna, Orseau, Hutter, Legg 2017, 'Reinforcement Learning with a Corrupted Reward "
        "Channel' (IJCAI), sec. 5 (quantilisation)",
        config=QuantilisationBoundConfig,
        experiment=quantilisation_bound_experiment,
        verdict=quantilisation_bound_verdict,
        figures=quantilisation_bound_figures,
        presets={
            "smoke": {"mdps": 200, "state_counts": (10, 25), "slips": (0.1,)},
            "quick": {"mdps": 600},
            "full": {"mdps": 20_000, "state_counts": (10, 25, 50, 100, 400), "slips": (0.05, 0.1, 0.2, 0.3)},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=BOUND_THRESHOLD,
        counterfactual=Counterfactual(
            "the agent settles in the observed argmax while the bound is computed for its k", {"argmax_agent": True}
        ),
    )
)

# --------------------------------------------------------------------------- no free lunch


class NoFreeLunchConfig(ClaimConfig):
    side: int = Field(5, ge=3, le=10, description="grid side (Q-learning runs on the grid)")
    pairs: int = Field(200, ge=2, le=100_000, description="indistinguishable CRMDP pairs per seed")
    ks: tuple[int, ...] = Field((1, 3, 8), min_length=1, description="quantilising agents: top-k by observed reward")
    q_steps: int = Field(2000, ge=100, le=1_000_000, description="Q-learning steps (identical randomness in M1, M2)")
    reviews: int = Field(5, ge=1, le=50, description="honest-majority reviews per state of the decoupled agent")
    distinguishable: bool = Field(
        False, description="mutation: the corrupt state shows 0.9 instead of 1, so the channel tells M1 from M2"
    )


NFL_THRESHOLD = Threshold(
    "smallest worst-case regret max(regret M1, regret M2) over pairs, of any agent without decoupled feedback",
    "above",
    0.5 - 1e-9,
    "the theorem: the agent sees the same observations in M1 and M2, so regret(M1) + regret(M2) >= 1 for every "
    "pair and the worse of the two is >= 1/2 (exactly 1/2 for a fair coin between the two top states); the "
    "regrets are exact or coupled, 1e-9 is float rounding",
)


def _settle_q_learning(cfg: NoFreeLunchConfig, rewards, seed: int) -> np.ndarray:
    """Long-run true reward of Q-learning on the observed rewards; the same seed in M1 and M2 (coupling)."""
    rng = np.random.default_rng(seed)
    nxt = grid_next_state(cfg.side)
    q = q_learning(
        nxt,
        rewards.observed,
        0.0,
        steps=cfg.q_steps,
        gamma=0.9,
        lr=0.3,
        epsilon=0.2,
        episode_len=40,
        q_init=10.0,
        rng=rng,
    )
    return long_run_true_reward(nxt, q, rewards.true, rng, burn_in=2 * cfg.side, horizon=2 * cfg.side)


def no_free_lunch_experiment(cfg: NoFreeLunchConfig, seed: int) -> pd.DataFrame:
    """Per pair and agent: regret in M1 and in M2 (quantilisers exact; Q-learning and the decoupled agent
    with the same random draws in both members of a pair)."""
    rng = np.random.default_rng(seed)
    m1, m2 = everitt.nfl_pair(rng, cfg.pairs, cfg.side**2)
    if cfg.distinguishable:
        m1 = everitt.CorruptRewards(m1.true, np.where(m1.corrupt, 0.9, m1.observed), m1.corrupt)
        m2 = everitt.CorruptRewards(m2.true, np.where(m2.corrupt, 0.9, m2.observed), m2.corrupt)
    regrets: dict[str, list[np.ndarray]] = {}
    sub = int(rng.integers(2**62))
    for m in (m1, m2):
        best = m.true.max(axis=1)
        for k in cfg.ks:
            regrets.setdefault(f"quantiliser_k{k}", []).append(
                best - (everitt.quantilising_choice(m.observed, k) * m.true).sum(axis=1)
            )
        regrets.setdefault("q_learning", []).append(best - _settle_q_learning(cfg, m, sub))
        med = everitt.honest_review_median(m.true, m.corrupt, cfg.reviews, np.random.default_rng(sub + 1))
        regrets.setdefault("decoupled", []).append(best - (everitt.quantilising_choice(med, 1) * m.true).sum(axis=1))
    return pd.concat(
        [
            pd.DataFrame({"agent": a, "pair": np.arange(cfg.pairs), "regret_m1": r[0], "regret_m2": r[1]})
            for a, r in regrets.items()
        ],
        ignore_index=True,
    )


def no_free_lunch_verdict(cfg: NoFreeLunchConfig, table: pd.DataFrame) -> Verdict:
    """Per agent: the smallest pair-worst-case regret (a zero-width interval: exact or coupled regrets). The
    headline is the agent without decoupled feedback that comes closest to escaping; each such agent must stay
    >= 1/2. The decoupled agent's mean worst case is reported (it should escape: < 1/2)."""
    worst = table.assign(worst=np.maximum(table.regret_m1, table.regret_m2))
    decisions, comps = [], []
    for agent, g in worst.groupby("agent"):
        lo = float(g.worst.min())
        iv = mean_ci(g.worst)
        comps.append(
            Comparison(f"{agent}: worst-case regret over the pair", 0.5, iv.estimate, iv.se, note=f"min {lo:.3f}")
        )
        if agent != "decoupled":
            decisions.append((decide(Interval(lo, lo, lo, method="min over pairs", n=len(g)), NFL_THRESHOLD), agent))
    decisions.sort(key=lambda x: x[0].interval.estimate)
    decisions = [
        dataclasses.replace(
            d,
            threshold=NFL_THRESHOLD if i == 0 else dataclasses.replace(NFL_THRESHOLD, statistic=f"{a}: worst case"),
            reason=f"{a}: {d.reason}",
        )
        for i, (d, a) in enumerate(decisions)
    ]
    dec = worst[worst.agent == "decoupled"].worst
    numbers = {"decoupled_mean_worst_case": float(dec.mean()), "decoupled_max_worst_case": float(dec.max())}
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


def no_free_lunch_figures(cfg: NoFreeLunchConfig, table: pd.DataFrame) -> dict:
    fig, ax = new_figure(width=5.4)
    agents = list(dict.fromkeys(table.agent))
    worst = np.maximum(table.regret_m1, table.regret_m2)
    for i, agent in enumerate(agents):
        w = np.sort(worst[table.agent == agent].to_numpy())
        ax.plot(w, np.linspace(0, 1, w.size), color=PALETTE[i % len(PALETTE)], label=agent)
    ax.axvline(0.5, color="k", ls="--", lw=1, label="no-free-lunch floor 1/2")
    ax.set(xlabel="worst-case regret over the pair", ylabel="fraction of pairs (CDF)", title="CRMDP no free lunch")
    ax.legend(fontsize=7)
    return {"no_free_lunch": fig}


register(
    Claim(
        id="normativity.crmdp-no-free-lunch",
        statement=(
            "Without extra information about the corruption, no agent does well in every corrupted-reward MDP: on "
            "two CRMDPs that show identical observed rewards but swap which of the two top states is corrupt, every "
            "agent's worst-case regret is >= 1/2; decoupled feedback (honest reviews of other states) escapes it."
        ),
        source="Everitt, Krakovna, Orseau, Hutter, Legg 2017 (IJCAI), sec. 4 (the CRMDP no-free-lunch theorem) and "
        "sec. 6 (decoupled RL)",
        config=NoFreeLunchConfig,
        experiment=no_free_lunch_experiment,
        verdict=no_free_lunch_verdict,
        figures=no_free_lunch_figures,
        presets={
            "smoke": {"pairs": 48, "q_steps": 500},
            "quick": {"pairs": 200},
            "full": {"pairs": 2000, "q_steps": 6000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=NFL_THRESHOLD,
        counterfactual=Counterfactual(
            "the corruption leaves a trace: the corrupt state shows 0.9, so the channel tells the pair apart",
            {"distinguishable": True},
        ),
    )
)
