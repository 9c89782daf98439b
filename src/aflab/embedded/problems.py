"""Embedded decision problems as modal formulas, a naive proof-search agent, and modal UDT.

Every problem has actions, outcomes with utilities, and a *universe*: for each outcome u a formula
saying when ``U=u`` holds, over the agent's action atoms ``A=a`` (predictors see the agent through
``[]``). An agent is, for each action a, a formula saying when ``A=a`` holds; its proof searches are
boxed formulas over ``A=.`` and ``U=.``. Agent + universe is a closed modal system (the universe's
unboxed dependence on ``A`` is acyclic), solved on the linear frame and certified by the tableau.

Agents (cf. Demski & Garrabrant 2018, "Embedded Agency", sec. 2.1 "Decision theory"; LaVictoire 2015,
"An Introduction to Löb's Theorem in MIRI Research", sec. 6 "Modal UDT"):

- **naive proof search** -- for each action a, in a fixed order of outcomes *worst first*, the first
  provable ``A=a -> U=u`` fixes what a "is worth"; it takes the action worth most (ties: the first
  action). In 5-and-10 Löb's theorem makes ``A=10 -> U=0`` provable: if it is provable the agent
  believes 10 is worth 0 and takes 5, so the implication is vacuously true, and PA proves all that.
  The agent takes the 5 on a *spurious counterfactual*.
- **modal UDT** -- for outcomes best first, for actions in order: if ``[k](A=a -> U=u)`` for the k-th
  pair, take a; otherwise a default. With proof-level escalation the k-th search uses PA + k
  (``[k]``), so a later search can refute the soundness-free conclusions of every earlier one; without
  it all searches use PA.

- **chicken rule** (``udt_chicken``, ``naive_chicken``) -- first, if PA proves ``A != a``, take a;
  then the agent as before. It makes ``A != a`` unprovable (PA is sound), so no ``A=a -> U=u`` is
  provable vacuously (Demski & Garrabrant 2018, sec. 2.1).

Problems: 5-and-10, Newcomb, twin Prisoner's Dilemma, transparent Newcomb (as a choice of policy),
XOR blackmail (as a choice of policy), Troll Bridge, Parfit's hitchhiker; and (``PD_PROBLEMS``) the Prisoner's
Dilemma against DefectBot, CooperateBot, FairBot and PrudentBot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from aflab.embedded.formula import BOT, TOP, And, Atom, Box, Formula, Implies, Not, Or
from aflab.embedded.solver import ModalSystem, solve_linear
from aflab.embedded.solver import cross_check as tableau_cross_check


def act(a: str, who: str = "A") -> Formula:
    """Atom ``A=a``: the agent takes action a."""
    return Atom(f"{who}={a}")


def out(u: str, who: str = "U") -> Formula:
    """Atom ``U=u``: outcome u happens."""
    return Atom(f"{who}={u}")


@dataclass(frozen=True)
class Problem:
    """A decision problem. ``outcomes`` are (name, utility) pairs; ``universe`` gives U's formulas.

    ``twin`` problems contain a second copy of the agent (prefixes B / V) that the universe also
    refers to; with ``side`` set, that copy plays in the named problem instead (PrudentBot asks how
    the agent plays against DefectBot). ``counterfactual`` gives the outcome each action leads to
    physically, or with an accurate predictor (when that is uncontroversial) -- used to flag
    spurious proofs. ``expected`` lists the literature's answers; only those rows are claimed.
    """

    name: str
    title: str
    actions: tuple[str, ...]
    outcomes: tuple[tuple[str, float], ...]
    universe: Callable[[str, str, str], dict[str, Formula]]
    twin: bool = False
    side: str | None = None
    counterfactual: Mapping[str, str] | None = None
    expected: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def utility(self, outcome: str) -> float:
        return dict(self.outcomes)[outcome]

    def outcomes_best_first(self) -> list[str]:
        return [u for u, _ in sorted(self.outcomes, key=lambda x: -x[1])]


# ---------------------------------------------------------------------------------------------
# the problems


def _five_and_ten(A: str, U: str, B: str) -> dict[str, Formula]:
    return {f"{U}=10": act("10", A), f"{U}=5": act("5", A), f"{U}=0": BOT}


def _newcomb(A: str, U: str, B: str) -> dict[str, Formula]:
    full = Box(act("one_box", A))  # Omega fills box B iff it proves the agent one-boxes
    one, two = act("one_box", A), act("two_box", A)
    return {
        f"{U}=1001000": And(two, full),
        f"{U}=1000000": And(one, full),
        f"{U}=1000": And(two, Not(full)),
        f"{U}=0": And(one, Not(full)),
    }


def _twin_pd(A: str, U: str, B: str) -> dict[str, Formula]:
    me_c, tw_c = act("C", A), act("C", B)
    return {
        f"{U}=3": And(Not(me_c), tw_c),
        f"{U}=2": And(me_c, tw_c),
        f"{U}=1": And(Not(me_c), Not(tw_c)),
        f"{U}=0": And(me_c, Not(tw_c)),
    }


_POLICIES = ("one_one", "one_two", "two_one", "two_two")  # (action if full)_(action if empty)


def _transparent_newcomb(A: str, U: str, B: str) -> dict[str, Formula]:
    p = {k: act(k, A) for k in _POLICIES}
    full = Box(Or(p["one_one"], p["one_two"]))  # filled iff Omega proves: one-boxes on seeing it full
    one_if_full = Or(p["one_one"], p["one_two"])
    one_if_empty = Or(p["one_one"], p["two_one"])
    return {
        f"{U}=1001000": And(full, Not(one_if_full)),
        f"{U}=1000000": And(full, one_if_full),
        f"{U}=1000": And(Not(full), Not(one_if_empty)),
        f"{U}=0": And(Not(full), one_if_empty),
    }


def _xor_blackmail(A: str, U: str, B: str) -> dict[str, Formula]:
    """XOR blackmail as a choice of policy (what to do on reading the letter), both termite states.

    The predictor sends the letter in the termite world iff it proves the agent refuses, in the
    clean world iff it proves the agent pays (each a PA proof: sound, but silent when it proves
    nothing). Paying costs 1,000 (only when a letter came); termites cost 1,000,000; prior 1/2.
    """
    pay = act("pay", A)
    paid_termites = And(Box(act("refuse", A)), pay)  # letter in the termite world, and it pays
    paid_clean = And(Box(pay), pay)  # letter in the clean world, and it pays
    return {
        f"{U}=kept": And(Not(paid_termites), Not(paid_clean)),
        f"{U}=paid_clean": And(Not(paid_termites), paid_clean),
        f"{U}=paid_termites": And(paid_termites, Not(paid_clean)),
        f"{U}=paid_both": And(paid_termites, paid_clean),
    }


def _troll_bridge(A: str, U: str, B: str) -> dict[str, Formula]:
    """The troll blows up the bridge iff the agent crosses while PA is inconsistent (``[]F``: the
    only way a sound-looking agent crosses "for a bad reason", e.g. by the chicken rule)."""
    cross, blown = act("cross", A), Box(BOT)
    return {f"{U}=10": And(cross, Not(blown)), f"{U}=0": act("stay", A), f"{U}=-10": And(cross, blown)}


def _bridge_without_troll(A: str, U: str, B: str) -> dict[str, Formula]:
    """The same bridge with no troll: crossing gives 10, staying 0, nothing blows up (a control)."""
    return {f"{U}=10": act("cross", A), f"{U}=0": act("stay", A), f"{U}=-10": BOT}


def _parfit(A: str, U: str, B: str) -> dict[str, Formula]:
    rescued = Box(act("pay", A))  # the driver takes you to town iff she proves you will pay
    return {
        f"{U}=1000000": And(rescued, act("refuse", A)),
        f"{U}=999000": And(rescued, act("pay", A)),
        f"{U}=0": Not(rescued),
    }


def _pd_payoffs(me_c: Formula, opp_c: Formula, U: str) -> dict[str, Formula]:
    return {
        f"{U}=3": And(Not(me_c), opp_c),
        f"{U}=2": And(me_c, opp_c),
        f"{U}=1": And(Not(me_c), Not(opp_c)),
        f"{U}=0": And(me_c, Not(opp_c)),
    }


# the classic modal bots, as formulas over the agent's action (Barasz et al. 2014, sec. 3 and 5);
# PrudentBot's "[1] the agent defects against DefectBot" refers to the agent's copy B in pd_defectbot
PD_BOTS: dict[str, Callable[[str, str], Formula]] = {
    "defectbot": lambda A, B: BOT,
    "cooperatebot": lambda A, B: TOP,
    "fairbot": lambda A, B: Box(act("C", A)),
    "prudentbot": lambda A, B: And(Box(act("C", A)), Box(Not(act("C", B)), 1)),
}


def _pd_against(bot: str) -> Callable[[str, str, str], dict[str, Formula]]:
    def universe(A: str, U: str, B: str) -> dict[str, Formula]:
        opp = f"Opp{U}=C"  # the bot's action, kept as a variable for reporting
        return {opp: PD_BOTS[bot](A, B), **_pd_payoffs(act("C", A), Atom(opp), U)}

    return universe


PD_PROBLEMS: dict[str, Problem] = {
    f"pd_{b}": Problem(
        f"pd_{b}",
        f"Prisoner's Dilemma against {b}",
        ("D", "C"),
        (("3", 3), ("2", 2), ("1", 1), ("0", 0)),
        _pd_against(b),
        side="pd_defectbot" if b == "prudentbot" else None,
        source="Barasz et al. 2014 (the bots); the agent's play is measured here, not taken from a paper",
    )
    for b in PD_BOTS
}


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "five_and_ten",
            "5-and-10",
            ("5", "10"),
            (("10", 10), ("5", 5), ("0", 0)),
            _five_and_ten,
            counterfactual={"5": "5", "10": "10"},
            expected={"udt": "10", "udt_plain": "10", "naive": "5", "udt_chicken": "10", "naive_chicken": "10"},
            source="Demski & Garrabrant 2018 sec. 2.1 (naive agent takes 5; the chicken rule removes the "
            "spurious proof); LaVictoire 2015 sec. 6 (modal UDT takes 10)",
        ),
        Problem(
            "newcomb",
            "Newcomb's problem (predictor = PA proof)",
            ("one_box", "two_box"),
            (("1001000", 1_001_000), ("1000000", 1_000_000), ("1000", 1_000), ("0", 0)),
            _newcomb,
            expected={"udt_plain": "one_box"},
            source="So8res/modal (2015) Games.hs: with a PA predictor, PA-level UDT takes its default "
            "action (here one_box, the first action)",
        ),
        Problem(
            "twin_pd",
            "Prisoner's Dilemma against a twin",
            ("D", "C"),
            (("3", 3), ("2", 2), ("1", 1), ("0", 0)),
            _twin_pd,
            twin=True,
            expected={"udt": "C", "udt_plain": "C"},
            source="Barasz et al. 2014; LaVictoire 2015 sec. 6 (modal UDT cooperates with its copy)",
        ),
        Problem(
            "transparent_newcomb",
            "Transparent Newcomb (choice of policy, PA predictor)",
            _POLICIES,
            (("1001000", 1_001_000), ("1000000", 1_000_000), ("1000", 1_000), ("0", 0)),
            _transparent_newcomb,
            source="Drescher 2006 ch. 7; policy selection (Wei Dai 2009)",
        ),
        Problem(
            "xor_blackmail",
            "XOR blackmail (policy over termite states, letter = PA proof)",
            ("pay", "refuse"),
            (("kept", -500_000), ("paid_clean", -500_500), ("paid_termites", -500_500), ("paid_both", -501_000)),
            _xor_blackmail,
            counterfactual={"pay": "paid_clean", "refuse": "kept"},
            expected={"udt": "refuse", "udt_plain": "refuse", "udt_chicken": "refuse"},
            source="Levinstein & Soares 2020 (arXiv 2017) 'Cheating Death in Damascus', XOR blackmail: "
            "FDT/UDT and CDT refuse, EDT pays; Yudkowsky & Soares 2017 'Functional Decision "
            "Theory' (same verdicts). Approximation: the predictor is a PA proof (sound, not "
            "complete), the agent picks a policy under a 1/2 prior (updateless; no EDT agent here)",
        ),
        Problem(
            "troll_bridge",
            "Troll Bridge (the troll blows up the bridge iff []F)",
            ("cross", "stay"),
            (("10", 10), ("0", 0), ("-10", -10)),
            _troll_bridge,
            counterfactual={"cross": "10", "stay": "0"},
            expected={"naive_chicken": "stay"},
            source="Demski & Garrabrant 2018 sec. 2.1 (Troll Bridge: a proof-based agent with the chicken "
            "rule proves 'cross -> U=-10' by Löb's theorem and stays, though crossing is safe)",
        ),
        Problem(
            "parfit",
            "Parfit's hitchhiker (driver = PA proof)",
            ("refuse", "pay"),
            (("1000000", 1_000_000), ("999000", 999_000), ("0", 0)),
            _parfit,
            source="Parfit 1984; Demski & Garrabrant 2018 sec. 2.1",
        ),
    )
}


def troll_bridge_problem(troll: bool = True) -> Problem:
    """Troll Bridge (``troll=True``, as in ``PROBLEMS``) or the same bridge without the troll: the
    counterfactual of the decision-problem claim (with no troll to reason about, no Löbian proof of
    'cross -> U=-10' exists and the agents cross)."""
    base = PROBLEMS["troll_bridge"]
    if troll:
        return base
    return replace(base, title="Bridge without a troll (control)", universe=_bridge_without_troll)


def get_problem(name: str) -> Problem:
    """A decision problem (``PROBLEMS``) or a Prisoner's Dilemma against a modal bot (``PD_PROBLEMS``)."""
    try:
        return PROBLEMS[name] if name in PROBLEMS else PD_PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; choose one of: {', '.join([*PROBLEMS, *PD_PROBLEMS])}") from None


