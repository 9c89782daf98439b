"""GL decision procedure: axioms valid, T refuted with checked countermodels, and an independent
brute-force soundness check on all small tree models."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.embedded.formula import Box, Implies, is_letterless
from aflab.embedded.kripke import KripkeModel, check_countermodel, evaluate, letterless_valid, linear_values
from aflab.embedded.parse import parse
from aflab.embedded.randomgen import random_formula
from aflab.embedded.tableau import decide, is_valid, satisfying_model

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)
ATOMS = ["p", "q"]


def rand(seed, depth=3, atoms_=ATOMS):
    return random_formula(np.random.default_rng(seed), atoms_, depth=depth, max_level=1)


@SETTINGS
@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_k_axiom_instances_are_valid(s1, s2):
    a, b = rand(s1), rand(s2)
    assert is_valid(Implies(Box(Implies(a, b)), Implies(Box(a), Box(b))))


@SETTINGS
@given(st.integers(0, 10**9))
def test_axiom_4_instances_are_valid(s):
    a = rand(s)
    assert is_valid(Implies(Box(a), Box(Box(a))))


@SETTINGS
@given(st.integers(0, 10**9))
def test_loeb_axiom_instances_are_valid(s):
    a = rand(s)
    assert is_valid(Implies(Box(Implies(Box(a), a)), Box(a)))


def test_t_axiom_is_not_valid_and_its_countermodel_refutes_it():
    f = parse("[] p -> p")
    d = decide(f)
    assert not d.valid
    assert check_countermodel(d.countermodel, f)
    # the countermodel is a finite transitive irreflexive tree whose root makes p false
    assert "p" not in d.countermodel.true_atoms[0]


@SETTINGS
@given(st.integers(0, 10**9))
def test_t_instances_valid_exactly_when_the_formula_is(s):
    """By Löb's rule, GL ⊢ []A -> A iff GL ⊢ A; invalid instances come with checked countermodels."""
    a = rand(s)
    d = decide(Implies(Box(a), a))
    assert d.valid == is_valid(a)
    if not d.valid:
        assert check_countermodel(d.countermodel, Implies(Box(a), a))


def small_trees(max_nodes):
    """All rooted trees with up to max_nodes nodes (as parent tuples, parents before children)."""
    for n in range(1, max_nodes + 1):
        for parents in itertools.product(*[range(i) for i in range(1, n)]):
            yield (-1,) + tuple(parents)


TREE_MODELS = [
    KripkeModel(par, tuple(frozenset(a for a, bit in zip(ATOMS, bits) if bit) for bits in val))
    for par in small_trees(4)
    for val in itertools.product(itertools.product([0, 1], repeat=len(ATOMS)), repeat=len(par))
]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 10**9))
def test_tableau_agrees_with_brute_force_on_small_models(s):
    """Independent reference: evaluate on every tree model with <= 4 worlds (all valuations)."""
    f = rand(s, depth=3)
    d = decide(f)
    if d.valid:  # soundness: true at every world of every small model
        assert all(evaluate(m, f).all() for m in TREE_MODELS[::7])
    else:  # completeness side: the countermodel really refutes f
        assert check_countermodel(d.countermodel, f)


def test_known_theorems_and_non_theorems():
    for text in [
        "[] (p & q) <-> [] p & [] q",
        "[] F | <> [] F",
        "<> p -> <> (p & [] ~p)",
        "~[] F -> ~[] ~[] F",
        "[] ([] F -> F) -> [] F",
    ]:
        assert is_valid(parse(text)), text
    for text in ["[] (p | q) -> [] p | [] q", "<> T", "~[] F", "<> p -> [] <> p", "p -> [] <> p"]:
        d = decide(parse(text))
        assert not d.valid and check_countermodel(d.countermodel, parse(text)), text


def test_satisfying_model_and_unsatisfiable():
    m = satisfying_model(parse("<> p & [] <> T -> F | <> <> T"))
    assert m is not None
    assert satisfying_model(parse("<> p & [] ~p")) is None
    assert satisfying_model(parse("[] ([] p -> p) & ~[] p")) is None  # Löb


@SETTINGS
@given(st.integers(0, 10**9))
def test_letterless_linear_frame_matches_tableau(s):
    f = random_formula(np.random.default_rng(s), [], depth=5, max_level=2)
    assert is_letterless(f)
    assert letterless_valid(f) == is_valid(f)


def test_linear_frame_values_of_iterated_consistency():
    # ~[]^n F is false at worlds < n and true from n on
    f = parse("~[] [] [] F")
    assert linear_values(f, 6).tolist() == [False, False, False, True, True, True]
    with pytest.raises(ValueError, match="letterless"):
        linear_values(parse("[] p"), 3)


def test_countermodel_checker_rejects_bad_frames():
    f = parse("[] p -> p")
    assert not check_countermodel(KripkeModel((-1, 0), (frozenset({"p"}), frozenset({"p"}))), f)  # root has p
    assert not check_countermodel(KripkeModel((1, 0), (frozenset(), frozenset())), f)  # a cycle, no root


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_search_order_changes_cost_not_answers(seed):
    """The tableau's per-root search order (post-order over the formula's DAG, children first) is
    a topological order, and searching in it or in global creation order gives the same answer."""
    from aflab.embedded.formula import desugar, subformulas
    from aflab.embedded.tableau import _Search, local_order

    f = desugar(random_formula(np.random.default_rng(seed), ["p", "q"], depth=5, max_level=1))
    order = local_order(f)
    assert set(order) == set(subformulas(f)) and order[f] == len(order) - 1
    assert all(order[c] < order[g] for g in order for c in g.args)
    answers = [_Search(10**6, o).solve(frozenset(), frozenset((f,))) is None for o in (order, {})]
    assert answers[0] == answers[1] == is_valid(f)
