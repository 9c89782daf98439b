"""Sentences: hash-consing, parser/printer round trip, column-numbered errors, evaluation semantics."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.logical_induction.sentences import (
    FALSE,
    TRUE,
    SentenceParseError,
    atom,
    conj,
    disj,
    evaluate,
    iff,
    implies,
    neg,
    parse,
    price_atom,
    to_text,
)

ATOMS = [atom(n) for n in ("a", "b", "rain", "pi_digit(7)=3")]


def sentences(depth=3):
    base = st.sampled_from(ATOMS + [TRUE, FALSE])
    return st.recursive(
        base,
        lambda kids: st.one_of(
            kids.map(neg),
            st.lists(kids, min_size=2, max_size=3).map(lambda xs: conj(*xs)),
            st.lists(kids, min_size=2, max_size=3).map(lambda xs: disj(*xs)),
            st.tuples(kids, kids).map(lambda t: implies(*t)),
            st.tuples(kids, kids).map(lambda t: iff(*t)),
        ),
        max_leaves=8,
    )


@settings(max_examples=150, deadline=None)
@given(sentences())
def test_print_parse_round_trip_is_identity(s):
    assert parse(to_text(s)) is s


def _python_truth(s, env):
    k = s.kind
    if k == "atom":
        return env[s.name]
    if k == "const":
        return s is TRUE
    vals = [_python_truth(a, env) for a in s.args]
    return {
        "not": lambda: not vals[0],
        "and": lambda: all(vals),
        "or": lambda: any(vals),
        "implies": lambda: (not vals[0]) or vals[1],
        "iff": lambda: vals[0] == vals[1],
    }[k]()


@settings(max_examples=100, deadline=None)
@given(sentences())
def test_evaluate_matches_truth_tables(s):
    names = [a.name for a in ATOMS]
    for bits in itertools.product((False, True), repeat=len(names)):
        env = dict(zip(names, bits))
        assert evaluate(s, env) == _python_truth(s, env)


def test_hash_consing_and_pretty_printing():
    s = parse("pi_digit(7) = 3 & ~rain")
    assert s is conj(atom("pi_digit(7)=3"), neg(atom("rain")))
    assert to_text(s) == "pi_digit(7) = 3 & ~rain"
    assert parse("a -> b -> c") is implies(atom("a"), implies(atom("b"), atom("c")))
    assert parse("(a | b) & c").kind == "and"
    assert parse("  a|b  ") is disj(atom("a"), atom("b"))


def test_price_atoms_parse_and_round_trip():
    s = parse("P_5(rain) > 0.7")
    assert s is price_atom(5, atom("rain"), 0.7)
    assert parse(to_text(s)) is s


@pytest.mark.parametrize(
    "text,column", [("a & ", 5), ("a # b", 3), ("(a | b", 7), ("a b", 3), ("P_3(a) = 2", 8), ("P_2(a) > 1.5", 10)]
)
def test_parse_errors_name_the_column(text, column):
    with pytest.raises(SentenceParseError) as err:
        parse(text)
    assert err.value.column == column
    assert f"column {column}" in str(err.value)


def test_bad_input_types():
    with pytest.raises(ValueError):
        parse(3)
    with pytest.raises(ValueError):
        price_atom(0, atom("a"), 0.5)
