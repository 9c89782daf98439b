"""Kelly bettors in a market reproduce a Bayesian mixture (Demski, "the Bayesian tyrant"; Kelly 1956).

Bettor ``i`` has wealth ``w_i`` and predicts ``q_i(t) = Pr(x_t = 1 | x_<t)``. With log utility it
spends fraction ``q_i`` of its wealth on YES shares and ``1 - q_i`` on NO shares. The price that clears
the market is the wealth-weighted mean belief ``p_t = sum_i w_i q_i / sum_i w_i`` and after the
outcome wealth updates as ``w_i <- w_i q_i(x_t) / p_t(x_t)``. By induction ``w_i(t) / W(t)`` is the
Bayes posterior with prior ``w_i(0) / W(0)``, so the market price is the Bayes mixture predictive.

A *fractional* Kelly bettor (spending only fraction ``f < 1`` of its wealth on its belief and holding
the rest as cash) updates ``w_i <- w_i (1 - f + f q_i(x)/p(x))``: a tempered, non-Bayesian update.
Both are computed here by wealth bookkeeping; :func:`bayes_mixture` is the independent log-space
computation they are compared with.
"""

from __future__ import annotations

import numpy as np


def kelly_market(
    predictions: np.ndarray, outcomes: np.ndarray, initial_wealth: np.ndarray, fraction: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Run the market: predictions (T, H) in (0, 1), outcomes (T,) 0/1, wealth (H,) > 0.

    Returns (prices (T,), wealth (T+1, H)). ``fraction`` = 1 is full Kelly."""
    q = np.asarray(predictions, dtype=float)
    x = np.asarray(outcomes)
    w0 = np.asarray(initial_wealth, dtype=float)
    if q.ndim != 2 or q.shape[0] != len(x) or q.shape[1] != len(w0):
        raise ValueError("predictions must be (T, H) with T = len(outcomes) and H = len(initial_wealth)")
    if np.any((q <= 0) | (q >= 1)):
        raise ValueError("predictions must lie strictly inside (0, 1)")
    if np.any(w0 <= 0):
        raise ValueError("initial_wealth must be > 0")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    T, H = q.shape
    wealth = np.empty((T + 1, H))
    wealth[0] = w0
    prices = np.empty(T)
    for t in range(T):
        w = wealth[t]
        # fractional Kelly: only f of the wealth is bet, at the price set by the betting wealth
        p = float((w * q[t]).sum() / w.sum())
        prices[t] = p
        ratio = q[t] / p if x[t] else (1 - q[t]) / (1 - p)
        wealth[t + 1] = w * (1 - fraction + fraction * ratio)
    return prices, wealth


def bayes_mixture(predictions: np.ndarray, outcomes: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Bayes mixture predictive ``sum_i pi_i(t) q_i(t)`` with ``pi(t) propto prior * prod_{s<t} q_i(x_s)``,
    computed in log space (cumulative log-likelihoods, log-sum-exp)."""
    q = np.asarray(predictions, dtype=float)
    x = np.asarray(outcomes).astype(bool)
    loglik = np.where(x[:, None], np.log(q), np.log1p(-q))
    cum = np.vstack([np.zeros(q.shape[1]), np.cumsum(loglik, axis=0)[:-1]])
    logpost = np.log(np.asarray(prior, dtype=float))[None, :] + cum
    logpost -= logpost.max(axis=1, keepdims=True)
    post = np.exp(logpost)
    post /= post.sum(axis=1, keepdims=True)
    return (post * q).sum(axis=1)


def bernoulli_and_markov_predictions(outcomes: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """Hypotheses: i.i.d. Bernoulli(theta) for each theta, plus 'repeat the last bit with prob theta'
    Markov predictors: a (T, 2 len(thetas)) prediction matrix."""
    x = np.asarray(outcomes)
    T = len(x)
    prev = np.concatenate([[0], x[:-1]])
    iid = np.broadcast_to(thetas, (T, len(thetas)))
    markov = np.where(prev[:, None] == 1, thetas[None, :], 1 - thetas[None, :])
    return np.hstack([iid, markov])
