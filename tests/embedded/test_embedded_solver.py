"""The linear-frame solver vs the GL tableau on random modalized systems."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.embedded.formula import Atom, Box, Not
from aflab.embedded.parse import parse
from aflab.embedded.randomgen import random_system
from aflab.embedded.solver import ModalSystem, confirmation_formula, cross_check, solve_linear, tableau_confirms
from aflab.embedded.tableau import decide


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 10**9), st.integers(1, 3))
def test_solver_and_tableau_agree_on_random_systems(seed, n_vars):
    system = ModalSystem.of(random_system(np.random.default_rng(seed), n_vars, depth=2, max_level=1))
    sol = solve_linear(system)
    assert cross_check(system, sol, system.variables, prover="tableau")
    assert cross_check(system, sol, system.variables, prover="sat")
    v = system.variables[0]
    # the opposite value is refuted, with a countermodel
    d = decide(confirmation_formula(system, v, not sol.value(v), sol.rank_of(v)))
    assert not d.valid
    # a too-small stabilisation rank is refuted as well
    assert not tableau_confirms(system, v, not sol.value(v), sol.rank_of(v), prover="sat")
    if sol.rank_of(v) > 0:
        assert not tableau_confirms(system, v, sol.value(v), sol.rank_of(v) - 1)
        assert not tableau_confirms(system, v, sol.value(v), sol.rank_of(v) - 1, prover="sat")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(0, 10**9), st.integers(2, 7))
def test_sat_procedure_agrees_with_the_tableau_on_random_formulas(seed, depth):
    """The SAT-based GL procedure against the tableau (the slow reference) on random formulas with levels,
    and on Löb instances (all valid)."""
    from aflab.embedded.formula import Implies
    from aflab.embedded.glsat import valid
    from aflab.embedded.randomgen import random_formula

    f = random_formula(np.random.default_rng(seed), ["p", "q"], depth=depth, max_level=2, modal_weight=0.45)
    assert valid(f) == decide(f).valid, str(f)
    loeb = Implies(Box(Implies(Box(f), f)), Box(f))
    assert valid(loeb) and decide(loeb).valid


def test_goedel_and_henkin_sentences():
    system = ModalSystem.of({"g": parse("~[] g"), "h": parse("[] h"), "c": parse("[] ~c")})
    sol = solve_linear(system)
    assert sol.values == {"g": True, "h": True, "c": False}  # Gödel true, Henkin true (Löb), [] F false
    assert sol.history[:, 0].tolist() == [False, True]  # g = ~[]F: false at world 0 only


def test_unmodalized_cycle_is_rejected():
    with pytest.raises(ValueError, match="not modalized"):
        solve_linear(ModalSystem.of({"a": Not(Atom("b")), "b": Atom("a")}))
    with pytest.raises(ValueError, match="never defined"):
        solve_linear(ModalSystem.of({"a": Box(Atom("zz"))}))
