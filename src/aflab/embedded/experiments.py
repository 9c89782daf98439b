"""Claim experiments for the embedded-agency system: typed configs in, tidy tables out.

Every outcome is computed by the linear-frame solver and certified by a GL prover (an independent
procedure: the SAT procedure of :mod:`aflab.embedded.glsat`, see :func:`aflab.embedded.solver.cross_check`). The measurements are exact (no sampling), so
each verdict decides on an *exact* interval (zero width): a count or a fraction of outcomes.

- ``embedded.fairbot-loebian-cooperation`` and ``embedded.prudentbot-results`` are theorems of
  Barasz et al. (2014), proved in GL: kind ``check`` (a wrong value can only be a bug). Each declares a
  mutation that must refute it: boxes false at the bottom world (no Löb), PrudentBot searching in PA
  instead of PA+1.
- ``embedded.decision-problem-table`` is a claim: informal arguments of the embedded-agency literature
  (spurious proofs in 5-and-10, the Löbian proof in Troll Bridge, ...) stated as checkable rows -- the
  action *and* the proofs each argument asserts -- which our formalisation may or may not reproduce.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import ClaimConfig, Comparison, Verdict
from aflab.core.stats import Interval, Threshold, decide
from aflab.embedded.agents import ModalAgent, Payoffs, builtin_agents, combat_system, coop_var, match
from aflab.embedded.formula import Atom, Box, Not
from aflab.embedded.problems import AGENTS, PROBLEMS, get_problem, run_problem, troll_bridge_problem
from aflab.embedded.randomgen import random_agent
from aflab.embedded.solver import solve_linear
from aflab.embedded.tournament import round_robin

# ---------------------------------------------------------------------------------------------
# exact statistics: the outcomes are computed, not sampled


def exact_fraction(k: int, n: int) -> Interval:
    """``k / n`` as a zero-width interval: a deterministic computation has no sampling error (nan when
    ``n = 0``: nothing was measured, so nothing can be decided)."""
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 1.0, "exact", None, 0)
    x = k / n
    return Interval(x, x, x, 1.0, "exact", 0.0, n)


def exact_count(k: int, n: int) -> Interval:
    """A count of ``k`` (out of ``n`` items) as a zero-width interval."""
    return Interval(float(k), float(k), float(k), 1.0, "exact", 0.0, n)


def tidy(rows: list[dict]) -> pd.DataFrame:
    """Rows of different kinds as one Parquet-safe table: a column missing from a row gets the typed
    default of the other rows' values (False, -1, nan or "") instead of a None that makes it object."""
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        present = frame[col].dropna()
        if len(present) == len(frame) or not len(present):
            continue
        sample = present.iloc[0]
        fill = False if isinstance(sample, bool | np.bool_) else "" if isinstance(sample, str) else None
        if fill is None:
            fill = -1 if isinstance(sample, int | np.integer) else float("nan")
        frame[col] = frame[col].where(frame[col].notna(), fill).astype(type(fill) if fill != "" else str)
    return frame


def tableau_status(agrees: bool | None) -> str:
    return "unchecked" if agrees is None else ("agrees" if agrees else "disagrees")


THEOREM_OUTCOMES = Threshold(
    "fraction of outcomes equal to the theorem's",
    "equals",
    1.0,
    "the outcomes are theorems of GL (Barasz et al. 2014): a single outcome that differs is a bug, so the "
    "exact fraction must be 1",
)
CERTIFIED = Threshold(
    "fraction of outcomes certified by the GL prover",
    "equals",
    1.0,
    "the GL prover (SAT procedure; the tableau is its tested reference) is independent of the linear-frame "
    "solver; every outcome the check states must be certified "
    "(a refuted certificate or one over the budget leaves the outcome unverified)",
)


def _certified(table: pd.DataFrame) -> tuple[int, int, int]:
    status = table["tableau"].astype(str)
    return int((status == "agrees").sum()), int((status == "disagrees").sum()), len(table)


# ---------------------------------------------------------------------------------------------
# check 1: Löbian cooperation of FairBot


