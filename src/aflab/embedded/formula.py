"""Formulas of Gödel–Löb provability logic GL, hash-consed.

A formula is an immutable :class:`Formula` node. Nodes are *interned*: building the same formula
twice returns the same object, so equality is identity, hashing is O(1) and sets/dicts of formulas
(the tableau's sequents) are cheap. Operators:

- ``T`` / ``F`` (verum / falsum), atoms ``p``, ``not``, binary ``and``/``or``/``imp``/``iff``;
- ``box(a, level)`` -- ``[] a`` for level 0 ("PA proves a") and ``[n] a`` for level n: "PA + n
  proves a", where PA+n is PA plus n iterated consistency statements. In GL this is
  ``[n] a := [] (~[]^n F -> a)`` (Boolos, *The Logic of Provability*, ch. 7; Barasz et al. 2014,
  sec. 5, who use ``[1]`` for PrudentBot). Because ``Con(PA+k)`` is ``~[]^{k+1} F``, iterating
  consistency n times adds exactly ``~[]^n F``.
- ``dia(a, level)`` -- ``<> a`` / ``<n> a``, i.e. ``~ [n] ~ a`` ("a is consistent with PA+n").

:func:`desugar` rewrites levels and diamonds into plain ``[]``, ``~``, ``&``, ``|`` (what the
tableau and the Kripke evaluator work on); :func:`simplify` does equivalence-preserving clean-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache, lru_cache

#: operator names, in printing-precedence groups
CONSTS = ("top", "bot")
BINARY = ("and", "or", "imp", "iff")
MODAL = ("box", "dia")

_TABLE: dict[tuple, Formula] = {}
_LOCK = threading.Lock()


class Formula:
    """One interned GL formula node. Build with the constructors below, never directly.

    Attributes: ``op`` (one of top, bot, atom, not, and, or, imp, iff, box, dia), ``args`` (child
    formulas), ``name`` (atom name, else ""), ``level`` (PA+level for box/dia, else 0).
    Python operators: ``~a``, ``a & b``, ``a | b``, ``a >> b`` (implies).
    """

    __slots__ = ("__weakref__", "args", "level", "name", "op", "uid")

    op: str
    args: tuple[Formula, ...]
    name: str
    level: int
    uid: int

    def __setattr__(self, key, value):  # immutability: nodes are shared
        raise AttributeError("Formula nodes are immutable (they are interned and shared)")

    def __reduce__(self):  # pickling rebuilds through the interning constructor
        return (_make, (self.op, self.args, self.name, self.level))

    def __repr__(self) -> str:
        return f"Formula({to_text(self)!r})"

    def __str__(self) -> str:
        return to_text(self)

    def __invert__(self) -> Formula:
        return Not(self)

    def __and__(self, other: Formula) -> Formula:
        return And(self, other)

    def __or__(self, other: Formula) -> Formula:
        return Or(self, other)

    def __rshift__(self, other: Formula) -> Formula:
        return Implies(self, other)

    def __lt__(self, other: Formula) -> bool:  # a stable order (creation order) for sorting
        return self.uid < other.uid


def _make(op: str, args: tuple = (), name: str = "", level: int = 0) -> Formula:
    key = (op, args, name, level)
    node = _TABLE.get(key)
    if node is not None:
        return node
    with _LOCK:
        node = _TABLE.get(key)
        if node is None:
            node = object.__new__(Formula)
            for attr, val in (("op", op), ("args", args), ("name", name), ("level", level), ("uid", len(_TABLE))):
                object.__setattr__(node, attr, val)
            _TABLE[key] = node
    return node


def _check(f: object, field: str) -> Formula:
    if not isinstance(f, Formula):
        raise ValueError(f"{field} must be a Formula (build one with aflab.embedded.parse), got {type(f).__name__}")
    return f


TOP = _make("top")
BOT = _make("bot")


def Atom(name: str) -> Formula:
    """A propositional letter. Names: identifiers, optionally ``f(X)`` (used for agent references)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"atom name must be a non-empty string, got {name!r}")
    return _make("atom", (), name)


def Not(a: Formula) -> Formula:
    return _make("not", (_check(a, "Not operand"),))


def And(*xs: Formula) -> Formula:
    """Conjunction, left-nested; ``And()`` is T."""
    if not xs:
        return TOP
    out = _check(xs[0], "And operand")
    for x in xs[1:]:
        out = _make("and", (out, _check(x, "And operand")))
    return out


def Or(*xs: Formula) -> Formula:
    """Disjunction, left-nested; ``Or()`` is F."""
    if not xs:
        return BOT
    out = _check(xs[0], "Or operand")
    for x in xs[1:]:
        out = _make("or", (out, _check(x, "Or operand")))
    return out


