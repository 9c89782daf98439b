"""Quantilizers vs brute-force enumeration, an LP, closed forms; the cost bounds on random costs."""

from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import linprog

from aflab.normativity.quantilizers import (
    best_of_n,
    continuous_quantilizer_expectation,
    cost_bound_ratio,
    quantile_grid_quantilizer,
    quantilize,
    quantilize_many,
    sample_continuous_quantilizer,
    top_k_of_n_choice,
)

# integer weights (-> rational probabilities) and few utility values (-> many ties)
envs = st.integers(1, 7).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 6), min_size=k, max_size=k).filter(lambda w: sum(w) > 0),
        st.lists(st.integers(0, 3), min_size=k, max_size=k),
    )
)


def brute_force_quantilizer(weights, utility, q: Fraction):
    """Expand into equal atoms (Fractions), keep the top q of atoms level by level, split each kept
    level's mass among its actions in proportion to weight. Independent of the vectorised code."""
    sum(weights)
    scale = q.denominator
    atoms = []  # one entry per atom of mass 1/(total*scale)
    for i, (w, u) in enumerate(zip(weights, utility)):
        atoms += [(u, i)] * (w * scale)
    atoms.sort(key=lambda a: -a[0])
    n_keep = q * len(atoms)  # integer because len(atoms) = total * scale
    assert n_keep.denominator == 1
    kept_per_level: dict = {}
    for u, _ in atoms[: int(n_keep)]:
        kept_per_level[u] = kept_per_level.get(u, 0) + 1
    out = []
    for w, u in zip(weights, utility):
        level_atoms = sum(ww * scale for ww, uu in zip(weights, utility) if uu == u)
        kept = kept_per_level.get(u, 0)
        share = Fraction(w * scale, level_atoms) if level_atoms else Fraction(0)
        out.append(share * kept / n_keep)
    return out


@settings(max_examples=150, deadline=None)
@given(envs, st.integers(1, 12), st.integers(1, 12))
def test_quantilizer_matches_brute_force_enumeration(env, num, den):
    weights, utility = env
    q = Fraction(min(num, den), den)
    p = np.array(weights, float) / sum(weights)
    got = quantilize(p, np.array(utility, float), float(q))
    want = np.array([float(x) for x in brute_force_quantilizer(weights, utility, q)])
    np.testing.assert_allclose(got, want, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(envs, st.floats(0.01, 1.0))
def test_quantilizer_solves_taylors_linear_programme(env, q):
    """Taylor 2016: the q-quantilizer maximises E_Q[u] subject to 0 <= Q <= p / q, sum Q = 1."""
    weights, utility = env
    p = np.array(weights, float) / sum(weights)
    u = np.array(utility, float)
    got = quantilize(p, u, q)
    lp = linprog(-u, A_eq=np.ones((1, len(p))), b_eq=[1.0], bounds=list(zip(np.zeros(len(p)), p / q)))
    assert lp.status == 0
    assert got @ u == pytest.approx(-lp.fun, abs=1e-7)
    assert np.all(got <= p / q + 1e-12) and got.sum() == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(envs, st.floats(0.001, 1.0), st.lists(st.floats(0, 100), min_size=7, max_size=7))
def test_cost_bound_on_random_cost_functions(env, q, costs):
    weights, utility = env
    p = np.array(weights, float) / sum(weights)
    c = np.array(costs[: len(p)])
    probs = quantilize(p, np.array(utility, float), q)
    assert probs @ c <= (p @ c) / q * (1 + 1e-12) + 1e-300
    assert cost_bound_ratio(p, probs, c, 1 / q) <= 1 + 1e-12


def brute_force_best_of_n(p, u, n):
    """Enumerate all n-tuples of draws; the argmax-utility draws share the pick uniformly."""
    out = np.zeros(len(p))
    for tup in product(range(len(p)), repeat=n):
        prob = np.prod([p[i] for i in tup])
        top = max(u[i] for i in tup)
        winners = [i for i in tup if u[i] == top]
        for i in winners:
            out[i] += prob / len(winners)
    return out


@settings(max_examples=40, deadline=None)
@given(envs.filter(lambda e: len(e[0]) <= 5), st.integers(1, 4))
def test_best_of_n_matches_enumeration_and_its_bound(env, n):
    weights, utility = env
    p = np.array(weights, float) / sum(weights)
    u = np.array(utility, float)
    got = best_of_n(p, u, n)
    np.testing.assert_allclose(got, brute_force_best_of_n(p, u, n), atol=1e-12)
    assert np.all(got <= n * p + 1e-12)


def test_quantilize_edge_cases_and_batching():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    u = np.array([1.0, 2.0, 2.0, 0.0])
    np.testing.assert_allclose(quantilize(p, u, 1.0), p)
    # q = 0.6: the tie class {1, 2} (mass 0.5) fully, then 0.1 of action 0's level (mass 0.1)
    np.testing.assert_allclose(quantilize(p, u, 0.6), [1 / 6, 2 / 6, 3 / 6, 0])
    # q = 0.25 inside a tie class: split in proportion to base mass
    np.testing.assert_allclose(quantilize(p, u, 0.25), [0, 0.4, 0.6, 0])
    batch_p = np.stack([p, p[::-1]])
    batch_u = np.stack([u, u[::-1]])
    np.testing.assert_allclose(quantilize(batch_p, batch_u, 0.6)[1], quantilize(p[::-1], u[::-1], 0.6))
    many = quantilize_many(p, u, [0.25, 0.6])
    np.testing.assert_allclose(many[1], quantilize(p, u, 0.6))
    for bad_q in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="q must lie"):
            quantilize(p, u, bad_q)
    with pytest.raises(ValueError, match="sum to 1"):
        quantilize(p * 2, u, 0.5)
    with pytest.raises(ValueError, match="shape"):
        quantilize(p, u[:3], 0.5)
    with pytest.raises(ValueError, match="positive integer"):
        best_of_n(p, u, 0)


