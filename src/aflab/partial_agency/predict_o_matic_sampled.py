"""Predict-O-Matic learners that do not know F: they see only sampled outcomes of their own announcements.

Round t: the learner announces p_t, the world draws n outcomes y ~ Bernoulli(F(p_t)) (mean y_bar_t).
Learner state is a logit u_t (announcement p_t = sigmoid(u_t), plus optional dither); all chains
(worlds x starts x replicates) run in one vectorised call, each with its own F (``bias``/``slope`` arrays).

- ``mode="myopic"`` (calibrate to what happened; a stop-gradient through F): online stochastic gradient of
  the realised score, u += a_t p(1-p) d/dp s(p, y_bar) = a_t p(1-p) score_slope(p, y_bar).  The expected
  step is the known-F myopic step with q = F(p) (score_slope is linear in q), so by stochastic
  approximation (Robbins-Monro, a_t -> 0, sum a_t = inf) its rest points are the attracting fixed points
  p = F(p).  For the log score the step is exactly a_t (y_bar - p).
- ``mode="full"`` (model-based full agent): fits F from its own past (announcement, outcome) pairs and
  ascends the *estimated* expected score G_hat(p) = E_{y ~ F_hat(p)} s(p, y) through the estimate:
  du = a_t p(1-p) [score_slope(p, F_hat(p)) + F_hat'(p) (s(p,1) - s(p,0))].  Announcements are dithered
  (logit + explore * N(0,1)) so the fit is identified, and the first ``warmup`` rounds only explore.
  Estimators: ``"logistic"`` -- maximum likelihood logit F_hat(p) = a + b (p - 1/2) on the whole
  history, refitted by warm-started Newton (IRLS) steps every max(refit_every, t/8) rounds (so the
  cost is O(M T) up to a log factor); well specified for
  :class:`LogisticResponse`.  ``"local-linear"`` -- discounted least squares y ~ a + b p over recent
  rounds (forgetting factor ``forget``, effective window 1/(1 - forget)), F_hat(p) = a + b p,
  F_hat' = b; nonparametric in the sense that it only assumes F is locally linear along the path.

The reported forecast is the Polyak average of the undithered p over the last quarter of rounds.
Compare with :func:`aflab.partial_agency.predict_o_matic.run_predictor` (known F, expected scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, logit

from aflab.partial_agency import predict_o_matic as P

Estimator = Literal["logistic", "local-linear"]
ESTIMATORS: tuple[str, ...] = ("logistic", "local-linear")
_U_CLIP = 9.0  # |logit| <= 9: p in [1.2e-4, 1 - 1.2e-4]


@dataclass(frozen=True)
class SampledPredictorRun:
    """Sampled-outcome learner over M chains.  ``trajectory`` (M, n_record) undithered announcements."""

    starts: np.ndarray
    trajectory: np.ndarray
    record_rounds: np.ndarray
    final: np.ndarray  # Polyak average of p over the last quarter of rounds
    outcome_prob: np.ndarray  # F(final)
    model: np.ndarray  # (M, 2): the full learner's last fit (a, b); NaN for myopic


_MAX_STEP = 4.0  # trust region of a Newton step: max |step| <= 4, ...
_STEP_SCALES = 0.5 ** np.arange(8)  # ... then the largest of these scales that does not lower the objective


def _penalised_loglik(w: np.ndarray, x: np.ndarray, Y: np.ndarray, n: int, ridge: float) -> np.ndarray:
    """Binomial log-likelihood (n trials per round) of logit F = w0 + w1 x, minus ridge |w|^2 / 2; w (M, 2)."""
    eta = w[:, :1] + w[:, 1:] * x
    ll = n * (Y * eta - np.logaddexp(0.0, eta)).sum(1)
    return ll - 0.5 * ridge * (w**2).sum(1)


def _fit_logistic(
    P_hist: np.ndarray, Y_hist: np.ndarray, n: int, w: np.ndarray, iters: int = 3, ridge: float = 1e-3
) -> np.ndarray:
    """Warm-started damped Newton (IRLS) for logit F(p) = a + b (p - 1/2) on histories (M, t); w (M, 2) -> (M, 2).

    Binomial log-likelihood with n trials per round; a small ridge keeps the 2x2 Hessian invertible
    before the announcements have spread. Each step is capped at max |step| <= 4 and then halved (up to 7 times)
    until the penalised likelihood does not drop (else no step): undamped, a chain started near 0 or 1 (its
    announcements barely spread) overshot to the +-50 clip, where the Hessian vanishes, and its fit froze there."""
    x = P_hist - 0.5
    for _ in range(iters):
        f = expit(w[:, :1] + w[:, 1:] * x)
        r = n * (Y_hist - f)
        v = n * f * (1 - f)
        g0 = r.sum(1) - ridge * w[:, 0]
        g1 = (r * x).sum(1) - ridge * w[:, 1]
        h00 = v.sum(1) + ridge
        h01 = (v * x).sum(1)
        h11 = (v * x * x).sum(1) + ridge
        det = h00 * h11 - h01**2
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], 1)
        step = step * np.minimum(1.0, _MAX_STEP / np.maximum(np.abs(step).max(1, keepdims=True), 1e-300))
        base = _penalised_loglik(w, x, Y_hist, n, ridge)
        out, todo = w.copy(), np.arange(w.shape[0])
        for scale in _STEP_SCALES:
            trial = np.clip(w[todo] + scale * step[todo], -50, 50)
            ok = _penalised_loglik(trial, x[todo], Y_hist[todo], n, ridge) >= base[todo]
            out[todo[ok]] = trial[ok]
            todo = todo[~ok]
            if todo.size == 0:
                break
        w = out
    return w


def _check_args(starts, rule, mode, estimator, rounds, n, lr, power, forget, explore, warmup) -> np.ndarray:
    P._rule(rule)
    if mode not in ("myopic", "full"):
        raise ValueError(f"mode must be 'myopic' or 'full'; got {mode!r}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
    if rounds < 8 or n < 1 or lr <= 0 or not 0.5 < power <= 1 or not 0 < forget < 1:
        raise ValueError("need rounds >= 8, outcomes_per_round >= 1, lr > 0, 0.5 < power <= 1, 0 < forget < 1")
    if mode == "full" and (explore <= 0 or warmup >= rounds):
        raise ValueError("the full learner needs explore > 0 (to identify F) and warmup < rounds")
    p0 = np.asarray(starts, dtype=float).ravel()
    if np.any((p0 <= 0) | (p0 >= 1)):
        raise ValueError("starts must lie strictly inside (0, 1)")
    return p0


def _local_linear(stats, forget, announced, y_bar, p):
    """Update the discounted sums (weight, p, p^2, y, p y) in place; F_hat(p), F_hat' and the fit (a, b)."""
    stats *= forget
    stats += np.stack([np.ones(p.size), announced, announced**2, y_bar, announced * y_bar])
    W, Sp, Spp, Sy, Spy = stats
    var = np.maximum(W * Spp - Sp**2, 1e-12)
    b = (W * Spy - Sp * Sy) / var
    a = (Sy - b * Sp) / W
    return np.clip(a + b * p, 1e-4, 1 - 1e-4), b, np.stack([a, b], 1)


