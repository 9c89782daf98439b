"""Everitt et al. 2017 pieces against independent references: brute-force top-k sets, the paper's closed
form of the bound, Monte Carlo of the slip chains, and the no-free-lunch pair's indistinguishability."""

import numpy as np
import pytest

from aflab.normativity import everitt


def test_quantilising_choice_is_uniform_over_the_top_k():
    rng = np.random.default_rng(0)
    obs = rng.random((50, 20))
    for k in (1, 4, 20):
        p = everitt.quantilising_choice(obs, k)
        top = np.argsort(-obs, axis=1)[:, :k]
        expected = np.zeros_like(obs)
        np.put_along_axis(expected, top, 1.0 / k, axis=1)
        np.testing.assert_allclose(p, expected, atol=1e-12)


def test_bound_holds_against_adversarial_search():
    """For small S, try every placement of q corrupt states (shown as 1, truly 0): the exact regret never
    exceeds the bound, and the worst placement comes close to it."""
    import itertools

    rng = np.random.default_rng(1)
    s, k, q = 8, 3, 1
    true = np.sort(rng.random(s))[::-1]
    worst = 0.0
    for bad in itertools.combinations(range(s), q):
        t = true.copy()
        t[list(bad)] = 0.0
        obs = t.copy()
        obs[list(bad)] = 1.0
        p = everitt.quantilising_choice(obs[None], k)[0]
        regret = t.max() - p @ t
        bound = t.max() - everitt.quantilisation_bound(t[None], k, q)[0]
        assert regret <= bound + 1e-12
        worst = max(worst, regret / bound)
    assert worst > 0.5


def test_bound_reduces_to_the_papers_form_with_rich_rewards():
    """Rewards 1 - i/S (rich: r_(k+q) ~ 1 - delta) and delta = sqrt(q/S): 1 - (1 - sqrt(q/S))^2 up to O(1/S)."""
    s, q = 400, 4
    delta = np.sqrt(q / s)
    k = int(np.ceil(delta * s))
    true = (1 - np.arange(s) / s)[None]
    regret_bound = 1 - everitt.quantilisation_bound(true, k, q)[0]
    assert regret_bound == pytest.approx(1 - (1 - np.sqrt(q / s)) ** 2, abs=3 / np.sqrt(s))


def test_stationary_values_match_a_simulation_of_the_slip_chain():
    side, slip = 3, 0.3
    stat = everitt.stationary_values(side, slip)
    np.testing.assert_allclose(stat.sum(axis=1), 1.0)
    P = everitt.stay_policy_transitions(side, slip)
    rng = np.random.default_rng(2)
    target = 4
    state, counts = 0, np.zeros(side * side)
    for _ in range(60_000):
        state = rng.choice(side * side, p=P[target, state])
        counts[state] += 1
    np.testing.assert_allclose(counts / counts.sum(), stat[target], atol=0.01)
    assert np.allclose(everitt.stationary_values(side, 0.0), np.eye(side * side))


def test_nfl_pair_is_indistinguishable_and_swaps_the_good_state():
    m1, m2 = everitt.nfl_pair(np.random.default_rng(3), 100, 25)
    np.testing.assert_array_equal(m1.observed, m2.observed)
    assert (m1.corrupt.sum(1) == 1).all() and (m2.corrupt.sum(1) == 1).all()
    assert not (m1.corrupt & m2.corrupt).any()
    # any fixed choice of settling state has regrets summing to >= 1 across the pair
    for choice in range(25):
        r = m1.true.max(1) - m1.true[:, choice] + m2.true.max(1) - m2.true[:, choice]
        assert (r >= 1 - 1e-12).all()


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_corrupt"):
        everitt.random_crmdps(rng, 4, 10, 10, True)
    with pytest.raises(ValueError, match="k must"):
        everitt.quantilising_choice(rng.random((2, 5)), 0)
    with pytest.raises(ValueError, match="slip"):
        everitt.stay_policy_transitions(3, 1.5)
