"""Modal agents for the one-shot Prisoner's Dilemma, their text syntax, and modal combat.

A *modal agent* (Barasz et al. 2014, sec. 3) is a formula of GL saying when the agent cooperates,
in which references to agents' actions appear only under boxes:

- ``them``     -- the opponent cooperates with this agent,
- ``them(X)``  -- the opponent cooperates with agent X (X a named agent, e.g. DefectBot),
- ``me``       -- this agent cooperates with the opponent (only under a box),
- ``me(X)``    -- this agent cooperates with X.

When A meets B, each atom becomes a variable ``A|B`` ("A cooperates with B"): A's formula with
``them -> B|A``, ``them(X) -> B|X``, ``me -> A|B``, ``me(X) -> A|X``. Doing this for every pair that
is reached gives a finite closed system of modalized equations, solved by
:func:`aflab.embedded.solver.solve_linear` and certified by the GL tableau.

Agent files (``*.agents``) are parsed line by line, never evaluated::

    # comment
    payoffs = 3, 2, 1, 0              # T, R, P, S (optional; default 3, 2, 1, 0)
    use DefectBot, FairBot            # built-in agents to enter in the tournament
    agent MyBot = [] them & [1] ~them(DefectBot)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from aflab.embedded.formula import Atom, Formula, atoms, is_modalized_in, substitute
from aflab.embedded.parse import FormulaSyntaxError, parse
from aflab.embedded.solver import ModalSystem, solve_linear
from aflab.embedded.solver import cross_check as tableau_cross_check

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF_RE = re.compile(r"^(them|me)(?:\(([A-Za-z_][A-Za-z0-9_]*)\))?$")


class AgentFileError(ValueError):
    """A bad line in an agent file: names the file, the line and (when known) the column."""

    def __init__(self, source: str, line: int, message: str, column: int | None = None):
        where = f"{source}:{line}" + (f":{column}" if column else "")
        self.line, self.column = line, column
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ModalAgent:
    """A named modal agent: it cooperates iff ``formula`` holds (atoms: them, them(X), me, me(X))."""

    name: str
    formula: Formula

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name or ""):
            raise ValueError(f"agent name must be an identifier (letters, digits, _), got {self.name!r}")
        for a in atoms(self.formula):
            if not _REF_RE.match(a):
                raise ValueError(
                    f"agent {self.name}: unknown atom {a!r}; an agent formula may only use "
                    "them, them(Agent), me, me(Agent)"
                )
        if not is_modalized_in(self.formula, atoms(self.formula)):
            raise ValueError(
                f"agent {self.name}: every them/me reference must be under [], <> or [n] "
                f"(modal agents only see actions through proofs); got {self.formula}"
            )

    def references(self) -> frozenset[str]:
        """Names of the agents X in ``them(X)`` / ``me(X)``."""
        return frozenset(m.group(2) for a in atoms(self.formula) if (m := _REF_RE.match(a)) and m.group(2))


@dataclass(frozen=True)
class Payoffs:
    """Prisoner's Dilemma payoffs to the row player: T > R > P > S."""

    temptation: float = 3.0
    reward: float = 2.0
    punishment: float = 1.0
    sucker: float = 0.0

    def __post_init__(self) -> None:
        t, r, p, s = self.temptation, self.reward, self.punishment, self.sucker
        if not (t > r > p > s):
            raise ValueError(
                f"payoffs must satisfy T > R > P > S for a Prisoner's Dilemma, got T={t}, R={r}, P={p}, S={s}"
            )

    def row(self, me_coop: bool, them_coop: bool) -> float:
        if me_coop:
            return self.reward if them_coop else self.sucker
        return self.temptation if them_coop else self.punishment


@dataclass(frozen=True)
class AgentFile:
    """A parsed agent file: agents it defines, entrants (defined + ``use``d) and payoffs."""

    agents: tuple[ModalAgent, ...]
    entrants: tuple[str, ...]
    payoffs: Payoffs


def parse_agent_file(text: str, source: str = "<agents>", known: Iterable[str] = ()) -> AgentFile:
    """Parse the agent-file syntax (see the module docstring); ``known`` = names ``use`` may take."""
    agents: list[ModalAgent] = []
    entrants: list[str] = []
    payoffs = Payoffs()
    known = set(known)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("use ") or stripped == "use":
            names = [n.strip() for n in stripped[3:].split(",")]
            for n in names:
                if not _NAME_RE.match(n):
                    raise AgentFileError(source, lineno, f"'use' needs comma-separated agent names, got {n!r}")
                if n not in known and n not in {a.name for a in agents}:
                    raise AgentFileError(
                        source, lineno, f"unknown agent {n!r} in 'use'; built-ins: {', '.join(sorted(known))}"
                    )
                if n not in entrants:
                    entrants.append(n)
            continue
        if "=" not in stripped:
            raise AgentFileError(
                source, lineno, "expected 'agent NAME = FORMULA', 'use A, B' or 'payoffs = T, R, P, S'", indent + 1
            )
        head, body = stripped.split("=", 1)
        body_col = indent + len(head) + 2
        words = head.split()
        if words == ["payoffs"]:
            try:
                nums = [float(x) for x in body.split(",")]
            except ValueError:
                raise AgentFileError(source, lineno, "payoffs must be four numbers: T, R, P, S") from None
            if len(nums) != 4:
                raise AgentFileError(source, lineno, f"payoffs needs 4 numbers (T, R, P, S), got {len(nums)}")
            try:
                payoffs = Payoffs(*nums)
            except ValueError as err:
                raise AgentFileError(source, lineno, str(err)) from None
            continue
        if words and words[0] == "agent":
            words = words[1:]
        if len(words) != 1 or not _NAME_RE.match(words[0]):
            raise AgentFileError(
                source, lineno, f"bad agent name {head.strip()!r}; use 'agent NAME = FORMULA'", indent + 1
            )
        name = words[0]
        if name in {a.name for a in agents}:
            raise AgentFileError(source, lineno, f"agent {name!r} is defined twice")
        try:
            formula = parse(body)
        except FormulaSyntaxError as err:
            raise AgentFileError(source, lineno, err.reason, body_col + err.column - 1) from None
        try:
            agents.append(ModalAgent(name, formula))
        except ValueError as err:
            raise AgentFileError(source, lineno, str(err)) from None
        if name not in entrants:
            entrants.append(name)
    return AgentFile(tuple(agents), tuple(entrants), payoffs)


