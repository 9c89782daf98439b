"""Claim experiments for the embedded-agency system: typed configs in, tidy tables out.

Each outcome is computed twice, by the linear-frame solver and by the GL tableau (certificate check,
:func:`aflab.embedded.solver.cross_check`), and compared with what the cited papers prove.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import ClaimConfig, Comparison, Verdict
from aflab.embedded.agents import ModalAgent, Payoffs, builtin_agents, combat_system, coop_var, match
from aflab.embedded.formula import Atom, Box
from aflab.embedded.problems import AGENTS, PROBLEMS, run_problem
from aflab.embedded.randomgen import random_agent
from aflab.embedded.solver import solve_linear
from aflab.embedded.tournament import round_robin

# ---------------------------------------------------------------------------------------------
# shared verdict logic


def judge_outcomes(table: pd.DataFrame, what: str) -> Verdict:
    """refuted: a solver outcome differs from the literature; inconclusive: the two procedures
    disagree (an implementation error, so the measurement cannot be trusted); else supported."""
    t = table[table["kind"] != "trace"] if "kind" in table else table
    n = len(t)
    status = t["tableau"].astype(str)
    n_disagree = int((status == "disagrees").sum())
    n_confirmed = int((status == "agrees").sum())
    # literature entries must be certified; random ones may exceed the tableau budget
    n_unchecked_lit = int(((status == "unchecked") & (t["kind"] != "random")).sum())
    n_mismatch = int((~t["matches_expected"].astype(bool)).sum())
    numbers = {
        "n_outcomes": float(n),
        "n_match_literature": float(n - n_mismatch),
        "n_tableau_confirmed": float(n_confirmed),
        "n_tableau_unchecked": float(n - n_confirmed - n_disagree),
    }
    comps = (
        Comparison(f"{what}: outcomes as proved in the literature", float(n), float(n - n_mismatch)),
        Comparison("outcomes certified by the GL tableau", float(n), float(n_confirmed)),
    )
    if n_unchecked_lit:
        return Verdict(
            "inconclusive", numbers, f"{n_unchecked_lit} literature outcomes exceeded the tableau budget", comps
        )
    if n_disagree:
        return Verdict(
            "inconclusive", numbers, f"linear-frame solver and GL tableau disagree on {n_disagree}/{n} outcomes", comps
        )
    if n_mismatch:
        bad = t[~t["matches_expected"].astype(bool)]
        first = bad.iloc[0].to_dict()
        return Verdict("refuted", numbers, f"{n_mismatch}/{n} outcomes differ from the literature, e.g. {first}", comps)
    return Verdict(
        "supported",
        numbers,
        f"all {n} {what} outcomes match the literature; {n_confirmed} certified by the GL tableau",
        comps,
    )


def tableau_status(agrees: bool | None) -> str:
    return "unchecked" if agrees is None else ("agrees" if agrees else "disagrees")


# ---------------------------------------------------------------------------------------------
# claim 1: Löbian cooperation of FairBot


class FairBotConfig(ClaimConfig):
    max_level: int = Field(2, ge=0, le=8, description="FairBot_n = '[n] them' (PA+n) for n = 0..max_level")
    trace_worlds: int = Field(6, ge=2, le=64, description="linear-frame worlds recorded for the trace plot")


def fairbot_library(max_level: int) -> dict[str, ModalAgent]:
    lib = dict(builtin_agents())
    for n in range(max_level + 1):
        lib[f"FairBot_{n}"] = ModalAgent(f"FairBot_{n}", Box(Atom("them"), n))
    return lib


def _trace_rows(a: str, b: str, lib: dict, worlds: int) -> list[dict]:
    system = combat_system([(a, b)], lib)
    hist = solve_linear(system)
    names = list(hist.variables)
    rows = []
    for var in (coop_var(a, b), coop_var(b, a)):
        col = hist.history[:, names.index(var)]
        for w in range(worlds):
            val = col[min(w, len(col) - 1)]  # after stabilisation the value repeats
            rows.append({"kind": "trace", "a": a, "b": b, "var": var, "world": w, "value": bool(val)})
    return rows


def fairbot_experiment(cfg: FairBotConfig, seed: int) -> pd.DataFrame:
    """FairBot vs FairBot / CooperateBot / DefectBot, and PA+n FairBots against each other.

    Expected (Barasz et al. 2014, sec. 3, Löb's theorem): FB-FB and FB-CB mutual cooperation, FB-DB
    mutual defection; [n]-FairBots cooperate with each other (Löb's theorem in PA + max(n, m)).
    """
    lib = fairbot_library(cfg.max_level)
    expected = {
        ("FairBot", "FairBot"): (True, True),
        ("FairBot", "CooperateBot"): (True, True),
        ("FairBot", "DefectBot"): (False, False),
    }
    for n in range(cfg.max_level + 1):
        for m in range(n, cfg.max_level + 1):
            expected[(f"FairBot_{n}", f"FairBot_{m}")] = (True, True)
    rows = []
    for (a, b), (ea, eb) in expected.items():
        r = match(a, b, lib)
        rows.append(
            {
                "kind": "match",
                "a": a,
                "b": b,
                "a_coop": r.a_cooperates,
                "b_coop": r.b_cooperates,
                "expected_a": ea,
                "expected_b": eb,
                "rank": r.rank,
                "tableau": tableau_status(r.tableau_agrees),
                "matches_expected": (r.a_cooperates, r.b_cooperates) == (ea, eb),
            }
        )
    for a, b in (("FairBot", "FairBot"), ("FairBot", "DefectBot")):
        rows.extend(_trace_rows(a, b, lib, cfg.trace_worlds))
    return pd.DataFrame(rows)


def fairbot_verdict(cfg: FairBotConfig, table: pd.DataFrame) -> Verdict:
    return judge_outcomes(table[table["seed"] == table["seed"].min()], "FairBot")


# ---------------------------------------------------------------------------------------------
# claim 2: PrudentBot


class PrudentBotConfig(ClaimConfig):
    n_random: int = Field(20, ge=0, le=5000, description="random modal opponents for the unexploitability check")
    random_depth: int = Field(2, ge=1, le=4, description="nesting depth of the random opponents' formulas")
    tableau_budget: int = Field(
        4000, ge=10, le=10**7, description="max tableau sequents + branches per random match (else 'unchecked')"
    )
    temptation: float = Field(3.0, description="PD payoff T (T > R > P > S)")
    reward: float = Field(2.0, description="PD payoff R")
    punishment: float = Field(1.0, description="PD payoff P")
    sucker: float = Field(0.0, description="PD payoff S")


PRUDENT_EXPECTED = {
    ("PrudentBot", "CooperateBot"): (False, True),
    ("PrudentBot", "DefectBot"): (False, False),
    ("PrudentBot", "FairBot"): (True, True),
    ("PrudentBot", "PrudentBot"): (True, True),
}


def prudentbot_experiment(cfg: PrudentBotConfig, seed: int) -> pd.DataFrame:
    """PrudentBot's four results (Barasz et al. 2014, sec. 5) plus unexploitability against random agents.

    Unexploitability (ibid.): if PB or FB cooperates then PA(+1) proved the opponent cooperates, so
    by soundness the opponent does cooperate -- PB and FB never receive the sucker payoff.
    Also a round robin of the built-in agents (for the payoff and replicator figures).
    """
    payoffs = Payoffs(cfg.temptation, cfg.reward, cfg.punishment, cfg.sucker)
    lib = dict(builtin_agents())
    rows = []
    for (a, b), (ea, eb) in PRUDENT_EXPECTED.items():
        r = match(a, b, lib, payoffs)
        rows.append(
            {
                "kind": "match",
                "a": a,
                "b": b,
                "a_coop": r.a_cooperates,
                "b_coop": r.b_cooperates,
                "expected_a": ea,
                "expected_b": eb,
                "rank": r.rank,
                "payoff": r.payoff_a,
                "tableau": tableau_status(r.tableau_agrees),
                "matches_expected": (r.a_cooperates, r.b_cooperates) == (ea, eb),
            }
        )
    rng = np.random.default_rng(seed)
    for i in range(cfg.n_random):
        opp = random_agent(rng, f"Random{i}", ("DefectBot", "CooperateBot", "FairBot"), cfg.random_depth)
        lib[opp.name] = opp
        for bot in ("PrudentBot", "FairBot"):
            r = match(bot, opp.name, lib, payoffs, max_sequents=cfg.tableau_budget)
            exploited = r.a_cooperates and not r.b_cooperates
            rows.append(
                {
                    "kind": "random",
                    "a": bot,
                    "b": opp.name,
                    "a_coop": r.a_cooperates,
                    "b_coop": r.b_cooperates,
                    "expected_a": r.a_cooperates,
                    "expected_b": r.b_cooperates,
                    "rank": r.rank,
                    "payoff": r.payoff_a,
                    "tableau": tableau_status(r.tableau_agrees),
                    "matches_expected": not exploited,
                }
            )
    names = ["DefectBot", "CooperateBot", "FairBot", "PrudentBot", "TrollBot", "TitForTatBot"]
    res = round_robin(names, builtin_agents(), payoffs)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            rows.append(
                {
                    "kind": "tournament",
                    "a": a,
                    "b": b,
                    "a_coop": bool(res.cooperates[i, j]),
                    "b_coop": bool(res.cooperates[j, i]),
                    "expected_a": bool(res.cooperates[i, j]),
                    "expected_b": bool(res.cooperates[j, i]),
                    "rank": int(res.ranks[i, j]),
                    "payoff": float(res.payoff[i, j]),
                    "tableau": "not run",
                    "matches_expected": True,
                }
            )
    return pd.DataFrame(rows)


def prudentbot_verdict(cfg: PrudentBotConfig, table: pd.DataFrame) -> Verdict:
    named = table[(table["kind"] == "match") & (table["seed"] == table["seed"].min())]
    rand = table[table["kind"] == "random"]
    v = judge_outcomes(pd.concat([named, rand]), "PrudentBot")
    n_exploited = int((~rand["matches_expected"].astype(bool)).sum())
    numbers = dict(v.numbers)
    numbers.update({"n_random_matches": float(len(rand)), "n_exploited": float(n_exploited)})
    comps = v.comparisons + (Comparison("times PB/FB got the sucker payoff vs random agents", 0.0, float(n_exploited)),)
    return Verdict(v.label, numbers, v.reason + f"; PB/FB exploited in {n_exploited}/{len(rand)} random matches", comps)


# ---------------------------------------------------------------------------------------------
# claim 3: decision problems

ProblemName = Literal[
    "five_and_ten", "newcomb", "twin_pd", "transparent_newcomb", "xor_blackmail", "troll_bridge", "parfit"
]
AgentName = Literal["udt", "udt_plain", "naive", "udt_chicken", "naive_chicken"]


class ProblemTableConfig(ClaimConfig):
    problems: tuple[ProblemName, ...] = Field(tuple(PROBLEMS), min_length=1, description="decision problems to run")
    agents: tuple[AgentName, ...] = Field(tuple(AGENTS), min_length=1, description="agents to run")


def problem_experiment(cfg: ProblemTableConfig, seed: int) -> pd.DataFrame:
    """Every agent in every problem; spurious proofs flagged; each entry certified by the tableau."""
    rows = []
    for p in cfg.problems:
        for a in cfg.agents:
            r = run_problem(p, a, cross_check=True)
            rows.append(
                {
                    "kind": "problem",
                    "problem": p,
                    "agent": a,
                    "action": r.action,
                    "outcome": r.outcome,
                    "utility": r.utility,
                    "best_utility": max(u for _, u in PROBLEMS[p].outcomes),
                    "worst_utility": min(u for _, u in PROBLEMS[p].outcomes),
                    "proved_untaken": "; ".join(r.proved),
                    "spurious": "; ".join(r.spurious),
                    "n_spurious": len(r.spurious),
                    "rank": r.rank,
                    "tableau": tableau_status(r.tableau_agrees),
                    "expected_action": r.expected_action or "",
                    "matches_expected": True if r.expected_action is None else r.action == r.expected_action,
                }
            )
    return pd.DataFrame(rows)


def problem_verdict(cfg: ProblemTableConfig, table: pd.DataFrame) -> Verdict:
    t = table[table["seed"] == table["seed"].min()]
    v = judge_outcomes(t, "decision-problem")
    numbers = dict(v.numbers)
    numbers.pop("n_match_literature")  # counts unsourced rows too; n_literature_rows_matched below does not
    # the 5-and-10 findings the claim is about: naive >= 1 spurious proof, every other agent none
    ft = t[t["problem"] == "five_and_ten"].set_index("agent")
    spurious = {a: float(ft.loc[a, "n_spurious"]) if a in ft.index else float("nan") for a in AGENTS}
    for a, n in spurious.items():
        numbers[f"{a}_spurious_proofs_5and10"] = n
    others = {a: n for a, n in spurious.items() if a != "naive" and np.isfinite(n)}
    # only rows with a published expectation count as literature (the others are measurements)
    lit = t[t["expected_action"].astype(str) != ""]
    n_lit, n_lit_match = len(lit), int(lit["matches_expected"].astype(bool).sum())
    numbers.update({"n_literature_rows": float(n_lit), "n_literature_rows_matched": float(n_lit_match)})
    label, reason = v.label, v.reason
    naive_ok = spurious["naive"] >= 1
    others_ok = all(n == 0 for n in others.values())
    if label == "supported" and not (naive_ok and others_ok):
        label = "refuted" if np.isfinite(spurious["naive"]) and others else "inconclusive"
        reason = (
            "spurious proofs in 5-and-10: naive "
            f"{spurious['naive']:g} (expected >= 1), "
            + ", ".join(f"{a} {n:g}" for a, n in others.items())
            + " (expected 0)"
        )
    elif label == "supported":
        reason = (
            f"all {n_lit} rows with a published expectation match it ({len(t)} rows in all, "
            f"{int(numbers['n_tableau_confirmed'])} certified by the GL tableau); 5-and-10 spurious "
            "proofs: naive "
            f"{spurious['naive']:g}, " + ", ".join(f"{a} {n:g}" for a, n in others.items())
        )
    comps = (
        Comparison("rows with a published expectation that match it", float(n_lit), float(n_lit_match)),
        *v.comparisons[1:],
        *(Comparison(f"spurious 'A=10 -> U=u' proofs, {a}", 0.0, n) for a, n in others.items()),
    )
    return Verdict(label, numbers, reason, comps)
