"""Figures of the evolving-to-extinction claims, drawn from the stored tables only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import new_figure


def regret_excess_figure(table: pd.DataFrame):
    """Distribution of the bound's excess (<= 0 in theory) per world kind."""
    fig, ax = new_figure(width=6)
    groups = list(table.groupby(["world", "learner"], sort=True))
    for k, (_, part) in enumerate(groups):
        y = part["excess"].to_numpy()
        ax.scatter(k + np.linspace(-0.3, 0.3, y.size), y, s=6, alpha=0.5)
    ax.axhline(0, color="k", lw=1, ls="--", label="bound: excess <= 0")
    ax.set_xticks(range(len(groups)), [f"{w}\n{'learner' if lr else 'fixed'}" for (w, lr), _ in groups], fontsize=7)
    ax.set(
        ylabel="L_mix - min_i (L_i + ln 1/w_i)  [nats]", title="Bayes-mixture regret bound, with and without feedback"
    )
    ax.legend(fontsize=8)
    return fig


def phase_figure(t: pd.DataFrame, kappas: dict[str, float]):
    """Takeover share over (eps, w0) per instance and arm, with the mean-field boundary eps w0 = kappa."""
    arms, insts = sorted(t["arm"].unique()), sorted(t["instance"].unique())
    fig, axes = new_figure(ncols=len(insts), nrows=len(arms), width=4.2, height=3.4)
    axes = np.atleast_2d(axes).reshape(len(arms), len(insts))
    for i, arm in enumerate(arms):
        for j, inst in enumerate(insts):
            ax = axes[i, j]
            share = t[(t["arm"] == arm) & (t["instance"] == inst)].groupby(["w0", "eps"])["takeover"].mean().unstack()
            im = ax.imshow(share.to_numpy(), origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
            ax.set_xticks(range(share.shape[1]), [f"{e:g}" for e in share.columns], fontsize=6)
            ax.set_yticks(range(share.shape[0]), [f"{w:g}" for w in share.index], fontsize=7)
            eps_line = kappas[inst] / share.index.to_numpy()
            xs = np.interp(eps_line, share.columns.to_numpy(), np.arange(share.shape[1]), right=np.nan)
            ax.plot(xs, np.arange(share.shape[0]), "r--", lw=1.2, label="theory eps w0 = kappa")
            ax.set(xlabel="feedback eps", ylabel="manipulator prior w0")
            ax.set_title(f"{inst}, {arm} honest hypothesis", fontsize=9)
            ax.grid(False)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.colorbar(im, ax=axes, shrink=0.8, label="share of runs: manipulator weight > 0.99")
    return fig


def loss_figure(t: pd.DataFrame):
    """Late mixture log loss minus the no-feedback baseline vs eps, per instance and arm, at the largest w0."""
    fig, ax = new_figure(width=6)
    w_top = t["w0"].max()
    part = t[t["w0"] == w_top].assign(gap=lambda d: d["late_loss"] - d["baseline_loss"])
    for (inst, arm), g in part.groupby(["instance", "arm"], sort=True):
        m = g.groupby("eps")["gap"].mean()
        ax.plot(m.index, m.to_numpy(), "o-", label=f"{inst}, {arm}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(
        xlabel="feedback eps",
        ylabel="late log loss - no-feedback baseline [nats]",
        title=f"Mixture accuracy with feedback (manipulator prior w0 = {w_top:g})",
    )
    ax.legend(fontsize=8)
    return fig
