"""Compiling modal-agents programs (:mod:`aflab.embedded.language`) to GL formulas, and running files.

A definition compiled against a call (arguments, action and outcome lists) gives one formula per
action: "the program returns a". Code is compiled as a continuation (the formula of "the rest of the
program returns a"): ``return v`` ignores it, ``if c`` gives ``c & then(k) | ~c & else(k)``, falling off
the end returns the default (first) action; ``for`` loops and ``let`` run at compile time, in order
(this is how UDT's proof level escalates). Claims become atoms of the system:

- ``play: P, T1, ..., Tn.`` -- universe P against theories T_i: atoms ``U()=o`` and ``Ai()=a``;
- ``combat! X vs Y`` -- Prisoner's Dilemma agents (actions C, D) and ``compete: X vs Y`` -- agents over
  any actions: atoms ``X(Y)=a`` per side, closed over every ``Them(Z)`` the agents mention.

The closed system is solved on the linear frame (:func:`aflab.embedded.solver.solve_linear`, the
method of the reference generalised to N actions and players) and can be certified by the GL tableau
(:func:`aflab.embedded.solver.cross_check`). The enumeration rules (which actions a definition has, its
default, the order in which ``for`` visits them) follow the reference so that results are equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from aflab.embedded.formula import (
    BOT,
    TOP,
    Box,
    Dia,
    Formula,
    Iff,
    Implies,
    Not,
    Or,
    atoms,
    box_power,
    consistency,
    is_modalized_in,
    simplify,
)
from aflab.embedded.formula import And as _And
from aflab.embedded.language import Call, Def, Frag, ModalFile, Range, Ref, Stmt

Program = dict[str, Formula]  # action -> "the program returns it"
#: limits on user programs (a clear error instead of a hang): proof levels and number-loop lengths
MAX_LEVEL = 1000
MAX_RANGE = 100_000
Partial = Callable[[Program], Program]


class ModalRunError(ValueError):
    """A definition or command that cannot be compiled or solved: ``source:line:column: message``."""

    def __init__(self, source: str, line: int, column: int, message: str):
        self.source, self.line, self.column, self.reason = source, line, column, message
        super().__init__(f"{source}:{line}:{column}: {message}")


@dataclass(frozen=True)
class Tables:
    """What a compiled definition may return (``own``, in order: the first is the default) and the
    values of the other side (``other``: outcomes for a theory, responses for an agent, players'
    actions for a problem)."""

    own: tuple[str, ...]
    other: tuple[str, ...]


@dataclass(frozen=True)
class ClaimView:
    """A claim as the compiler hands it to the command that owns the atoms."""

    name: str
    call: Call | None
    value: str
    value_type: str | None  # own / other when the value came from a typed &variable


Resolver = Callable[[ClaimView], Formula]


def _and(a: Formula, b: Formula) -> Formula:
    if a is BOT or b is BOT:
        return BOT
    return b if a is TOP else a if b is TOP else _And(a, b)


def _or(a: Formula, b: Formula) -> Formula:
    if a is TOP or b is TOP:
        return TOP
    return b if a is BOT else a if b is BOT else Or(a, b)


def _not(a: Formula) -> Formula:
    return BOT if a is TOP else TOP if a is BOT else Not(a)


class DefCompiler:
    """Compiles one definition against one call: variables, loops and lets at compile time."""

    def __init__(self, d: Def, tables: Tables, variables: dict, resolve: Resolver, source: str, dialect: str):
        self.d, self.tables, self.vars, self.resolve = d, tables, dict(variables), resolve
        self.source, self.dialect = source, dialect

    def fail(self, node, message: str) -> None:
        line, col = (node.line, node.col) if node is not None else (self.d.line, 1)
        raise ModalRunError(self.source, line, col, f"error while compiling {self.d.name}: {message}")

    # --- values ----------------------------------------------------------------------------
    def number(self, ref: Ref, node) -> int:
        kind, val = ref
        if kind == "lit":
            return int(val)
        typ, v = self.vars.get(val, (None, None))
        if typ is None:
            self.fail(node, f"unknown number variable &{val}")
        if typ != "number":
            self.fail(node, f"{typ} variable &{val} used as a number")
        return int(v)

    def value(self, ref: Ref, node) -> tuple[str, str | None]:
        kind, val = ref
        if kind == "lit":
            return str(val), None
        typ, v = self.vars.get(val, (None, None))
        if typ is None:
            self.fail(node, f"unknown variable &{val}")
        if typ == "number":
            self.fail(node, f"number variable &{val} used as a value")
        return v, typ

    # --- statements --------------------------------------------------------------------------
    def statement(self, s: Stmt) -> Formula:
        op = s.op
        if op == "val":
            return TOP if s.value else BOT
        if op == "claim":
            return self.claim(s)
        if op == "not":
            return _not(self.statement(s.args[0]))
        if op in ("and", "or", "imp", "iff"):
            a, b = (self.statement(x) for x in s.args)
            return {"and": _and, "or": _or, "imp": Implies, "iff": Iff}[op](a, b)
        level = self.number(s.level, s)
        if not 0 <= level <= MAX_LEVEL:
            self.fail(s, f"proof level must be in 0..{MAX_LEVEL}, got {level}")
        if op == "con":  # the reference compiles Con(n) to []^n F ("incon"); aflab: PA+n is consistent
            return box_power(BOT, level) if self.dialect == "reference" else consistency(level + 1)
        inner = self.statement(s.args[0])
        return Box(inner, level) if op == "box" else Dia(inner, level)

    def claim(self, s: Stmt) -> Formula:
        atoms = []
        for ref in s.relation.values:
            value, typ = self.value(ref, s)
            try:
                atoms.append(self.resolve(ClaimView(s.name, s.call, value, typ)))
            except ValueError as err:
                self.fail(s, f"invalid claim {s.name}(...)={value}: {err}")
        hit = BOT
        for a in atoms:
            hit = _or(hit, a)
        return _not(hit) if s.relation.kind in ("neq", "notin") else hit

    # --- code --------------------------------------------------------------------------------
    def program(self) -> Program:
        """``{action: formula}`` for every action in ``tables.own`` (the first is the default)."""
        default = self.tables.own[0]
        done = {a: TOP if a == default else BOT for a in self.tables.own}
        if self.d.table is not None:
            given = {v: self.statement(s) for v, s in self.d.table}
            return {a: given.get(a, BOT) for a in self.tables.own}
        return self.block(self.d.code)(done)

    def block(self, frags: tuple[Frag, ...]) -> Partial:
        parts = [self.fragment(f) for f in frags]  # compiled in order: lets and loops see earlier state

        def run(k: Program) -> Program:
            for part in reversed(parts):
                k = part(k)
            return k

        return run

    def fragment(self, f: Frag) -> Partial:
        if f.op == "let":
            self.vars[f.var] = ("number", self.arith(f.expr, f))
            return lambda k: k
        if f.op == "pass":
            return lambda k: k
        if f.op == "return":
            v = self.tables.own[0] if f.value is None else self.value(f.value, f)[0]
            if v not in self.tables.own:
                self.fail(f, f"invalid return value {v}: expected one of [{', '.join(self.tables.own)}]")
            fixed = {a: TOP if a == v else BOT for a in self.tables.own}
            return lambda k: fixed
        if f.op == "if":
            return self._if(f)
        return self._for(f)

    def _if(self, f: Frag) -> Partial:
        cond = self.statement(f.cond)
        yes, no = self.block(f.body), self.block(f.orelse)

        def run(k: Program) -> Program:
            t, e = yes(k), no(k)
            return {a: _or(_and(cond, t[a]), _and(_not(cond), e[a])) for a in k}

        return run

    def _for(self, f: Frag) -> Partial:
        values = self.range_values(f)
        parts = []
        for v in values:
            self.vars[f.var] = (f.what, v)
            parts.append(self.block(f.body))

        def run(k: Program) -> Program:
            for part in reversed(parts):
                k = part(k)
            return k

        return run

    def range_values(self, f: Frag) -> list:
        r: Range = f.range
        if f.what == "number":
            if r.kind == "list":
                return [self.number(x, f) for x in r.items]
            start, stop = self.number(r.start, f), self.number(r.stop, f)
            if stop < start:
                self.fail(f, f"number range [{start}..{stop}] is empty-ended (the end must be >= the start)")
            if stop - start > MAX_RANGE:
                self.fail(f, f"number range [{start}..{stop}] has more than {MAX_RANGE} values")
            vals = list(range(start, stop))  # the reference's [a..b] stops before b
        else:
            pool = list(self.tables.own if f.what == "own" else self.tables.other)
            if r.kind == "all":
                return pool
            if r.kind == "list":
                return [self._member(self.value(x, f)[0], pool, f) for x in r.items]
            start = self._member(self.value(r.start, f)[0], pool, f)
            vals = pool[pool.index(start) :]
            if r.stop is not None:
                stop = self.value(r.stop, f)[0]
                vals = vals[: vals.index(stop)] if stop in vals else vals
        step = 1 if r.step is None else self.number(r.step, f)
        if step < 1:
            self.fail(f, f"range step must be >= 1, got {step}")
        return vals[::step]

    def _member(self, v: str, pool: list, f: Frag) -> str:
        if v not in pool:
            self.fail(f, f"invalid value {v} in a range: expected one of [{', '.join(pool)}]")
        return v

    def arith(self, e, node) -> int:
        if e.op == "num":
            return self.number(e.ref, node)
        a, b = (self.arith(x, node) for x in e.args)
        if e.op == "^" and not (b >= 0 and (abs(a) < 2 or b * max(abs(a).bit_length(), 1) <= 64)):
            self.fail(node, f"exponent out of range in {a}^{b} (results are limited to 64 bits)")
        value = {"+": a + b, "-": a - b, "*": a * b, "^": a**b if e.op == "^" else 0}[e.op]
        if abs(value) >= 2**63:
            self.fail(node, f"arithmetic result {value} does not fit in 64 bits")
        return value


# ---------------------------------------------------------------------------------------------
# enumerations and arguments (as the reference decides them)


def mentions(d: Def, claim_side: Callable[[str], str | None]) -> tuple[list[str], list[str]]:
    """Values a definition's code mentions: (own, other) -- literal returns and ``for`` ranges, then the
    literal values of its claims (``claim_side(subject)`` says whether a claim's values are own/other)."""
    own, other = [], []
    if d.table is not None:
        own = sorted(v for v, _ in d.table)  # the reference keeps a map: keys in sorted order
        claims = [s for _, s in d.table]
    else:
        claims = []
        _walk_code(d.code, own, other, claims)
    for s in claims:
        for node in _claims_in(s):
            side = claim_side(node.name)
            lits = [str(v) for k, v in node.relation.values if k == "lit"]
            (own if side == "own" else other if side == "other" else []).extend(lits)
    return own, other


def _walk_code(frags, own: list, other: list, claims: list) -> None:
    for f in frags:
        if f.op == "return" and f.value is not None and f.value[0] == "lit":
            own.append(str(f.value[1]))
        elif f.op == "for" and f.what in ("own", "other"):
            lits = [str(v) for k, v in _range_refs(f.range) if k == "lit"]
            (own if f.what == "own" else other).extend(lits)
        if f.cond is not None:
            claims.append(f.cond)
        _walk_code(f.body, own, other, claims)
        _walk_code(f.orelse, own, other, claims)


def _range_refs(r: Range) -> list[Ref]:
    if r.kind == "list":
        return list(r.items)
    if r.kind == "enum":
        return [x for x in (r.start, r.stop) if x is not None]
    return []


def _claims_in(s: Stmt) -> list[Stmt]:
    if s.op == "claim":
        return [s]
    return [c for a in s.args for c in _claims_in(a)]


def dedup(xs) -> tuple[str, ...]:
    return tuple(dict.fromkeys(xs))


def call_tables(d: Def, call: Call, base: Tables, source: str) -> Tables:
    """The reference's ``makeContext``: code mentions must be available; a call's lists reorder them."""
    own_m, other_m = mentions(d, _claim_side(d.kind))
    for mentioned, pool, what in ((own_m, base.own, "own"), (other_m, base.other, "other")):
        missing = sorted(set(mentioned) - set(pool))
        if missing:
            raise ModalRunError(
                source,
                d.line,
                1,
                f"error while compiling {d.name}: the {what} values [{', '.join(pool)}] exclude "
                f"{{{', '.join(missing)}}}, used in the code",
            )
    own, other = base.own, base.other
    for given, pool, what in ((call.actions, own, "action"), (call.outcomes, other, "outcome")):
        if given and set(given) != set(pool):
            raise ModalRunError(
                source,
                d.line,
                1,
                f"error while compiling {d.name}: {what} list mismatch: [{', '.join(pool)}] / [{', '.join(given)}]",
            )
    own = dedup(call.actions or own)
    other = dedup(call.outcomes or other)
    if not own or not other:
        raise ModalRunError(
            source,
            d.line,
            1,
            f"error while compiling {d.name}: {'action' if not own else 'outcome'} "
            "enumeration missing (give the lists in the problem or the call)",
        )
    return Tables(own, other)


def _claim_side(kind: str) -> Callable[[str], str | None]:
    if kind == "agent":
        return lambda n: "own" if n == "Me" else "other" if n == "Them" else None
    if kind == "problem":
        return lambda n: "own" if n == "U" else "other"
    return lambda n: "own" if n == "A" else "other" if n == "U" else None


def bind_arguments(d: Def, call: Call, tables: Tables, source: str) -> dict:
    """Parameters from the call's positional and keyword arguments (keywords win), else defaults."""

    def fail(msg: str):
        raise ModalRunError(source, d.line, 1, f"error while compiling {d.name}: {msg}")

    if len(call.args) > len(d.params):
        fail(f"too many arguments: expected {len(d.params)}, got {len(call.args)}")
    unknown = sorted(set(dict(call.kwargs)) - {p.name for p in d.params})
    if unknown:
        fail(f"unknown keyword arguments: {{{', '.join(unknown)}}}")
    out, kwargs = {}, dict(call.kwargs)
    for i, p in enumerate(d.params):
        raw = kwargs.get(p.name, call.args[i] if i < len(call.args) else p.default)
        if raw is None:
            fail(f"{p.type} argument {p.name} not given")
        if p.type == "number":
            if not re.fullmatch(r"-?\d+", raw):
                fail(f"argument type mismatch for {p.name}: expected a number, got {raw}")
            out[p.name] = ("number", int(raw))
        else:
            pool = tables.own if p.type == "own" else tables.other
            if raw not in pool:
                fail(f"argument type mismatch for {p.name}: expected one of {{{', '.join(pool)}}}, got {raw}")
            out[p.name] = (p.type, raw)
    return out


def compile_def(d: Def, call: Call, base: Tables, resolve: Resolver, f: ModalFile, dialect: str) -> Program:
    """``{action: formula}`` for a definition called as ``call`` (theories and agents must be modalized)."""
    tables = call_tables(d, call, base, f.source)
    variables = bind_arguments(d, call, tables, f.source)
    prog = DefCompiler(d, tables, variables, resolve, f.source, dialect).program()
    prog = {a: simplify(x) for a, x in prog.items()}
    if d.kind != "problem":
        for a, x in prog.items():
            names = _atom_names(x)
            if not is_modalized_in(x, names):
                raise ModalRunError(
                    f.source,
                    d.line,
                    1,
                    f"error while compiling {d.name}: unmodalized statement for {a}: every claim "
                    "about an agent or universe must be inside □⌜...⌝ / [n]⌜...⌝",
                )
    return prog


def _atom_names(f: Formula) -> set[str]:
    return set(atoms(f))


def lookup(f: ModalFile, kind: str, call: Call, line: int) -> Def:
    for d in f.defs:
        if d.kind == kind and d.name == call.name:
            return d
    raise ModalRunError(f.source, line, 1, f"unknown {kind}: {call.name}")


__all__ = [
    "ClaimView",
    "DefCompiler",
    "ModalRunError",
    "Program",
    "Tables",
    "bind_arguments",
    "call_tables",
    "compile_def",
    "lookup",
    "mentions",
]
