"""Hard (Jeffrey) vs soft (Field) shifts: the closed forms and the constructed counterexample."""

from __future__ import annotations

import numpy as np

from aflab.updating import merging as M

THETA = np.array([0.3, 0.7])


def test_hard_shift_matches_jeffreys_rule_written_out():
    # Jeffrey on {X=1, X=0}: P'(theta) = q P(theta, X=1)/P(X=1) + (1-q) P(theta, X=0)/P(X=0), per theta.
    rng = np.random.default_rng(0)
    theta = np.linspace(0.05, 0.95, 7)
    for _ in range(10):
        prior, q = rng.dirichlet(np.ones(7)), rng.uniform(0.05, 0.95)
        joint1, joint0 = prior * theta, prior * (1 - theta)
        expected = q * joint1 / joint1.sum() + (1 - q) * joint0 / joint0.sum()
        np.testing.assert_allclose(M.shift(theta, prior, q, M.HARD), expected, rtol=1e-12)


def test_hard_gain_closed_form():
    rng = np.random.default_rng(1)
    theta = np.linspace(0.1, 0.9, 5)
    prior, q = rng.dirichlet(np.ones(5), size=8), rng.uniform(0.1, 0.9, size=8)
    after = M.shift(theta, prior, q, M.HARD)
    np.testing.assert_allclose(M.predictive(theta, after), M.hard_gain_closed_form(theta, prior, q), rtol=1e-12)


def test_soft_shift_is_virtual_evidence_and_keeps_the_prior_ratio():
    rng = np.random.default_rng(2)
    theta = np.linspace(0.1, 0.9, 5)
    priors = rng.dirichlet(np.ones(5), size=2)
    glimpses = rng.uniform(0.2, 0.8, size=(50, 1))
    beliefs = M.run_agents(theta, priors, glimpses, M.SOFT)
    assert M.log_ratio_spread(beliefs[:, 0], beliefs[:, 1], priors[0], priors[1]).max() < 1e-10


def test_alternating_pair_multiplies_both_hypotheses_equally():
    # (0.3 b + 0.7)(0.3 / b + 0.7) = 0.58 + 0.21 (b + 1/b) = (0.7 b + 0.3)(0.7 / b + 0.3)
    for b in (1.5, 4.0, 9.0):
        lo = (0.3 * b + 0.7) * (0.3 / b + 0.7)
        hi = (0.7 * b + 0.3) * (0.7 / b + 0.3)
        assert np.isclose(lo, 0.58 + 0.21 * (b + 1 / b)) and np.isclose(hi, lo)


def test_constructed_stream_soft_never_merges_hard_does():
    priors = np.array([[0.8, 0.2], [0.1, 0.9]])
    stream = M.alternating_glimpses(0.8, 300)[:, None]
    m = {mode: M.predictive(THETA, M.run_agents(THETA, priors, stream, mode)) for mode in (M.HARD, M.SOFT)}
    gap = {mode: np.abs(v[:, 0] - v[:, 1]) for mode, v in m.items()}
    np.testing.assert_allclose(gap[M.SOFT][::2], gap[M.SOFT][0], rtol=1e-9)  # back to 0.28 every second day
    assert np.isclose(gap[M.SOFT][0], abs((0.3 * 0.8 + 0.7 * 0.2) - (0.3 * 0.1 + 0.7 * 0.9)))
    assert gap[M.HARD][-1] < 1e-6 * gap[M.HARD][0]


def test_noisy_glimpses_shape_and_values():
    g = M.noisy_glimpses(np.random.default_rng(0), np.array([0.2, 0.9]), 0.75, 1000)
    assert g.shape == (1000, 2) and set(np.unique(g)) <= {0.25, 0.75}
    assert abs((g[:, 1] == 0.75).mean() - 0.9) < 0.04