# ---------------------------------------------------------------------------------------------
# agents


def first_true_chain(
    conditions: list[tuple[Formula, str]], default: str, actions: tuple[str, ...], A: str
) -> dict[str, Formula]:
    """``A=a`` formulas for "take the action of the first true condition, else ``default``"."""
    defs: dict[str, list[Formula]] = {a: [] for a in actions}
    earlier: list[Formula] = []
    for cond, a in conditions:
        defs[a].append(And(*(Not(e) for e in earlier), cond))
        earlier.append(cond)
    defs[default].append(And(*(Not(e) for e in earlier)))
    return {f"{A}={a}": Or(*fs) for a, fs in defs.items()}


def udt_agent(problem: Problem, A: str = "A", U: str = "U", escalate: bool = True) -> dict[str, Formula]:
    """Modal UDT: outcomes best first, actions in order; the k-th search uses [k] when escalating."""
    conds = []
    for u in problem.outcomes_best_first():
        for a in problem.actions:
            level = len(conds) if escalate else 0
            conds.append((Box(Implies(act(a, A), out(u, U)), level), a))
    return first_true_chain(conds, problem.actions[0], problem.actions, A)


def naive_agent(problem: Problem, A: str = "A", U: str = "U") -> dict[str, Formula]:
    """Naive proof search: value(a) = first provable ``A=a -> U=u`` (worst u first); take the argmax.

    Encoded exactly: ``value(a) = u`` iff ``[](A=a -> U=u)`` and no earlier (worse) u is provable;
    ``none`` when nothing is provable (worth less than any outcome). Ties go to the earlier action.
    """
    worst_first = problem.outcomes_best_first()[::-1]
    levels = worst_first + ["none"]  # "none" ranks below every outcome
    rank = {u: i for i, u in enumerate(["none"] + worst_first)}  # higher = better
    prov = {(a, u): Box(Implies(act(a, A), out(u, U))) for a in problem.actions for u in worst_first}

    def value_is(a: str, u: str) -> Formula:
        prior = (
            [prov[(a, w)] for w in worst_first[: worst_first.index(u)]]
            if u != "none"
            else [prov[(a, w)] for w in worst_first]
        )
        head = TOP if u == "none" else prov[(a, u)]
        return And(head, *(Not(x) for x in prior))

    defs = {}
    for i, a in enumerate(problem.actions):
        options = []
        for u in levels:
            beats = []
            for j, b in enumerate(problem.actions):
                if b == a:
                    continue
                ok = [value_is(b, w) for w in levels if rank[w] < rank[u] or (rank[w] == rank[u] and j > i)]
                beats.append(Or(*ok))
            options.append(And(value_is(a, u), *beats))
        defs[f"{A}={a}"] = Or(*options)
    return defs


