"""Figures for the embedded-agency claims, drawn only from the stored claim tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core.plots import new_figure
from aflab.embedded.tournament import replicator


def fairbot_loebian_cooperation_figures(cfg, table: pd.DataFrame) -> dict:
    """Linear-frame traces: a cooperation variable's truth value at worlds 0, 1, 2, ..."""
    tr = table[table["kind"] == "trace"]
    fig, ax = new_figure(width=6.0, height=3.2)
    for k, (var, grp) in enumerate(tr.groupby("var", sort=False)):
        grp = grp.drop_duplicates("world").sort_values("world")
        ax.step(grp["world"], grp["value"].astype(int) + 0.04 * k, where="post", label=var, lw=1.6)
    ax.set(
        xlabel="world n of the linear frame (n sees 0..n-1)",
        ylabel="cooperates (1) / defects (0)",
        title="Modal combat on the linear frame: values stabilise",
        yticks=[0, 1],
    )
    ax.legend(fontsize=7, loc="center right")
    return {"linear_frame_trace": fig}


def prudentbot_results_figures(cfg, table: pd.DataFrame) -> dict:
    """Payoff heatmap of the built-in round robin and replicator dynamics from the uniform mix."""
    t = table[(table["kind"] == "tournament") & (table["seed"] == table["seed"].min())]
    names = list(dict.fromkeys(t["a"]))
    pay = t.pivot(index="a", columns="b", values="payoff").loc[names, names].to_numpy()
    fig, ax = new_figure(width=5.4, height=4.4)
    ax.grid(False)
    im = ax.imshow(pay, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{pay[i, j]:g}", ha="center", va="center", color="w", fontsize=7)
    ax.set(title="Payoff to row agent (modal combat)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    traj = replicator(pay, np.full(len(names), 1 / len(names)), steps=3000, dt=0.01)[:, 0, :]
    fig2, ax2 = new_figure(width=6.0, height=3.4)
    for k, n in enumerate(names):
        ax2.plot(np.arange(len(traj)) * 0.01, traj[:, k], label=n)
    ax2.set(xlabel="time", ylabel="population share", title="Replicator dynamics over the built-in agents")
    ax2.legend(fontsize=7)
    return {"payoff_matrix": fig, "replicator": fig2}


def decision_problem_table_figures(cfg, table: pd.DataFrame) -> dict:
    """Which agent does what in which problem: utility rescaled from the problem's worst outcome (0)
    to its best (1), annotated."""
    t = table[table["seed"] == table["seed"].min()]
    problems = list(dict.fromkeys(t["problem"]))
    agents = list(dict.fromkeys(t["agent"]))
    share = np.zeros((len(problems), len(agents)))
    labels = [["" for _ in agents] for _ in problems]
    for _, r in t.iterrows():
        i, j = problems.index(r["problem"]), agents.index(r["agent"])
        worst = r.get("worst_utility", 0.0)  # tables from before round 2 lack it (utilities were >= 0)
        span = r["best_utility"] - worst
        share[i, j] = (r["utility"] - worst) / span if span else 1.0
        labels[i][j] = f"{r['action']}\nU={r['utility']:g}" + ("\nspurious!" if r["n_spurious"] else "")
    fig, ax = new_figure(width=6.0, height=0.9 * len(problems) + 1.2)
    ax.grid(False)
    ax.imshow(share, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", alpha=0.55)
    ax.set_xticks(range(len(agents)), agents, fontsize=8)
    ax.set_yticks(range(len(problems)), problems, fontsize=8)
    for i in range(len(problems)):
        for j in range(len(agents)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=7)
    ax.set(title="Action and utility per problem\n(colour: utility, problem's worst outcome 0 .. best 1)")
    return {"problem_table": fig}


def predictor_strength_figures(cfg, table: pd.DataFrame) -> dict:
    """One panel per (problem, UDT step): predictor level P (rows) x agent start level L (columns), the
    action taken (green: one-box / pay) and the proof that fired, for UDT's first default action."""
    t = table[table["seed"] == table["seed"].min()]
    first_default = t.groupby("problem")["default"].first()
    t = t[t["default"] == t["problem"].map(first_default)]
    panels = list(t.groupby(["problem", "step"], sort=True))
    fig, axes = new_figure(width=3.6, height=3.8, ncols=len(panels))
    for ax, ((prob, step), g) in zip(np.atleast_1d(axes), panels):
        n_p, n_l = g["predictor_level"].max() + 1, g["agent_level"].max() + 1
        grid = np.zeros((n_p, n_l))
        ax.grid(False)
        for _, r in g.iterrows():
            grid[r["predictor_level"], r["agent_level"]] = 1.0 if r["cooperates"] else 0.0
            proof = r["fired"].replace("(A=", " ").replace(" -> U=", "→").rstrip(")")
            ax.text(
                r["agent_level"], r["predictor_level"], f"{r['action']}\n{proof}", ha="center", va="center", fontsize=5
            )
        ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, alpha=0.5, origin="lower")
        ax.set(xlabel="agent's start level L (PA+L)", ylabel="predictor level P (PA+P)", title=f"{prob}, step {step}")
        ax.set_xticks(range(n_l))
        ax.set_yticks(range(n_p))
    return {"predictor_strength_grid": fig}
