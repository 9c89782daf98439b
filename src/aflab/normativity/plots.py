"""Figure builders ``(cfg, table) -> {name: Figure}``, drawn from stored tables only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import new_figure
from aflab.normativity.crmdp import AGENTS as CRMDP_AGENTS
from aflab.normativity.experiments import REGRET_TOLERANCE
from aflab.normativity.goodhart import SHAPES
from aflab.normativity.tamper import AGENTS as TAMPER_AGENTS


def cost_bound_figures(cfg, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.8)
    ax = axes[0]
    q = table[table.method == "quantilizer"]
    for (env, cost), grp in q.groupby(["env", "cost"]):
        ax.scatter(grp["knob"], grp["ratio"], s=4, alpha=0.35, label=f"{env} / {cost}")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="bound")
    ax.set(
        xscale="log",
        xlabel="q",
        ylabel="E_q[c] / (E_base[c] / q)",
        title="Exact quantilizer: every check",
        ylim=(-0.02, 1.1),
    )
    ax.legend(fontsize=6, markerscale=3)
    ax = axes[1]
    bon = table[table.method == "best_of_n"].groupby("knob")["ratio"].max()
    ax.plot(bon.index, bon.values, marker="o", label="best-of-n exact: max E[c] / (n E_base[c])")
    samp = table[table.method.str.startswith("top_")]
    for method, grp in samp.groupby("method"):
        g = grp.groupby("knob")[["ratio", "ratio_se"]].mean()
        ax.errorbar(
            g.index,
            g["ratio"],
            yerr=2 * g["ratio_se"],
            marker="s",
            ms=3,
            capsize=2,
            ls="",
            label=f"{method} sampled: E[c] / ((n/k) E_base[c])",
        )
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set(
        xscale="log", xlabel="n (draws)", ylabel="ratio to its bound", title="Sampling quantilizers", ylim=(-0.02, 1.1)
    )
    ax.legend(fontsize=6)
    return {"cost_ratio_vs_q": fig}


def goodhart_figures(cfg, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=len(SHAPES), width=4.2)
    for ax, shape in zip(axes, SHAPES):
        grp = table[(table["shape"] == shape) & (table.method == "quantilizer")]
        m = grp.groupby("knob")[["true", "proxy"]].mean()
        se = grp.groupby("knob")["true"].sem()
        ax.plot(m.index, m["true"], marker=".", label="true E_q[V]")
        ax.fill_between(m.index, m["true"] - 2 * se, m["true"] + 2 * se, alpha=0.25)
        ax2 = ax.twinx()
        ax2.plot(m.index, m["proxy"], color="#d1495b", ls="--", label="proxy E_q[U]")
        ax2.set_yscale("symlog")
        ax2.set_ylabel("proxy (symlog)", color="#d1495b", fontsize=8)
        ax.axvline(cfg.q_eval, color="gray", lw=0.8, ls=":")
        ax.set(xscale="log", xlabel="q (left: argmax, right: base)", ylabel="true value", title=f"proxy error: {shape}")
        ax.legend(fontsize=7, loc="lower left")
    fig2, axes2 = new_figure(ncols=len(SHAPES), width=4.2)
    for ax, shape in zip(axes2, SHAPES):
        grp = table[(table["shape"] == shape) & (table.method == "best_of_n")]
        m = grp.groupby("knob")["true"].mean()
        ax.plot(m.index, m.values, marker=".")
        ax.set(
            xscale="log", xlabel="n (optimiser strength, best of n)", ylabel="true value", title=f"best-of-n: {shape}"
        )
    return {"true_proxy_vs_q": fig, "true_vs_best_of_n": fig2}


def crmdp_figures(cfg, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=5.0)
    ax = axes[0]
    for agent in CRMDP_AGENTS:
        g = table[table.agent == agent].groupby("corruption")["value"]
        m, se = g.mean(), g.sem().fillna(0)
        ax.errorbar(m.index, m.values, yerr=2 * se.values, marker="o", ms=3, capsize=2, label=agent)
    ax.axhline(REGRET_TOLERANCE, color="gray", ls=":", lw=1, label="tolerance")
    ax.set(xlabel="fraction of corrupt states", ylabel="regret (max R - R reached)", title="Regret vs corruption")
    ax.legend(fontsize=7)
    ax = axes[1]
    for name in ("weight_honest", "weight_corrupt"):
        g = table[table.agent == name].groupby("corruption")["value"].mean()
        ax.plot(g.index, g.values, marker="o", ms=3, label=name.replace("weight_", "P(good) of ") + " sources")
    ax.set(
        xlabel="fraction of corrupt states",
        ylabel="level-2 posterior P(source good)",
        title="Level-aware learner: source reliability",
        ylim=(-0.05, 1.05),
    )
    ax.legend(fontsize=7)
    return {"regret_vs_corruption": fig}


def meta_feedback_figures(cfg, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.6)
    for variant, grp in table.groupby("variant"):
        g = grp.groupby("corruption")
        axes[0].errorbar(
            g["regret"].mean().index,
            g["regret"].mean().values,
            yerr=2 * g["regret"].sem().values,
            marker="o",
            ms=3,
            capsize=2,
            label=variant,
        )
        axes[1].plot(
            g["weight_corrupt"].mean().index, g["weight_corrupt"].mean().values, marker="o", ms=3, label=variant
        )
    axes[0].set(xlabel="fraction of corrupt states", ylabel="regret", title="Level-aware learner: regret")
    axes[1].set(
        xlabel="fraction of corrupt states",
        ylabel="P(good) of corrupt sources",
        title="Discounting corrupt sources",
        ylim=(-0.05, 1.05),
    )
    axes[0].legend(fontsize=7)
    return {"meta_feedback": fig}


def tamper_figures(cfg, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.6)
    agents = [a for a in TAMPER_AGENTS if a in set(table.agent)]
    rate = table.groupby("agent")["tampered"].mean().reindex(agents)
    se = np.sqrt(rate * (1 - rate) / table.groupby("agent").size().reindex(agents))
    axes[0].bar(range(len(agents)), rate.values, yerr=2 * se.values, color="#d1495b")
    axes[0].set_xticks(range(len(agents)), agents, rotation=30, fontsize=7)
    axes[0].set(ylabel="tampering rate", title="Agent rewrites the reward box", ylim=(0, 1.05))
    opt = (
        table[table.agent == "optimum"].groupby(["seed", "world"])["true_return"].mean()
        if "seed" in table
        else table[table.agent == "optimum"].groupby("world")["true_return"].mean()
    )
    ratios = []
    for a in agents:
        sub = table[table.agent == a]
        key = ["seed", "world"] if "seed" in sub else ["world"]
        ratios.append(sub.groupby(key)["true_return"].mean().sum() / opt.sum())
    axes[1].bar(range(len(agents)), ratios, color="#1b6ca8")
    axes[1].set_xticks(range(len(agents)), agents, rotation=30, fontsize=7)
    axes[1].set(ylabel="true return / optimum", title="True (designer's) utility", ylim=(0, 1.05))
    return {"tampering_rate": fig}
