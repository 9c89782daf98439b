"""The matrix-free shift-operator solver (``method="shift"``) vs the explicit sparse solver, the
closed forms, and Monte Carlo: exit times, their pmf, and stationary occupancy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.waluigi import montecarlo as mc
from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import (
    DiscreteHazardPrior,
    Luigi,
    PersonaMixture,
    SystemPrompt,
    WaluigiPopulation,
    predictive_tables,
    standard_mixture,
)


def cases() -> dict[str, PersonaMixture]:
    pop = WaluigiPopulation(DiscreteHazardPrior((0.05, 0.2, 0.6), (0.5, 0.3, 0.2)), r=0.3, delta=0.02)
    return {
        "single": standard_mixture(h=0.1, r=0.5, p_waluigi=0.4),
        "slips": standard_mixture(h=0.2, r=0.5, p_waluigi=0.5, delta=0.05),  # outside the closed form
        "beta": standard_mixture(beta=(0.5, 2.0), r=0.7, p_waluigi=0.4, n_nodes=24),
        "discrete-pinned": PersonaMixture((Luigi(0.02), pop), (0.6, 0.4), prompt=SystemPrompt((0.0, -1.0), "pinned")),
        "sliding": standard_mixture(h=0.3, r=0.4, p_waluigi=0.4, prompt=SystemPrompt((0.5, -0.5), "sliding", 2)),
        "ternary": standard_mixture(h=0.1, r=0.5, p_waluigi=0.3, g=0.05, p_repetition=0.3, rho=0.6, delta=0.01),
    }


CASES = cases()


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_shift_equals_sparse(name, k):
    mix = CASES[name]
    if mix.alphabet.size**k > 2**12:
        k = 7  # ternary: 3^7 windows keep the sparse reference quick
    a = wc.exit_time(mix, k, t_max=40, method="sparse")
    b = wc.exit_time(mix, k, t_max=40, method="shift")
    assert b.mean == pytest.approx(a.mean, rel=1e-8)
    np.testing.assert_allclose(b.pmf, a.pmf, atol=1e-12)
    oa = wc.stationary_occupancy(mix, k, method="sparse")
    ob = wc.stationary_occupancy(mix, k, method="shift")
    for cls in oa:
        assert ob[cls] == pytest.approx(oa[cls], rel=1e-7, abs=1e-10)
    assert sum(ob.values()) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=12, deadline=None)
@given(
    h=st.floats(0.02, 1.0),
    r=st.floats(0.05, 0.8),
    delta=st.sampled_from([0.0, 0.01, 0.1]),
    w=st.floats(0.05, 0.95),
    k=st.integers(1, 9),
)
def test_shift_equals_sparse_property(h, r, delta, w, k):
    # r <= 0.8 keeps E[exit] <= ~1e7: both solvers lose ~1e-16 * E[exit] relative accuracy (at
    # r = 0.94, k = 9, E[exit] = 7e10, both miss the closed form by ~1e-6, the shift solver by less)
    mix = standard_mixture(h=h, r=r, p_waluigi=w, delta=delta)
    assert wc.exit_time(mix, k, method="shift").mean == pytest.approx(
        wc.exit_time(mix, k, method="sparse").mean, rel=1e-7
    )


def test_shift_operator_is_the_transition_matrix():
    mix = CASES["ternary"]
    k = 4
    op = wc.shift_operator(mix, k)
    P = wc._full_chain(mix, k, True).toarray()  # independent construction: explicit index arithmetic
    v = np.random.default_rng(0).standard_normal(op.n)
    np.testing.assert_allclose(op.apply(v), P @ v, atol=1e-13)
    np.testing.assert_allclose(op.apply_t(v), P.T @ v, atol=1e-13)
    np.testing.assert_allclose(op.apply(np.ones(op.n)), 1.0, atol=1e-13)  # rows are distributions


@pytest.mark.parametrize("r, k", [(0.5, 14), (0.3, 18)])
def test_shift_large_k_vs_closed_form(r, k):
    """Beyond the sparse solver: binary k = 18 (2^18 windows) against (1 - q^k)/(r q^k) and the occupancy."""
    mix = standard_mixture(h=0.1, r=r, p_waluigi=0.5)
    ex = wc.exit_time(mix, k, t_max=30)  # auto -> shift
    assert ex.mean == pytest.approx(float(th.exit_time_mean(r, k)), rel=1e-8)
    np.testing.assert_allclose(ex.pmf, th.exit_time_pmf(r, k, 30), atol=1e-12)
    assert wc.stationary_occupancy(mix, k)["revealing"] == pytest.approx(th.waluigi_occupancy(mix, k), rel=1e-9)


@pytest.mark.parametrize("k", [6, 12])
def test_shift_vs_monte_carlo_outside_closed_form(k):
    """delta > 0 (the luigi also reveals): no closed form; the shift solver vs simulated exit times."""
    mix = CASES["slips"]
    ex = wc.exit_time(mix, k, t_max=2000)
    n = 3000
    sim = mc.simulate_exit(mix, k, n, 10**6, np.random.default_rng(40 + k))
    assert sim.observed.all()
    se = sim.time.std(ddof=1) / np.sqrt(n)
    assert abs(sim.time.mean() - ex.mean) <= 4 * se
    # the exit pmf: P(T <= 2 mean) from the solver vs the empirical fraction
    t2 = int(2 * ex.mean)
    p = ex.pmf[: t2 + 1].sum()
    assert abs(np.mean(sim.time <= t2) - p) <= 4 * np.sqrt(p * (1 - p) / n)


def test_shift_exact_absorption_and_bad_input():
    assert wc.exit_time(standard_mixture(h=0.2, r=1.0), 13, method="shift").mean == float("inf")
    mix = standard_mixture(h=0.2, r=0.5)
    with pytest.raises(ValueError, match="method"):
        wc.exit_time(mix, 4, method="lu")
    with pytest.raises(ValueError, match="sparse"):
        wc.stationary_occupancy(mix, 17, method="sparse")
    with pytest.raises(ValueError, match="limit"):
        wc.exit_time(mix, 22)
    with pytest.raises(ValueError, match="k must be"):
        wc.shift_operator(mix, 0)


def test_predictive_rows_used_by_the_operator_are_normalised():
    mix = CASES["beta"]
    T = predictive_tables(mix, 9)[9]
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)
