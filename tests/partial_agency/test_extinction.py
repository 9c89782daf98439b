"""Evolving to extinction: closed forms of the mean-field drift, exact Bayes-mixture identities, and the
simulated mechanism far above / far below the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from aflab.partial_agency import extinction as X

B, Q = np.array([0.95, 0.05]), np.array([0.5, 0.5])


def test_kl_and_kappa_by_hand():
    # KL(b||q) = 0.95 ln 1.9 + 0.05 ln 0.1; KL(q||b) = 0.5 ln(0.5/0.95) + 0.5 ln 10
    a = 0.95 * np.log(1.9) + 0.05 * np.log(0.1)
    c = 0.5 * np.log(0.5 / 0.95) + 0.5 * np.log(10)
    assert np.isclose(X.kl(B, Q), a) and np.isclose(X.kl(Q, B), c)
    assert np.isclose(X.takeover_kappa(B, Q), a / (a + c))
    assert np.isclose(X.entropy(B), -(0.95 * np.log(0.95) + 0.05 * np.log(0.05)))


@pytest.mark.parametrize("eps, w", [(0.0, 0.3), (0.5, 0.5), (0.9, 0.95), (1.0, 1.0)])
def test_drift_formula_matches_the_direct_expectation(eps, w):
    for b, q in ((B, Q), (np.array([0.8, 0.15, 0.05]), np.array([0.2, 0.2, 0.6]))):
        m = (1 - w) * b + w * q
        p = (1 - eps) * b + eps * m
        direct = float(np.sum(p * np.log(q / b)))
        assert np.isclose(X.log_odds_drift(b, q, eps, w), direct)


def test_drift_vanishes_on_the_boundary():
    k = X.takeover_kappa(B, Q)
    assert np.isclose(X.log_odds_drift(B, Q, 0.8, k / 0.8), 0.0)
    assert X.log_odds_drift(B, Q, k * 0.99, 1.0) < 0 < X.log_odds_drift(B, Q, k * 1.01, 1.0)


def test_fixed_hypotheses_mixture_obeys_the_exact_bayes_identities():
    rng = np.random.default_rng(0)
    n, k, c = 50, 4, 3
    b, hyp = rng.dirichlet(np.ones(c), size=n), rng.dirichlet(np.ones(c), size=(n, k))
    prior = rng.dirichlet(np.ones(k), size=n)
    run = X.run_mixture(rng, b, hyp, prior, rng.uniform(0, 1, n), 120)
    # -ln m(x_1..T) = -ln sum_i w_i(0) P_i(x_1..T) and w_i(T) = w_i(0) P_i(x_1..T) / m(x_1..T), exactly
    log_joint = np.log(prior) - run.hypothesis_loss
    top = log_joint.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1))
    np.testing.assert_allclose(run.mixture_loss, -lse, rtol=1e-10)
    np.testing.assert_allclose(run.weights, np.exp(log_joint - lse[:, None]), atol=1e-10)
    assert X.regret_excess(run, prior).max() < 1e-9


def test_frozen_weights_break_the_bound():
    rng = np.random.default_rng(1)
    n = 40
    hyp = np.broadcast_to(np.stack([B, Q]), (n, 2, 2)).copy()
    prior = np.full((n, 2), 0.5)
    run = X.run_mixture(rng, np.broadcast_to(B, (n, 2)), hyp, prior, np.zeros(n), 300, frozen_weights=True)
    assert X.regret_excess(run, prior).min() > 0


def test_takeover_and_extinction_far_from_the_boundary():
    rng = np.random.default_rng(2)
    n = 60
    hyp = np.broadcast_to(np.stack([B, Q]), (n, 2, 2)).copy()
    for eps, w0, expect_takeover in ((0.95, 0.99, True), (0.2, 0.95, False)):
        prior = np.tile([1 - w0, w0], (n, 1))
        run = X.run_mixture(rng, np.broadcast_to(B, (n, 2)), hyp, prior, np.full(n, eps), 400)
        share = (run.weights[:, 1] > 0.99).mean()
        assert share > 0.9 if expect_takeover else share == 0.0


def test_late_loss_after_takeover_matches_the_closed_form():
    rng = np.random.default_rng(3)
    n, eps = 200, 0.9
    hyp = np.broadcast_to(np.stack([B, Q]), (n, 2, 2)).copy()
    run = X.run_mixture(rng, np.broadcast_to(B, (n, 2)), hyp, np.tile([1e-6, 1 - 1e-6], (n, 1)), np.full(n, eps), 400)
    # the manipulator predicts (1/2, 1/2): its log loss is ln 2 per step whatever happens
    assert np.isclose(run.late_loss.mean(), X.takeover_loss(B, Q, eps), atol=1e-4)
    assert np.isclose(X.takeover_loss(B, Q, eps), np.log(2))
    # categorical: CE(b + eps (q - b), q) with a non-uniform q (Monte Carlo: 40,000 late steps, SE ~ 0.003)
    b3, q3 = np.array([0.8, 0.15, 0.05]), np.array([0.2, 0.2, 0.6])
    hyp3 = np.broadcast_to(np.stack([b3, q3]), (n, 2, 3)).copy()
    run3 = X.run_mixture(
        rng, np.broadcast_to(b3, (n, 3)), hyp3, np.tile([1e-6, 1 - 1e-6], (n, 1)), np.full(n, eps), 400
    )
    p_star = b3 + eps * (q3 - b3)
    assert np.isclose(run3.late_loss.mean(), -np.sum(p_star * np.log(q3)), atol=0.015)


def test_myopic_learner_tracks_the_world_without_feedback():
    rng = np.random.default_rng(4)
    n = 30
    start = np.array([0.5, 0.5])
    hyp = np.broadcast_to(np.stack([start, Q]), (n, 2, 2)).copy()
    run = X.run_mixture(rng, np.broadcast_to(B, (n, 2)), hyp, np.tile([0.5, 0.5], (n, 1)), np.zeros(n), 3000, (0, 0.02))
    # the learner (started at the manipulator's guess) learns b and takes all the weight
    assert (run.weights[:, 0] > 0.99).all()


def test_sample_categorical_frequencies():
    rng = np.random.default_rng(5)
    p = np.tile([0.2, 0.5, 0.3], (200_000, 1))
    x = X.sample_categorical(rng, p)
    np.testing.assert_allclose(np.bincount(x) / x.size, [0.2, 0.5, 0.3], atol=0.005)


def test_config_errors_name_the_field():
    from aflab.partial_agency.claims_extinction import EvolvingToExtinctionConfig, extinction_cells

    with pytest.raises(ValueError, match="eps_grid must include 0"):
        extinction_cells(EvolvingToExtinctionConfig(eps_grid=(0.1, 0.2)))
    with pytest.raises(ValueError, match="instances: unknown"):
        extinction_cells(EvolvingToExtinctionConfig(instances=("ternary",)))