@pytest.mark.parametrize("q", [0.01, 0.1, 0.5, 1.0])
def test_continuous_quantilizer_closed_form_normal(q):
    """For X ~ N(0,1), E[X | X >= z_{1-q}] = phi(z_{1-q}) / q (inverse Mills ratio)."""
    z = stats.norm.ppf(1 - q)
    want = stats.norm.pdf(z) / q
    assert continuous_quantilizer_expectation(stats.norm(), lambda x: x, q) == pytest.approx(want, rel=1e-6)
    draws = sample_continuous_quantilizer(stats.norm(), q, 200_000, np.random.default_rng(0))
    assert draws.min() >= z - 1e-9
    assert draws.mean() == pytest.approx(want, abs=5 * draws.std() / np.sqrt(len(draws)))


@pytest.mark.parametrize("q", [0.05, 0.3, 0.8])
def test_quantile_grid_quantilizer_non_monotone_utility(q):
    """u(x) = -|x| under N(0,1): the quantilizer is N(0,1) truncated to |x| <= a, a = z_{(1+q)/2},
    whose second moment is 1 - 2 a phi(a) / q."""
    a = stats.norm.ppf((1 + q) / 2)
    x, probs = quantile_grid_quantilizer(stats.norm(), lambda x: -np.abs(x), q, n_cells=200_000)
    assert probs @ x**2 == pytest.approx(1 - 2 * a * stats.norm.pdf(a) / q, rel=2e-3, abs=1e-5)
    assert np.abs(x[probs > 0]).max() <= a + 1e-3
    # monotone utility agrees with the exact quadrature version
    x, probs = quantile_grid_quantilizer(stats.norm(), lambda x: x, q, n_cells=200_000)
    assert probs @ x == pytest.approx(continuous_quantilizer_expectation(stats.norm(), lambda x: x, q), rel=1e-3)


def test_top_k_of_n_picks_uniformly_among_the_top_k():
    rng = np.random.default_rng(1)
    u = np.array([[5.0, 1.0, 4.0, 4.0, 0.0]])
    picks = np.array([top_k_of_n_choice(u, 3, rng)[0] for _ in range(6000)])
    freq = np.bincount(picks, minlength=5) / len(picks)
    np.testing.assert_allclose(freq, [1 / 3, 0, 1 / 3, 1 / 3, 0], atol=0.03)
    picks = np.array([top_k_of_n_choice(u, 2, rng)[0] for _ in range(6000)])
    freq = np.bincount(picks, minlength=5) / len(picks)
    # the 2nd place is a tie between draws 2 and 3: each gets half of 1/2
    np.testing.assert_allclose(freq, [0.5, 0, 0.25, 0.25, 0], atol=0.03)
    with pytest.raises(ValueError, match="k must lie"):
        top_k_of_n_choice(u, 6, rng)