@lru_cache(maxsize=1)
def builtin_agents() -> dict[str, ModalAgent]:
    """The agents shipped in ``aflab/embedded/agent_files/classic.agents`` and ``variants.agents``."""
    out: dict[str, ModalAgent] = {}
    folder = resources.files("aflab.embedded") / "agent_files"
    for fname in ("classic.agents", "variants.agents"):
        parsed = parse_agent_file((folder / fname).read_text(encoding="utf-8"), fname, known=out)
        for agent in parsed.agents:
            out[agent.name] = agent
    return out


def load_agent_file(path: str) -> tuple[AgentFile, dict[str, ModalAgent]]:
    """Read an agent file; returns it and the library (built-ins overridden by the file's agents)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise ValueError(f"cannot read agent file {path!r}: {err.strerror}") from None
    parsed = parse_agent_file(text, path, known=builtin_agents())
    library = dict(builtin_agents())
    library.update({a.name: a for a in parsed.agents})
    check_library(library)
    return parsed, library


def check_library(library: Mapping[str, ModalAgent]) -> None:
    for agent in library.values():
        missing = agent.references() - set(library)
        if missing:
            raise ValueError(f"agent {agent.name} refers to unknown agent(s) {sorted(missing)}")


# ---------------------------------------------------------------------------------------------
# modal combat


def coop_var(a: str, b: str) -> str:
    """Name of the variable "agent a cooperates with agent b"."""
    return f"{a}|{b}"


def instantiate(agent: ModalAgent, opponent: str) -> Formula:
    """``agent``'s formula against ``opponent``, its atoms renamed to cooperation variables."""
    mapping = {}
    for a in atoms(agent.formula):
        who, target = _REF_RE.match(a).groups()
        if who == "them":
            mapping[a] = Atom(coop_var(opponent, target or agent.name))
        else:
            mapping[a] = Atom(coop_var(agent.name, target or opponent))
    return substitute(agent.formula, mapping)


def combat_system(pairs: Iterable[tuple[str, str]], library: Mapping[str, ModalAgent]) -> ModalSystem:
    """The closed system of equations for the given (row, column) pairs and all they refer to."""
    eqs: dict[str, Formula] = {}
    stack = [coop_var(x, y) for a, b in pairs for x, y in ((a, b), (b, a))]
    for a, b in pairs:
        for n in (a, b):
            if n not in library:
                raise ValueError(f"unknown agent {n!r}; known agents: {', '.join(sorted(library))}")
    while stack:
        var = stack.pop()
        if var in eqs:
            continue
        a, b = var.split("|")
        if a not in library:
            raise ValueError(f"unknown agent {a!r} (referenced from another agent)")
        f = instantiate(library[a], b)
        eqs[var] = f
        stack.extend(n for n in atoms(f) if n not in eqs)
    return ModalSystem.of(eqs)


@dataclass(frozen=True)
class MatchOutcome:
    """One modal combat: who cooperates, payoffs, the stabilisation rank, and the tableau check."""

    a: str
    b: str
    a_cooperates: bool
    b_cooperates: bool
    payoff_a: float
    payoff_b: float
    rank: int
    tableau_agrees: bool | None

    def actions(self) -> str:
        return ("C" if self.a_cooperates else "D") + ("C" if self.b_cooperates else "D")


def match(
    a: str,
    b: str,
    library: Mapping[str, ModalAgent] | None = None,
    payoffs: Payoffs = Payoffs(),
    cross_check: bool = True,
    max_sequents: int | None = None,
    base_boxes: bool = True,
) -> MatchOutcome:
    """Play A against B: solve on the linear frame and (optionally) certify with the tableau.

    ``tableau_agrees`` is None when not checked or when the tableau needed more than
    ``max_sequents`` sequents. ``base_boxes=False`` is the broken frame of
    :func:`aflab.embedded.solver.solve_linear` (a counterfactual for the claims).
    """
    library = builtin_agents() if library is None else library
    system = combat_system([(a, b)], library)
    sol = solve_linear(system, base_boxes=base_boxes)
    va, vb = coop_var(a, b), coop_var(b, a)
    ca, cb = sol.value(va), sol.value(vb)
    agrees = None
    if cross_check:
        agrees = tableau_cross_check(system, sol, sorted({va, vb}), max_sequents)
    return MatchOutcome(
        a, b, ca, cb, payoffs.row(ca, cb), payoffs.row(cb, ca), max(sol.rank_of(va), sol.rank_of(vb)), agrees
    )
