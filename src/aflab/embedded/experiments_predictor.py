"""The predictor-strength grid: modal UDT of every proof strength against predictors of every strength.

Agent simulates predictor (Wei Dai 2010, "Agent Simulates Predictor"; Slepnev 2011; LaVictoire 2015
sec. 6 discusses the modal form): a predictor that decides by proof search in PA+P cannot predict an
agent whose own searches run in a stronger theory, and such an agent "knows too much" -- it can work
out the prediction and defect from it -- so it loses. The grid plays ``UDT(default, level=L, step=S)``
(shipped in ``modal_files/decision_problems.ua``) against ``Newcomb(P)`` and ``Parfit(P)`` for every
cell and records the action, the outcome, and *which proof fired*: the first of UDT's searches
``[L + k*S](A=a -> U=o)`` (outcomes best first, actions in order) that holds, or "default".

"Stronger than the predictor" means the agent's first search is in a stronger theory, L > P (with
S > 0 its later searches are stronger still).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from aflab.core import ClaimConfig, Comparison, Verdict
from aflab.core.stats import Interval, Threshold, decide
from aflab.embedded.experiments import exact_fraction, tableau_status
from aflab.embedded.formula import Atom, Box, Implies
from aflab.embedded.modalfile import solve_command, with_plays
from aflab.embedded.solver import cross_check

#: (problem in the file, its oracle control, actions in order, outcomes best first, the cooperative
#: action the predictor rewards, the outcomes that count as rewarded: box filled / taken to town)
PROBLEMS = {
    "newcomb": (
        "Newcomb",
        "NewcombOracle",
        ("one_box", "two_box"),
        ("$1001000", "$1000000", "$1000", "$0"),
        "one_box",
        ("$1001000", "$1000000"),
    ),
    "parfit": (
        "Parfit",
        "ParfitOracle",
        ("refuse", "pay"),
        ("$1000000", "$999000", "$0"),
        "pay",
        ("$1000000", "$999000"),
    ),
}

STRONGER_COOPERATE = Threshold(
    "rate of the cooperative action (one-box / pay) among agents stronger than the predictor (L > P), "
    "proof-decided cells",
    "below",
    0.5,
    "the claim is that an agent whose proof search is stronger than the predictor's defects from the "
    "prediction (two-boxes, refuses to pay); it is refuted if such agents cooperate in most grid cells "
    "(the grid is computed exactly, so the rate has no sampling error; 1/2 separates 'usually defects' "
    "from 'usually cooperates')",
)
WEAKER_COOPERATE = Threshold(
    "rate of the cooperative action among agents the predictor can out-prove (L <= P), proof-decided cells",
    "above",
    0.5,
    "the statement's second half: an agent the predictor can out-prove cooperates (and is rewarded); refuted if "
    "such agents defect in most cells where one of their proof searches decided the action (exact, as above)",
)
STRENGTH_CONTRAST = Threshold(
    "cooperative-action rate, L <= P minus L > P, proof-decided cells",
    "above",
    0.0,
    "strength must be what decides: agents the predictor can out-prove must cooperate more often than "
    "stronger ones (else the defection is not about strength)",
)


class PredictorStrengthConfig(ClaimConfig):
    max_level: int = Field(3, ge=1, le=8, description="predictor levels P and agent start levels L in 0..max_level")
    steps: tuple[int, ...] = Field((0, 1), min_length=1, description="UDT's escalation steps S")
    problems: tuple[Literal["newcomb", "parfit"], ...] = Field(("newcomb", "parfit"), min_length=1)
    both_defaults: bool = Field(True, description="each action as UDT's default (else the first action only)")
    tableau_budget: int = Field(20_000, ge=10, le=10**7, description="tableau sequents per cell before 'unchecked'")
    predictor: Literal["proof", "oracle"] = Field(
        "proof",
        description="counterfactual switch: 'oracle' replaces the PA+P proof predictor by one that sees the "
        "action itself (no proof search, so strength cannot matter)",
    )


def udt_searches(outcomes, actions, level: int, step: int) -> list[tuple[str, str, int]]:
    """UDT's proof searches in order: (outcome, action, PA+level) -- as the shipped theory runs them."""
    out, n = [], level
    for o in outcomes:
        for a in actions:
            out.append((o, a, n))
            n += step
    return out


def _cell_calls(cfg: PredictorStrengthConfig) -> list[tuple[str, int, int, int, str]]:
    cells = []
    for prob in cfg.problems:
        actions = PROBLEMS[prob][2]
        for default in actions if cfg.both_defaults else actions[:1]:
            for step in cfg.steps:
                for p in range(cfg.max_level + 1):
                    for lvl in range(cfg.max_level + 1):
                        cells.append((prob, p, lvl, step, default))
    return cells


