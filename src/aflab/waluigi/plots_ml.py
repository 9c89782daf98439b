"""Figures for the learned-model parts of waluigi: the trained transformer and the SmolLM2 probe.

Every builder is ``(cfg, table) -> {name: Figure}`` and draws only from the stored table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import PALETTE, new_figure
from aflab.waluigi import lm_probe


# ------------------------------------------------------------------------------------ LM probe
def lm_window_plateau_figures(cfg, table: pd.DataFrame) -> dict:
    """Log-odds of breaking the lowercase persona vs history length, and the injection decay."""
    curves = lm_probe.decay_curves(table)
    fig, ax = new_figure(width=6.0)
    styles = {"full": "-", "window-pinned": "--", "window-sliding": ":"}
    keys = sorted({(c, int(k)) for c, k in zip(curves["condition"], curves["k"])}, key=lambda t: (t[1], t[0]))
    for cond, k in keys:
        c = curves[(curves["condition"] == cond) & (curves["k"] == k)].sort_values("n")
        x = c["history_tokens"].to_numpy() + 1.0
        label = "full context" if cond == "full" else f"{cond}, k={k}"
        color = "k" if cond == "full" else PALETTE[(sorted({kk for _, kk in keys if kk}).index(k)) % len(PALETTE)]
        ax.errorbar(
            x, c["mean"], yerr=c["se"], ls=styles[cond], marker="o", ms=3, color=color, label=label, capsize=2, lw=1.2
        )
    ax.set_xscale("log")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(
        xlabel="persona-consistent history (tokens + 1, log scale)",
        ylabel="log P(violating) - log P(consistent)  [nats]",
        title="SmolLM2-135M: log-odds of breaking the lowercase persona",
    )
    ax.legend(fontsize=7)
    out = {"lm_decay": fig}

    eff = lm_probe.injection_effects(table)
    if len(eff):
        tokens_per_turn = lm_probe.tokens_per_turn(table)
        fig2, ax2 = new_figure(width=6.0)
        for i, ((cond, k), grp) in enumerate(eff.groupby(["condition", "k"])):
            grp = grp.sort_values("m")
            label = "full context" if cond == "full" else f"{cond}, k={k}"
            ax2.errorbar(
                grp["m"] * tokens_per_turn,
                grp["effect"],
                yerr=grp["se"],
                marker="o",
                ms=3,
                capsize=2,
                label=label,
                color="k" if cond == "full" else PALETTE[i % len(PALETTE)],
            )
            if cond != "full":
                ax2.axvline(k, color=PALETTE[i % len(PALETTE)], lw=0.8, ls=":")
        ax2.axhline(0, color="grey", lw=0.8)
        ax2.set_xscale("log")
        ax2.set(
            xlabel="distance of the injected capitalised turn (tokens back, log scale)",
            ylabel="shift of log-odds [nats]",
            title="One violating turn: its effect as it recedes",
        )
        ax2.legend(fontsize=7)
        out["lm_injection"] = fig2
    return out


# --------------------------------------------------------------------------------- transformer
def transformer_window_plateau_figures(cfg, table: pd.DataFrame) -> dict:
    """P(revealing | all-neutral window) and per-step hazard: Bayes vs the trained transformer."""
    out = {}
    plateau = table[table["kind"] == "plateau"]
    if len(plateau):
        fig, ax = new_figure(width=6.0)
        g = plateau.groupby("k")
        bayes = g["p_bayes"].mean()
        net = g["p_model"].agg(["mean", "std", "count"])
        ax.plot(bayes.index, bayes.values, "k-o", ms=3, label="exact windowed Bayes predictor")
        ax.errorbar(
            net.index,
            net["mean"],
            yerr=net["std"].fillna(0) / np.sqrt(net["count"]),
            color=PALETTE[1],
            marker="s",
            ms=3,
            capsize=2,
            label="trained transformer",
        )
        ax.set_yscale("log")
        ax.set(
            xlabel="window k (tokens)",
            ylabel="P(revealing | k neutral tokens)",
            title="Hazard floor eps_k: transformer vs Bayes",
        )
        ax.legend(fontsize=8)
        out["transformer_plateau"] = fig
    surv = table[table["kind"] == "survival"]
    if len(surv):
        fig2, ax2 = new_figure(width=6.0)
        for i, (k, grp) in enumerate(surv.groupby("k")):
            grp = grp.groupby("t")[["s_bayes", "s_model"]].mean()
            color = PALETTE[i % len(PALETTE)]
            ax2.plot(grp.index, grp["s_bayes"], color=color, ls="-", label=f"Bayes, k={int(k)}")
            ax2.plot(grp.index, grp["s_model"], color=color, ls="--", label=f"transformer, k={int(k)}")
        ax2.set(
            xlabel="generated tokens t",
            ylabel="P(no revealing token by t)",
            title="Self-conditioned survival: transformer vs Bayes",
        )
        ax2.legend(fontsize=7)
        out["transformer_survival"] = fig2
    return out


# ------------------------------------------------------------------------------ LM sampled transitions
def lm_transitions_figures(cfg, table: pd.DataFrame) -> dict:
    """Kaplan-Meier survival to the first break per reader, and the per-turn hazard (Wilson 95%) with the
    model's own first-token break probability (dashed)."""
    from aflab.core.stats import proportion_ci
    from aflab.waluigi import lm_sampling
    from aflab.waluigi.montecarlo import kaplan_meier

    fig, (ax, ax2) = new_figure(ncols=2)
    haz = lm_sampling.hazard_table(table)
    for i, w in enumerate(sorted(table["window"].unique())):
        color = "k" if w == 0 else PALETTE[i % len(PALETTE)]
        name = "full context" if w == 0 else f"window k={int(w)}"
        time, observed, _ = lm_sampling.first_events(table, int(w), cfg.n_turns)
        km = kaplan_meier(time, observed, cfg.n_turns)
        ax.fill_between(km.t, km.lower, km.upper, color=color, alpha=0.15, lw=0, step="post")
        ax.step(km.t, km.survival, where="post", color=color, label=f"{name} (n={len(time)})")
        h = haz[haz["window"] == w]
        ivs = [proportion_ci(int(b), int(n)) for b, n in zip(h["breaks"], h["at_risk"])]
        lo = np.maximum(h["hazard"] - np.array([iv.low for iv in ivs]), 0.0)  # Wilson bounds vs p: float rounding
        hi = np.maximum(np.array([iv.high for iv in ivs]) - h["hazard"], 0.0)
        off = 0.08 * (i - 0.5)
        ax2.errorbar(h["turn"] + off, h["hazard"], yerr=[lo, hi], fmt="o", ms=3, capsize=2, color=color, label=name)
        ax2.plot(h["turn"] + off, h["p_first"], ls="--", lw=1, color=color)
    ax.set(
        xlabel="sampled turns t",
        ylabel="P(no break in the first t turns)",
        ylim=(0, 1.02),
        title="SmolLM2 persona survival (KM, 95%)",
    )
    ax.legend(fontsize=7)
    ax2.axvline(cfg.late_from - 0.5, color="grey", lw=0.8, ls=":")
    ax2.plot([], [], "k--", lw=1, label="model's first-token break probability")
    ax2.set(
        xlabel="turn",
        ylabel="P(break at this turn | none before)",
        ylim=(0, 1),
        title="Break hazard per turn (Wilson 95%)",
    )
    ax2.legend(fontsize=7)
    return {"lm_transitions": fig}