def with_chicken_rule(defs: Mapping[str, Formula], actions: tuple[str, ...], A: str = "A") -> dict[str, Formula]:
    """The chicken rule on top of an agent: if PA proves ``A != a`` take a (first such a), else as before.

    ``A=a <-> ([]~A=a & no earlier chicken fires) | (no chicken fires & defs[A=a])``. If PA proved it
    will not take a it takes a, so by soundness PA proves no ``A != a`` in the standard model and no
    ``A=a -> U=u`` is vacuously provable (Demski & Garrabrant 2018, sec. 2.1, "chicken rule").
    """
    chicken = [Box(Not(act(a, A))) for a in actions]
    none_fires = And(*(Not(c) for c in chicken))
    return {
        f"{A}={a}": Or(And(*(Not(c) for c in chicken[:i]), chicken[i]), And(none_fires, defs[f"{A}={a}"]))
        for i, a in enumerate(actions)
    }


AGENTS: dict[str, Callable[..., dict[str, Formula]]] = {
    "udt": lambda p, A="A", U="U": udt_agent(p, A, U, escalate=True),
    "udt_plain": lambda p, A="A", U="U": udt_agent(p, A, U, escalate=False),
    "naive": naive_agent,
    "udt_chicken": lambda p, A="A", U="U": with_chicken_rule(udt_agent(p, A, U, escalate=False), p.actions, A),
    "naive_chicken": lambda p, A="A", U="U": with_chicken_rule(naive_agent(p, A, U), p.actions, A),
}
AGENT_TITLES = {
    "udt": "modal UDT (PA+k escalation)",
    "udt_plain": "modal UDT (PA only)",
    "naive": "naive proof search (worst outcome first)",
    "udt_chicken": "modal UDT (PA only) + chicken rule",
    "naive_chicken": "naive proof search + chicken rule",
}


