"""Deductive processes (pi digits, primality, PRG) and the Kelly market vs closed-form Bayes."""

import numpy as np
import pytest

from aflab.logical_induction.deduction import is_prime, pi_digits, pi_scenario, prg_bits, prg_scenario
from aflab.logical_induction.kelly import bayes_mixture, kelly_market


def test_pi_digits_known_prefix():
    assert "".join(map(str, pi_digits(30))) == "141592653589793238462643383279"


def test_is_prime_matches_sieve():
    n = 5000
    sieve = np.ones(n, dtype=bool)
    sieve[:2] = False
    for i in range(2, int(n**0.5) + 1):
        sieve[i * i :: i] = False
    assert [is_prime(i) for i in range(n)] == list(sieve)
    assert is_prime(2**61 - 1) and not is_prime(2**61 + 1)


def test_scenarios_are_consistent_and_reveal_late():
    sc = pi_scenario(12, window=2, delay=3)
    assert sc.n_days == 12
    for day in sc.revealed_on.values():
        assert day >= 1
    assert np.mean(prg_bits(0, 4000)) == pytest.approx(0.5, abs=0.03)
    ps = prg_scenario(10, seed=1, delay=2)
    assert len(ps.facts[2]) == 1 and ps.facts[0] == ()


def test_kelly_market_equals_bayes_mixture_closed_form():
    rng = np.random.default_rng(3)
    T, H = 300, 5
    q = rng.uniform(0.05, 0.95, size=(T, H))
    x = rng.integers(0, 2, size=T)
    prior = rng.dirichlet(np.ones(H))
    p, wealth = kelly_market(q, x, prior)
    np.testing.assert_allclose(p, bayes_mixture(q, x, prior), atol=1e-12)
    # wealth shares are the posterior; total wealth = Bayes marginal likelihood ratio vs market
    post = wealth[-1] / wealth[-1].sum()
    lik = np.prod(np.where(x[:, None] == 1, q, 1 - q), axis=0) * prior
    np.testing.assert_allclose(post, lik / lik.sum(), rtol=1e-9)
    pf, _ = kelly_market(q, x, prior, fraction=0.5)
    assert np.abs(pf - p).max() > 1e-3


def test_kelly_bad_inputs():
    with pytest.raises(ValueError, match="fraction"):
        kelly_market(np.full((2, 2), 0.5), np.array([0, 1]), np.ones(2), fraction=0)
    with pytest.raises(ValueError, match="strictly"):
        kelly_market(np.ones((2, 2)), np.array([0, 1]), np.ones(2))