def run_sampled_predictor(
    bias,
    slope,
    starts,
    rule: P.ScoringRule,
    mode: P.Mode,
    rounds: int,
    rng: np.random.Generator,
    outcomes_per_round: int = 10,
    lr: float = 0.5,
    decay_rounds: float = 200.0,
    power: float = 0.6,
    explore: float = 0.3,
    warmup: int = 100,
    estimator: Estimator = "logistic",
    refit_every: int = 25,
    forget: float = 0.995,
    n_record: int = 60,
    shuffle_outcomes: bool = False,
) -> SampledPredictorRun:
    """Run M chains in F(p) = sigmoid(bias + slope (p - 1/2)) (``bias``, ``slope`` scalars or (M,) arrays).

    Step size a_t = lr / (1 + t / decay_rounds)^power (Robbins-Monro for 1/2 < power <= 1).
    Only the sampled outcomes enter the learner; F itself is used only by the world.
    ``shuffle_outcomes`` is a deliberately broken feedback channel: every round the chains' outcome means are
    permuted, so a learner sees what happened after some other chain's announcement (a counterfactual).
    """
    p0 = _check_args(starts, rule, mode, estimator, rounds, outcomes_per_round, lr, power, forget, explore, warmup)
    M = p0.size
    F = P.LogisticResponse(
        np.broadcast_to(np.asarray(bias, float), (M,)), np.broadcast_to(np.asarray(slope, float), (M,))
    )
    n = int(outcomes_per_round)
    u = np.clip(logit(p0), -_U_CLIP, _U_CLIP)
    record = np.unique(np.linspace(0, rounds, n_record).astype(int))
    traj = np.empty((M, record.size))
    tail_start = rounds - rounds // 4
    tail_sum = np.zeros(M)
    full = mode == "full"
    P_hist = np.empty((M, rounds)) if full and estimator == "logistic" else None
    Y_hist = np.empty((M, rounds)) if P_hist is not None else None
    w = np.zeros((M, 2))
    stats = np.zeros((5, M))  # discounted sums: weight, p, p^2, y, p y
    ri, next_refit = 0, refit_every
    for t in range(rounds):
        if t == record[ri]:
            traj[:, ri] = expit(u)
            ri += 1
        p = expit(u)
        if t >= tail_start:
            tail_sum += p
        announced = expit(u + explore * rng.standard_normal(M)) if full else p
        y_bar = rng.binomial(n, F(announced)) / n
        if shuffle_outcomes:
            y_bar = y_bar[rng.permutation(M)]
        a_t = lr / (1.0 + t / decay_rounds) ** power
        if not full:
            du = p * (1 - p) * P.score_slope(p, y_bar, rule)
        else:
            if estimator == "logistic":
                P_hist[:, t], Y_hist[:, t] = announced, y_bar
                if t + 1 >= next_refit or t + 1 == warmup:
                    w = _fit_logistic(P_hist[:, : t + 1], Y_hist[:, : t + 1], n, w)
                    next_refit = t + 1 + max(refit_every, (t + 1) // 8)
                q_hat = expit(w[:, 0] + w[:, 1] * (p - 0.5))
                d_hat = w[:, 1] * q_hat * (1 - q_hat)
            else:
                q_hat, d_hat, w = _local_linear(stats, forget, announced, y_bar, p)
            du = p * (1 - p) * (P.score_slope(p, q_hat, rule) + d_hat * P.score_gap(p, rule))
            if t < warmup:
                du = np.zeros(M)
        u = np.clip(u + a_t * du, -_U_CLIP, _U_CLIP)
    traj[:, -1] = expit(u)
    final = tail_sum / (rounds - tail_start)
    model = w if full else np.full((M, 2), np.nan)
    return SampledPredictorRun(p0, traj, record, final, F(final), model)
