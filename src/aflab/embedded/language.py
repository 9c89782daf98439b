"""The modal agents language: syntax tree and a recursive-descent parser with file:line:column errors.

The language is the one of the Haskell ModalCombat reference (github machine-intelligence/provability,
``agents/*.ua``; Soares et al. 2015), read here by an independent parser, plus a few extensions
(``elif``, the keyword ``or``, indentation by spaces, unquoted box operands). A file is a sequence of
definitions and commands, each starting at column 1; code blocks are indented (tabs, as in the
reference, or spaces)::

    theory UDT(action default, number level=0, number step=0)      -- an agent facing a universe
        let &n = &level
        for outcome &o in outcomes
            for action &a in actions
                if [&n]⌜A()=&a → U()=&o⌝
                    return &a
                let &n = &n + &step
        return &default

    problem Newcomb(number level=0) [$1001000, $1000000, $1000, $0] [1, 2]
        if A()=2 and [&level]⌜A()=1⌝
            return $1001000
        ...
    problem map PD [$DC, $CC, $DD, $CD] [C, D]                     -- outcome <-> statement
        $DC ↔ A1()=D and A2()=C
    agent FairBot                                                  -- modal combat agents
        if □⌜Them(Me)=C⌝
            return C
        return D
    bot DefectBot = ⊥                                              -- C iff the statement
    combat! PrudentBot vs FairBot          compete: A vs B         play: Newcomb(1), UDT(2, level=10, step=1).

Statements: ``⊤ ⊥ ¬ ∧ ∨ → ↔`` (or ``top bot ~ & | -> <->``, ``not and or implies iff``; tightest first,
all right-associative), claims ``A()=v``, ``U()≠&o``, ``Them(Me)=C``, ``Them(DefectBot) in {C, D}``,
boxes ``□⌜s⌝``, ``[n]⌜s⌝`` / ``[&n][s]`` (provable in PA+n), diamonds ``◇⌜s⌝``, ``<n>⌜s⌝``, and
``Con(n)``. Comments: ``-- ...`` and nested ``{- ... -}``. The file is parsed, never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# errors and tokens


class ModalFileError(ValueError):
    """A bad modal-agents file: ``source:line:column: message`` (1-based line and column)."""

    def __init__(self, source: str, line: int, column: int, message: str):
        self.source, self.line, self.column, self.reason = source, line, column, message
        super().__init__(f"{source}:{line}:{column}: {message}")


@dataclass(frozen=True)
class Token:
    kind: str  # word, ref, sym, end
    text: str
    line: int
    col: int


_SYMBOLS = sorted(
    [
        "<->",
        "->",
        "→",
        "↔",
        "/\\",
        "\\/",
        "&&",
        "||",
        "!=",
        "/=",
        "...",
        "..",
        "⌜",
        "⌝",
        "□",
        "◇",
        "⊤",
        "⊥",
        "¬",
        "∧",
        "∨",
        "≠",
        "∈",
        "∉",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        ":",
        "!",
        "=",
        "+",
        "*",
        "^",
        "<",
        ">",
        "~",
        "|",
        "&",
        "-",
    ],
    key=len,
    reverse=True,
)


def _is_value_char(c: str) -> bool:
    return c.isalnum() or c in "-_'$@"


def strip_comments(text: str, source: str) -> str:
    """Replace ``-- ...`` line comments and nested ``{- ... -}`` block comments by spaces (newlines kept,
    so every other character keeps its line and column). ``--`` inside a name (``a--b``) is not a comment."""
    out, i, depth, n = list(text), 0, 0, len(text)
    start = (1, 1)
    while i < n:
        two = text[i : i + 2]
        if two == "{-":
            if depth == 0:
                start = _position(text, i)
            depth += 1
            out[i] = out[i + 1] = " "
            i += 2
            continue
        if depth and two == "-}":
            depth -= 1
            out[i] = out[i + 1] = " "
            i += 2
            continue
        if depth:
            out[i] = out[i] if text[i] == "\n" else " "
        elif two == "--" and (i == 0 or not _is_value_char(text[i - 1])):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
            continue
        i += 1
    if depth:
        raise ModalFileError(source, *start, "unclosed block comment '{-' (close it with '-}')")
    return "".join(out)


def _position(text: str, i: int) -> tuple[int, int]:
    line = text.count("\n", 0, i) + 1
    return line, i - (text.rfind("\n", 0, i) + 1) + 1


def tokenize_line(content: str, line: int, col0: int, source: str) -> list[Token]:
    """Tokens of one line: words (names and values: letters, digits, - _ ' $ @), ``&refs`` and symbols."""
    toks, i, n = [], 0, len(content)
    while i < n:
        c = content[i]
        if c in " \t\r":
            i += 1
            continue
        col = col0 + i
        if c == "&" and i + 1 < n and (content[i + 1].isalpha() or content[i + 1] in "_'-"):
            j = _word_end(content, i + 1)
            toks.append(Token("ref", content[i + 1 : j], line, col))
            i = j
            continue
        if _is_value_char(c) and not (c == "-" and not _is_name_start(content[i + 1 : i + 2])):
            j = _word_end(content, i)
            toks.append(Token("word", content[i:j], line, col))
            i = j
            continue
        sym = next((s for s in _SYMBOLS if content.startswith(s, i)), None)
        if sym is None:
            raise ModalFileError(source, line, col, f"unexpected character {c!r}")
        toks.append(Token("sym", sym, line, col))
        i += len(sym)
    return toks


def _is_name_start(c: str) -> bool:
    """A '-' starts a name only before a letter or one of _ ' $ @ (else it is minus or '->')."""
    return bool(c) and (c.isalpha() or c in "_'$@")


def _word_end(s: str, i: int) -> int:
    while i < len(s) and _is_value_char(s[i]) and not s.startswith("->", i):
        i += 1
    return i


@dataclass(frozen=True)
class Line:
    number: int
    indent: str
    tokens: tuple[Token, ...]


def split_lines(text: str, source: str) -> list[Line]:
    """Non-blank lines (after comments are removed) with their indentation and tokens."""
    lines = []
    for k, raw in enumerate(strip_comments(text, source).split("\n"), start=1):
        body = raw.rstrip(" \t\r")
        stripped = body.lstrip(" \t")
        if not stripped:
            continue
        indent = body[: len(body) - len(stripped)]
        lines.append(Line(k, indent, tuple(tokenize_line(stripped, k, len(indent) + 1, source))))
    return lines


# ---------------------------------------------------------------------------------------------
# the syntax tree

Ref = tuple[str, str | int]  # ("lit", value) or ("var", name): a literal or a &variable


@dataclass(frozen=True)
class Call:
    """``Name(args, key=value)[actions][outcomes]``; an empty list means "not given" (``[...]``)."""

    name: str
    args: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, str], ...] = ()
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()

    def show(self) -> str:
        """The reference's rendering: ``UDT(2,level=10, step=1)[...][$a, $b]`` (its spacing quirks included)."""
        kw = sorted(self.kwargs)
        params = ""
        if self.args or kw:
            mid = "," if self.args and kw else ""
            params = f"({', '.join(self.args)}{mid}{', '.join(f'{k}={v}' for k, v in kw)})"
        acts = (
            ""
            if not (self.actions or self.outcomes)
            else ("[...]" if not self.actions else f"[{', '.join(self.actions)}]")
        )
        outs = f"[{', '.join(self.outcomes)}]" if self.outcomes else ""
        return self.name + params + acts + outs