def predictor_strength_experiment(cfg: PredictorStrengthConfig, seed: int) -> pd.DataFrame:
    """One row per (problem, predictor level P, agent level L, step S, default): action, outcome, the
    proof that fired, and the tableau certificate of the action and outcome."""
    cells = _cell_calls(cfg)
    plays = []
    for prob, p, lvl, step, default in cells:
        name, oracle = PROBLEMS[prob][:2]
        universe = oracle if cfg.predictor == "oracle" else f"{name}({p})"
        plays.append(f"{universe}, UDT({default}, level={lvl}, step={step})")
    f = with_plays(plays)
    rows = []
    for (prob, p, lvl, step, default), cmd in zip(cells, f.commands):
        _, _, actions, outcomes, cooperative, good = PROBLEMS[prob]
        searches = udt_searches(outcomes, actions, lvl, step)
        query = {
            f"fired:{k}": Box(Implies(Atom(f"A1()={a}"), Atom(f"U()={o}")), n) for k, (o, a, n) in enumerate(searches)
        }
        _, system, sol = solve_command(f, cmd, "reference", query)
        action = next(a for a in actions if sol.value(f"A1()={a}"))
        outcome = next(o for o in outcomes if sol.value(f"U()={o}"))
        fired = next((k for k in range(len(searches)) if sol.value(f"fired:{k}")), None)
        claimed = [f"A1()={a}" for a in actions] + [f"U()={o}" for o in outcomes]
        o_k, a_k, n_k = searches[fired] if fired is not None else ("", "", -1)
        rows.append(
            {
                "problem": prob,
                "predictor_level": p,
                "agent_level": lvl,
                "step": step,
                "default": default,
                "stronger": lvl > p,
                "action": action,
                "outcome": outcome,
                "cooperates": action == cooperative,
                "rewarded": outcome in good,
                "fired": "default" if fired is None else f"[{n_k}](A={a_k} -> U={o_k})",
                "fired_index": -1 if fired is None else fired,
                "rank": max(sol.rank_of(v) for v in claimed),
                "tableau": tableau_status(cross_check(system, sol, claimed, cfg.tableau_budget)),
            }
        )
    return pd.DataFrame(rows)


def predictor_strength_verdict(cfg: PredictorStrengthConfig, table: pd.DataFrame) -> Verdict:
    """Exact rates over the grid's *proof-decided* cells: a cell where none of UDT's searches fired took its
    default action, which says nothing about strength (half the grid gives the cooperative default), so
    those cells are counted and reported, not judged. Decisions: stronger agents cooperate in under half
    (headline), agents the predictor can out-prove in over half, and the contrast between them above 0."""
    t = table[table["seed"] == table["seed"].min()]
    decided = t[t["fired_index"] >= 0]
    strong, weak = decided[decided["stronger"]], decided[~decided["stronger"]]
    headline = decide(exact_fraction(int(strong["cooperates"].sum()), len(strong)), STRONGER_COOPERATE)
    weaker = decide(exact_fraction(int(weak["cooperates"].sum()), len(weak)), WEAKER_COOPERATE)
    diff = weak["cooperates"].mean() - strong["cooperates"].mean() if len(weak) and len(strong) else float("nan")
    contrast = decide(Interval(diff, diff, diff, 1.0, "exact", 0.0, len(decided)), STRENGTH_CONTRAST)
    agrees = int((t["tableau"] == "agrees").sum())
    numbers = {
        "n_cells": float(len(t)),
        "n_stronger_cells": float(len(strong)),
        "rewarded_rate_not_stronger": float(weak["rewarded"].mean()) if len(weak) else float("nan"),
        "rewarded_rate_stronger": float(strong["rewarded"].mean()) if len(strong) else float("nan"),
        "n_cells_decided_by_default": float((t["fired_index"] < 0).sum()),
        "n_tableau_confirmed": float(agrees),
        "n_tableau_unchecked": float((t["tableau"] == "unchecked").sum()),
        "n_tableau_refuted": float((t["tableau"] == "disagrees").sum()),
    }
    for (prob, step), g in decided.groupby(["problem", "step"]):
        for side, sub in (("stronger", g[g["stronger"]]), ("not_stronger", g[~g["stronger"]])):
            numbers[f"{prob}_step{step}_{side}_cooperates"] = (
                float(sub["cooperates"].mean()) if len(sub) else float("nan")
            )
    note = (
        f"{len(t) - len(decided)}/{len(t)} cells took UDT's default (no proof fired; not judged); "
        f"rewarded (box filled / taken to town): {int(t['rewarded'].sum())}/{len(t)} cells; "
        f"{agrees}/{len(t)} cells certified by the GL prover"
    )
    comps = (
        Comparison(
            "cooperative-action rate, agent stronger than the predictor", None, float(strong["cooperates"].mean())
        ),
        Comparison("cooperative-action rate, agent no stronger", None, float(weak["cooperates"].mean())),
        Comparison("rewarded rate, agent no stronger than the predictor", None, numbers["rewarded_rate_not_stronger"]),
    )
    return Verdict.from_decisions([headline, weaker, contrast], numbers, note, comps)
