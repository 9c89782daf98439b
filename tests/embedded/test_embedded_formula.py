"""Formulas: interning, parser/printer round trip, parse errors with columns, simplification."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.embedded.formula import (
    BOT,
    TOP,
    And,
    Atom,
    Box,
    Dia,
    Iff,
    Implies,
    Not,
    Or,
    desugar,
    modal_depth,
    simplify,
    size,
    substitute,
    to_text,
)
from aflab.embedded.parse import FormulaSyntaxError, parse
from aflab.embedded.randomgen import random_formula
from aflab.embedded.tableau import equivalent

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def test_interning_makes_equal_formulas_identical():
    assert parse("[] (p -> q)") is Box(Implies(Atom("p"), Atom("q")))
    assert And(Atom("p"), Atom("q")) is And(Atom("p"), Atom("q"))
    with pytest.raises(AttributeError):
        Atom("p").name = "q"


def test_examples_parse_to_the_expected_trees():
    assert parse("<> T") is Dia(TOP)
    assert parse("[1] p") is Box(Atom("p"), 1)
    assert parse("p -> q -> r") is Implies(Atom("p"), Implies(Atom("q"), Atom("r")))  # right assoc
    assert parse("p & q | r") is Or(And(Atom("p"), Atom("q")), Atom("r"))
    assert parse("~[]F") is Not(Box(BOT))
    assert parse("[] them(DefectBot)") is Box(Atom("them(DefectBot)"))
    assert parse("□ p ∧ ◇ ⊤ → ⊥") is Implies(And(Box(Atom("p")), Dia(TOP)), BOT)


@pytest.mark.parametrize(
    "text, column",
    [("[] (p -> ", 10), ("p & # q", 5), ("(p | q", 7), ("p q", 3), ("p <-> q <-> r", 9), ("", 1), ("[x] p", 1)],
)
def test_parse_errors_name_the_column(text, column):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert info.value.column == column
    assert isinstance(info.value, ValueError) and f"column {column}" in str(info.value)


@SETTINGS
@given(st.integers(0, 10**9))
def test_print_then_parse_is_identity(seed):
    f = random_formula(np.random.default_rng(seed), ["p", "q", "r"], depth=4, max_level=2)
    assert parse(to_text(f)) is f


@SETTINGS
@given(st.integers(0, 10**9))
def test_simplify_and_desugar_preserve_gl_equivalence(seed):
    f = random_formula(np.random.default_rng(seed), ["p", "q"], depth=3, max_level=1)
    s = simplify(f)
    assert size(s) <= size(f)
    assert equivalent(f, s)
    assert equivalent(f, desugar(f))


def test_simplify_identities():
    p = Atom("p")
    assert simplify(parse("~~p & T")) is p
    assert simplify(parse("p -> p")) is TOP
    assert simplify(parse("[] T | q")) is TOP
    assert simplify(parse("<> F")) is BOT
    assert simplify(Iff(p, BOT)) is Not(p)


def test_depth_and_substitution():
    assert modal_depth(parse("[] [] p")) == 2
    assert modal_depth(parse("[2] p")) == 3  # [2] p = [] (~[][]F -> p)
    assert substitute(parse("[] p & q"), {"p": parse("<> q")}) is parse("[] <> q & q")


def test_pa_plus_n_boxes():
    """PA+1 proves F iff PA proves PA is inconsistent: [1] F <-> [] [] F; [n] is monotone in n."""
    assert equivalent(parse("[1] F"), parse("[] [] F"))
    assert equivalent(parse("[2] F"), parse("[] [] [] F"))
    from aflab.embedded.tableau import is_valid

    assert is_valid(parse("[1] p -> [2] p")) and not is_valid(parse("[2] p -> [1] p"))
    assert is_valid(parse("[] p -> [1] p")) and not is_valid(parse("[1] p -> [] p"))
