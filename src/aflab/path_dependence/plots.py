"""Figure builders ``(cfg, table) -> {name: Figure}``, drawn from stored tables only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from aflab.core.plots import PALETTE, new_figure


def _width_ticks(ax, widths) -> None:
    """Label the measured widths only (log axes otherwise print crowded minor labels)."""
    ws = sorted({int(w) for w in widths})
    ax.set_xticks(ws, [str(w) for w in ws], fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())


PARAM_LABEL = {"sp": "SP (fixed LR)", "sp_lr1n": "SP, LR ~ 1/n", "ntk": "NTK", "mup": "muP"}


def metric_vs_width(
    table: pd.DataFrame,
    metrics: list[str],
    title: str,
    budget: str | None = "final",
    theory: dict[str, float] | None = None,
) -> object:
    """Log-log panels, one per metric: mean over seeds/pairs per width, one line per parametrization.

    ``theory`` draws a dashed reference power law ``width^slope`` through each line's first point,
    on the first panel only (the exponents are those of the first metric).
    """
    t = table if budget is None or "budget" not in table.columns else table[table.budget == budget]
    fig, axes = new_figure(ncols=len(metrics), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, metric in zip(axes, metrics):
        for i, (p, g) in enumerate(t.groupby("parametrization")):
            stats = g.groupby("width")[metric].agg(["mean", "std", "count"]).reset_index()
            stats = stats[stats["mean"] > 0]
            if stats.empty:
                continue
            err = stats["std"].fillna(0) / np.sqrt(stats["count"])
            low = np.minimum(err, 0.9 * stats["mean"])  # a log axis cannot show bars below zero
            c = PALETTE[i % len(PALETTE)]
            ax.errorbar(
                stats["width"],
                stats["mean"],
                yerr=[low, err],
                marker="o",
                ms=3,
                color=c,
                label=PARAM_LABEL.get(p, p),
                capsize=2,
            )
            if theory and p in theory and metric == metrics[0]:
                w0, m0 = stats["width"].iloc[0], stats["mean"].iloc[0]
                ax.plot(stats["width"], m0 * (stats["width"] / w0) ** theory[p], ls="--", lw=1, color=c)
        ax.set(xscale="log", yscale="log", xlabel="width n", ylabel=metric.replace("_", " "))
        _width_ticks(ax, t["width"])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def follow_rate_vs_width(table: pd.DataFrame, title: str) -> object:
    """Conflict-test follow-rates (easy label / hard label) vs width, one panel per parametrization."""
    t = table[table.budget == "final"]
    params = sorted(t.parametrization.unique())
    fig, axes = new_figure(ncols=len(params), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, params):
        g = t[t.parametrization == p]
        for i, (s, gs) in enumerate(g.groupby("schedule")):
            m = gs.groupby("width")[["follow_easy", "follow_hard"]].mean()
            c = PALETTE[i % len(PALETTE)]
            ax.plot(m.index, m.follow_easy, marker="o", ms=3, color=c, label=f"{s}: easy")
            ax.plot(m.index, m.follow_hard, marker="s", ms=3, ls=":", color=c, label=f"{s}: hard")
        ax.set(
            xscale="log",
            ylim=(-0.02, 1.02),
            xlabel="width n",
            ylabel="conflict follow-rate",
            title=PARAM_LABEL.get(p, p),
        )
        _width_ticks(ax, g["width"])
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    return fig


def paired_curves(curves: pd.DataFrame, title: str) -> object:
    """Training-loss curves of the two members of a pair (columns step, loss, member, width)."""
    fig, ax = new_figure()
    for i, ((w, m), g) in enumerate(curves.groupby(["width", "member"])):
        ax.plot(
            g.step,
            g.loss,
            lw=1,
            color=PALETTE[(i // 2) % len(PALETTE)],
            ls="-" if m == 0 else "--",
            label=f"n={w} member {m}",
        )
    ax.set(yscale="log", xlabel="SGD step", ylabel="train loss (minibatch)", title=title)
    ax.legend(fontsize=7)
    return fig


def starvation_by_loss(st: pd.DataFrame, title: str) -> object:
    """Starvation of the hard shard vs width, one line per loss, one panel per parametrization."""
    params = sorted(st.parametrization.unique())
    fig, axes = new_figure(ncols=len(params), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, params):
        g = st[st.parametrization == p]
        for i, (loss, gl) in enumerate(g.groupby("loss")):
            m = gl.groupby("width").starvation.agg(["mean", "std", "count"])
            ax.errorbar(
                m.index,
                m["mean"],
                yerr=m["std"].fillna(0) / np.sqrt(m["count"]),
                marker="o",
                ms=3,
                color=PALETTE[i % len(PALETTE)],
                label=loss,
                capsize=2,
            )
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xscale="log", xlabel="width n", ylabel="starvation of the hard shard", title=PARAM_LABEL.get(p, p))
        _width_ticks(ax, g["width"])
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


REGIME_LABEL = {
    "converged": "at matched train loss (converged)",
    "budget": "fixed step budget",
    "epochs": "fixed epochs",
}


def metric_by_regime(table: pd.DataFrame, metric: str, title: str, reference: pd.DataFrame | None = None) -> object:
    """One log-log panel per regime (converged, budget, epochs): ``metric`` vs width per parametrization.

    Points are the mean over seeds of the per-seed means (error bars: standard error over seeds).
    ``reference`` (optional; columns ``width``, ``value``, ``label``) adds dashed reference lines, e.g. the
    infinite-width kernel-regression prediction.
    """
    regimes = [r for r in ("converged", "budget", "epochs") if (table.regime == r).any()]
    fig, axes = new_figure(ncols=len(regimes), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, regime in zip(axes, regimes):
        t = table[table.regime == regime]
        if regime == "converged" and "converged" in t.columns:
            t = t[t.converged.astype(bool)]
        for i, (p, g) in enumerate(t.groupby("parametrization")):
            per_seed = g.groupby(["seed", "width"] if "seed" in g.columns else ["width"])[metric].mean().reset_index()
            stats = per_seed.groupby("width")[metric].agg(["mean", "std", "count"]).reset_index()
            stats = stats[stats["mean"] > 0]
            if stats.empty:
                continue
            err = stats["std"].fillna(0) / np.sqrt(stats["count"])
            low = np.minimum(err, 0.9 * stats["mean"])
            ax.errorbar(
                stats["width"],
                stats["mean"],
                yerr=[low, err],
                marker="o",
                ms=3,
                capsize=2,
                color=PALETTE[i % len(PALETTE)],
                label=PARAM_LABEL.get(p, p),
            )
        if reference is not None:
            for j, (lab, r) in enumerate(reference.groupby("label")):
                ax.plot(r["width"], r["value"], ls="--", lw=1, color=PALETTE[(j + 4) % len(PALETTE)], label=lab)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="width n",
            ylabel=metric.replace("_", " "),
            title=REGIME_LABEL.get(regime, regime),
        )
        _width_ticks(ax, t["width"] if len(t) else table["width"])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def loss_vs_lr(table: pd.DataFrame, title: str) -> object:
    """Train loss vs log2(LR), one line per width (mean over seeds), one panel per parametrization."""
    params = list(dict.fromkeys(table.parametrization))
    fig, axes = new_figure(ncols=len(params), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, params):
        g = table[table.parametrization == p].replace([np.inf], np.nan)
        for i, (w, gw) in enumerate(g.groupby("width")):
            m = gw.groupby("log2_lr").train_loss.mean()
            ax.plot(m.index, m.values, marker="o", ms=3, color=PALETTE[i % len(PALETTE)], label=f"n={w}")
        ax.set(yscale="log", xlabel="log2 learning rate", ylabel="train loss", title=PARAM_LABEL.get(p, p))
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def barrier_vs_spawn(table: pd.DataFrame, title: str) -> object:
    """Relative test-loss barrier vs spawn time, one line per width, one panel per parametrization."""
    params = list(dict.fromkeys(table.parametrization))
    fig, axes = new_figure(ncols=len(params), width=4.2)
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, params):
        g = table[table.parametrization == p]
        for i, (w, gw) in enumerate(g.groupby("width")):
            m = gw.groupby("fraction").relative_barrier.mean()
            ax.plot(m.index * 100, m.values, marker="o", ms=3, color=PALETTE[i % len(PALETTE)], label=f"n={w}")
        ax.axhline(0.02, color="k", lw=0.8, ls="--", label="2% (stable below)")
        ax.set(xlabel="spawn time k (% of training)", ylabel="loss barrier / loss", title=PARAM_LABEL.get(p, p))
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig
