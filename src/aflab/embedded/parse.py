"""Parser for the GL text syntax (recursive descent; errors name the 1-based column).

Grammar, loosest binding first::

    formula := iff
    iff     := imp ( ("<->" | "↔") imp )?          -- non-associative
    imp     := or ( ("->" | "→") imp )?            -- right-associative
    or      := and ( ("|" | "\\/" | "∨" | "or") and )*
    and     := unary ( ("&" | "/\\" | "∧" | "and") unary )*
    unary   := ("~" | "!" | "¬" | "not") unary
             | ("[]" | "□" | "[" N "]") unary      -- [] = PA, [n] = PA + n
             | ("<>" | "◇" | "<" N ">") unary
             | "(" formula ")" | constant | atom
    constant:= "T" | "⊤" | "true" | "top" | "F" | "⊥" | "false" | "bot"
    atom    := IDENT | IDENT "(" IDENT ")"          -- e.g. p, them, them(DefectBot)

Examples: ``[] (p -> q) -> [] p -> [] q``, ``<> T``, ``[1] ~them(DefectBot)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aflab.embedded.formula import BOT, TOP, And, Atom, Box, Dia, Formula, Iff, Implies, Not, Or


class FormulaSyntaxError(ValueError):
    """A parse error; ``column`` is 1-based. The message shows the text with a caret."""

    def __init__(self, message: str, text: str, column: int):
        self.text, self.column, self.reason = text, column, message
        caret = " " * (column - 1) + "^"
        super().__init__(f"formula syntax error at column {column}: {message}\n  {text}\n  {caret}")


@dataclass(frozen=True)
class Token:
    kind: str  # one of: const, ident, not, and, or, imp, iff, box, dia, lpar, rpar, end
    value: str
    column: int  # 1-based
    level: int = 0


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<iff><->|↔|<=>)
  | (?P<imp>->|→|=>)
  | (?P<box>\[\]|□|\[\s*\d+\s*\])
  | (?P<dia><>|◇|<\s*\d+\s*>)
  | (?P<and>&&?|/\\|∧)
  | (?P<or>\|\|?|\\/|∨)
  | (?P<not>~|!|¬)
  | (?P<const>⊤|⊥)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_']*)
""",
    re.VERBOSE,
)

_WORD_OPS = {"not": "not", "and": "and", "or": "or"}
_CONSTS = {"T": TOP, "true": TOP, "top": TOP, "⊤": TOP, "F": BOT, "false": BOT, "bot": BOT, "⊥": BOT}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character raises :class:`FormulaSyntaxError`."""
    if not isinstance(text, str):
        raise ValueError(f"formula must be a string, got {type(text).__name__}")
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FormulaSyntaxError(f"unexpected character {text[pos]!r}", text, pos + 1)
        kind, value = m.lastgroup, m.group()
        col = pos + 1
        pos = m.end()
        if kind == "ws":
            continue
        level = 0
        if kind in ("box", "dia") and any(c.isdigit() for c in value):
            level = int(value.strip("[]<> \t"))
        if kind == "ident" and value in _WORD_OPS:
            kind = _WORD_OPS[value]
        elif kind == "ident" and value in _CONSTS:
            kind = "const"
        out.append(Token(kind, value, col, level))
    out.append(Token("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, tok: Token, expected: str) -> None:
        got = "end of input" if tok.kind == "end" else repr(tok.value)
        raise FormulaSyntaxError(f"expected {expected}, got {got}", self.text, tok.column)

    def parse(self) -> Formula:
        if self.peek().kind == "end":
            self.fail(self.peek(), "a formula")
        f = self.iff()
        if self.peek().kind != "end":
            self.fail(self.peek(), "an operator or end of input")
        return f

    def iff(self) -> Formula:
        left = self.imp()
        if self.peek().kind == "iff":
            self.take()
            right = self.imp()
            if self.peek().kind == "iff":
                self.fail(self.peek(), "brackets around a nested '<->' (it is not associative)")
            return Iff(left, right)
        return left

    def imp(self) -> Formula:
        left = self.disj()
        if self.peek().kind == "imp":
            self.take()
            return Implies(left, self.imp())
        return left

    def disj(self) -> Formula:
        out = self.conj()
        while self.peek().kind == "or":
            self.take()
            out = Or(out, self.conj())
        return out

    def conj(self) -> Formula:
        out = self.unary()
        while self.peek().kind == "and":
            self.take()
            out = And(out, self.unary())
        return out

    def unary(self) -> Formula:
        tok = self.take()
        if tok.kind == "not":
            return Not(self.unary())
        if tok.kind == "box":
            return Box(self.unary(), tok.level)
        if tok.kind == "dia":
            return Dia(self.unary(), tok.level)
        if tok.kind == "lpar":
            inner = self.iff()
            close = self.take()
            if close.kind != "rpar":
                self.fail(close, f"')' to close the '(' at column {tok.column}")
            return inner
        if tok.kind == "const":
            return _CONSTS[tok.value]
        if tok.kind == "ident":
            # application atom: them(DefectBot) -- only an identifier directly inside the brackets
            if (
                self.peek().kind == "lpar"
                and self.toks[self.i + 1].kind == "ident"
                and self.toks[self.i + 2].kind == "rpar"
            ):
                self.take()
                arg = self.take()
                self.take()
                return Atom(f"{tok.value}({arg.value})")
            return Atom(tok.value)
        self.fail(tok, "a formula (atom, T, F, '~', '[]', '<>' or '(')")
        raise AssertionError  # unreachable


def parse(text: str) -> Formula:
    """Parse GL text syntax into an interned :class:`Formula` (see the module docstring)."""
    return _Parser(text).parse()