@dataclass(frozen=True)
class Relation:
    kind: str  # eq, neq, in, notin
    values: tuple[Ref, ...]


@dataclass(frozen=True)
class Stmt:
    """A statement node. ``op``: val, claim, not, and, or, imp, iff, con, box, dia."""

    op: str
    args: tuple[Stmt, ...] = ()
    value: bool = False  # for val
    name: str = ""  # claim subject (A, U, Me, Them, A2, ...)
    call: Call | None = None  # claim argument: Them(X)
    relation: Relation | None = None
    level: Ref = ("lit", 0)  # box / dia / con level
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class Expr:
    op: str  # num, +, -, *, ^
    args: tuple[Expr, ...] = ()
    ref: Ref = ("lit", 0)


@dataclass(frozen=True)
class Range:
    kind: str  # all, list, enum
    items: tuple[Ref, ...] = ()
    start: Ref | None = None
    stop: Ref | None = None
    step: Ref | None = None


@dataclass(frozen=True)
class Frag:
    """A code fragment. ``op``: for (``what``: action / outcome / number), let, if, return, pass."""

    op: str
    line: int
    col: int
    var: str = ""
    what: str = ""
    range: Range | None = None
    expr: Expr | None = None
    cond: Stmt | None = None
    body: tuple[Frag, ...] = ()
    orelse: tuple[Frag, ...] = ()
    value: Ref | None = None


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # number, action, outcome
    default: str | None


