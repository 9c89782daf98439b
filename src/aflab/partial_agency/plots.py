"""Figures for the partial-agency claims, drawn from the stored tables only (no recomputation,
except fixed points of F, which are a deterministic function of the stored (bias, slope))."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import PALETTE, new_figure
from aflab.partial_agency import predict_o_matic as P

LEARNER_STYLE = {
    "RRM": "-",
    "RGD": "-",
    "SGD-greedy": "-",
    "SGD-lazy": "-",
    "PerfGD": "--",
    "PerfGD-est": "--",
    "DFO-2pt": "--",
}


def stable_not_optimal_figures(cfg, table: pd.DataFrame) -> dict:
    figs = {}
    traj = table[table["row"] == "trajectory"]
    maps = list(dict.fromkeys(traj["map"]))
    fig, axes = new_figure(ncols=len(maps), width=3.6, height=3.2)
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, maps):
        sub = traj[traj["map"] == name]
        eps = sorted(sub["eps"].unique())[len(sub["eps"].unique()) // 2]
        sub = sub[sub["eps"] == eps]
        for i, (learner, g) in enumerate(sub.groupby("learner", sort=False)):
            g = g.groupby("x", as_index=False)["y"].mean()  # average over seeds
            ax.plot(
                g["x"], g["y"], LEARNER_STYLE.get(learner, "-"), color=PALETTE[i % len(PALETTE)], lw=1.2, label=learner
            )
        ax.axhline(sub["ps_x"].iloc[0], color="k", lw=1, ls=":", label="theta_PS")
        ax.axhline(sub["po_x"].iloc[0], color="k", lw=1, ls="-.", label="theta_PO")
        ax.set(title=f"{name}, eps={eps:g}", xlabel="fraction of rounds", ylabel="theta[0]")
    axes[0].legend(fontsize=6, ncol=2)
    figs["trajectories"] = fig

    pr = table[table["row"] == "pr_curve"]
    keys = list(dict.fromkeys(zip(pr["map"], pr["eps"])))
    fig, axes = new_figure(ncols=len(keys), width=3.0, height=3.0)
    axes = np.atleast_1d(axes)
    for ax, (name, eps) in zip(axes, keys):
        g = pr[(pr["map"] == name) & (pr["eps"] == eps)].groupby("x", as_index=False)["y"].first()
        ax.plot(g["x"], g["y"], color=PALETTE[0])
        for s, mark, lab in ((0.0, "o", "PS"), (1.0, "*", "PO")):
            ax.plot([s], [np.interp(s, g["x"], g["y"])], mark, color=PALETTE[1 if s else 2], ms=8, label=lab)
        title = f"{name} eps={eps:g}" + (" (sum of risks; * = Nash)" if name == "game" else "")
        ax.set(title=title, xlabel="s: theta = PS + s (PO - PS)", ylabel="PR(theta)")
    axes[0].legend(fontsize=7)
    figs["pr_curves"] = fig

    lim = table[(table["row"] == "limit") & (table["status"] != "diverged")]
    agg = (
        lim.groupby(["learner", "agency"])
        .apply(
            lambda g: pd.Series(
                {"r_ps": np.median(g["dist_ps"] / g["gap"]), "r_po": np.median(g["dist_po"] / g["gap"])}
            ),
            include_groups=False,
        )
        .reset_index()
    )
    fig, ax = new_figure(width=6, height=3.4)
    x = np.arange(len(agg))
    ax.bar(x - 0.2, agg["r_ps"], 0.4, label="|limit - PS| / |PS - PO|", color=PALETTE[2])
    ax.bar(x + 0.2, agg["r_po"], 0.4, label="|limit - PO| / |PS - PO|", color=PALETTE[1])
    ax.set_xticks(x, [f"{a}\n({b})" for a, b in zip(agg["learner"], agg["agency"])], fontsize=7)
    ax.set(ylabel="median normalised distance", title="Where each learner ends (all maps, eps, seeds)")
    ax.legend(fontsize=7)
    figs["limits"] = fig
    return figs


def rrm_rate_figures(cfg, table: pd.DataFrame) -> dict:
    figs = {}
    dist = table[table["row"] == "dist"]
    fig, ax = new_figure()
    for i, (eps, g) in enumerate(dist.groupby("eps")):
        g = g.groupby("round", as_index=False)["dist"].median()
        d = g["dist"].to_numpy()
        ax.semilogy(g["round"], d, color=PALETTE[i % len(PALETTE)], label=f"eps={eps:g}")
        ax.semilogy(g["round"], d[0] * eps ** g["round"].to_numpy(), ":", color=PALETTE[i % len(PALETTE)], lw=0.8)
    ax.set(xlabel="RRM round t", ylabel="|theta_t - theta_PS| (median)", title="RRM, location family (dotted: eps^t)")
    ax.set_ylim(1e-4, 1e6)
    ax.legend(fontsize=7)
    figs["rrm_distance"] = fig
    rate = table[table["row"] == "rate"]
    fig, ax = new_figure()
    for i, (name, g) in enumerate(rate.groupby("map")):
        g = g.groupby("eps", as_index=False).agg(
            rate=("rate", "median"),
            bound=("rate_bound", "first"),
            conv=("status", lambda s: float(np.mean(s == "converged"))),
        )
        ax.plot(g["eps"], g["rate"], "o-", color=PALETTE[i], label=f"{name}: measured rate")
        ax.plot(g["eps"], g["bound"], "x:", color=PALETTE[i], label=f"{name}: bound eps*beta/gamma")
    ax.axhline(1, color="k", lw=0.8)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="eps",
        ylabel="contraction factor",
        title="RRM rate vs the eps*beta/gamma bound",
    )
    ax.legend(fontsize=7)
    figs["rrm_rates"] = fig
    return figs


def entropy_figures(cfg, table: pd.DataFrame) -> dict:
    figs = {}
    fc = table[table["row"] == "forecast"]  # binary worlds only
    first_seed = fc["seed"].min() if "seed" in fc else None
    if first_seed is not None:
        fc = fc[fc["seed"] == first_seed]
    slopes = sorted(fc["slope"].unique())
    fig, axes = new_figure(ncols=len(slopes), width=3.2, height=3.2)
    axes = np.atleast_1d(axes)
    ps = np.linspace(0, 1, 401)
    for ax, slope in zip(axes, slopes):
        g = fc[(fc["slope"] == slope) & (fc["rule"] == "log")]
        F = P.LogisticResponse(float(g["bias"].iloc[0]), float(slope))
        ax.plot(ps, F(ps), color=PALETTE[0], label="F(p)")
        ax.plot(ps, ps, color="k", lw=0.6)
        for fp in P.fixed_points(F):
            ax.plot([fp.p], [fp.p], "o", ms=7, mfc=PALETTE[1] if fp.stable else "white", mec=PALETTE[1])
        for _j, (mode, y0) in enumerate((("myopic", -0.06), ("full", -0.12))):
            h = g[g["learner"] == mode]
            ax.scatter(h["start"], np.full(len(h), y0), c=h["final"], cmap="coolwarm", vmin=0, vmax=1, s=9)
            ax.text(1.0, y0, mode, fontsize=6, ha="right", va="bottom")
        ax.set(xlabel="forecast p", ylabel="P(y=1 | p)", title=f"slope={slope:g}, b={F.bias:.2f}", ylim=(-0.16, 1.02))
    axes[0].legend(fontsize=7, loc="upper left")
    figs["fixed_points_basins"] = fig

    w = table[table["row"] == "world"]
    if "outcomes" not in w:
        w = w.assign(outcomes=2)
    agg = w.groupby(["outcomes", "slope", "rule", "learner"], as_index=False)["entropy"].mean()
    fig, axes = new_figure(ncols=2, width=4.6, height=3.2)
    for ax, rule in zip(axes, ("log", "quadratic")):
        a = agg[agg["rule"] == rule]
        keys = sorted(set(zip(a["outcomes"], a["slope"])))
        x = np.arange(len(keys))
        for i, lr in enumerate(["myopic", "full", "full-global"]):
            v = a[a["learner"] == lr].set_index(["outcomes", "slope"])["entropy"]
            ax.bar(x + (i - 1) * 0.27, [v.get(k, np.nan) for k in keys], 0.27, label=lr, color=PALETTE[i])
        ax.set_xticks(x, [f"{s:g}" if k == 2 else f"K=3\n{s:g}" for k, s in keys], fontsize=7)
        ax.set(
            xlabel="slope of F (binary) / coupling (K=3)",
            ylabel="mean outcome entropy H(F(p)) [bits]",
            title=f"{rule} score",
        )
    axes[0].legend(fontsize=7)
    figs["entropy"] = fig
    return figs


def incentive_figures(cfg, table: pd.DataFrame) -> dict:
    figs = {}
    inc = table[table["row"] == "incentive"]
    fig, axes = new_figure(ncols=2, width=4.2, height=3.2)
    for i, rule in enumerate(("log", "quadratic")):
        g = inc[inc["rule"] == rule].groupby("slope")
        m = g["misreport"].median()
        axes[0].plot(m.index, m.values, "o-", color=PALETTE[i], label=rule)
        m = g["incentive"].median()
        axes[1].plot(m.index, m.values, "o-", color=PALETTE[i], label=rule)
    axes[0].set(xlabel="slope of F", ylabel="|p* - F(p*)| (median)", title="Optimal report's distance from honesty")
    axes[1].set(xlabel="slope of F", ylabel="G(p*) - max_fixed G", title="Score gained by misreporting")
    axes[0].legend(fontsize=7)
    figs["incentives"] = fig

    fig, ax = new_figure()
    F = P.LogisticResponse(0.5, 2.0)
    ps = np.linspace(0.01, 0.99, 400)
    for i, rule in enumerate(("log", "quadratic")):
        G = P.expected_score(ps, F(ps), rule)
        ax.plot(ps, G - G.max(), color=PALETTE[i], label=f"{rule}: G(p) - max G")
        a = P.incentive_analysis(F, rule)
        ax.axvline(a.optimal_report, color=PALETTE[i], ls="--", lw=0.8)
    for fp in P.fixed_points(F):
        ax.axvline(fp.p, color="k", ls=":", lw=1, label="fixed point p = F(p)")
    ax.set(
        xlabel="report p",
        ylabel="expected score (shifted)",
        title="F = sigmoid(0.5 + 2(p - 1/2)): p* (dashed) vs p = F(p)",
        ylim=(-0.3, 0.02),
    )
    ax.legend(fontsize=7)
    figs["score_curve"] = fig
    return figs
