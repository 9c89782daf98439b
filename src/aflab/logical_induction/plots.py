"""Figures for the logical-induction claims, drawn from the stored tables only."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from aflab.core.plots import PALETTE, new_figure


def maker_figure(table: pd.DataFrame):
    fig, ax = new_figure()
    t = table.groupby("day")[["max_value", "tolerance"]].max()
    ax.semilogy(t.index, np.maximum(t.max_value, 1e-20), "o-", ms=3, label="max_W W(firm trade), certified")
    ax.semilogy(t.index, t.tolerance, "k--", lw=1, label="tolerance max(2^-n, floor)")
    ax.set(
        xlabel="day n", ylabel="worst-case value of the firm's trade", title="Market maker: certified 2^-n condition"
    )
    ax.legend(fontsize=8)
    return fig


def trajectories_figure(table: pd.DataFrame):
    """Price paths of sampled digit sentences with a marker on the day each is resolved, and of the
    never-decided sentences."""
    fig, axes = new_figure(ncols=2)
    sample = table[table.kind == "sample"]
    for i, (_name, grp) in enumerate(sample.groupby("sentence")):
        col = PALETTE[i % len(PALETTE)]
        axes[0].plot(grp.day, grp.price, color=col, lw=1, alpha=0.8)
        rev = grp.revealed_on.iloc[0]
        hit = grp[grp.day == rev]
        if len(hit):
            axes[0].plot(hit.day, hit.price, "v", color=col, ms=5)
    axes[0].axhline(0.1, color="k", ls=":", lw=1)
    axes[0].set(xlabel="day", ylabel="price", title="pi_digit(p) = d, p = 1..3 (v = resolved)")
    never = table[table.kind == "never_decided"]
    for i, (name, grp) in enumerate(never.groupby("sentence")):
        axes[1].plot(grp.day, grp.price, lw=1, color=PALETTE[i % len(PALETTE)], label=name if i < 6 else None)
    axes[1].set(xlabel="day", ylabel="price", title="never-decided sentences")
    if len(never):
        axes[1].legend(fontsize=6)
    return fig


def frequencies_figure(table: pd.DataFrame):
    fig, ax = new_figure()
    for seed, grp in table.groupby("seed"):
        ax.plot(grp.day, grp.mean_abs_dev, label=f"mean |P - 0.1| (seed {seed})")
        ax.plot(grp.day, grp.max_block_gap, ls="--", label=f"max |sum_d P - 1| (seed {seed})")
    ax.set(xlabel="day", ylabel="deviation", title="Digits of pi: undecided digit sentences")
    ax.legend(fontsize=8)
    return fig


def coherence_figure(table: pd.DataFrame):
    fig, ax = new_figure()
    for i, (seed, g) in enumerate(table.groupby("seed")):
        col = PALETTE[i % len(PALETTE)]
        ax.semilogy(
            g.day,
            g.mean_negation_gap.clip(lower=1e-12),
            "o-",
            ms=2,
            color=col,
            label=f"|P(phi) + P(~phi) - 1| (seed {seed})",
        )
        ax.semilogy(
            g.day,
            g.mean_hull_l1.clip(lower=1e-12),
            "s--",
            ms=2,
            color=col,
            label=f"L1 to hull of PC(D_n) (seed {seed})",
        )
    ax.axhline(0.02, color="k", ls=":", lw=1)
    ax.set(xlabel="day", ylabel="incoherence", title="Limit coherence")
    ax.legend(fontsize=6)
    return fig


def provability_figure(table: pd.DataFrame):
    """Mean 1 - P of undecided theorems by day (log-log), audited market vs the no-floor control."""
    fig, ax = new_figure()
    for (market, seed), g in table.groupby(["market", "seed"]):
        ls = "-" if market == "logical_inductor" else ":"
        col = PALETTE[0] if market == "logical_inductor" else PALETTE[1]
        ax.loglog(
            g.day, g.mean_gap.clip(lower=1e-9), ls, color=col, lw=1, label=market if seed == table.seed.min() else None
        )
    d = np.sort(table.day.unique())
    ax.loglog(d, 1.0 / (d + 2), "k--", lw=0.8, label="1/(n+2) (Laplace's rule)")
    ax.axhline(1 / 16, color="grey", ls=":", lw=0.8, label="floor 1/16")
    ax.set(xlabel="day", ylabel="mean 1 - P, undecided theorems", title="Provability induction: theorems before proof")
    ax.legend(fontsize=7)
    return fig


def calibration_figure(table: pd.DataFrame, n_bins: int = 5):
    fig, ax = new_figure()
    b = np.minimum((table.price_before * n_bins).astype(int), n_bins - 1)
    g = (
        table.assign(bin=b)
        .groupby("bin")
        .agg(price=("price_before", "mean"), freq=("value", "mean"), n=("value", "size"))
    )
    se = np.sqrt(g.freq * (1 - g.freq) / g.n).fillna(0)
    ax.errorbar(g.price, g.freq, yerr=2 * se, fmt="o", label="resolved sentences (+-2 SE)")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(xlabel="price on the day before resolution", ylabel="frequency true", title="Calibration")
    ax.legend(fontsize=8)
    return fig


def introspection_figure(t: pd.DataFrame, margin: float, bar: float):
    """Left: each price atom's price against its inner price's distance from the threshold. Right: the mean
    |price - truth| by day of the atoms at least ``margin`` from their threshold, each side apart (mean over
    stretches), with the judged second half shaded and the bar: introspection is a limit, so the early
    days show the transient the verdict does not judge."""
    fig, (ax, ax_day) = new_figure(ncols=2, width=4.6)
    ax.scatter(t.inner_price - t.threshold, t.price, s=8, alpha=0.6, color=PALETTE[0])
    ax.axvline(0, color="k", lw=0.8)
    ax.set(
        xlabel="P_n(phi) - p (the atom is true iff > 0)",
        ylabel="P_n('P_n(phi) > p')",
        title="Introspection: price atoms vs their inner price",
    )
    far = t[(t.inner_price - t.threshold).abs() >= margin].assign(err=lambda d: (d.price - d.truth).abs())
    for i, (truth, side) in enumerate(((0, "atoms false (P_n(phi) < p)"), (1, "atoms true"))):
        by_day = far[far.truth == truth].groupby("day").err.mean()
        ax_day.plot(by_day.index, by_day.to_numpy(), marker="o", ms=3, lw=1, color=PALETTE[i], label=side)
    if len(t):
        n = int(t.day.max())
        ax_day.axvspan(n // 2 + 0.5, n + 0.5, color="0.9", zorder=0, label="judged (second half)")
    ax_day.axhline(bar, color="k", ls=":", lw=1, label=f"bar {bar}")
    ax_day.set(xlabel="day n", ylabel="mean |price - truth|", title="Introspection error by day")
    ax_day.legend(fontsize=6)
    return fig


def heldout_figure(table: pd.DataFrame, bar: float = 0.05):
    """The held-out suite: each outside trader's guaranteed gain (min over consistent worlds of its
    holdings' value) by day -- in the audited market (left, one stretch of pi) and in the one-trader
    control market (right) -- with the per-day bar drawn from the start of the last third. Dashed: the
    second suite (:data:`.heldout.SECOND_SUITE`, written after the firm froze)."""
    from aflab.logical_induction.heldout import suite_of

    fig, axes = new_figure(ncols=2, width=4.6)
    adv = table[table.role == "adversary"]
    seed = adv.seed.min() if "seed" in adv else None
    if seed is not None:
        adv = adv[adv.seed == seed]
    for ax, market, title in ((axes[0], "logical_inductor", "audited market"), (axes[1], "control", "control market")):
        g_all = adv[adv.market == market]
        n_traders = g_all.trader.nunique()
        colors = PALETTE if n_traders <= len(PALETTE) else matplotlib.colormaps["tab20"].colors
        for i, (trader, g) in enumerate(g_all.groupby("trader", sort=True)):
            ax.plot(
                g.day,
                g.worst,
                color=colors[i % len(colors)],
                lw=1,
                ls="--" if suite_of(trader) == "second" else "-",
                label=trader,
            )
        if len(g_all):
            n = g_all.day.max()
            d0 = 2 * n / 3
            ax.plot([d0, n], [0, bar * (n - d0)], "k:", lw=1, label=f"{bar} a day")
        ax.set(xlabel="day", ylabel="guaranteed gain (min over worlds)", title=f"Held-out traders, {title}")
    axes[1].legend(fontsize=5, ncol=2, loc="upper left", title="dashed: second suite", title_fontsize=5)
    return fig


def self_trust_figure(t: pd.DataFrame):
    fig, ax = new_figure()
    ok = t.phi_price - t.threshold >= 0.05
    ax.scatter(t.threshold[ok] * t.atom_price[ok], t.conj_price[ok], s=10, alpha=0.6, color=PALETTE[0])
    hi = float(max(t.conj_price.max(), (t.threshold * t.atom_price).max(), 0.1))
    ax.plot([0, hi], [0, hi], "k--", lw=0.8, label="P(phi & A) = p P(A)")
    ax.set(
        xlabel="p P_n(A), A = 'P_n(phi) > p'",
        ylabel="P_n(phi & A)",
        title="Self-trust: scored pairs (P_n(phi) >= p + 0.05) lie above the line",
    )
    ax.legend(fontsize=8)
    return fig


def pnl_figure(table: pd.DataFrame):
    """Ledger of the firm's own programs: the top earners' mark-to-market (effective holdings)."""
    fig, ax = new_figure()
    firm = table[(table.role == "firm") & (table.market == "logical_inductor")]
    if "seed" in firm and len(firm):
        firm = firm[firm.seed == firm.seed.min()]
    if len(firm):
        last = firm[firm.day == firm.day.max()].set_index("trader").mark
        top = list(last.abs().sort_values(ascending=False).index[:8])
        for i, name in enumerate(top):
            grp = firm[firm.trader == name]
            ax.plot(grp.day, grp.mark, color=PALETTE[i % len(PALETTE)], label=name)
    ax.set(xlabel="day", ylabel="mark-to-market P&L (effective)", title="Firm ledger: who earned")
    ax.legend(fontsize=6)
    return fig


def long_run_figure(run, window: int = 100):
    """A long pi run: the maker's cost per day, undecided digit prices' distance to 0.1 and the held-out
    suite's guaranteed gains, by day."""
    fig, axes = new_figure(ncols=3, width=4.2)
    mk = run.maker
    roll = mk.set_index("day").seconds.rolling(window, min_periods=1).mean()
    axes[0].plot(roll.index, roll.values, color=PALETTE[0])
    axes[0].set(
        xlabel="day",
        ylabel=f"wall s per day ({window}-day mean)",
        title=f"Maker: {int(mk.certified.sum())}/{len(mk)} days certified",
    )
    p = run.prices
    dig = p[p.label.str.startswith("digit=") & (p.decided < 0)]
    dev = dig.assign(dev=(dig.price - 0.1).abs()).groupby("day").dev.mean().rolling(window, min_periods=1).mean()
    axes[1].plot(dev.index, dev.values, color=PALETTE[1])
    axes[1].set(xlabel="day", ylabel="mean |P - 0.1|", title="Undecided pi-digit prices")
    adv = run.ledger[run.ledger.role == "adversary"]
    for i, (trader, grp) in enumerate(adv.groupby("trader")):
        axes[2].plot(grp.day, grp.worst, color=PALETTE[i % len(PALETTE)], lw=1, label=trader)
    axes[2].set(xlabel="day", ylabel="guaranteed gain (min over worlds)", title="Held-out suite")
    axes[2].legend(fontsize=5, ncol=2)
    return fig


def kelly_figure(table: pd.DataFrame):
    fig, axes = new_figure(ncols=2)
    g = table[table.seed == table.seed.min()]
    early = g[g.t <= 60]  # the first steps, where the posterior still moves (later it only alternates)
    axes[0].plot(early.t, early.p_bayes, "o-", lw=2, ms=3, label="Bayes mixture")
    axes[0].plot(early.t, early.p_kelly, "--", lw=1, label="Kelly market price")
    axes[0].plot(early.t, early.p_fractional, ":", lw=1.5, label="half-Kelly market price")
    axes[0].set(xlabel="t (first 60 bets)", ylabel="P(x_t = 1)", title="Kelly bettors vs Bayes")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(g.t, np.abs(g.p_kelly - g.p_bayes).clip(lower=1e-18), label="|Kelly - Bayes|")
    axes[1].semilogy(g.t, np.abs(g.p_fractional - g.p_bayes).clip(lower=1e-18), label="|half-Kelly - Bayes|")
    axes[1].set(xlabel="t", ylabel="abs difference")
    axes[1].legend(fontsize=8)
    return fig
