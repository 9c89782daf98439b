"""Figures for the waluigi claims, drawn only from the stored tables (``(cfg, table) -> {name: Figure}``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import PALETTE, new_figure


def _first_seed(table: pd.DataFrame) -> pd.DataFrame:
    if "seed" in table.columns and len(table):
        return table[table.seed == table.seed.min()]
    return table


def unbounded_never_certain_figures(cfg, table: pd.DataFrame) -> dict:
    t1 = _first_seed(table)
    s = t1[t1.part == "survival"]
    fig, ax = new_figure()
    ax.fill_between(s.t, s.lower, s.upper, color=PALETTE[0], alpha=0.25, lw=0, label="Kaplan-Meier 95% band")
    ax.plot(s.t, s.S_mc, color=PALETTE[0], lw=1.2, label="Monte Carlo (full-history reader)")
    ax.plot(s.t, s.S_theory, "k--", lw=1, label="closed form S(t)")
    p_ever = float(t1[t1.part == "summary"].p_ever_theory.iloc[0])
    ax.axhline(1 - p_ever, color=PALETTE[1], lw=1, ls=":", label=f"limit 1 - P(ever) = {1 - p_ever:.3f}")
    ax.set(
        xlabel="tokens generated t",
        ylabel="P(no revealing token yet)",
        ylim=(0, 1.02),
        title="Unbounded memory: survival levels off above 0",
    )
    ax.legend(fontsize=8)
    lo = t1[t1.part == "logodds"]
    fig2, ax2 = new_figure()
    ax2.plot(lo.t, lo.logodds_full, color=PALETTE[0], label="full history (closed form)")
    ax2.plot(lo.t, lo.logodds_window, color=PALETTE[1], label=f"window k = {cfg.k_compare} (closed form)")
    ax2.plot(lo.t, lo.logodds_forward, "o", ms=3, color=PALETTE[0], mfc="none", label="forward algorithm (full)")
    ax2.set(
        xlabel="neutral tokens seen t",
        ylabel="log-odds waluigi : luigi",
        title="Log-odds: full memory falls, a window plateaus",
    )
    ax2.legend(fontsize=8)
    return {"survival_unbounded": fig, "logodds_full_vs_window": fig2}


def window_inevitable_figures(cfg, table: pd.DataFrame) -> dict:
    t1 = _first_seed(table)
    s = t1[t1.part == "survival"]
    fig, ax = new_figure(width=5.5)
    for i, (k, g) in enumerate(s.groupby("k")):
        c = PALETTE[i % len(PALETTE)]
        ok = g.S_mc > 0
        ax.fill_between(g.t[ok], g.lower[ok], g.upper[ok], color=c, alpha=0.25, lw=0)
        ax.plot(g.t[ok], g.S_mc[ok], color=c, lw=1.2, label=f"k = {k}: Monte Carlo")
        ax.plot(g.t, g.S_theory, "--", color="k", lw=0.8)
    g0 = s[s.k == s.k.min()]
    ax.plot(g0.t, g0.S_unbounded, color=PALETTE[5], lw=1.5, ls=":", label="unbounded memory (closed form)")
    ax.plot([], [], "k--", lw=0.8, label="closed form S_k(t)")
    ax.set_yscale("log")
    ax.set(
        xlabel="tokens generated t",
        ylabel="P(no revealing token yet)",
        ylim=(1e-4, 1.2),
        title="Window k: survival decays to 0 (geometric tail, floor eps_k)",
    )
    ax.legend(fontsize=7, ncol=2)
    return {"survival_window": fig}


def hazard_vs_k_figures(cfg, table: pd.DataFrame) -> dict:
    from aflab.waluigi.claims import hazard_fits  # late import: claims imports this module

    t1 = _first_seed(table)
    fits = hazard_fits(table)
    fig, axes = new_figure(ncols=2)
    for ax, logx in zip(axes, (False, True)):
        for i, prior in enumerate(("single", "beta")):
            c = PALETTE[i]
            s = t1[(t1.part == "solver") & (t1.prior == prior)]
            kk = np.linspace(1, s.k.max(), 400)
            from aflab.waluigi import theory as th

            closed = (
                th.hazard_floor_single(cfg.h, cfg.p_waluigi, kk)
                if prior == "single"
                else th.hazard_floor_beta(cfg.beta_a, cfg.beta_b, cfg.p_waluigi, kk)
            )
            label = f"one type h={cfg.h:g}" if prior == "single" else f"Beta({cfg.beta_a:g}, {cfg.beta_b:g}) types"
            ax.plot(kk, closed, color=c, lw=1, label=f"{label}: closed form")
            ax.plot(s.k, s.eps_solver, "s", color=c, ms=4, mfc="none", label="exact solver")
            m = table[(table.part == "mc") & (table.prior == prior)].groupby("k")[["events", "exposure"]].sum()
            lam = m.events / m.exposure
            se = np.sqrt(lam * (1 - lam) / m.exposure)
            ax.errorbar(m.index, lam, yerr=3 * se, fmt="o", color=c, ms=3, capsize=2, label="Monte Carlo (3 se)")
            f = fits[prior]["power" if logx else "exponential"]
            xs = s.k.to_numpy(float)
            ax.plot(
                xs,
                np.exp(f.intercept + f.slope * (np.log(xs) if logx else xs)),
                ":",
                color=c,
                lw=1.5,
                label=("power fit: exponent %.2f" if logx else "exp fit: slope %.3f/token") % f.slope,
            )
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set(
            xlabel="window k (tokens)",
            ylabel="hazard floor eps_k",
            title="log-log: the Beta spread is a line" if logx else "log-y: the single type is a line",
        )
        ax.legend(fontsize=6)
    return {"hazard_vs_k": fig}


def approx_absorbing_figures(cfg, table: pd.DataFrame) -> dict:
    from aflab.waluigi.experiments import exit_summary

    e = exit_summary(table)
    fig, axes = new_figure(ncols=2)
    ax = axes[0]
    ax.errorbar(e.k, e.mean_mc, yerr=3 * e.se, fmt="o", color=PALETTE[0], capsize=2, label="Monte Carlo (3 se)")
    ax.plot(e.k, e.mean_solver, "s", color=PALETTE[1], mfc="none", label="exact solver")
    kk = np.linspace(e.k.min(), e.k.max(), 200)
    from aflab.waluigi import theory as th

    ax.plot(kk, th.exit_time_mean(cfg.r, kk), "k--", lw=1, label="(1 - q^k)/(r q^k)")
    ax.set_yscale("log")
    ax.set(xlabel="window k", ylabel="mean exit time (steps)", title="Approximately absorbing: exit time vs k")
    ax.legend(fontsize=7)
    p = table[table.part == "pmf"].groupby("t")[["pmf_mc", "pmf_solver", "pmf_theory"]].mean().reset_index()
    ax = axes[1]
    ax.bar(p.t, p.pmf_mc, width=1.0, color=PALETTE[0], alpha=0.4, label="Monte Carlo")
    ax.plot(p.t, p.pmf_solver, color=PALETTE[1], lw=1.2, label="exact solver")
    ax.plot(p.t, p.pmf_theory, "k--", lw=0.8, label="run-length recursion")
    ax.set(
        xlabel="steps after the first reveal", ylabel="P(exit at t)", title=f"Exit-time distribution, k = {cfg.pmf_k}"
    )
    ax.legend(fontsize=7)
    return {"exit_times": fig}


def competing_classes_figures(cfg, table: pd.DataFrame) -> dict:
    from aflab.waluigi.experiments import split_summary

    s = split_summary(table)
    w = s[s.memory == "window"].sort_values("k")
    full = s[s.memory == "full"]
    fig, (ax, ax2) = new_figure(ncols=2)
    for cls, name, c in (("rev", "waluigi (revealing)", PALETTE[1]), ("col", "repetition (collapse)", PALETTE[0])):
        se = np.sqrt(w[f"p_{cls}_mc"] * (1 - w[f"p_{cls}_mc"]) / w.n)
        ax.errorbar(w.k, w[f"p_{cls}_mc"], yerr=3 * se, fmt="o", color=c, capsize=2, label=f"{name}: Monte Carlo")
        ax.plot(w.k, w[f"p_{cls}_theory"], "--", color=c, lw=1, label="closed form")
        ax.plot(w.k, w[f"p_{cls}_solver"], "s", color=c, mfc="none", ms=6)
        if len(full):
            ax.axhline(float(full[f"p_{cls}_limit"].iloc[0]), color=c, ls=":", lw=1)
    ax.plot([], [], "ks", mfc="none", label="exact solver")
    ax.plot([], [], "k:", label="unbounded memory (limit)")
    ax.set_xscale("log", base=2)
    ax.set(
        xlabel="window k",
        ylabel="P(first departure is ...)",
        ylim=(0, 1),
        title="Competing absorbing classes: waluigi vs mode collapse",
    )
    ax.legend(fontsize=7)
    f = w[w.n_floor > 0]
    se = np.sqrt(f.share_mc * (1 - f.share_mc) / f.n_floor)
    ax2.errorbar(f.k, f.share_mc, yerr=3 * se, fmt="o", color=PALETTE[0], capsize=2, label="Monte Carlo (3 se)")
    ax2.plot(w.k, w.share_theory, "k--", lw=1, label="closed form lambda_rep(k) / eps_k")
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax2.set_xscale("log", base=2)
    ax2.set(
        xlabel="window k",
        ylabel="repetition share of floor departures (t >= k)",
        ylim=(0, 1),
        title=f"The smaller hazard wins the floor (g = {cfg.g:g} vs h = {cfg.h:g})",
    )
    ax2.legend(fontsize=7)
    return {"class_split": fig}


def three_state_persona_figures(cfg, table: pd.DataFrame) -> dict:
    """Floor eps_k (closed form, solver, MC) and the waluigi occupancy (dense solve, solver, renewal) vs k."""
    from aflab.waluigi import theory as th
    from aflab.waluigi.experiments import three_state_mixture

    e = table[table.part == "exact"].drop_duplicates("k").sort_values("k")
    m = table[table.part == "mc"].groupby("k")[["events", "exposure"]].sum()
    fig, (ax, ax2) = new_figure(ncols=2)
    ax.plot(e.k, e.eps_closed, "k-", lw=1, label="closed form w h (1-h)^k / (1 - w + w (1-h)^k)")
    ax.plot(e.k, e.eps_solver, "s", color=PALETTE[1], mfc="none", label="exact solver")
    lam = m.events / m.exposure
    ax.errorbar(
        m.index,
        lam,
        yerr=3 * np.sqrt(lam * (1 - lam) / m.exposure),
        fmt="o",
        color=PALETTE[0],
        capsize=2,
        label="Monte Carlo (3 se)",
    )
    silent = three_state_mixture(cfg, silent=True)
    ax.plot(
        e.k,
        [th.hazard_floor(silent, int(k)) for k in e.k],
        ":",
        color=PALETTE[3],
        label=f"silent defection (r = {cfg.r:g}), for contrast",
    )
    ax.set_yscale("log")
    ax.set(xlabel="window k", ylabel="hazard floor eps_k", title="The comment's model: floor vs k")
    ax.legend(fontsize=6)
    ax2.plot(e.k, e.occ_dense, "k-o", ms=3, lw=1, label="dense chain, direct solve")
    ax2.plot(e.k, e.occ_solver, "s", color=PALETTE[1], mfc="none", label="window-chain solver")
    ax2.plot(e.k, e.occ_renewal, "x", color=PALETTE[2], label="renewal: exit / (exit + 1/eps_k)")
    ax2.set_yscale("log")
    ax2.set(xlabel="window k", ylabel="P(window holds a revealing token)", title="Long-run waluigi occupancy")
    ax2.legend(fontsize=6)
    return {"three_state_persona": fig}
