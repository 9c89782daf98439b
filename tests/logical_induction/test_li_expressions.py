"""Trading expressions: batch evaluation == scalar reference, interval bounds are sound (Hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from li_programs import N_PRICES, build, programs  # tests/logical_induction/li_programs.py

from aflab.logical_induction.expressions import ExpressionGraph


def scalar(prog, p):
    v = []
    for op, i, j, c in prog:
        v.append(
            {
                "const": lambda: c,
                "price": lambda: p[i % N_PRICES],
                "add": lambda: v[i] + v[j],
                "mul": lambda: v[i] * v[j],
                "max": lambda: max(v[i], v[j]),
                "min": lambda: min(v[i], v[j]),
                "srecip": lambda: 1 / max(1.0, v[i]),
                "abs": lambda: abs(v[i]),
                "clip": lambda: min(max(v[i], -abs(c)), abs(c)),
                "neg": lambda: -v[i],
            }[op]()
        )
    return v


@settings(max_examples=150, deadline=None)
@given(programs(), st.lists(st.floats(0, 1), min_size=N_PRICES * 3, max_size=N_PRICES * 3))
def test_values_match_reference_and_lie_within_sound_bounds(prog, flat):
    g = ExpressionGraph(N_PRICES)
    nodes = build(prog, g)
    P = np.array(flat).reshape(3, N_PRICES)
    vals = g.evaluate_all(P)  # batch of 3 price vectors
    for b in range(3):
        ref = scalar(prog, P[b])
        for e, r in zip(nodes, ref):
            v = vals[b, e.ids[0]]
            assert np.isclose(v, r, rtol=1e-9, atol=1e-9)
            assert e.lo[0] <= v <= e.hi[0], (v, e.lo, e.hi)
    # the bound also holds at the corners of the price cube
    corners = np.array([[(c >> k) & 1 for k in range(N_PRICES)] for c in range(2**N_PRICES)], dtype=float)
    cv = g.evaluate_all(corners)
    for e in nodes:
        assert np.all(cv[:, e.ids[0]] >= e.lo[0]) and np.all(cv[:, e.ids[0]] <= e.hi[0])


def test_min_bound_is_sound_unlike_reference():
    """logicalinduction's Min.bound() returns min of the bounds: min(-5, 1) has |value| 5 > bound 1."""
    g = ExpressionGraph(1)
    e = g.min(g.const([-5.0]), g.const([1.0]))
    assert e.magnitude_bound[0] >= 5.0
    li = pytest.importorskip("logicalinduction")
    ref = li.formula.Min(li.formula.Constant(-5), li.formula.Constant(1))
    assert ref.bound() < abs(ref.evaluate(li.credence.History([{}])))  # the reference's bound is unsound


def test_vectorised_s_curve_and_shared_leaves():
    g = ExpressionGraph(10_000)
    idx = np.arange(10_000)
    q = g.s_curve(0.1, g.price(idx), 10.0)
    assert g.size <= 10_000 + 20 + 7 * 10_000  # shared price leaves and scalar constants
    P = np.linspace(0, 1, 10_000)
    np.testing.assert_allclose(g.evaluate(q, P), np.clip(10 * (0.1 - P), -1, 1), atol=1e-12)
    with pytest.raises(ValueError):
        g.price([10_000])
