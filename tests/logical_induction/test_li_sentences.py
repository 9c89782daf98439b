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
    price_atom_meaning,
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


def test_price_atom_meaning_is_decoded_from_the_name_alone():
    """No registry: the meaning (day, sentence, exact threshold, direction) is a function of the name."""
    inner = parse("pi_digit(3) = 1 & ~rain")
    for thr, above in ((0.1234567891234, True), (1e-05, False), (0.5, True), (1.0, False)):
        a = price_atom(7, inner, thr, above)
        m = price_atom_meaning(a)
        assert (m.day, m.sentence, m.threshold, m.above) == (7, inner, thr, above)
        assert m.holds(thr + 1e-9) is above and m.holds(thr - 1e-9) is not above
    nested = price_atom(4, price_atom(3, atom("a"), 0.25), 0.5)
    assert price_atom_meaning(nested).sentence is price_atom(3, atom("a"), 0.25)
    assert price_atom_meaning(atom("rain")) is None and price_atom_meaning(atom("P_x")) is None
    assert price_atom_meaning(neg(nested)) is None


def test_scenario_lists_its_own_price_atoms():
    from aflab.logical_induction.deduction import observation_scenario

    sc = observation_scenario(["rain", "P_1(rain) > 0.5 -> rain"], priced=[["rain", "P_1(rain) < 0.25"], ["rain"]])
    got = {to_text(a): (m.day, m.threshold, m.above) for a, m in sc.price_atoms.items()}
    assert got == {"P_1(rain)<0.25": (1, 0.25, False), "P_1(rain)>0.5": (1, 0.5, True)}
    assert observation_scenario(["rain"]).price_atoms == {}


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