def Implies(a: Formula, b: Formula) -> Formula:
    return _make("imp", (_check(a, "Implies antecedent"), _check(b, "Implies consequent")))


def Iff(a: Formula, b: Formula) -> Formula:
    return _make("iff", (_check(a, "Iff left side"), _check(b, "Iff right side")))


def _level(level: int) -> int:
    if not isinstance(level, int) or isinstance(level, bool) or level < 0:
        raise ValueError(f"box level must be an int >= 0 (PA + level), got {level!r}")
    return level


def Box(a: Formula, level: int = 0) -> Formula:
    """``[] a`` (level 0: provable in PA) or ``[n] a`` (provable in PA + n consistency steps)."""
    return _make("box", (_check(a, "Box operand"),), "", _level(level))


def Dia(a: Formula, level: int = 0) -> Formula:
    """``<> a`` = ``~[]~a`` (a is consistent with PA + level)."""
    return _make("dia", (_check(a, "Dia operand"),), "", _level(level))


def box_power(a: Formula, n: int) -> Formula:
    """``[]^n a``; ``box_power(F, n)`` is the letterless ``[]^n F`` ("PA+n-1 is inconsistent")."""
    for _ in range(n):
        a = Box(a)
    return a


def consistency(n: int) -> Formula:
    """``~[]^n F``: n iterated consistency statements (true in the standard model for every n)."""
    return Not(box_power(BOT, n)) if n > 0 else TOP


def strong_box(a: Formula) -> Formula:
    """``[.] a := a & [] a`` (reflexive closure of box, used for fixed-point uniqueness)."""
    return And(a, Box(a))


# ---------------------------------------------------------------------------------------------
# traversal helpers


