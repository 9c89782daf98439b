"""Running modal-agents files: ``play``, ``combat`` and ``compete`` commands, results and output formats.

``aflab embedded run FILE`` parses the file (:mod:`aflab.embedded.language`), compiles each command's
participants (:mod:`aflab.embedded.programs`) into one closed modal system, solves it on the linear
frame and (with ``--check``) certifies every player's action with the GL tableau under a budget.
``--format reference`` prints each command as the Haskell ModalCombat reference does
(``FiveAndTen as U vs`` / ``    UDT(5) as A:`` / ``  Result: U()=$10, A()=10``), so outputs can be diffed;
the reference's optional Kripke-frame and combat-map tables are not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aflab.embedded.agents import ModalAgent
from aflab.embedded.formula import Atom, Formula, Iff, Not, simplify, substitute
from aflab.embedded.glsat import valid
from aflab.embedded.language import Call, Command, ModalFile, parse_file
from aflab.embedded.programs import ClaimView, ModalRunError, Program, Tables, compile_def, dedup, lookup, mentions
from aflab.embedded.solver import ModalSystem, cross_check, solve_linear

PD_TABLES = Tables(("C", "D"), ("C", "D"))


@dataclass(frozen=True)
class CommandResult:
    """One command's outcome: who played, what each did, and how it was certified."""

    command: Command
    header: str  # the reference's header lines
    players: tuple[tuple[str, str], ...]  # (label as the reference prints it, value)
    rank: int  # world of the linear frame from which every result is stable
    n_equations: int
    certificate: str  # agrees / disagrees / unchecked / not run

    @property
    def result_line(self) -> str:
        return "  Result: " + ", ".join(f"{k}={v}" for k, v in self.players)


@dataclass(frozen=True)
class SystemBuild:
    equations: dict[str, Formula]
    players: tuple[tuple[str, str, tuple[str, ...]], ...]  # (label, variable prefix, values in order)


# ---------------------------------------------------------------------------------------------
# play: a universe against theories


def _effective(d, call: Call) -> tuple[list[str], list[str]]:
    """The reference's ``effectiveAOs``: a call's lists if given, else the values the code mentions."""
    side = {"agent": {"Me": "own", "Them": "other"}, "problem": {"U": "own"}, "theory": {"A": "own", "U": "other"}}
    table = side[d.kind]
    default = "other" if d.kind == "problem" else None
    own, other = mentions(d, lambda n: table.get(n, default))
    return list(call.actions) or own, list(call.outcomes) or other


def _player_number(name: str) -> int | None:
    if name == "A":
        return 1
    if name.startswith("A") and name[1:].isdigit():
        return int(name[1:])
    return None


def _problem_resolver(u_values: set, a_values: set):
    def resolve(c: ClaimView) -> Formula:
        if c.name == "U":
            if c.call is not None:
                raise ValueError("cannot reason about self vs other agents")
            if c.value_type == "other" or c.value not in u_values:
                raise ValueError(f"expected one of the outcomes {{{', '.join(sorted(u_values))}}}")
            return Atom(f"U()={c.value}")
        n = _player_number(c.name)
        if n is None or n < 1:
            raise ValueError("not a valid agent (use A1, A2, ...)")
        if c.call is not None:
            raise ValueError("universe cannot reason about agents vs other universes")
        if c.value_type == "own" or c.value not in a_values:
            raise ValueError(f"expected one of the actions {{{', '.join(sorted(a_values))}}}")
        return Atom(f"A{n}()={c.value}")

    return resolve


def _theory_resolver(i: int, tables: Tables):
    def resolve(c: ClaimView) -> Formula:
        if c.name not in ("A", "U"):
            raise ValueError("invalid player (use A or U)")
        if c.call is not None:
            raise ValueError("a theory cannot reason about other universes or agents")
        own = c.name == "A"
        if (own and c.value_type == "other") or (not own and c.value_type == "own"):
            raise ValueError("'A' returns actions and 'U' outcomes")
        pool = tables.own if own else tables.other
        if c.value not in pool:
            raise ValueError(f"expected one of {{{', '.join(pool)}}}")
        return Atom(f"A{i}()={c.value}" if own else f"U()={c.value}")

    return resolve