# --------------------------------------------------------------------------- transformer beyond its context
def transformer_beyond_context_figures(cfg, table: pd.DataFrame) -> dict:
    """Hazard of self-conditioned generation vs position, far beyond the training length L, with the two Bayes
    floors: position-averaged (the right reference) and document-start."""
    fig, ax = new_figure(width=6.0)
    c = table[table["part"] == "curve"]
    f = table[table["part"] == "floor"]
    for i, ((model, w), g) in enumerate(c.groupby(["model", "w"])):
        color = PALETTE[i % len(PALETTE)]
        m = g.groupby("t")["hazard"].mean()
        ax.plot(
            m.index,
            m.values,
            color=color,
            lw=1.2,
            ls="-" if model == "chunked" else "--",
            label=f"{model} net, w={int(w)}",
        )
        row = f[(f["model"] == model) & (f["w"] == w)].iloc[0]
        ref = row["eps_train"] if model == "chunked" else row["eps_start"]
        ax.axhline(ref, color=color, lw=0.8, ls=":")
    ax.axvline(cfg.doc_len, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set(
        xlabel="generated tokens t (grey: training length L)",
        ylabel="P(revealing next | no reveal yet)",
        title="Beyond the context: hazard vs its Bayes floor (dotted)",
    )
    ax.legend(fontsize=7)
    return {"transformer_beyond_context": fig}


# ------------------------------------------------------------------------------ LM hazard decay (redrawn)
def lm_hazard_decay_figures(cfg, table: pd.DataFrame) -> dict:
    """Per-turn break hazard with every conversation redrawn every turn (mean over conversations, t 95%),
    the model's own first-token break probability (dashed), and the early/late boundary."""
    from aflab.core.stats import mean_ci

    key = ["seed", "conversation"] if "seed" in table else ["conversation"]
    per = table.groupby([*key, "turn"])["violated"].mean().reset_index()
    turns = sorted(per["turn"].unique())
    ivs = [mean_ci(per.loc[per["turn"] == t, "violated"].to_numpy()) for t in turns]
    est = np.array([iv.estimate for iv in ivs])
    lo = np.maximum(est - np.array([iv.low for iv in ivs]), 0.0)
    hi = np.maximum(np.array([iv.high for iv in ivs]) - est, 0.0)
    fig, ax = new_figure(width=6.0)
    name = "full context" if not cfg.window else f"window k={cfg.window}"
    ax.errorbar(turns, est, yerr=[lo, hi], fmt="o-", ms=3, capsize=2, color="k", label=f"{name}: sampled hazard")
    ax.plot(turns, table.groupby("turn")["p_first"].mean().reindex(turns), "k--", lw=1, label="first-token break mass")
    ax.axvline(cfg.late_from - 0.5, color="grey", lw=0.8, ls=":")
    ax.set(
        xlabel="turn (every conversation measured at every turn)",
        ylabel=f"P(break | history), {cfg.draws} draws a turn",
        ylim=(0, min(1.0, 1.25 * float(np.max(est + hi)) + 0.01)),
        title="SmolLM2 break hazard without survivor selection",
    )
    ax.legend(fontsize=7)
    return {"lm_hazard_decay": fig}
