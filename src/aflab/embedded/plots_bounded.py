"""Figures of the bounded-FairBot threshold claim, drawn only from its stored table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import new_figure
from aflab.core.stats import ols_slope
from aflab.embedded.experiments_bounded import pair_thresholds


def bounded_fairbot_threshold_figures(cfg, table: pd.DataFrame) -> dict:
    figs = {
        "bounded_threshold_scan": _scan_figure(cfg, table),
        "bounded_threshold_scaling": _scaling_figure(cfg, table),
    }
    km = table[table["phase"] == "km"]
    if len(km):
        figs["bounded_robust_cooperation"] = _km_figure(km)
    return figs


def _scan_figure(cfg, table: pd.DataFrame):
    """One line per encoding pair of the first seed (sorted by the sentence length): every probed bound,
    mutual cooperation (green) or not (red), the eventual threshold k*, and where FairBot starts to
    cooperate with CooperateBot."""
    pairs = pair_thresholds(cfg, table)
    pairs = pairs[pairs["seed"] == pairs["seed"].min()]
    pairs = pairs.sort_values(["sentence_length", "variant"]).reset_index(drop=True)
    fb = table[(table["opponent"] == "fairbot") & (table["phase"] != "km")]
    fig, ax = new_figure(width=7.0, height=max(2.8, 0.16 * len(pairs) + 1.2))
    for y, p in pairs.iterrows():
        g = fb[(fb["seed"] == p["seed"]) & (fb["variant"] == p["variant"])]
        mutual = (g["a_cooperates"] & g["b_cooperates"]).to_numpy()
        ax.scatter(g["k"][mutual], np.full(mutual.sum(), y), s=7, color="#2ca02c", lw=0)
        ax.scatter(g["k"][~mutual], np.full((~mutual).sum(), y), s=7, color="#d62728", lw=0)
        if p["k_star"] > 0:
            ax.plot([p["k_star"]] * 2, [y - 0.4, y + 0.4], color="black", lw=1.2)
    cb = table[(table["opponent"] == "cooperatebot") & table["a_cooperates"]]
    if len(cb):
        ax.axvline(
            cb["k"].min(), color="#1f77b4", ls=":", lw=1, label="FairBot_k cooperates with CooperateBot from here"
        )
    ax.set_xscale("log")
    ax.set_yticks(
        range(len(pairs)),
        [f"{a}+{b} ({n})" for a, b, n in zip(pairs["pad_a"], pairs["pad_b"], pairs["sentence_length"])],
    )
    ax.tick_params(axis="y", labelsize=5)
    ax.set(
        xlabel="proof bound k of both FairBots (symbols)",
        ylabel="pads a+b (|A(B)=C|)",
        title="FairBot_k vs FairBot_k (first seed): green = both cooperate, | = k*",
    )
    ax.legend(fontsize=6, loc="lower right")
    return fig


def _scaling_figure(cfg, table: pd.DataFrame):
    """k* against the length of the sentence 'A(B)=C' (identical encodings apart), with the OLS line, and
    the length of the proof found at k* against k*."""
    pairs = pair_thresholds(cfg, table)
    pairs = pairs[pairs["eventual"]]
    fig, (ax, bx) = new_figure(ncols=2, width=3.8, height=3.2)
    same = pairs["pad_a"] == pairs["pad_b"]
    ax.scatter(pairs["sentence_length"][~same], pairs["k_star"][~same], s=14, label="different encodings")
    ax.scatter(pairs["sentence_length"][same], pairs["k_star"][same], s=14, marker="s", label="identical programs")
    if pairs["sentence_length"].nunique() >= 2:
        x = np.array(sorted(pairs["sentence_length"].unique()), dtype=float)
        slope = ols_slope(pairs["sentence_length"], pairs["k_star"])
        icpt = pairs["k_star"].mean() - slope * pairs["sentence_length"].mean()
        ax.plot(x, icpt + slope * x, color="gray", lw=1, label=f"OLS: {slope:.0f} per symbol")
    ax.set(xlabel="|A(B)=C| (symbols)", ylabel="threshold k*", title="k* grows with the encoding")
    ax.legend(fontsize=6)
    bx.scatter(pairs["k_star"], pairs["proof_length"], s=14)
    if len(pairs):
        lim = [0, float(pairs["k_star"].max()) * 1.05]
        bx.plot(lim, lim, color="gray", lw=1, ls="--", label="proof length = k")
        bx.legend(fontsize=6)
    bx.set(xlabel="threshold k*", ylabel="length of the proof found at k*", title="The proof fits before k*")
    return fig


def _km_figure(km: pd.DataFrame):
    """FairBot_k (pad 0) vs FairBot_m (pad 1): CC, DD or one-sided, per pair of bounds."""
    t = km[km["seed"] == km["seed"].min()]
    ks = sorted(t["k"].unique())
    grid = np.full((len(ks), len(ks)), np.nan)
    fig, ax = new_figure(width=4.4, height=3.8)
    ax.grid(False)
    for _, r in t.iterrows():
        i, j = ks.index(r["k"]), ks.index(r["m"])
        grid[i, j] = (
            1.0
            if r["a_cooperates"] and r["b_cooperates"]
            else 0.0
            if not r["a_cooperates"] and not r["b_cooperates"]
            else 0.5
        )
        label = ("C" if r["a_cooperates"] else "D") + ("C" if r["b_cooperates"] else "D")
        ax.text(j, i, label, ha="center", va="center", fontsize=6)
    ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, alpha=0.6, origin="lower")
    ax.set_xticks(range(len(ks)), [str(k) for k in ks], rotation=45, fontsize=6)
    ax.set_yticks(range(len(ks)), [str(k) for k in ks], fontsize=6)
    ax.set(xlabel="bound m of FairBot_m (pad 1)", ylabel="bound k of FairBot_k (pad 0)", title="Robust cooperation")
    return fig