@dataclass(frozen=True)
class Def:
    """An agent, theory or problem. Code is either ``code`` (fragments) or ``table`` (value <-> statement)."""

    kind: str  # agent, theory, problem
    name: str
    params: tuple[Param, ...]
    code: tuple[Frag, ...] | None
    table: tuple[tuple[str, Stmt], ...] | None
    line: int
    outcome_list: tuple[str, ...] = ()  # problems: the universe's outcomes ([...] = from the code)
    action_lists: tuple[tuple[str, ...], ...] = ()  # problems: each player's actions


@dataclass(frozen=True)
class Command:
    """``combat`` (Prisoner's Dilemma, C/D), ``compete`` (agents over any actions) or ``play``."""

    op: str
    calls: tuple[Call, ...]
    frames: bool
    show_map: bool
    hidden: bool
    line: int


@dataclass(frozen=True)
class ModalFile:
    source: str
    defs: tuple[Def, ...]
    commands: tuple[Command, ...]


# ---------------------------------------------------------------------------------------------
# parser

#: keywords of each definition kind: (own values: singular, plural), (the other side's: singular, plural)
KEYWORDS = {
    "theory": (("action", "actions"), ("outcome", "outcomes")),
    "agent": (("action", "actions"), ("response", "responses")),
    "problem": (("outcome", "outcomes"), ("action", "actions")),
}
_TRUE = {"top", "true", "True"}
_FALSE = {"bot", "bottom", "false", "False"}
_BOX_WORDS = {"Provable", "Box"}
_DIA_WORDS = {"Possible", "Dia", "Diamond"}
_OPS = {
    "and": {"∧", "/\\", "&", "&&", "and"},
    "or": {"∨", "\\/", "|", "||", "or"},
    "imp": {"→", "->", "implies"},
    "iff": {"↔", "<->", "iff"},
}


