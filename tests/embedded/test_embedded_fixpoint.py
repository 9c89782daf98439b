"""de Jongh–Sambin fixed points: known closed forms and random modalized formulas."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.embedded.fixpoint import fixed_point, solve_fixed_point
from aflab.embedded.formula import atoms
from aflab.embedded.parse import parse
from aflab.embedded.randomgen import random_modalized
from aflab.embedded.tableau import equivalent


@pytest.mark.parametrize(
    "a, h",
    [
        ("~[] p", "~[] F"),  # Gödel sentence <-> consistency (Boolos ch. 8)
        ("[] p", "T"),  # Henkin sentence is provable (Löb)
        ("[] ~p", "[] F"),
        ("[] p -> q", "[] q -> q"),  # Boolos ch. 8 example
        ("~[] ~p", "F"),
        ("[] (p -> q)", "[] q"),
    ],
)
def test_known_fixed_points(a, h):
    r = solve_fixed_point(parse(a))
    assert r.equation_valid and r.unique_valid
    assert equivalent(r.solution, parse(h))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 10**9))
def test_random_fixed_points_satisfy_their_equation_and_are_unique(seed):
    a = random_modalized(np.random.default_rng(seed), ["p", "q"], depth=2, max_level=1)
    r = solve_fixed_point(a, "p")
    assert "p" not in atoms(r.solution)
    assert r.equation_valid, (str(a), str(r.solution))
    assert r.unique_valid


def test_non_modalized_formula_is_rejected():
    with pytest.raises(ValueError, match="not modalized"):
        fixed_point(parse("p & [] p"))