def problem_system(problem: Problem, agent: str) -> ModalSystem:
    """Agent + universe (+ twin copy) + proof queries ``proves(a,u) <-> [](A=a -> U=u)``."""
    if agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}; choose one of: {', '.join(AGENTS)}")
    build = AGENTS[agent]
    eqs: dict[str, Formula] = {}
    eqs.update(build(problem, "A", "U"))
    eqs.update(problem.universe("A", "U", "B"))
    if problem.twin or problem.side is not None:
        side = problem if problem.side is None else get_problem(problem.side)
        eqs.update(build(side, "B", "V"))
        eqs.update(side.universe("B", "V", "A"))
    for a in problem.actions:
        for u, _ in problem.outcomes:
            eqs[f"proves(A={a} -> U={u})"] = Box(Implies(act(a), out(u)))
    return ModalSystem.of(eqs)


@dataclass(frozen=True)
class ProblemOutcome:
    problem: str
    agent: str
    action: str
    outcome: str
    utility: float
    proved: tuple[str, ...]  # provable "A=a -> U=u" for actions a not taken
    spurious: tuple[str, ...]  # those contradicting the physical counterfactual
    rank: int
    tableau_agrees: bool | None
    expected_action: str | None

    @property
    def matches_expected(self) -> bool | None:
        return None if self.expected_action is None else self.action == self.expected_action