def play_system(f: ModalFile, cmd: Command, dialect: str) -> SystemBuild:
    pcall, tcalls = cmd.calls[0], cmd.calls[1:]
    pdef = lookup(f, "problem", pcall, cmd.line)
    p_own, p_other = _effective(pdef, pcall)
    u_values = dedup(pdef.outcome_list or p_own)
    a_values = dedup([a for lst in pdef.action_lists for a in lst] or p_other)
    ptab = Tables(u_values, a_values)
    prog = compile_def(pdef, pcall, ptab, _problem_resolver(set(u_values), set(a_values)), f, dialect)
    eqs = {f"U()={o}": x for o, x in prog.items()}
    lists = pdef.action_lists
    if len(lists) != 1 and len(lists) < len(tcalls):
        raise ModalRunError(
            f.source, cmd.line, 1, f"{pcall.name} gives action lists for {len(lists)} players, {len(tcalls)} play"
        )
    players = [("U()", "U()=", tuple(prog))]
    for i, tcall in enumerate(tcalls, start=1):
        tdef = lookup(f, "theory", tcall, cmd.line)
        own, other = _effective(tdef, tcall)
        base = Tables(dedup(own or lists[0 if len(lists) == 1 else i - 1]), dedup(other or pdef.outcome_list))
        tprog = compile_def(tdef, tcall, base, _theory_resolver(i, base), f, dialect)
        eqs.update({f"A{i}()={a}": x for a, x in tprog.items()})
        label = "A()" if len(tcalls) == 1 else f"A{i}()"
        players.append((label, f"A{i}()=", tuple(tprog)))
    return SystemBuild(eqs, tuple(players))


# ---------------------------------------------------------------------------------------------
# combat and compete: agents against agents


def _agent_resolver(tables: Tables, subagents: dict):
    def resolve(c: ClaimView) -> Formula:
        if c.name == "Me":
            if c.value_type == "other":
                raise ValueError("'Me' returns actions, not responses")
            if c.call is not None and c.call != Call("Them"):
                raise ValueError("cannot reason about what 'Me' would do against another")
            if c.value not in tables.own:
                raise ValueError(f"expected one of {{{', '.join(tables.own)}}}")
            return Atom(f"me={c.value}")
        if c.name != "Them":
            raise ValueError("claim must be about 'Me' or 'Them'")
        if c.value_type == "own":
            raise ValueError("'Them' returns responses, not actions")
        if c.value not in tables.other:
            raise ValueError(f"expected one of {{{', '.join(tables.other)}}}")
        if c.call is None or c.call == Call("Me"):
            return Atom(f"them={c.value}")
        subagents[c.call.show()] = c.call
        return Atom(f"them<{c.call.show()}>={c.value}")

    return resolve


def _var(side: int, me: Call, them: Call, value: str) -> str:
    return f"{side}:{me.show()}({them.show()})={value}"


class Arena:
    """Compiles each (side, call) once, to formulas over ``me=``, ``them=`` and ``them<X>=`` atoms."""

    def __init__(self, f: ModalFile, tables: tuple[Tables, Tables], dialect: str, line: int):
        self.f, self.tables, self.dialect, self.line = f, tables, dialect, line
        self.cache: dict[tuple[int, Call], tuple[Program, dict]] = {}

    def agent(self, side: int, call: Call) -> tuple[Program, dict]:
        key = (side, call)
        if key not in self.cache:
            d = lookup(self.f, "agent", call, self.line)
            subs: dict = {}
            prog = compile_def(
                d, call, self.tables[side - 1], _agent_resolver(self.tables[side - 1], subs), self.f, self.dialect
            )
            self.cache[key] = (prog, subs)
        return self.cache[key]

    def equations(self, c1: Call, c2: Call) -> dict[str, Formula]:
        """The closed system of ``c1`` (side 1) against ``c2`` (side 2) and every ``Them(X)`` they reach."""
        eqs: dict[str, Formula] = {}
        todo, seen = [(c1, c2)], set()
        while todo:
            a, b = todo.pop()
            if (a, b) in seen:
                continue
            seen.add((a, b))
            for side, me, them in ((1, a, b), (2, b, a)):
                prog, subs = self.agent(side, me)
                other = 3 - side
                mapping = {f"me={v}": Atom(_var(side, me, them, v)) for v in self.tables[side - 1].own}
                mapping.update({f"them={v}": Atom(_var(other, them, me, v)) for v in self.tables[side - 1].other})
                for key, x in subs.items():
                    mapping.update(
                        {f"them<{key}>={v}": Atom(_var(other, them, x, v)) for v in self.tables[side - 1].other}
                    )
                    todo.append((x, b) if side == 1 else (a, x))
                for v, fml in prog.items():
                    eqs[_var(side, me, them, v)] = substitute(fml, mapping)
        return eqs