class FairbotLoebianCooperationConfig(ClaimConfig):
    max_level: int = Field(2, ge=0, le=8, description="FairBot_n = '[n] them' (PA+n) for n = 0..max_level")
    trace_worlds: int = Field(6, ge=2, le=64, description="linear-frame worlds recorded for the trace plot")
    base_boxes: bool = Field(
        True,
        description="mutation switch: False makes every box false at the bottom world of the linear frame "
        "(no proof is ever found: Löb's step removed, the least fixed point)",
    )


def fairbot_library(max_level: int) -> dict[str, ModalAgent]:
    lib = dict(builtin_agents())
    for n in range(max_level + 1):
        lib[f"FairBot_{n}"] = ModalAgent(f"FairBot_{n}", Box(Atom("them"), n))
    return lib


def _trace_rows(a: str, b: str, lib: dict, worlds: int, base_boxes: bool) -> list[dict]:
    hist = solve_linear(combat_system([(a, b)], lib), base_boxes=base_boxes)
    names = list(hist.variables)
    rows = []
    for var in (coop_var(a, b), coop_var(b, a)):
        col = hist.history[:, names.index(var)]
        for w in range(worlds):
            val = col[min(w, len(col) - 1)]  # after stabilisation the value repeats
            rows.append({"kind": "trace", "a": a, "b": b, "var": var, "world": w, "value": bool(val)})
    return rows


def _match_row(kind: str, r, expected: tuple[bool, bool], **extra) -> dict:
    return {
        "kind": kind,
        "a": r.a,
        "b": r.b,
        "a_coop": r.a_cooperates,
        "b_coop": r.b_cooperates,
        "expected_a": expected[0],
        "expected_b": expected[1],
        "rank": r.rank,
        "tableau": tableau_status(r.tableau_agrees),
        "matches_expected": (r.a_cooperates, r.b_cooperates) == expected,
        **extra,
    }


def fairbot_loebian_cooperation_experiment(cfg: FairbotLoebianCooperationConfig, seed: int) -> pd.DataFrame:
    """FairBot vs FairBot / CooperateBot / DefectBot, and PA+n FairBots against each other.

    Theorem (Barasz et al. 2014, sec. 3, by Löb's theorem): FB-FB and FB-CB mutual cooperation, FB-DB
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
    rows = [
        _match_row("match", match(a, b, lib, base_boxes=cfg.base_boxes), e, payoff=float("nan"))
        for (a, b), e in expected.items()
    ]
    for a, b in (("FairBot", "FairBot"), ("FairBot", "DefectBot")):
        rows.extend(_trace_rows(a, b, lib, cfg.trace_worlds, cfg.base_boxes))
    return tidy(rows)


def judge_theorem_rows(rows: pd.DataFrame, what: str, extra: list | None = None) -> Verdict:
    """Checks: every outcome equals the theorem's, and every outcome is certified by the tableau."""
    n = len(rows)
    n_match = int(rows["matches_expected"].astype(bool).sum())
    agrees, disagrees, _ = _certified(rows)
    decisions = [
        decide(exact_fraction(n_match, n), THEOREM_OUTCOMES),
        decide(exact_fraction(agrees, n), CERTIFIED),
        *(extra or []),
    ]
    numbers = {
        "n_outcomes": float(n),
        "n_match_theorem": float(n_match),
        "n_tableau_confirmed": float(agrees),
        "n_tableau_refuted": float(disagrees),
        "n_tableau_unchecked": float(n - agrees - disagrees),
    }
    comps = (
        Comparison(f"{what}: outcomes equal to the theorem's", float(n), float(n_match)),
        Comparison("outcomes certified by the GL prover", float(n), float(agrees)),
    )
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


def fairbot_loebian_cooperation_verdict(cfg: FairbotLoebianCooperationConfig, table: pd.DataFrame) -> Verdict:
    t = table[(table["kind"] == "match") & (table["seed"] == table["seed"].min())]
    return judge_theorem_rows(t, "FairBot")


# ---------------------------------------------------------------------------------------------
# check 2: PrudentBot

