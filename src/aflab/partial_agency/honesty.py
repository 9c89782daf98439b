"""Honesty mechanisms for the Predict-O-Matic: when does a predictor whose forecast moves the outcome still
report a fixed point p = F(p), or at least not manipulate?

- **zero-sum competition** (Oesterheld, Treutlein, Cooper, Hudson 2023 and the zero-sum-predictors result of
  the same group): two predictors report p1, p2; the world responds to their average, y ~ F((p1 + p2)/2);
  predictor i is paid s(p_i, y) - s(p_j, y). Moving the world changes both scores' expectation through the
  same q, so at a symmetric profile the influence terms cancel and the first-order condition is the myopic
  one, d/dp E_q s(p, .) = 0 at q = F(p): honest fixed points. :func:`zero_sum_play` runs simultaneous
  gradient ascent of both payoffs (each predictor a *full* agent: it differentiates through F);
  ``zero_sum=False`` pays each its own score (two full agents sharing the influence) -- the counterfactual.
- **counterfactual (erasure) oracle** (Armstrong, "Good and safe uses of AI oracles"): with probability
  ``erase`` the prediction is erased before anyone sees it, the world runs as without it (y ~ F(default)),
  and only then is the oracle scored; so its expected score is erase x E_{F(default)} s(p, y), maximised
  by p = F(default) by properness: no incentive to move the world, and the report answers the
  counterfactual question, not "what will happen given my report". :func:`erasure_oracle` learns it from
  sampled erased episodes only.
- **model-free full agent** (REINFORCE): a Gaussian policy over the report's logit, updated with the
  score-function gradient of the realised score -- it never models F, yet ascends G(p) = E_{F(p)} s(p, y)
  through its effect on the world, and so ends near the manipulative optimum. :func:`reinforce_predictor`.

Worlds are :class:`~aflab.partial_agency.predict_o_matic.SoftmaxResponse` on the K-simplex (binary logistic
worlds are the K = 2 case: bias (0, b - slope/2), coupling [[0, 0], [0, slope]]), batched over worlds.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit, softmax

from aflab.partial_agency import predict_o_matic as P


def logistic_as_softmax(bias: np.ndarray, slope: np.ndarray) -> P.SoftmaxResponse:
    """Binary worlds F(p) = sigmoid(b + slope (p - 1/2)) as K = 2 softmax worlds (one row per world).

    The coupling must be one matrix, so per-world slopes are folded into the bias: this works for a single
    slope shared by the batch (``slope`` scalar)."""
    b = np.atleast_1d(np.asarray(bias, dtype=float))
    s = float(slope)
    return P.SoftmaxResponse(np.stack([np.zeros_like(b), b - s / 2], axis=1), np.array([[0.0, 0.0], [0.0, s]]))


def _ascent_direction(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """Chain rule through p = softmax(u): du = (diag p - p p^T) dp, batched."""
    return p * dp - p * (p * dp).sum(-1, keepdims=True)


def _myopic_part(p: np.ndarray, q: np.ndarray, rule: str) -> np.ndarray:
    """d/dp E_{y~q} s(p, y) with q held fixed."""
    return q / np.clip(p, 1e-12, 1) if rule == "log" else 2 * (q - p)


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex (sort-based, Duchi et al. 2008)."""
    k = v.shape[-1]
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1
    ind = np.arange(1, k + 1)
    rho = np.sum(u - css / ind > 0, axis=-1, keepdims=True)
    theta = np.take_along_axis(css, rho - 1, axis=-1) / rho
    return np.maximum(v - theta, 0.0)


def _payoff_gradients(F, a, b, rule, z):
    pbar = (a + b) / 2
    q, J = F(pbar), F.jacobian(pbar)
    sa, sb = P.simplex_scores(a, rule), P.simplex_scores(b, rule)
    ga = _myopic_part(a, q, rule) + 0.5 * np.einsum("myk,my->mk", J, sa - z * sb)
    gb = _myopic_part(b, q, rule) + 0.5 * np.einsum("myk,my->mk", J, sb - z * sa)
    return ga, gb


