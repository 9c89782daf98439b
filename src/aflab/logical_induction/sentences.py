"""Propositional sentences: a hash-consed AST, a parser with column-numbered errors, a printer.

The logical-induction market (Garrabrant et al. 2016, sec. 3-5) prices sentences of a language;
here the language is propositional logic over *atoms* whose meaning is supplied by a deductive
process (``pi_digit(7)=3`` is settled by computing pi, ``rain`` by an observation, ``P_5(rain)>0.7``
by the market's own price history -- the introspective sentences of sec. 4.11).

Hash-consing: every structurally equal sentence is the *same* Python object (``a is b``), with a
dense integer ``uid``; so sentences are cheap dictionary keys and DAG-shared.

Grammar (lowest to highest precedence)::

    iff   := imp ('<->' imp)*
    imp   := or ('->' imp)?               (right associative)
    or    := and ('|' and)*
    and   := unary ('&' unary)*
    unary := '~' unary | '(' iff ')' | 'true' | 'false' | price | atom
    atom  := NAME [ '(' ARG (',' ARG)* ')' ] [ '=' ARG ]          e.g. pi_digit(7) = 3
    price := 'P_' INT '(' iff ')' ('>' | '<') NUMBER             e.g. P_5(rain) > 0.7
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

#: node kinds
ATOM, NOT, AND, OR, IMPLIES, IFF, CONST = "atom", "not", "and", "or", "implies", "iff", "const"


class Sentence:
    """One hash-consed node. Build with :func:`atom`, :func:`neg`, :func:`conj`, ... or :func:`parse`."""

    __slots__ = ("__weakref__", "_atoms", "args", "kind", "name", "uid")

    def __init__(self, kind: str, args: tuple[Sentence, ...], name: str, uid: int):
        self.kind, self.args, self.name, self.uid = kind, args, name, uid
        self._atoms: frozenset[str] | None = None

    def __hash__(self) -> int:
        return self.uid

    def __eq__(self, other: object) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"Sentence({to_text(self)!r})"

    def __str__(self) -> str:
        return to_text(self)

    def __reduce__(self):  # pickles by text, re-interned on load (worker processes)
        return (parse, (to_text(self),))

    @property
    def atoms(self) -> frozenset[str]:
        """Names of the atoms this sentence mentions."""
        if self._atoms is None:
            if self.kind == ATOM:
                self._atoms = frozenset((self.name,))
            else:
                self._atoms = frozenset().union(*(a.atoms for a in self.args)) if self.args else frozenset()
        return self._atoms

    # operator sugar
    def __invert__(self) -> Sentence:
        return neg(self)

    def __and__(self, other: Sentence) -> Sentence:
        return conj(self, other)

    def __or__(self, other: Sentence) -> Sentence:
        return disj(self, other)


_TABLE: dict[tuple, Sentence] = {}


def _intern(kind: str, args: tuple[Sentence, ...] = (), name: str = "") -> Sentence:
    key = (kind, tuple(a.uid for a in args), name)
    node = _TABLE.get(key)
    if node is None:
        node = Sentence(kind, args, name, len(_TABLE))
        _TABLE[key] = node
    return node


def atom(name: str) -> Sentence:
    """An atom; the name is canonicalised (whitespace removed), e.g. ``pi_digit(7)=3``."""
    clean = re.sub(r"\s+", "", name)
    if not clean:
        raise ValueError("atom name must be non-empty")
    return _intern(ATOM, (), clean)


TRUE = _intern(CONST, (), "true")
FALSE = _intern(CONST, (), "false")


def neg(x: Sentence) -> Sentence:
    return _intern(NOT, (x,))


def conj(*xs: Sentence) -> Sentence:
    if len(xs) == 1:
        return xs[0]
    if not xs:
        return TRUE
    return _intern(AND, tuple(xs))


def disj(*xs: Sentence) -> Sentence:
    if len(xs) == 1:
        return xs[0]
    if not xs:
        return FALSE
    return _intern(OR, tuple(xs))


def implies(a: Sentence, b: Sentence) -> Sentence:
    return _intern(IMPLIES, (a, b))


def iff(a: Sentence, b: Sentence) -> Sentence:
    return _intern(IFF, (a, b))


def price_atom(day: int, sentence: Sentence, threshold: float, above: bool = True) -> Sentence:
    """The introspective atom ``P_day(sentence) > threshold`` (or ``<``), settled by the market's history.

    The atom's *name* encodes its whole meaning (the threshold printed with ``repr``, which round-trips a
    float exactly), so :func:`price_atom_meaning` recovers it from the sentence alone: there is no registry,
    and which price atoms a run settles is a property of its scenario (:attr:`.deduction.Scenario.price_atoms`).
    """
    if day < 1:
        raise ValueError(f"price atom day must be >= 1, got {day}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"price atom threshold must lie in [0, 1], got {threshold}")
    return atom(f"P_{day}({to_text(sentence)}){'>' if above else '<'}{float(threshold)!r}")


@dataclass(frozen=True)
class PriceAtom:
    """The meaning of an introspective atom: ``P_day(sentence) > threshold`` (``above``) or ``<``."""

    day: int
    sentence: Sentence
    threshold: float
    above: bool

    def holds(self, price: float) -> bool:
        """Its truth given the price of ``sentence`` on ``day``."""
        return price > self.threshold if self.above else price < self.threshold


_PRICE_NAME = re.compile(r"^P_(\d+)\((.*)\)([<>])(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)$")


def price_atom_meaning(s: Sentence) -> PriceAtom | None:
    """Decode an introspective atom from its name (``None`` for any other sentence). Pure: the same name
    always gives the same meaning, whatever else the process has built."""
    if s.kind != ATOM or not s.name.startswith("P_"):
        return None
    return _decode_price_name(s.name)


@functools.lru_cache(maxsize=65536)
def _decode_price_name(name: str) -> PriceAtom | None:
    m = _PRICE_NAME.match(name)
    if m is None:
        return None
    return PriceAtom(int(m.group(1)), parse(m.group(2)), float(m.group(4)), m.group(3) == ">")


def exactly_one(xs: Iterable[Sentence]) -> list[Sentence]:
    """Axioms saying exactly one of ``xs`` holds: one disjunction plus pairwise exclusions."""
    xs = list(xs)
    axioms = [disj(*xs)]
    axioms += [neg(conj(xs[i], xs[j])) for i in range(len(xs)) for j in range(i + 1, len(xs))]
    return axioms


# ---------------------------------------------------------------------------------------------
# printer

_PREC = {IFF: 1, IMPLIES: 2, OR: 3, AND: 4, NOT: 5, ATOM: 6, CONST: 6}
_SYM = {IFF: " <-> ", IMPLIES: " -> ", OR: " | ", AND: " & "}


def _pretty_atom(name: str) -> str:
    # 'pi_digit(7)=3' -> 'pi_digit(7) = 3'; price atoms keep their own spacing
    if name.startswith("P_"):
        return name
    return name.replace("=", " = ") if "=" in name else name


def to_text(s: Sentence) -> str:
    """Print a sentence so that ``parse(to_text(s)) is s`` (round trip)."""
    if s.kind == ATOM:
        return _pretty_atom(s.name)
    if s.kind == CONST:
        return s.name
    if s.kind == NOT:
        inner = to_text(s.args[0])
        return "~" + (inner if _PREC[s.args[0].kind] >= _PREC[NOT] else f"({inner})")
    prec = _PREC[s.kind]
    parts = []
    for _i, a in enumerate(s.args):
        text = to_text(a)
        # same-kind children of n-ary AND/OR are flattened by the parser, so bracket them
        need = _PREC[a.kind] < prec or (_PREC[a.kind] == prec and (s.kind in (IMPLIES, IFF) or a.kind == s.kind))
        parts.append(f"({text})" if need else text)
    return _SYM[s.kind].join(parts)


# ---------------------------------------------------------------------------------------------
# parser

_TOKEN = re.compile(
    r"\s*(?:(?P<price>P_\d+\()|(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><->|->|[~&|()=,<>!-]))"
)


class SentenceParseError(ValueError):
    """A parse error naming the 1-based column of the offending character."""

    def __init__(self, text: str, column: int, message: str):
        self.text, self.column = text, column
        super().__init__(f"cannot parse sentence at column {column}: {message}\n  {text}\n  {' ' * (column - 1)}^")


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise SentenceParseError(text, col, f"unexpected character {text[col - 1]!r}")
        kind = m.lastgroup
        start = m.start(kind)
        tokens.append((kind, m.group(kind), start + 1))
        pos = m.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text, self.toks, self.i = text, _tokenize(text), 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            want = repr(value) if value is not None else kind
            got = "end of input" if tok[0] == "end" else repr(tok[1])
            raise SentenceParseError(self.text, tok[2], f"expected {want}, got {got}")
        self.i += 1
        return tok

    def parse(self) -> Sentence:
        s = self.iff()
        tok = self.peek()
        if tok[0] != "end":
            raise SentenceParseError(self.text, tok[2], f"unexpected {tok[1]!r} after a complete sentence")
        return s

    def iff(self) -> Sentence:
        left = self.imp()
        while self.peek()[1] == "<->":
            self.take("<->")
            left = iff(left, self.imp())
        return left

    def imp(self) -> Sentence:
        left = self.disj()
        if self.peek()[1] == "->":
            self.take("->")
            return implies(left, self.imp())
        return left

    def disj(self) -> Sentence:
        parts = [self.conj()]
        while self.peek()[1] == "|":
            self.take("|")
            parts.append(self.conj())
        return disj(*parts)

    def conj(self) -> Sentence:
        parts = [self.unary()]
        while self.peek()[1] == "&":
            self.take("&")
            parts.append(self.unary())
        return conj(*parts)

    def unary(self) -> Sentence:
        kind, value, col = self.peek()
        if value in ("~", "!", "-") and kind == "op":
            self.take()
            return neg(self.unary())
        if value == "(":
            self.take("(")
            s = self.iff()
            self.take(")")
            return s
        if kind == "price":
            self.take()
            day = int(value[2:-1])
            inner = self.iff()
            self.take(")")
            op = self.peek()
            if op[1] not in (">", "<"):
                raise SentenceParseError(self.text, op[2], "expected '>' or '<' after a price term P_n(...)")
            self.take()
            num = self.take(kind="num")
            thr = float(num[1])
            if not 0 <= thr <= 1:
                raise SentenceParseError(self.text, num[2], f"price threshold {thr} must lie in [0, 1]")
            return price_atom(day, inner, thr, above=op[1] == ">")
        if kind == "name":
            self.take()
            if value in ("true", "false"):
                return TRUE if value == "true" else FALSE
            name = value
            if self.peek()[1] == "(":
                self.take("(")
                args = [self._arg()]
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self._arg())
                self.take(")")
                name += "(" + ",".join(args) + ")"
            if self.peek()[1] == "=":
                self.take("=")
                name += "=" + self._arg()
            return atom(name)
        got = "end of input" if kind == "end" else repr(value)
        raise SentenceParseError(self.text, col, f"expected a sentence (atom, '~', '(' or P_n(...)), got {got}")

    def _arg(self) -> str:
        kind, value, col = self.peek()
        if kind not in ("num", "name"):
            got = "end of input" if kind == "end" else repr(value)
            raise SentenceParseError(self.text, col, f"expected an argument (number or name), got {got}")
        self.take()
        return value


def parse(text: str) -> Sentence:
    """Parse e.g. ``"pi_digit(7) = 3 & ~rain"``; raises :class:`SentenceParseError` naming the column."""
    if not isinstance(text, str):
        raise ValueError(f"sentence text must be a str, got {type(text).__name__}")
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------
# evaluation


def evaluate(s: Sentence, assignment: Mapping[str, bool]) -> bool:
    """Truth value under an assignment of the atoms."""
    return bool(evaluate_many(s, {k: np.array([v]) for k, v in assignment.items()})[0])


def evaluate_many(s: Sentence, columns: Mapping[str, np.ndarray], memo: dict | None = None) -> np.ndarray:
    """Vectorised truth values: ``columns[atom]`` is a boolean array (one entry per world)."""
    memo = {} if memo is None else memo
    hit = memo.get(s.uid)
    if hit is not None:
        return hit
    if s.kind == ATOM:
        out = np.asarray(columns[s.name], dtype=bool)
    elif s.kind == CONST:
        n = len(next(iter(columns.values()))) if columns else 1
        out = np.full(n, s is TRUE)
    else:
        vals = [evaluate_many(a, columns, memo) for a in s.args]
        if s.kind == NOT:
            out = ~vals[0]
        elif s.kind == AND:
            out = np.logical_and.reduce(vals)
        elif s.kind == OR:
            out = np.logical_or.reduce(vals)
        elif s.kind == IMPLIES:
            out = ~vals[0] | vals[1]
        else:
            out = vals[0] == vals[1]
    memo[s.uid] = out
    return out