UNEXPLOITED = Threshold(
    "fraction of random matches in which PrudentBot / FairBot are not exploited",
    "equals",
    1.0,
    "unexploitability is a theorem (Barasz et al. 2014): PB/FB cooperate only on a proof that the opponent "
    "cooperates, and PA is sound, so a single exploitation is a bug",
)


class PrudentbotResultsConfig(ClaimConfig):
    n_random: int = Field(20, ge=0, le=5000, description="random modal opponents for the unexploitability check")
    random_depth: int = Field(2, ge=1, le=4, description="nesting depth of the random opponents' formulas")
    tableau_budget: int = Field(
        4000, ge=10, le=10**7, description="max tableau sequents + branches per random match (else 'unchecked')"
    )
    prudent_level: int = Field(
        1,
        ge=0,
        le=4,
        description="PrudentBot's second proof search uses PA+prudent_level (1 in the paper; 0 is the mutation: "
        "PA cannot prove that the opponent defects against DefectBot)",
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


def prudent_library(level: int) -> dict[str, ModalAgent]:
    """The built-in agents with PrudentBot's second search in PA + ``level``."""
    lib = dict(builtin_agents())
    them, vs_db = Atom("them"), Atom("them(DefectBot)")
    lib["PrudentBot"] = ModalAgent("PrudentBot", Box(them) & Box(Not(vs_db), level))
    return lib


def _tournament_rows(payoffs: Payoffs) -> list[dict]:
    names = ["DefectBot", "CooperateBot", "FairBot", "PrudentBot", "TrollBot", "TitForTatBot"]
    res = round_robin(names, builtin_agents(), payoffs)
    rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            c = (bool(res.cooperates[i, j]), bool(res.cooperates[j, i]))
            rows.append(
                {
                    "kind": "tournament",
                    "a": a,
                    "b": b,
                    "a_coop": c[0],
                    "b_coop": c[1],
                    "expected_a": c[0],
                    "expected_b": c[1],
                    "rank": int(res.ranks[i, j]),
                    "payoff": float(res.payoff[i, j]),
                    "tableau": "not run",
                    "matches_expected": True,
                }
            )
    return rows


def prudentbot_results_experiment(cfg: PrudentbotResultsConfig, seed: int) -> pd.DataFrame:
    """PrudentBot's four results (Barasz et al. 2014, sec. 5) plus unexploitability against random agents.

    Unexploitability (ibid.): if PB or FB cooperates then PA(+1) proved the opponent cooperates, so
    by soundness the opponent does cooperate -- PB and FB never receive the sucker payoff.
    Also a round robin of the built-in agents (for the payoff and replicator figures).
    """
    payoffs = Payoffs(cfg.temptation, cfg.reward, cfg.punishment, cfg.sucker)
    lib = prudent_library(cfg.prudent_level)
    rows = [
        _match_row("match", match(a, b, lib, payoffs), e, payoff=match(a, b, lib, payoffs, False).payoff_a)
        for (a, b), e in PRUDENT_EXPECTED.items()
    ]
    rng = np.random.default_rng(seed)
    for i in range(cfg.n_random):
        opp = random_agent(rng, f"Random{i}", ("DefectBot", "CooperateBot", "FairBot"), cfg.random_depth)
        lib[opp.name] = opp
        for bot in ("PrudentBot", "FairBot"):
            r = match(bot, opp.name, lib, payoffs, max_sequents=cfg.tableau_budget)
            row = _match_row("random", r, (r.a_cooperates, r.b_cooperates), payoff=r.payoff_a)
            row["matches_expected"] = not (r.a_cooperates and not r.b_cooperates)  # not exploited
            rows.append(row)
    rows.extend(_tournament_rows(payoffs))
    return pd.DataFrame(rows)


def prudentbot_results_verdict(cfg: PrudentbotResultsConfig, table: pd.DataFrame) -> Verdict:
    named = table[(table["kind"] == "match") & (table["seed"] == table["seed"].min())]
    rand = table[table["kind"] == "random"]
    n_ok = int(rand["matches_expected"].astype(bool).sum())
    unexploited = decide(exact_fraction(n_ok, len(rand)), UNEXPLOITED) if len(rand) else None
    v = judge_theorem_rows(named, "PrudentBot", [unexploited] if unexploited else None)
    agrees, disagrees, n = _certified(rand)
    numbers = dict(v.numbers)
    numbers.update(
        {
            "n_random_matches": float(n),
            "n_exploited": float(n - n_ok),
            "n_random_certified": float(agrees),
            "n_random_refuted": float(disagrees),
            "n_random_unchecked": float(n - agrees - disagrees),
        }
    )
    comps = v.comparisons + (Comparison("times PB/FB got the sucker payoff vs random agents", 0.0, float(n - n_ok)),)
    return Verdict.from_decisions(
        v.decisions,
        numbers,
        note=f"random matches: {n - n_ok}/{n} exploitations, {agrees} certified, "
        f"{n - agrees - disagrees} over the prover's budget (unchecked), {disagrees} refuted",
        comparisons=comps,
    )


# ---------------------------------------------------------------------------------------------
# claim 3: decision problems

ProblemName = Literal[
    "five_and_ten", "newcomb", "twin_pd", "transparent_newcomb", "xor_blackmail", "troll_bridge", "parfit"
]
AgentName = Literal["udt", "udt_plain", "naive", "udt_chicken", "naive_chicken"]

# What the sources assert, row by row: (problem, agent) -> (action, proofs that must be present,
# whether a spurious proof is forbidden). A row is checked only when its problem and agent are run.
SOURCED_ROWS: dict[tuple[str, str], tuple[str, tuple[str, ...], bool, str]] = {
    ("five_and_ten", "naive"): ("5", ("A=10 -> U=0",), False, "D&G 2018 sec. 2.1: takes 5 on a spurious proof"),
    **{
        ("five_and_ten", a): ("10", (), True, "D&G 2018 sec. 2.1 / LaVictoire 2015 sec. 6: 10, no spurious proof")
        for a in ("udt", "udt_plain", "udt_chicken", "naive_chicken")
    },
    ("newcomb", "udt_plain"): ("one_box", (), False, "So8res/modal Games.hs: PA predictor, PA UDT takes its default"),
    ("twin_pd", "udt"): ("C", (), False, "LaVictoire 2015 sec. 6: modal UDT cooperates with its twin"),
    ("twin_pd", "udt_plain"): ("C", (), False, "LaVictoire 2015 sec. 6: modal UDT cooperates with its twin"),
    **{
        ("xor_blackmail", a): ("refuse", (), False, "Levinstein & Soares 2020: FDT/UDT refuses to pay")
        for a in ("udt", "udt_plain", "udt_chicken")
    },
    **{
        ("troll_bridge", a): ("stay", ("A=cross -> U=-10",), False, "D&G 2018 sec. 2.1: Löbian proof, stays")
        for a in ("naive_chicken", "udt_chicken")
    },
}

SOURCED_FAILURES = Threshold(
    "sourced statements that fail",
    "below",
    0.5,
    "each row restates one step of a published argument (the action and the proofs it asserts); the "
    "computation is exact and certified by an independent prover, so a single failing statement "
    "refutes the table (no sampling noise to allow for)",
)


class DecisionProblemTableConfig(ClaimConfig):
    problems: tuple[ProblemName, ...] = Field(tuple(PROBLEMS), min_length=1, description="decision problems to run")
    agents: tuple[AgentName, ...] = Field(tuple(AGENTS), min_length=1, description="agents to run")
    troll: bool = Field(
        True,
        description="counterfactual switch: False removes the troll from Troll Bridge (nothing blows up), "
        "so there is no Löbian proof of 'cross -> U=-10' to stay on",
    )


def _problem_row(p, a: str) -> dict:
    r = run_problem(p, a, cross_check=True)
    want = SOURCED_ROWS.get((r.problem, a))
    return {
        "kind": "problem",
        "problem": r.problem,
        "agent": a,
        "action": r.action,
        "outcome": r.outcome,
        "utility": r.utility,
        "best_utility": max(u for _, u in p.outcomes),
        "worst_utility": min(u for _, u in p.outcomes),
        "proved_untaken": "; ".join(r.proved),
        "spurious": "; ".join(r.spurious),
        "n_spurious": len(r.spurious),
        "rank": r.rank,
        "tableau": tableau_status(r.tableau_agrees),
        "expected_action": want[0] if want else "",
        "expected_proofs": "; ".join(want[1]) if want else "",
        "forbid_spurious": bool(want[2]) if want else False,
        "source": want[3] if want else "",
    }


def decision_problem_table_experiment(cfg: DecisionProblemTableConfig, seed: int) -> pd.DataFrame:
    """Every agent in every problem: action, outcome, provable 'A=a -> U=u' for untaken actions,
    spurious proofs, and the tableau certificate of each row."""
    rows = []
    for name in cfg.problems:
        p = troll_bridge_problem(cfg.troll) if name == "troll_bridge" else get_problem(name)
        rows.extend(_problem_row(p, a) for a in cfg.agents)
    return pd.DataFrame(rows)


def statement_holds(row: pd.Series, claim: pd.Series | None = None) -> bool:
    """Whether ``row`` (an agent's result) satisfies the sourced statement of ``claim`` (default: its own):
    the action, every asserted proof (found in ``proved_untaken``) and, where the source forbids them,
    no spurious proofs."""
    claim = row if claim is None else claim
    proved = set(filter(None, str(row["proved_untaken"]).split("; ")))
    wanted = set(filter(None, str(claim["expected_proofs"]).split("; ")))
    return (
        row["action"] == claim["expected_action"]
        and wanted <= proved
        and not (bool(claim["forbid_spurious"]) and int(row["n_spurious"]) > 0)
    )


def distinguishes(t: pd.DataFrame, claim: pd.Series) -> bool:
    """Whether the statement of ``claim`` fails for some other agent of the same problem (a statement
    that every agent satisfies cannot tell the agents apart)."""
    others = t[(t["problem"] == claim["problem"]) & (t["agent"] != claim["agent"])]
    return any(not statement_holds(o, claim) for _, o in others.iterrows())


def decision_problem_table_verdict(cfg: DecisionProblemTableConfig, table: pd.DataFrame) -> Verdict:
    t = table[table["seed"] == table["seed"].min()]
    lit = t[t["expected_action"].astype(str) != ""]
    holds = lit.apply(statement_holds, axis=1).astype(bool) if len(lit) else pd.Series([], dtype=bool)
    n_fail = int((~holds).sum())
    agrees, disagrees, n = _certified(t)
    headline = decide(exact_count(n_fail, len(lit)) if len(lit) else exact_fraction(0, 0), SOURCED_FAILURES)
    certified = decide(exact_fraction(agrees, n), CERTIFIED)
    n_dist = int(sum(distinguishes(t, r) for _, r in lit.iterrows()))
    numbers = {
        "n_rows": float(n),
        "n_sourced_statements": float(len(lit)),
        "n_sourced_statements_hold": float(len(lit) - n_fail),
        "n_statements_distinguishing_agents": float(n_dist),
        "n_tableau_confirmed": float(agrees),
        "n_tableau_refuted": float(disagrees),
    }
    for a in AGENTS:
        ft = t[(t["problem"] == "five_and_ten") & (t["agent"] == a)]
        if len(ft):
            numbers[f"{a}_spurious_proofs_5and10"] = float(ft["n_spurious"].iloc[0])
    failed = [f"{r.problem}/{r.agent}" for (_, r), ok in zip(lit.iterrows(), holds) if not ok]
    note = f"{len(lit) - n_fail}/{len(lit)} sourced statements hold ({n_dist} of them fail for some other agent); " + (
        f"failing: {', '.join(failed)}" if failed else "none fails"
    )
    comps = (
        Comparison("sourced statements that hold", float(len(lit)), float(len(lit) - n_fail)),
        Comparison("rows certified by the GL prover", float(n), float(agrees)),
    )
    return Verdict.from_decisions([headline, certified], numbers, note=note, comparisons=comps)
