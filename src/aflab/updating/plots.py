"""Figures of the radical-probabilism claims, drawn from the stored tables only (deterministic)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import new_figure

FLOOR = 1e-18  # where an exact zero is drawn on a log axis


def order_figure(table: pd.DataFrame):
    """Per instance, ``max |p_EF - p_FE|`` for Jeffrey targets and for Bayes factors (exact zero at the floor)."""
    fig, ax = new_figure(width=6)
    kinds = [("Jeffrey targets", "jeffrey_gap"), ("Bayes factors (Field)", "field_gap")]
    for k, (name, col) in enumerate(kinds):
        for j, (prod, part) in enumerate(table.groupby("product", sort=True)):
            y = np.maximum(part[col].to_numpy(), FLOOR)
            x = np.full(y.size, 2 * k + j) + np.linspace(-0.25, 0.25, y.size)
            ax.scatter(x, y, s=8, alpha=0.6, label=f"{name}, {'product' if prod else 'generic'} prior")
    ax.set_yscale("log")
    ax.set_xticks([0, 1, 2, 3], ["Jeffrey\ngeneric", "Jeffrey\nproduct", "Field\ngeneric", "Field\nproduct"])
    ax.axhline(FLOOR, color="k", lw=0.8, ls=":")
    ax.set(ylabel="max |p_EF - p_FE| (exact; 0 drawn at 1e-18)", title="Order of two updates: targets vs Bayes factors")
    ax.legend(fontsize=7)
    return fig


def merging_figure(table: pd.DataFrame):
    """Final / initial disagreement of the two agents' predictives, per stream and arm (log scale)."""
    fig, ax = new_figure(width=6)
    groups = list(table.groupby(["stream", "arm"], sort=True))
    for k, ((stream, arm), part) in enumerate(groups):
        ratio = np.maximum(part["final"].to_numpy() / part["initial"].to_numpy(), 1e-17)
        ax.scatter(k + np.linspace(-0.3, 0.3, ratio.size), ratio, s=8, alpha=0.6, label=f"{stream}, {arm}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), [f"{s}\n{a}" for (s, a), _ in groups])
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set(ylabel="|m_A - m_B| final / initial", title="Merging of opinions: hard (Jeffrey) vs soft (Field) shifts")
    return fig


def profit_figure(table: pd.DataFrame):
    """Learner's and oracle's profit per unit of volatility vs the predictable drift, with the theory line."""
    fig, ax = new_figure(width=6)
    sums = table.groupby(["arm", "agent", "eps", "seed"], as_index=False)[["learner", "volatility"]].sum()
    per_seed = sums.assign(learner_rate=sums["learner"] / sums["volatility"])
    for (arm, agent), part in per_seed.groupby(["arm", "agent"], sort=True):
        g = part.groupby("eps")["learner_rate"]
        mean, sd, n = g.mean(), g.std(ddof=1).fillna(0), g.count()
        ax.errorbar(
            mean.index, mean, yerr=2 * sd / np.sqrt(n), marker="o", capsize=3, label=f"learner vs {agent} ({arm})"
        )
    eps = np.sort(table["eps"].unique())
    ax.plot(eps, eps, "k--", lw=1, label="oracle, theory: eps")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(
        xlabel="predictable drift eps (share of each step)",
        ylabel="profit / sum of step sizes",
        title="Betting against predictable updates",
    )
    ax.legend(fontsize=8)
    return fig


def residual_figure(table: pd.DataFrame):
    """Martingale residual (RMS conditional drift) of LI prices and its noise floor per era, per stretch."""
    fig, (ax, bx) = new_figure(ncols=2, width=4.6)
    t = table[table["scope"] == "all"]
    for stretch, part in t.groupby("stretch", sort=True):
        ax.plot(part["era_mid"], part["rms_drift"], "o-", lw=1, alpha=0.7, label=f"stretch {stretch}")
        bx.plot(part["era_mid"], part["rms_drift"] / part["rms_move"], "o-", lw=1, alpha=0.7)
    floor = t.groupby("era_mid")["noise_floor"].mean()
    ax.plot(floor.index, floor, "k:", label="martingale noise floor")
    ax.set(xscale="log", yscale="log", xlabel="day (era midpoint)", ylabel="RMS of E[P_t+1 - P_t | P_t]")
    ax.set_title("LI prices: predictable drift", fontsize=10)
    bx.set(xscale="log", xlabel="day (era midpoint)", ylabel="RMS drift / RMS move")
    bx.set_title("share of each move that was predictable", fontsize=10)
    if t["stretch"].nunique() <= 6:
        ax.legend(fontsize=7)
    return fig