def run_problem(problem: Problem | str, agent: str, cross_check: bool = True) -> ProblemOutcome:
    """Solve agent-in-universe; report the action, outcome, proofs about untaken actions, checks."""
    problem = get_problem(problem) if isinstance(problem, str) else problem
    system = problem_system(problem, agent)
    sol = solve_linear(system)
    vals = sol.values
    taken = [a for a in problem.actions if vals[f"A={a}"]]
    happened = [u for u, _ in problem.outcomes if vals[f"U={u}"]]
    if len(taken) != 1 or len(happened) != 1:  # pragma: no cover - agents/universes are exhaustive
        raise AssertionError(f"{problem.name}/{agent}: actions {taken}, outcomes {happened}")
    action, outcome = taken[0], happened[0]
    proved, spurious = [], []
    for a in problem.actions:
        if a == action:
            continue
        for u, _ in problem.outcomes:
            if vals[f"proves(A={a} -> U={u})"]:
                proved.append(f"A={a} -> U={u}")
                if problem.counterfactual is not None and problem.counterfactual[a] != u:
                    spurious.append(f"A={a} -> U={u}")
    agrees = None
    if cross_check:
        checked = [f"A={a}" for a in problem.actions] + [f"U={u}" for u, _ in problem.outcomes]
        agrees = tableau_cross_check(system, sol, checked)
    return ProblemOutcome(
        problem.name,
        agent,
        action,
        outcome,
        problem.utility(outcome),
        tuple(proved),
        tuple(spurious),
        sol.stable_rank,
        agrees,
        problem.expected.get(agent),
    )


def problem_table(
    problems: list[str] | None = None, agents: list[str] | None = None, cross_check: bool = True
) -> pd.DataFrame:
    """Which agent does what in which problem (one row per problem x agent; names from PROBLEMS or
    PD_PROBLEMS)."""
    rows = []
    for pname in problems or list(PROBLEMS):
        for agent in agents or list(AGENTS):
            r = run_problem(pname, agent, cross_check)
            rows.append(
                {
                    "problem": r.problem,
                    "agent": r.agent,
                    "action": r.action,
                    "outcome": r.outcome,
                    "utility": r.utility,
                    "proved_untaken": "; ".join(r.proved),
                    "spurious": "; ".join(r.spurious),
                    "n_spurious": len(r.spurious),
                    "rank": r.rank,
                    "tableau_agrees": bool(r.tableau_agrees) if cross_check else True,
                    "expected_action": r.expected_action or "",
                    "matches_expected": (r.matches_expected if r.matches_expected is not None else True),
                }
            )
    return pd.DataFrame(rows)