def versus_system(f: ModalFile, cmd: Command, dialect: str) -> SystemBuild:
    c1, c2 = cmd.calls
    if cmd.op == "combat":
        tables = (PD_TABLES, PD_TABLES)
    else:
        (as1, os1), (as2, os2) = (_effective(lookup(f, "agent", c, cmd.line), c) for c in (c1, c2))
        tables = (Tables(dedup(as1), dedup(as2 + os1)), Tables(dedup(as2), dedup(as1 + os2)))
    arena = Arena(f, tables, dialect, cmd.line)
    eqs = arena.equations(c1, c2)
    players = (
        (c1.show(), f"1:{c1.show()}({c2.show()})=", tuple(arena.agent(1, c1)[0])),
        (c2.show(), f"2:{c2.show()}({c1.show()})=", tuple(arena.agent(2, c2)[0])),
    )
    return SystemBuild(eqs, players)


# ---------------------------------------------------------------------------------------------
# running


def header(cmd: Command) -> str:
    """The reference's header: ``X vs Y:`` or ``P as U vs`` / ``    T as A:``."""
    if cmd.op != "play":
        return f"{cmd.calls[0].show()} vs {cmd.calls[1].show()}:"
    agents = cmd.calls[1:]
    names = [f"{c.show()} as A{'' if len(agents) == 1 else i}" for i, c in enumerate(agents, start=1)]
    return f"{cmd.calls[0].show()} as U vs\n    " + ",\n    ".join(names) + ":"


def solve_command(f: ModalFile, cmd: Command, dialect: str, extra: dict[str, Formula] | None = None):
    """Build and solve one command's system (``extra``: more equations, e.g. a query ``[](A1()=a -> U()=o)``
    to read off which proof fired). Returns (build, system, solution)."""
    build = play_system(f, cmd, dialect) if cmd.op == "play" else versus_system(f, cmd, dialect)
    try:
        system = ModalSystem.of({**build.equations, **(extra or {})})
        sol = solve_linear(system)
    except ValueError as err:
        raise ModalRunError(f.source, cmd.line, 1, f"cannot solve '{cmd.op}': {err}") from None
    return build, system, sol


def run_command(
    f: ModalFile, cmd: Command, dialect: str, check: bool = False, max_sequents: int = 200_000
) -> CommandResult:
    """Solve a command, read each player's unique action, and (``check``) certify them under a budget."""
    build, system, sol = solve_command(f, cmd, dialect)
    results, claimed = [], []
    for label, prefix, values in build.players:
        true = [v for v in values if sol.value(prefix + v)]
        if len(true) != 1:
            raise ModalRunError(
                f.source,
                cmd.line,
                1,
                f"{label} takes {len(true)} of its values {list(values)} (the programs are not "
                "mutually exclusive and exhaustive)",
            )
        results.append((label, true[0]))
        claimed.extend(prefix + v for v in values)
    rank = max(sol.rank_of(v) for v in claimed)
    certificate = "not run"
    if check:
        ok = cross_check(system, sol, claimed, max_sequents)
        certificate = {True: "agrees", False: "disagrees", None: "unchecked"}[ok]
    return CommandResult(cmd, header(cmd), tuple(results), rank, len(build.equations), certificate)