def subformulas(f: Formula) -> list[Formula]:
    """All distinct subformulas, children before parents (a topological order of the DAG)."""
    seen: set[Formula] = set()
    order: list[Formula] = []
    stack: list[tuple[Formula, bool]] = [(f, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child in reversed(node.args):
            if child not in seen:
                stack.append((child, False))
    return order


def atoms(f: Formula) -> frozenset[str]:
    """Names of the atoms in ``f``."""
    return frozenset(n.name for n in subformulas(f) if n.op == "atom")


def is_letterless(f: Formula) -> bool:
    return not atoms(f)


@lru_cache(maxsize=200_000)
def modal_depth(f: Formula) -> int:
    """Nesting depth of boxes after desugaring (``[n] a`` counts as depth ``max(n, d(a)) + 1``)."""
    if f.op in ("box", "dia"):
        return max(f.level, modal_depth(f.args[0])) + 1
    return max((modal_depth(a) for a in f.args), default=0)


def size(f: Formula) -> int:
    """Number of nodes of the formula *tree* (shared subterms counted each time)."""
    return 1 + sum(size(a) for a in f.args)


def is_modalized_in(f: Formula, names: Iterable[str]) -> bool:
    """True when every occurrence of an atom in ``names`` lies in the scope of a box/diamond."""
    names = frozenset(names)

    @cache
    def ok(node: Formula) -> bool:
        if node.op == "atom":
            return node.name not in names
        if node.op in MODAL:
            return True
        return all(ok(a) for a in node.args)

    return ok(f)


def substitute(f: Formula, mapping: dict[str, Formula]) -> Formula:
    """Replace atoms by formulas, simultaneously (memoised over the DAG)."""
    if not mapping:
        return f
    memo: dict[Formula, Formula] = {}
    for node in subformulas(f):
        if node.op == "atom":
            memo[node] = mapping.get(node.name, node)
        elif node.args:
            new_args = tuple(memo[a] for a in node.args)
            memo[node] = node if new_args == node.args else _make(node.op, new_args, node.name, node.level)
        else:
            memo[node] = node
    return memo[f]


def replace_nodes(f: Formula, mapping: dict[Formula, Formula]) -> Formula:
    """Replace whole subformula occurrences (outermost first) by other formulas."""
    memo: dict[Formula, Formula] = {}

    def go(node: Formula) -> Formula:
        if node in mapping:
            return mapping[node]
        if node in memo:
            return memo[node]
        new_args = tuple(go(a) for a in node.args)
        out = node if new_args == node.args else _make(node.op, new_args, node.name, node.level)
        memo[node] = out
        return out

    return go(f)


# ---------------------------------------------------------------------------------------------
# desugaring and simplification


@lru_cache(maxsize=500_000)
def desugar(f: Formula) -> Formula:
    """Rewrite into plain GL over T, F, atoms, ~, &, |, [] (level 0).

    ``a -> b = ~a | b``; ``a <-> b = (a & b) | (~a & ~b)``; ``[n] a = [] (~[]^n F -> a)``;
    ``<n> a = ~[n]~a``. The result is GL-equivalent to ``f``.
    """
    op = f.op
    if op in ("top", "bot", "atom"):
        return f
    if op == "not":
        return Not(desugar(f.args[0]))
    if op == "and":
        return And(desugar(f.args[0]), desugar(f.args[1]))
    if op == "or":
        return Or(desugar(f.args[0]), desugar(f.args[1]))
    if op == "imp":
        return Or(Not(desugar(f.args[0])), desugar(f.args[1]))
    if op == "iff":
        a, b = desugar(f.args[0]), desugar(f.args[1])
        return Or(And(a, b), And(Not(a), Not(b)))
    inner = desugar(f.args[0])
    if op == "dia":
        inner = Not(inner)
    if f.level:
        inner = Or(box_power(BOT, f.level), inner)
    boxed = Box(inner)
    return Not(boxed) if op == "dia" else boxed


@lru_cache(maxsize=500_000)
def simplify(f: Formula) -> Formula:
    """Equivalence-preserving simplification (constant folding and local identities).

    Rules (each a GL theorem): ``~~a = a``, ``a & T = a``, ``a & F = F``, ``a & a = a``,
    ``a & ~a = F`` and duals; ``T -> a = a``, ``a -> T = T``, ``F -> a = T``, ``a -> F = ~a``,
    ``a -> a = T``; ``a <-> a = T``, ``a <-> T = a``, ``a <-> F = ~a``; ``[n] T = T``,
    ``<n> F = F``. The result is never larger than the input.
    """
    op = f.op
    if op in ("top", "bot", "atom"):
        return f
    args = tuple(simplify(a) for a in f.args)
    if op == "not":
        a = args[0]
        if a is TOP:
            return BOT
        if a is BOT:
            return TOP
        if a.op == "not":
            return a.args[0]
        return Not(a)
    if op in ("and", "or"):
        a, b = args
        unit, zero = (TOP, BOT) if op == "and" else (BOT, TOP)
        if a is zero or b is zero:
            return zero
        if a is unit:
            return b
        if b is unit or a is b:
            return a
        if (a.op == "not" and a.args[0] is b) or (b.op == "not" and b.args[0] is a):
            return zero
        return _make(op, (a, b))
    if op == "imp":
        a, b = args
        if a is BOT or b is TOP or a is b:
            return TOP
        if a is TOP:
            return b
        if b is BOT:
            return simplify(Not(a))
        return Implies(a, b)
    if op == "iff":
        a, b = args
        if a is b:
            return TOP
        for x, y in ((a, b), (b, a)):
            if x is TOP:
                return y
            if x is BOT:
                return simplify(Not(y))
        return Iff(a, b)
    a = args[0]
    if op == "box":
        return TOP if a is TOP else Box(a, f.level)
    return BOT if a is BOT else Dia(a, f.level)


# ---------------------------------------------------------------------------------------------
# printing

_PREC = {"iff": 1, "imp": 2, "or": 3, "and": 4}
_SYM = {"iff": "<->", "imp": "->", "or": "|", "and": "&"}


def to_text(f: Formula) -> str:
    """Readable text that :func:`aflab.embedded.parse.parse` reads back to the same formula.

    ``->`` is right-associative; ``&``/``|`` are printed left-nested without brackets.
    """
    memo: dict[Formula, str] = {}

    def unary(node: Formula) -> str:
        if node.op == "top":
            return "T"
        if node.op == "bot":
            return "F"
        if node.op == "atom":
            return node.name
        if node.op == "not":
            return "~" + unary(node.args[0])
        if node.op in MODAL:
            if node.op == "box":
                head = "[]" if node.level == 0 else f"[{node.level}]"
            else:
                head = "<>" if node.level == 0 else f"<{node.level}>"
            return head + " " + unary(node.args[0])
        return "(" + go(node) + ")"

    def go(node: Formula) -> str:
        if node in memo:
            return memo[node]
        if node.op not in _PREC:
            out = unary(node)
        else:
            p = _PREC[node.op]
            a, b = node.args
            if node.op == "imp":  # right associative
                left = go(a) if _PREC.get(a.op, 9) > p else unary_or_paren(a)
                right = go(b) if _PREC.get(b.op, 9) >= p else unary_or_paren(b)
            elif node.op == "iff":  # non-associative: bracket nested iffs
                left = go(a) if _PREC.get(a.op, 9) > p else unary_or_paren(a)
                right = go(b) if _PREC.get(b.op, 9) > p else unary_or_paren(b)
            else:  # left associative & and |
                left = go(a) if _PREC.get(a.op, 9) >= p else unary_or_paren(a)
                right = go(b) if _PREC.get(b.op, 9) > p else unary_or_paren(b)
            out = f"{left} {_SYM[node.op]} {right}"
        memo[node] = out
        return out

    def unary_or_paren(node: Formula) -> str:
        return "(" + go(node) + ")" if node.op in _PREC else unary(node)

    return go(f)
