"""``normativity.trajectory-quantilizer``: quantilizing whole trajectories drawn from a behaviour-cloned base
policy (:mod:`aflab.normativity.trajectories`), as in mtrazzi/quantilizers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import PALETTE, new_figure
from aflab.core.stats import Threshold, decide, mean_ci, z_interval
from aflab.normativity import trajectories as T
from aflab.normativity.quantilizers import expectations_many


class TrajectoryQuantilizerConfig(ClaimConfig):
    side: int = Field(6, ge=3, le=12, description="grid side")
    layouts: int = Field(32, ge=2, le=10_000, description="random layouts (one pool each) per seed")
    pool_size: int = Field(1000, ge=20, le=100_000, description="trajectories drawn from the cloned base per pool")
    horizon: int = Field(20, ge=5, le=500, description="trajectory length")
    gamma: float = Field(0.95, gt=0, le=1, description="discount of the returns")
    n_demos: int = Field(20, ge=1, le=10_000, description="demonstrations the base policy is cloned from")
    temperature: float = Field(0.3, gt=0, le=100, description="demonstrator's Boltzmann temperature (true reward)")
    alpha: float = Field(0.1, gt=0, le=10, description="add-alpha smoothing of behaviour cloning")
    trap_true: float = Field(-1.0, le=0, description="true reward per step in the trap")
    trap_proxy: float = Field(3.0, description="proxy reward per step in the trap (the reward bug)")
    n_q: int = Field(12, ge=3, le=100, description="q values of the sweep (log-spaced 1/n .. 1)")
    q_eval: float = Field(0.1, gt=0, le=1, description="pre-stated q at which the quantilizer is judged")
    n_reference: int = Field(4000, ge=100, le=10**6, description="independent base trajectories for E_base[cost]")


QUANT_THRESHOLD = Threshold(
    "true return of the trajectory quantilizer at q_eval minus the proxy maximiser's (paired per pool)",
    "above",
    0.0,
    "the claim is that quantilizing beats maximising the proxy when the proxy has a bug in its tail: any "
    "positive paired gain whose interval excludes 0; q_eval = 0.1 is fixed in advance, not the best q found",
)
IMITATION_THRESHOLD = Threshold(
    "true return at q_eval minus the cloned base policy's (q = 1), paired per pool",
    "above",
    0.0,
    "the other half of 'peaks at an intermediate q': optimising a little must also beat plain imitation",
)
COST_THRESHOLD = Threshold(
    "largest E_q[trap steps] / (E_base[trap steps] / q) over the q < 1 sweep (4-SE interval)",
    "below",
    1.0,
    "Taylor 2016's bound for the learned base, with E_base estimated from an independent sample of the cloned "
    "policy; the trap cost is not the adversarial one, so the ratio sits under 1 unless the bound fails (at q = 1 "
    "the quantilizer is the base and the ratio is 1 by definition, so q = 1 is left out)",
)


def trajectory_quantilizer_experiment(cfg: TrajectoryQuantilizerConfig, seed: int) -> pd.DataFrame:
    """Per (pool, q): exact expected true return, proxy return and trap steps of the quantilizer over the pool;
    per pool also the demonstrator's return and E_base[trap steps] from an independent reference sample."""
    rng = np.random.default_rng(seed)
    w = T.make_trap_worlds(cfg.side, cfg.trap_true, cfg.trap_proxy, rng, cfg.layouts)
    demo = T.demonstrator_policy(w, cfg.gamma, cfg.temperature)
    ds, da = T.rollout_policy(w, demo, cfg.n_demos, cfg.horizon, rng)
    base = T.behaviour_clone(w, ds, da, cfg.alpha)
    pool, _ = T.rollout_policy(w, base, cfg.pool_size, cfg.horizon, rng)
    ref, _ = T.rollout_policy(w, base, cfg.n_reference, cfg.horizon, rng)
    true, proxy = T.returns(pool, w.true_reward(), cfg.gamma), T.returns(pool, w.proxy_reward(), cfg.gamma)
    cost, ref_cost = T.trap_steps(w, pool), T.trap_steps(w, ref)
    qs = np.unique(np.concatenate([np.geomspace(1.0 / cfg.pool_size, 1.0, cfg.n_q), [cfg.q_eval]]))
    res = expectations_many(
        np.full(true.shape, 1.0 / cfg.pool_size), proxy, {"true": true, "proxy": proxy, "cost": cost}, qs=qs
    )
    demo_true = T.returns(T.rollout_policy(w, demo, 200, cfg.horizon, rng)[0], w.true_reward(), cfg.gamma)
    frames = []
    for q in qs:
        r = res[("q", float(q))]
        frames.append(
            pd.DataFrame(
                {"pool": np.arange(cfg.layouts), "q": float(q), "true": r["true"], "proxy": r["proxy"]}
                | {"cost": r["cost"], "base_cost": ref_cost.mean(axis=1), "base_cost_var": ref_cost.var(axis=1)}
                | {"demo_true": demo_true.mean(axis=1)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _cost_ratio_interval(cfg: TrajectoryQuantilizerConfig, g: pd.DataFrame):
    """E_q[c] / (E_base[c] / q) pooled over pools, with a delta-method SE from the reference sample's variance
    (the quantilizer's expectation over its pool is exact)."""
    q = float(g.q.iloc[0])
    base = float(g.base_cost.mean())
    base_se = float(np.sqrt(g.base_cost_var.sum() / cfg.n_reference) / len(g))
    ratio = float(g.cost.mean()) * q / base if base > 0 else 0.0
    se = ratio * base_se / base if base > 0 else 0.0
    return z_interval(ratio, se, level=0.99994, n=len(g))


def trajectory_quantilizer_verdict(cfg: TrajectoryQuantilizerConfig, table: pd.DataFrame) -> Verdict:
    """Paired per (seed, pool): gain of the quantilizer at q_eval over the proxy argmax (q = 1/n) and over the
    base (q = 1), t-intervals above 0; the largest cost ratio over q (4-SE normal interval) below 1."""
    key = ["seed", "pool"]
    by_q = {q: g.set_index(key) for q, g in table.groupby("q")}
    qs = sorted(by_q)
    at = by_q[min(qs, key=lambda q: abs(np.log(q / cfg.q_eval)))]
    gain_max = mean_ci(at["true"] - by_q[qs[0]]["true"])
    gain_base = mean_ci(at["true"] - by_q[qs[-1]]["true"])
    ratios = [_cost_ratio_interval(cfg, g) for q, g in table.groupby("q") if q < 1]  # q = 1: equality
    worst = max(ratios, key=lambda iv: iv.high)
    decisions = [
        decide(gain_max, QUANT_THRESHOLD),
        decide(gain_base, IMITATION_THRESHOLD),
        decide(worst, COST_THRESHOLD),
    ]
    curve = table.groupby("q")[["true", "proxy"]].mean()
    numbers = {
        "best_q": float(curve["true"].idxmax()),
        "true_at_best_q": float(curve["true"].max()),
        "true_at_argmax": float(curve["true"].iloc[0]),
        "true_at_base": float(curve["true"].iloc[-1]),
        "demonstrator_true": float(table.demo_true.mean()),
    }
    comps = [
        Comparison(f"q={q:.3g}: true / proxy return", None, float(r["true"]), note=f"proxy {r['proxy']:.2f}")
        for q, r in curve.iterrows()
    ]
    comps.append(Comparison("worst cost ratio E_q[c] / (E_base[c]/q)", 1.0, worst.estimate, worst.se))
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


def trajectory_quantilizer_figures(cfg: TrajectoryQuantilizerConfig, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.6)
    curve = table.groupby("q")[["true", "proxy", "cost"]].mean()
    se = table.groupby("q")["true"].sem()
    ax = axes[0]
    ax.plot(curve.index, curve["true"], "o-", color=PALETTE[0], label="true return")
    ax.fill_between(curve.index, curve["true"] - 2 * se, curve["true"] + 2 * se, color=PALETTE[0], alpha=0.2)
    ax.plot(curve.index, curve["proxy"], "s--", color=PALETTE[1], label="proxy return")
    ax.axhline(table.demo_true.mean(), color="k", ls=":", lw=1, label="demonstrator (true)")
    ax.axvline(cfg.q_eval, color="gray", ls=":", lw=1)
    ax.set(
        xscale="log",
        xlabel="q (left: proxy argmax of the pool, right: cloned base)",
        ylabel="return",
        title="Trajectory quantilizer, behaviour-cloned base",
    )
    ax.legend(fontsize=7)
    ax = axes[1]
    bound = table.groupby("q")["base_cost"].mean() / curve.index.to_numpy()
    ax.plot(curve.index, curve["cost"], "o-", color=PALETTE[3], label="E_q[steps in the trap]")
    ax.plot(curve.index, bound, "k--", lw=1, label="bound E_base[c] / q")
    ax.set(xscale="log", yscale="log", xlabel="q", ylabel="expected trap steps", title="Cost bound, learned base")
    ax.legend(fontsize=7)
    return {"trajectory_quantilizer": fig}


register(
    Claim(
        id="normativity.trajectory-quantilizer",
        statement=(
            "Quantilizing trajectories drawn from a base policy cloned from demonstrations beats both maximising a "
            "proxy with a bug in its tail and plain imitation: true return vs q peaks at an intermediate q, and the "
            "cost bound E_q[c] <= E_base[c] / q holds for the learned base within Monte Carlo error."
        ),
        source="Taylor 2016 (quantilizers); mtrazzi/quantilizers (quantilizing trajectories of a behaviour-cloned "
        "policy in gridworlds); Demski, 'Learning Normativity' (AF 2020)",
        config=TrajectoryQuantilizerConfig,
        experiment=trajectory_quantilizer_experiment,
        verdict=trajectory_quantilizer_verdict,
        figures=trajectory_quantilizer_figures,
        presets={
            "smoke": {"layouts": 40, "pool_size": 300, "n_reference": 600, "n_q": 6},
            "quick": {},
            "full": {"layouts": 128, "pool_size": 5000, "n_reference": 20000, "n_q": 20},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="claim",
        threshold=QUANT_THRESHOLD,
        refuted_if="the quantilizer at q = 0.1 gets less true return than the proxy maximiser of the same pool "
        "(paired interval below 0)",
        counterfactual=Counterfactual(
            "no reward bug: the proxy agrees with the true reward in the trap", {"trap_proxy": -1.0}
        ),
    )
)
