"""K-outcome Predict-O-Matic learners that do not know F: they see only sampled categorical outcomes.

The K-outcome analogue of :mod:`aflab.partial_agency.predict_o_matic_sampled`. Round t: the learner announces a
forecast p_t on the K-simplex, the world draws n outcomes y ~ Categorical(F(p_t)) and the learner sees their
frequencies y_bar_t (a K-vector). Learner state is a softmax logit vector u_t (p_t = softmax(u_t)); all chains
(worlds x starts) run in one vectorised call, each with its own world F(p) = softmax(b_m + C p)
(:class:`~aflab.partial_agency.predict_o_matic.SoftmaxResponse` with an (M, K) bias).

- ``mode="myopic"`` (calibrate to what happened; a stop-gradient through F): online stochastic gradient of the
  realised score in logits, du = a_t (diag p - p p^T) d/dp s(p, y_bar). The score is linear in the outcome
  distribution, so the expected step is the known-F myopic step with q = F(p) (for the log score exactly
  a_t (y_bar - p)); by stochastic approximation (a_t -> 0, sum a_t = inf) its rest points are the attracting
  fixed points p = F(p).
- ``mode="full"`` (model-based full agent): fits F from its own past (announcement, outcome) pairs by multinomial
  logistic regression, F_hat(p) = softmax(eta), eta_k = beta_k + Gamma_k . (p_1, ..., p_{K-1}), eta_K = 0 (the
  last outcome is the reference and p_K = 1 - sum of the others, so this is exactly the family softmax(b + C p):
  well specified), by warm-started Newton steps on the whole history every max(refit_every, t/8) rounds; then it
  ascends the *estimated* expected score G_hat(p) = sum_y F_hat(p)_y s(p, y) through the estimate:
  dp = d/dp E_{q_hat} s(p, .) + J_hat^T s(p, .), J_hat = (diag q_hat - q_hat q_hat^T) Gamma~, du = a_t (diag p - p
  p^T) dp. Announcements are dithered (logits + explore N(0, I)) so the fit is identified; the first ``warmup``
  rounds only explore.

Limitation (measured): the dither is in logits, so a coordinate near 0 barely moves; from a start at a vertex or
an edge (p_k ~ 1e-3) the fit is not identified along that edge and a quadratic-score full learner can stay there
(the softmax step is proportional to p_k too). Start inside the simplex.

The reported forecast is the Polyak average of the undithered p over the last quarter of rounds. Compare with
:func:`aflab.partial_agency.predict_o_matic.run_predictor_simplex` (known F, expected scores) and
:func:`~aflab.partial_agency.predict_o_matic.fixed_points_simplex`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.partial_agency import predict_o_matic as P

_U_CLIP = 9.0  # |logit differences| stay moderate: every p_k >= ~1e-8


def softmax(u: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax along ``axis`` (scipy's has ~40 us of overhead per call: most of the learner's round)."""
    e = np.exp(u - u.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class SampledSimplexRun:
    """K-outcome sampled learner over M chains. ``trajectory`` (M, n_record, K) undithered announcements."""

    starts: np.ndarray
    trajectory: np.ndarray
    record_rounds: np.ndarray
    final: np.ndarray  # (M, K) Polyak average of p over the last quarter of rounds
    outcome_prob: np.ndarray  # F(final)
    model: np.ndarray  # (M, K - 1, K): the full learner's last fit (beta, Gamma); NaN for myopic


def _features(p: np.ndarray) -> np.ndarray:
    """x = (1, p_1, ..., p_{K-1}) for p (..., K)."""
    return np.concatenate([np.ones(p.shape[:-1] + (1,)), p[..., :-1]], axis=-1)


_MAX_STEP = 4.0  # trust region: a Newton step is first shrunk to max |step| <= 4 ...
_STEP_SCALES = 0.5 ** np.arange(8)  # ... then the largest of these scales that does not lower the objective


def _penalised_loglik(theta: np.ndarray, X: np.ndarray, Y: np.ndarray, n: int, ridge: float) -> np.ndarray:
    """n sum_t sum_k y_bar_tk log q_tk - ridge |theta|^2 / 2 for theta (M, K-1, D) -> (M,)."""
    eta = np.einsum("mkd,mtd->mtk", theta, X)
    top = np.maximum(eta.max(-1, keepdims=True), 0.0)
    lse = top + np.log(np.exp(eta - top).sum(-1, keepdims=True) + np.exp(-top))
    ll = (Y[..., :-1] * eta).sum((-1, -2)) - (Y.sum(-1, keepdims=True) * lse).sum((-1, -2))
    return n * ll - 0.5 * ridge * (theta**2).sum((-1, -2))


def _damped(theta, step, X, Y, n, ridge) -> np.ndarray:
    """theta + the trust-capped, backtracked step per chain (no step where no scale keeps the objective)."""
    step = step * np.minimum(1.0, _MAX_STEP / np.maximum(np.abs(step).max((1, 2), keepdims=True), 1e-300))
    base = _penalised_loglik(theta, X, Y, n, ridge)
    out, todo = theta.copy(), np.arange(theta.shape[0])
    for scale in _STEP_SCALES:
        trial = np.clip(theta[todo] + scale * step[todo], -50, 50)
        ok = _penalised_loglik(trial, X[todo], Y[todo], n, ridge) >= base[todo]
        out[todo[ok]] = trial[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    return out


def fit_softmax_response(
    P_hist: np.ndarray, Y_hist: np.ndarray, n: int, theta: np.ndarray, iters: int = 3, ridge: float = 1e-3
) -> np.ndarray:
    """Warm-started damped Newton for the multinomial logit y_bar_t ~ softmax(theta x_t), outcome K the reference.

    P_hist, Y_hist (M, T, K): announced forecasts and outcome frequencies (n draws each); theta (M, K-1, K) ->
    the refined (M, K-1, K). Log-likelihood n sum_t sum_k y_bar_tk log q_tk; gradient n sum_t (y_bar - q)_k x_t;
    Hessian n sum_t (diag q - q q^T)_kl x_t x_t^T; a small ridge keeps it invertible before the announcements
    have spread. Each Newton step is shrunk to max |step| <= 4, then scaled by the largest of 1, 1/2, ..., 1/128
    that does not lower the penalised log-likelihood (none: no step). Undamped, a step from announcements that
    have barely spread (a start near a vertex: H nearly singular) overshoots to the clip and the fit never
    recovers; with backtracking alone every scale can still overshoot, and the fit freezes."""
    M, T, K = P_hist.shape
    D = K
    X = _features(P_hist)  # (M, T, D)
    outer = (X[..., :, None] * X[..., None, :]).reshape(M, T, D * D)
    eye = np.eye((K - 1) * D)
    for _ in range(iters):
        eta = np.concatenate([np.einsum("mkd,mtd->mtk", theta, X), np.zeros((M, T, 1))], axis=-1)
        q = softmax(eta, axis=-1)[..., :-1]  # (M, T, K-1)
        grad = n * np.einsum("mtk,mtd->mkd", Y_hist[..., :-1] - q, X) - ridge * theta
        W = n * (np.einsum("mtk,kl->mtkl", q, np.eye(K - 1)) - q[..., :, None] * q[..., None, :])
        H = np.swapaxes(W.reshape(M, T, -1), 1, 2) @ outer  # (M, (K-1)^2, D^2): sum_t W_kl(t) x_a x_b
        H = H.reshape(M, K - 1, K - 1, D, D).transpose(0, 1, 3, 2, 4).reshape(M, (K - 1) * D, (K - 1) * D) + ridge * eye
        step = np.linalg.solve(H, grad.reshape(M, -1)[..., None])[..., 0].reshape(M, K - 1, D)
        theta = _damped(theta, step, X, Y_hist, n, ridge)
    return theta


def true_softmax_parameters(bias, coupling) -> np.ndarray:
    """The learner's reference-coded parameters (beta, Gamma) (K-1, K) of one world softmax(b + C p).

    eta_k - eta_K = b_k - b_K + sum_j (C_kj - C_Kj) p_j; substituting p_K = 1 - sum_{j<K} p_j gives
    beta_k = b_k - b_K + C_kK - C_KK and Gamma_kj = C_kj - C_Kj - (C_kK - C_KK) for j < K."""
    b, C = np.asarray(bias, float), np.asarray(coupling, float)
    D = C[:-1] - C[-1]  # (K-1, K): C_kj - C_Kj
    return np.concatenate([(b[:-1] - b[-1] + D[:, -1])[:, None], D[:, :-1] - D[:, -1:]], axis=1)


def _model_prediction(theta: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q_hat = F_hat(p) (M, K) and its Jacobian J_hat = dF_hat/dp (M, K, K) for the fitted multinomial logit."""
    M, K = p.shape
    q = softmax(np.concatenate([np.einsum("mkd,md->mk", theta, _features(p)), np.zeros((M, 1))], axis=-1), axis=-1)
    gamma = np.zeros((M, K, K))
    gamma[:, :-1, :-1] = theta[:, :, 1:]  # d eta_k / d p_j for j < K; eta_K = 0 and p_K does not enter
    J = (np.einsum("mk,kl->mkl", q, np.eye(K)) - q[:, :, None] * q[:, None, :]) @ gamma
    return q, J


def _myopic_direction(p: np.ndarray, q: np.ndarray, rule: str) -> np.ndarray:
    """d/dp E_{y ~ q} s(p, y) with q held fixed: q / p (log) or 2 (q - p) (quadratic)."""
    return q / np.clip(p, 1e-12, 1) if rule == "log" else 2 * (q - p)


def _check_sampled_simplex_args(F, starts, rule, mode, rounds, n, lr, power, explore, warmup) -> np.ndarray:
    P._rule(rule)
    if mode not in ("myopic", "full"):
        raise ValueError(f"mode must be 'myopic' or 'full'; got {mode!r}")
    if rounds < 8 or n < 1 or lr <= 0 or not 0.5 < power <= 1:
        raise ValueError("need rounds >= 8, outcomes_per_round >= 1, lr > 0 and 0.5 < power <= 1")
    if mode == "full" and (explore <= 0 or warmup >= rounds):
        raise ValueError("the full learner needs explore > 0 (to identify F) and warmup < rounds")
    P0 = np.asarray(starts, dtype=float)
    if F.bias.ndim != 2 or P0.shape != F.bias.shape or np.any(P0 <= 0):
        raise ValueError(f"starts must be (M, K) = the world's bias shape {F.bias.shape}, with positive entries")
    return P0 / P0.sum(1, keepdims=True)


def run_sampled_predictor_simplex(
    F: P.SoftmaxResponse,
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
    refit_every: int = 25,
    n_record: int = 40,
    shuffle_outcomes: bool = False,
) -> SampledSimplexRun:
    """Run M chains, chain m in the world F(p) = softmax(F.bias[m] + F.coupling p), from ``starts`` (M, K).

    Step size a_t = lr / (1 + t / decay_rounds)^power. Only the sampled outcome frequencies enter the learner; F
    is used only by the world. ``shuffle_outcomes`` is a deliberately broken feedback channel: every round the
    chains' outcome frequencies are permuted, so a learner sees what happened after another chain's forecast."""
    P0 = _check_sampled_simplex_args(F, starts, rule, mode, rounds, outcomes_per_round, lr, power, explore, warmup)
    M, K = P0.shape
    n = int(outcomes_per_round)
    u = np.log(P0)
    u = np.clip(u - u.max(1, keepdims=True), -_U_CLIP, 0)
    record = np.unique(np.linspace(0, rounds, n_record).astype(int))
    traj = np.empty((M, record.size, K))
    tail_start = rounds - rounds // 4
    tail_sum = np.zeros((M, K))
    full = mode == "full"
    P_hist = np.empty((M, rounds, K)) if full else None
    Y_hist = np.empty((M, rounds, K)) if full else None
    theta = np.zeros((M, K - 1, K))
    ri, next_refit = 0, refit_every
    for t in range(rounds):
        p = softmax(u, axis=1)
        if t == record[ri]:
            traj[:, ri], ri = p, ri + 1
        if t >= tail_start:
            tail_sum += p
        announced = softmax(u + explore * rng.standard_normal((M, K)), axis=1) if full else p
        y_bar = rng.multinomial(n, F(announced)) / n
        if shuffle_outcomes:
            y_bar = y_bar[rng.permutation(M)]
        if not full:
            dp = _myopic_direction(p, y_bar, rule)
        else:
            P_hist[:, t], Y_hist[:, t] = announced, y_bar
            if t + 1 >= next_refit or t + 1 == warmup:
                theta = fit_softmax_response(P_hist[:, : t + 1], Y_hist[:, : t + 1], n, theta)
                next_refit = t + 1 + max(refit_every, (t + 1) // 8)
            q_hat, J_hat = _model_prediction(theta, p)
            dp = _myopic_direction(p, q_hat, rule) + np.einsum("myk,my->mk", J_hat, P.simplex_scores(p, rule))
            if t < warmup:
                dp = np.zeros_like(p)
        du = p * dp - p * (p * dp).sum(1, keepdims=True)
        u = u + lr / (1.0 + t / decay_rounds) ** power * du
        u = np.clip(u - u.max(1, keepdims=True), -_U_CLIP, 0)
    traj[:, -1] = softmax(u, axis=1)
    final = tail_sum / (rounds - tail_start)
    model = theta if full else np.full((M, K - 1, K), np.nan)
    return SampledSimplexRun(P0, traj, record, final, F(final), model)