def zero_sum_play(
    F: P.SoftmaxResponse,
    p1: np.ndarray,
    p2: np.ndarray,
    rule: P.ScoringRule,
    lr: float | None = None,
    steps: int = 3000,
    zero_sum: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous gradient ascent of payoff_i = E_{y ~ F(pbar)} [s(p_i, y) - z s(p_j, y)], pbar = (p1 + p2)/2,
    z = 1 (zero-sum) or 0 (each paid its own score). Each predictor differentiates through F:
    d payoff_i / d p_i = d/dp E_q s(p_i, .) + (1/2) J(pbar)^T [s(p_i, .) - z s(p_j, .)].

    Geometry per score: the log score ascends in softmax logits (its gradient q/p blows up at the boundary;
    lr 1), the quadratic score by projected Euclidean ascent on the simplex (in logits its gradient vanishes
    like p^2 at a vertex and play stalls there; lr 0.25). Returns the final (p1, p2)."""
    P._rule(rule)
    lr = (1.0 if rule == "log" else 0.25) if lr is None else lr
    if lr <= 0 or steps < 1:
        raise ValueError("lr must be > 0 and steps >= 1")
    z = 1.0 if zero_sum else 0.0
    if rule == "quadratic":
        a, b = np.array(p1, dtype=float), np.array(p2, dtype=float)
        for _ in range(steps):
            ga, gb = _payoff_gradients(F, a, b, rule, z)
            a, b = project_simplex(a + lr * ga), project_simplex(b + lr * gb)
        return a, b
    u1, u2 = np.log(np.clip(p1, 1e-12, 1)), np.log(np.clip(p2, 1e-12, 1))
    for _ in range(steps):
        a, b = softmax(u1, axis=-1), softmax(u2, axis=-1)
        ga, gb = _payoff_gradients(F, a, b, rule, z)
        u1 = np.clip(u1 + lr * _ascent_direction(a, ga), -20, 20)
        u2 = np.clip(u2 + lr * _ascent_direction(b, gb), -20, 20)
    return softmax(u1, axis=-1), softmax(u2, axis=-1)


def erasure_oracle(
    F: P.SoftmaxResponse,
    default: np.ndarray,
    starts: np.ndarray,
    rule: P.ScoringRule,
    rng: np.random.Generator,
    erase: float = 0.1,
    rounds: int = 4000,
    lr: float = 0.5,
) -> np.ndarray:
    """A counterfactual oracle learning from sampled episodes: each round, with probability ``erase`` the report
    is hidden, the outcome is drawn from the world without it, y ~ F(default), and the oracle takes a
    stochastic gradient step on s(p, y); otherwise the outcome (y ~ F(p)) is never scored. Step
    lr / (1 + t/100)^0.6. Returns the Polyak average of the last quarter (M, K)."""
    P._rule(rule)
    if not 0 < erase <= 1:
        raise ValueError(f"erase must lie in (0, 1]; got {erase}")
    m, k = starts.shape
    u = np.log(np.clip(starts, 1e-12, 1))
    q0 = F(default)
    tail, n_tail = np.zeros((m, k)), 0
    for t in range(rounds):
        p = softmax(u, axis=-1)
        erased = rng.random(m) < erase
        y = (rng.random((m, 1)) < np.cumsum(q0, axis=-1)).argmax(axis=-1)
        onehot = np.eye(k)[y]
        grad = _myopic_part(p, onehot, rule)  # an unbiased sample of d/dp E_{F(default)} s(p, .)
        step = lr / (1 + t / 100) ** 0.6
        u = np.clip(u + step * erased[:, None] * _ascent_direction(p, grad), -20, 20)
        if t >= rounds - rounds // 4:
            tail += softmax(u, axis=-1)
            n_tail += 1
    return tail / n_tail


def reinforce_predictor(
    bias: np.ndarray,
    slope: float,
    starts: np.ndarray,
    rule: P.ScoringRule,
    rng: np.random.Generator,
    rounds: int = 6000,
    outcomes_per_round: int = 20,
    sigma: float = 0.3,
    lr: float = 0.05,
) -> np.ndarray:
    """Model-free full agent on binary worlds: report p = sigmoid(m + sigma eps), n outcomes y ~ Bernoulli(F(p)),
    reward = mean realised score; m += lr_t (reward - baseline) eps / sigma (REINFORCE with a running-mean
    baseline per chain, lr_t = lr / (1 + t/500)^0.6). It ascends the sigma-smoothed G(p) = E_{F(p)} s(p, y).
    Returns sigmoid(m) averaged over the last quarter (M,)."""
    P._rule(rule)
    F = P.LogisticResponse(np.asarray(bias, dtype=float), float(slope))
    m = logit(np.clip(np.asarray(starts, dtype=float), 1e-6, 1 - 1e-6))
    baseline = np.zeros_like(m)
    tail, n_tail = np.zeros_like(m), 0
    for t in range(rounds):
        eps = rng.standard_normal(m.shape)
        p = expit(m + sigma * eps)
        y_bar = rng.binomial(outcomes_per_round, F(p)) / outcomes_per_round
        pc = np.clip(p, 1e-12, 1 - 1e-12)
        if rule == "log":
            reward = y_bar * np.log(pc) + (1 - y_bar) * np.log1p(-pc)
        else:
            reward = 4 * pc * y_bar - 2 * pc**2 - 2 * y_bar + 1  # expected Brier-type score of the n outcomes
        m = m + lr / (1 + t / 500) ** 0.6 * (reward - baseline) * eps / sigma
        baseline += 0.05 * (reward - baseline)
        if t >= rounds - rounds // 4:
            tail += expit(m)
            n_tail += 1
    return tail / n_tail