class TokenStream:
    """Tokens of one logical unit (a line, or a command spread over lines) with error helpers."""

    def __init__(self, tokens: list[Token], source: str, end: tuple[int, int]):
        self.toks, self.i, self.source = tokens, 0, source
        self.end = Token("end", "", *end)

    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else self.end

    def take(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("sym", "word") and tok.text in texts

    def accept(self, *texts: str) -> Token | None:
        return self.take() if self.at(*texts) else None

    def expect(self, text: str, what: str = "") -> Token:
        if not self.at(text):
            self.fail(f"expected {what or repr(text)}")
        return self.take()

    def fail(self, message: str, tok: Token | None = None) -> None:
        tok = tok or self.peek()
        got = "end of line" if tok.kind == "end" else repr(tok.text)
        raise ModalFileError(self.source, tok.line, tok.col, f"{message}, got {got}")

    def word(self, what: str) -> Token:
        if self.peek().kind != "word":
            self.fail(f"expected {what}")
        return self.take()

    def done(self) -> None:
        if self.peek().kind != "end":
            self.fail("expected the end of the line")


class Parser:
    """Recursive-descent parser; ``dialect`` is ``reference`` (``.ua`` files: the reference's
    arithmetic precedence, + binding tightest) or ``aflab`` (usual precedence)."""

    def __init__(self, source: str, dialect: str = "aflab"):
        self.source, self.dialect = source, dialect

    def stream(self, lines: list[Line]) -> TokenStream:
        toks = [t for ln in lines for t in ln.tokens]
        last = lines[-1]
        end_col = (last.tokens[-1].col + len(last.tokens[-1].text)) if last.tokens else 1
        return TokenStream(toks, self.source, (last.number, end_col))

    # --- statements -------------------------------------------------------------------------
    def statement(self, ts: TokenStream) -> Stmt:
        return self._binary(ts, ("iff", "imp", "or", "and"))

    def _binary(self, ts: TokenStream, ops: tuple[str, ...]) -> Stmt:
        if not ops:
            return self.unary(ts)
        left = self._binary(ts, ops[1:])
        tok = ts.peek()
        if tok.kind in ("sym", "word") and tok.text in _OPS[ops[0]]:
            ts.take()
            return Stmt(ops[0], (left, self._binary(ts, ops)), line=tok.line, col=tok.col)  # right-assoc
        return left

    def unary(self, ts: TokenStream) -> Stmt:
        tok = ts.peek()
        if ts.accept("¬", "~") or (tok.text == "not" and tok.kind == "word" and ts.take()):
            return Stmt("not", (self.unary(ts),), line=tok.line, col=tok.col)
        if ts.accept("("):
            inner = self.statement(ts)
            ts.expect(")", f"')' to close the '(' at column {tok.col}")
            return inner
        if ts.accept("⊤") or (tok.kind == "word" and tok.text in _TRUE and ts.take()):
            return Stmt("val", value=True, line=tok.line, col=tok.col)
        if ts.accept("⊥") or (tok.kind == "word" and tok.text in _FALSE and ts.take()):
            return Stmt("val", value=False, line=tok.line, col=tok.col)
        if (
            tok.kind == "word"
            and tok.text == "Con"
            and ts.peek(1).text not in ("=", "≠", "!=", "/=", "∈", "∉", "is", "isnt", "in")
        ):
            ts.take()
            level: Ref = ("lit", 0)
            if ts.accept("("):  # Con(n); a bare Con is Con(0), as in the reference
                level = self.int_ref(ts)
                ts.expect(")")
            return Stmt("con", level=level, line=tok.line, col=tok.col)
        modal = self._modal_head(ts)
        if modal is not None:
            op, level = modal
            return Stmt(op, (self.quoted(ts),), level=level, line=tok.line, col=tok.col)
        if tok.kind == "word":
            return self.claim(ts)
        ts.fail("expected a statement (a claim like A()=a, ⊤, ⊥, ¬, □⌜...⌝, [n]⌜...⌝ or '(')")
        raise AssertionError  # unreachable

    def _modal_head(self, ts: TokenStream) -> tuple[str, Ref] | None:
        tok = ts.peek()
        if tok.text in ("[", "<") and tok.kind == "sym":
            close = "]" if tok.text == "[" else ">"
            ts.take()
            level: Ref = ("lit", 0) if ts.at(close) else self.int_ref(ts)
            ts.expect(close, f"'{close}' after the proof level")
            return ("box" if close == "]" else "dia"), level
        boxy = tok.text in ("□", "◇") or (tok.kind == "word" and tok.text in _BOX_WORDS | _DIA_WORDS)
        if not boxy or (tok.kind == "word" and ts.peek(1).text not in ("(", "[", "⌜")):
            return None
        ts.take()
        level = ("lit", 0)
        if ts.accept("("):
            level = self.int_ref(ts)
            ts.expect(")")
        return ("box" if tok.text in _BOX_WORDS | {"□"} else "dia"), level

    def quoted(self, ts: TokenStream) -> Stmt:
        """``⌜s⌝`` or ``[s]`` (the reference's quotes), or (extension) a unary statement."""
        for o, c in (("⌜", "⌝"), ("[", "]")):
            tok = ts.accept(o)
            if tok:
                inner = self.statement(ts)
                ts.expect(c, f"'{c}' to close the '{o}' at column {tok.col}")
                return inner
        return self.unary(ts)

    def int_ref(self, ts: TokenStream) -> Ref:
        tok = ts.take()
        if tok.kind == "ref":
            return ("var", tok.text)
        if tok.kind == "word" and re.fullmatch(r"-?\d+", tok.text):
            return ("lit", int(tok.text))
        ts.fail("expected a number or a &variable", tok)
        raise AssertionError  # unreachable

    def value_ref(self, ts: TokenStream) -> Ref:
        tok = ts.take()
        if tok.kind == "ref":
            return ("var", tok.text)
        if tok.kind == "word":
            return ("lit", tok.text)
        ts.fail("expected a value (e.g. C, 10, $5) or a &variable", tok)
        raise AssertionError  # unreachable

    def claim(self, ts: TokenStream) -> Stmt:
        tok = ts.take()
        call = None
        if ts.at("("):
            ts.take()
            if not ts.accept(")"):
                call = self.call(ts)
                ts.expect(")", "')' after the agent in the claim")
        return Stmt("claim", name=tok.text, call=call, relation=self.relation(ts), line=tok.line, col=tok.col)

    def relation(self, ts: TokenStream) -> Relation:
        if ts.accept("=", "is"):
            return Relation("eq", (self.value_ref(ts),))
        if ts.accept("≠", "!=", "/=", "isnt"):
            return Relation("neq", (self.value_ref(ts),))
        if ts.accept("∈", "in"):
            return Relation("in", self.value_set(ts))
        if ts.accept("∉") or (ts.at("not") and ts.peek(1).text == "in" and ts.take() and ts.take()):
            return Relation("notin", self.value_set(ts))
        ts.fail("expected a relation ('=v', '≠v', '∈ {...}' or '∉ {...}') after the claim's subject")
        raise AssertionError  # unreachable

    def value_set(self, ts: TokenStream) -> tuple[Ref, ...]:
        ts.expect("{", "'{' opening a set of values")
        out = []
        while not ts.at("}"):
            out.append(self.value_ref(ts))
            if not ts.accept(","):
                break
        ts.expect("}", "'}' closing the set")
        return tuple(out)

    # --- calls ---------------------------------------------------------------------------------
    def call(self, ts: TokenStream) -> Call:
        name = ts.word("a name").text
        args, kwargs = [], []
        if ts.accept("("):
            while not ts.at(")"):
                a = ts.word("an argument")
                if ts.accept("="):
                    kwargs.append((a.text, ts.word("a value after '='").text))
                else:
                    args.append(a.text)
                if not ts.accept(","):
                    break
            ts.expect(")", "')' closing the arguments")
        lists = []
        while len(lists) < 2 and ts.at("["):
            lists.append(self.value_list(ts))
        lists += [(), ()]
        return Call(name, tuple(args), tuple(kwargs), lists[0], lists[1])

    def value_list(self, ts: TokenStream) -> tuple[str, ...]:
        ts.expect("[")
        if ts.accept("..."):
            ts.expect("]")
            return ()
        out = []
        while not ts.at("]"):
            out.append(ts.word("a value").text)
            if not ts.accept(","):
                break
        ts.expect("]", "']' closing the list")
        return tuple(out)

    # --- arithmetic (let) ----------------------------------------------------------------------
    def expr(self, ts: TokenStream) -> Expr:
        """``let`` arithmetic. Reference dialect: its precedence table, ``+`` binding tightest, then
        ``-``, ``*``, ``^``, all right-associative (``2*3+1`` is 8 there); aflab: the usual one."""
        if self.dialect == "reference":
            return self._expr_levels(ts, ("^", "*", "-", "+"), right=True)
        return self._expr_levels(ts, ("+-", "*", "^"), right=False)

    def _expr_levels(self, ts: TokenStream, levels: tuple[str, ...], right: bool) -> Expr:
        if not levels:
            return self._expr_atom(ts, right)
        left = self._expr_levels(ts, levels[1:], right)
        while ts.peek().kind == "sym" and ts.peek().text in levels[0]:
            op = ts.take().text
            rhs = self._expr_levels(ts, levels if right or op == "^" else levels[1:], right)
            left = Expr(op, (left, rhs))
            if right or op == "^":
                break
        return left

    def _expr_atom(self, ts: TokenStream, right: bool) -> Expr:
        tok = ts.peek()
        if ts.accept("("):
            inner = self.expr(ts)
            ts.expect(")", f"')' to close the '(' at column {tok.col}")
            return inner
        return Expr("num", ref=self.int_ref(ts))

    # --- code ----------------------------------------------------------------------------------
    def block(self, lines: list[Line], i: int, parent: str, kind: str) -> tuple[tuple[Frag, ...], int]:
        """The fragments of the block starting at ``lines[i]`` (indented deeper than ``parent``)."""
        if i >= len(lines) or not _deeper(lines[i].indent, parent):
            ln = lines[min(i, len(lines) - 1)]
            raise ModalFileError(self.source, ln.number, len(ln.indent) + 1, "expected an indented block here")
        indent, frags = lines[i].indent, []
        while i < len(lines) and lines[i].indent == indent:
            frag, i = self.fragment(lines, i, indent, kind)
            frags.append(frag)
        if i < len(lines) and _deeper(lines[i].indent, indent):
            ln = lines[i]
            raise ModalFileError(self.source, ln.number, len(ln.indent) + 1, "unexpected indentation")
        if i < len(lines) and _deeper(lines[i].indent, parent):
            ln = lines[i]
            raise ModalFileError(
                self.source, ln.number, len(ln.indent) + 1, "indentation does not match any enclosing block"
            )
        return tuple(frags), i

    def fragment(self, lines: list[Line], i: int, indent: str, kind: str) -> tuple[Frag, int]:
        ln = lines[i]
        ts = self.stream([ln])
        head = ts.peek()
        word = head.text if head.kind == "word" else ""
        if word == "if":
            return self._if(lines, i, indent, kind, ts)
        if word == "for":
            ts.take()
            frag = self._for_head(ts, kind, head)
            body, j = self.block(lines, i + 1, indent, kind)
            return Frag("for", head.line, head.col, frag.var, frag.what, frag.range, body=body), j
        if word in ("else", "elif"):
            ts.fail("'else' / 'elif' without an 'if' just above")
        ts.take()
        if word == "let":
            var = ts.take()
            if var.kind != "ref":
                ts.fail("expected a &variable after 'let'", var)
            ts.expect("=", "'=' in 'let &x = ...'")
            frag = Frag("let", head.line, head.col, var=var.text, expr=self.expr(ts))
        elif word == "return":
            frag = Frag("return", head.line, head.col, value=None if ts.peek().kind == "end" else self.value_ref(ts))
        elif word == "pass":
            frag = Frag("pass", head.line, head.col)
        else:
            ts.fail("expected a statement: if, elif, else, for, let, return or pass", head)
        ts.done()
        return frag, i + 1

    def _if(self, lines, i, indent, kind, ts) -> tuple[Frag, int]:
        head = ts.take()
        cond = self.statement(ts)
        ts.done()
        body, j = self.block(lines, i + 1, indent, kind)
        orelse: tuple[Frag, ...] = ()
        if j < len(lines) and lines[j].indent == indent and lines[j].tokens[0].text in ("else", "elif"):
            nxt = self.stream([lines[j]])
            if nxt.peek().text == "elif":
                frag, j = self._if(lines, j, indent, kind, nxt)
                orelse = (frag,)
            else:
                nxt.take()
                nxt.done()
                orelse, j = self.block(lines, j + 1, indent, kind)
        return Frag("if", head.line, head.col, cond=cond, body=body, orelse=orelse), j

    def _for_head(self, ts: TokenStream, kind: str, head: Token) -> Frag:
        (own, owns), (other, others) = KEYWORDS[kind]
        what_tok = ts.word(f"'{own}', '{other}' or 'number' after 'for'")
        what = {own: "own", other: "other", "number": "number"}.get(what_tok.text)
        if what is None:
            ts.fail(f"expected '{own}', '{other}' or 'number' after 'for' in a {kind}", what_tok)
        var = ts.take()
        if var.kind != "ref":
            ts.fail("expected the loop's &variable", var)
        ts.expect("in", "'in'")
        everything = {"own": owns, "other": others}.get(what)
        rng = self.range(ts, everything)
        ts.done()
        return Frag("for", head.line, head.col, var=var.text, what=what, range=rng)

    def range(self, ts: TokenStream, everything: str | None) -> Range:
        """``actions`` (all), ``[a, b, &c]``, ``[a..b]``, ``[a..]`` and ``... by n`` (numbers: bounded)."""
        if everything and ts.accept(everything):
            return Range("all")
        ref = self.value_ref if everything else self.int_ref
        ts.expect("[", "a range: '[a, b]', '[a..b]'" + (f" or '{everything}'" if everything else ""))
        first = None if ts.at("]") else ref(ts)
        if ts.accept(".."):
            stop = None if ts.at("]") else ref(ts)
            if stop is None and not everything:
                ts.fail("a number range needs an end: '[a..b]'")
            ts.expect("]")
            step = self.int_ref(ts) if ts.accept("by") else None
            return Range("enum", start=first, stop=stop, step=step)
        items = [] if first is None else [first]
        while ts.accept(","):
            if ts.at("]"):
                break
            items.append(ref(ts))
        ts.expect("]", "']' closing the range")
        return Range("list", tuple(items))


def _deeper(indent: str, parent: str) -> bool:
    return len(indent) > len(parent) and indent.startswith(parent)


# ---------------------------------------------------------------------------------------------
# definitions, commands, files


def _group(lines: list[Line]) -> list[list[Line]]:
    """Split into top-level units: a line at column 1 and the indented lines after it (a ``play``
    command runs on, indented or not, to the line that ends with its '.', as the reference allows)."""
    groups: list[list[Line]] = []
    for ln in lines:
        last = groups[-1] if groups else None
        open_play = (
            last is not None
            and last[0].tokens[0].text == "play"
            and not (last[-1].tokens[-1].kind == "sym" and last[-1].tokens[-1].text == ".")
        )
        if last is None or (ln.indent == "" and not open_play):
            groups.append([ln])
        else:
            last.append(ln)
    return groups


def definition(p: Parser, unit: list[Line]) -> Def:
    ts = p.stream([unit[0]])
    head = ts.take()
    kind = head.text
    is_map = bool(ts.accept("map"))
    name = ts.word(f"the {kind}'s name").text
    params = parse_params(p, ts, kind) if ts.at("(") else ()
    outcome_list: tuple[str, ...] = ()
    action_lists: list[tuple[str, ...]] = []
    if kind == "problem":
        if not ts.at("["):
            ts.fail("a problem needs its outcome list and each player's action list: 'problem P [$a, $b] [x, y]'")
        outcome_list = p.value_list(ts)
        while ts.at("["):
            action_lists.append(p.value_list(ts))
        if not action_lists:
            ts.fail("a problem needs at least one action list after its outcome list ('[...]' if unknown)")
    ts.done()
    if len(unit) == 1:
        raise ModalFileError(p.source, head.line, head.col, f"{kind} {name} has no body (indent its code)")
    if is_map:
        table = tuple(_map_line(p, ln) for ln in unit[1:])
        if len({ln.indent for ln in unit[1:]}) != 1:
            ln = next(x for x in unit[1:] if x.indent != unit[1].indent)
            raise ModalFileError(p.source, ln.number, len(ln.indent) + 1, "map lines must all have one indentation")
        code = None
    else:
        code, _ = p.block(unit, 1, "", kind)
        table = None
    return Def(kind, name, params, code, table, head.line, outcome_list, tuple(action_lists))


def _map_line(p: Parser, ln: Line) -> tuple[str, Stmt]:
    ts = p.stream([ln])
    value = ts.word("a value (the outcome or action this line defines)").text
    if not ts.accept("↔", "<->", "iff"):
        ts.fail("expected '↔' (or '<->', 'iff') after the value")
    stmt = p.statement(ts)
    ts.done()
    return value, stmt


def parse_params(p: Parser, ts: TokenStream, kind: str) -> tuple[Param, ...]:
    (own, _), (other, _) = KEYWORDS[kind]
    ts.expect("(")
    out = []
    while not ts.at(")"):
        kw = ts.word(f"a parameter type: number, {own} or {other}")
        typ = {"number": "number", own: "own", other: "other"}.get(kw.text)
        if typ is None:
            ts.fail(f"expected a parameter type (number, {own} or {other})", kw)
        name = ts.word("the parameter's name").text
        default = None
        if ts.accept("="):
            default = ts.word("a default value").text
            if typ == "number" and not re.fullmatch(r"-?\d+", default):
                ts.fail(f"number parameter {name} needs a whole-number default")
        if name in {q.name for q in out}:
            ts.fail(f"parameter {name} is declared twice")
        out.append(Param(name, typ, default))
        if not ts.accept(","):
            break
    ts.expect(")", "')' closing the parameters")
    return tuple(out)


def bot_definition(p: Parser, unit: list[Line]) -> Def:
    """``bot Name = statement``: an agent that cooperates (C) iff the statement holds, else defects (D)."""
    ts = p.stream(unit)
    head = ts.take()
    name = ts.word("the bot's name").text
    ts.expect("=", "'=' after the bot's name")
    stmt = p.statement(ts)
    ts.done()
    neg = Stmt("not", (stmt,), line=stmt.line, col=stmt.col)
    return Def("agent", name, (), None, (("C", stmt), ("D", neg)), head.line)


def command(p: Parser, unit: list[Line]) -> Command:
    ts = p.stream(unit)
    head = ts.take()
    frames = show_map = False
    while ts.accept("with"):
        what = ts.word("'frames' or 'map' after 'with'")
        if what.text not in ("frames", "map"):
            ts.fail("expected 'frames' or 'map' after 'with'", what)
        frames, show_map = frames or what.text == "frames", show_map or what.text == "map"
    hidden = bool(ts.accept("hidden"))
    ts.expect("!" if head.text == "combat" else ":", f"'{'!' if head.text == 'combat' else ':'}' after '{head.text}'")
    if head.text == "play":
        calls = [p.call(ts)]
        if not ts.accept(","):
            ts.fail("expected ',' after the problem: 'play: Problem, Agent.'")
        while True:
            calls.append(p.call(ts))
            if ts.accept("."):
                break
            ts.expect(",", "',' between agents or '.' after the last one")
            if ts.accept("."):
                break
    else:
        calls = [p.call(ts)]
        ts.expect("vs", "'vs' between the two agents")
        calls.append(p.call(ts))
    ts.done()
    return Command(head.text, tuple(calls), frames, show_map, hidden, head.line)


def parse_file(text: str, source: str = "<modal>", dialect: str | None = None) -> ModalFile:
    """Parse a modal-agents file. ``dialect``: ``reference`` for ``.ua`` files (the default when the
    source ends in ``.ua``), else ``aflab`` (see :class:`Parser` and ``docs/embedded.md``)."""
    dialect = dialect or ("reference" if source.endswith(".ua") else "aflab")
    p = Parser(source, dialect)
    defs, commands, names = [], [], {}
    for unit in _group(split_lines(text, source)):
        head = unit[0].tokens[0]
        if unit[0].indent:
            raise ModalFileError(source, head.line, head.col, "unexpected indentation at the top level")
        if head.text in ("theory", "problem", "agent"):
            d = definition(p, unit)
        elif head.text == "bot":
            d = bot_definition(p, unit)
        elif head.text in ("combat", "compete", "play"):
            commands.append(command(p, unit))
            continue
        else:
            raise ModalFileError(
                source, head.line, head.col, "expected theory, problem, agent, bot, combat, compete or play"
            )
        key = (d.kind, d.name)
        if key in names:
            raise ModalFileError(source, d.line, 1, f"name collision: {d.kind} {d.name} is already defined")
        names[key] = d
        defs.append(d)
    return ModalFile(source, tuple(defs), tuple(commands))