def run_file(path: str | Path, check: bool = False, max_sequents: int = 200_000) -> list[CommandResult]:
    """Parse and run every command of a modal-agents file (``.ua`` files use the reference dialect)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason})") from None
    return run_text(text, str(path), check, max_sequents)


def run_text(
    text: str, source: str = "<modal>", check: bool = False, max_sequents: int = 200_000
) -> list[CommandResult]:
    """Run every command of a file's text. Without ``check``, all ``combat`` commands are solved together
    by the all-pairs round-robin solver (:func:`combats_at_once`); the rest one by one."""
    f = parse_file(text, source)
    dialect = "reference" if source.endswith(".ua") else "aflab"
    fast = {} if check else combats_at_once(f, [c for c in f.commands if c.op == "combat"], dialect)
    return [fast.get(id(c)) or run_command(f, c, dialect, check, max_sequents) for c in f.commands]


def _as_modal_agent(name: str, prog: Program, subs: dict, names: dict) -> ModalAgent | None:
    """A compiled Prisoner's-Dilemma program as a :class:`ModalAgent` (cooperate iff its C formula), or
    None when its D formula is not literally the negation of C (a hand-written map: solve it alone)."""
    c, d = prog["C"], prog["D"]
    if not (d is Not(c) or c is Not(d) or simplify(Not(c)) is d or valid(Iff(d, Not(c)))):
        return None
    mapping = {"me=C": Atom("me"), "me=D": Not(Atom("me")), "them=C": Atom("them"), "them=D": Not(Atom("them"))}
    for key, call in subs.items():
        mapping[f"them<{key}>=C"] = Atom(f"them({names[call]})")
        mapping[f"them<{key}>=D"] = Not(Atom(f"them({names[call]})"))
    return ModalAgent(name, substitute(c, mapping))


def combats_at_once(f: ModalFile, cmds: list[Command], dialect: str) -> dict[int, CommandResult]:
    """Every ``combat`` command solved in one all-pairs run of :func:`aflab.embedded.tournament.solve_all_pairs`
    (the same fixed point as one system per command: the agents and the PD tables are the same). Commands
    whose agents are not plain C/D programs are left out (run one by one)."""
    from aflab.embedded.tournament import solve_all_pairs

    if len(cmds) < 2:
        return {}
    arena = Arena(f, (PD_TABLES, PD_TABLES), dialect, cmds[0].line)
    calls = list(dict.fromkeys(c for cmd in cmds for c in cmd.calls))
    names: dict[Call, str] = {}
    k = 0
    while k < len(calls):  # close over Them(X)
        names.setdefault(calls[k], f"M{len(names)}")
        for x in arena.agent(1, calls[k])[1].values():
            if x not in calls:
                calls.append(x)
        k += 1
    lib = {}
    for call in calls:
        agent = _as_modal_agent(names[call], *arena.agent(1, call), names)
        if agent is None:
            return {}
        lib[agent.name] = agent
    order = [names[c] for c in calls]
    hist = solve_all_pairs(order, lib)
    pos = {c: i for i, c in enumerate(calls)}
    out = {}
    for cmd in cmds:
        i, j = pos[cmd.calls[0]], pos[cmd.calls[1]]
        cols = hist[:, [i, j], [j, i]]
        changed = cols != cols[-1][None]
        rank = int(max((hist.shape[0] - np.argmax(changed[::-1, q]) if changed[:, q].any() else 0) for q in (0, 1)))
        players = tuple((c.show(), "C" if v else "D") for c, v in zip(cmd.calls, cols[-1]))
        out[id(cmd)] = CommandResult(cmd, header(cmd), players, rank, 0, "not run")
    return out


def reference_lines(results: list[CommandResult]) -> str:
    """The reference's output for the commands (headers and result lines; hidden commands print nothing)."""
    return "".join(f"{r.header}\n{r.result_line}\n\n" for r in results if not r.command.hidden)


def shipped(name: str = "decision_problems.ua") -> str:
    """The text of a modal-agents file shipped in ``aflab/embedded/modal_files``."""
    from importlib import resources

    return (resources.files("aflab.embedded") / "modal_files" / name).read_text(encoding="utf-8")


def with_plays(plays: list[str], name: str = "decision_problems.ua") -> ModalFile:
    """A shipped file's definitions with the given ``play:`` lines as its commands."""
    f = parse_file(shipped(name), name)
    extra = parse_file("".join(f"play: {p}.\n" for p in plays), name)
    return ModalFile(name, f.defs, extra.commands)


def play_shipped(plays: list[str], name: str = "decision_problems.ua", check: bool = False) -> list[CommandResult]:
    """Run ``play:`` lines (e.g. ``"Newcomb(1), UDT(one_box, level=2, step=1)"``) against the definitions of
    a shipped file (its own commands are not run)."""
    merged = with_plays(plays, name)
    dialect = "reference" if name.endswith(".ua") else "aflab"
    return [run_command(merged, c, dialect, check) for c in merged.commands]
