"""Bayesian evolving-to-extinction: a Bayes mixture whose predictions feed back into what it observes.

Demski, "Bayesian Evolving to Extinction" (Alignment Forum, Feb 2020; Partial Agency sequence) -- the text
could not be re-read here, so this is the model implemented, with the post's points as recalled:

- *Bayes is selection.* A mixture over hypotheses updates ``w_i <- w_i P_i(x_t) / sum_j w_j P_j(x_t)``:
  replicator dynamics with fitness = likelihood. Each hypothesis is scored one step ahead only (myopic
  scoring), yet selection rewards any hypothesis whose predictions, once they carry weight, make the world
  produce outcomes it predicts better than its rivals -- "evolving to extinction", as in biology, when what
  is selected makes everyone (here: the mixture's accuracy) worse off.
- *Feedback map* (documented, strength ``eps``): the world's next-outcome distribution follows the
  mixture's own prediction ``m_t = sum_i w_i P_i`` (a performative / self-fulfilling prediction, as with
  the Predict-O-Matic):  ``p_t = (1 - eps) b + eps m_t``, ``b`` the world's own distribution.
- *Hypotheses*: the honest one predicts ``b`` (exactly right when nobody listens, eps = 0); the
  *manipulator* predicts a fixed ``q != b`` -- wrong about the world, but if it holds weight ``w`` it moves
  the world to ``b + eps w (q - b)``, toward the outcomes it predicts and the honest one does not.

Closed form (mean-field, two hypotheses honest / manipulator). The expected change of the manipulator's
log-odds per step is ``D(w) = sum_x p(x) ln(q(x) / b(x)) = -KL(b||q) + eps w J(b, q)`` with
``J = KL(b||q) + KL(q||b)`` (Jeffreys' divergence), increasing in ``w``: the manipulator's weight runs to 1
iff ``eps w_0 > kappa = KL(b||q) / J(b, q)`` and to 0 otherwise. Its takeover needs ``eps > kappa``; at
takeover the world is ``p* = b + eps (q - b)`` and the mixture's loss ``CE(p*, q) = -sum p* ln q``,
against ``H(b)`` in the world without feedback.

*Myopic (stop-gradient) training.* In the ``myopic`` arm the honest hypothesis is a learner (softmax
logits, online gradient of its own log loss, the world held fixed -- the stop-gradient of the partial-agency
claims): it tracks ``p_t``, so the manipulator's drift is ``-KL(p_t || q) < 0`` whatever ``eps``.

The regret bound every Bayes mixture obeys on every sequence, with or without feedback (the sequence may
depend on the mixture in any way): ``-ln m(x_1..T) <= -ln P_i(x_1..T) + ln(1 / w_i(0))`` for every i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HONEST, MANIPULATOR = 0, 1


# ----------------------------------------------------------------------------------------- closed forms
def kl(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q) = sum p ln(p / q)`` (nats; 0 ln 0 = 0)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def takeover_kappa(b: np.ndarray, q: np.ndarray) -> float:
    """``kappa = KL(b||q) / (KL(b||q) + KL(q||b))``: the manipulator takes over iff ``eps w_0 > kappa``."""
    a = kl(b, q)
    return a / (a + kl(q, b))


def log_odds_drift(b: np.ndarray, q: np.ndarray, eps: float, w: float) -> float:
    """Mean-field drift of ``ln(w_manip / w_honest)``: ``-KL(b||q) + eps w J(b, q)``."""
    return -kl(b, q) + eps * w * (kl(b, q) + kl(q, b))


def takeover_loss(b: np.ndarray, q: np.ndarray, eps: float) -> float:
    """The mixture's expected log loss once the manipulator holds all the weight: ``CE(b + eps (q - b), q)``."""
    p = np.asarray(b, float) + eps * (np.asarray(q, float) - np.asarray(b, float))
    return float(-np.sum(p * np.log(q)))


def entropy(b: np.ndarray) -> float:
    """``H(b)``: the honest mixture's loss in the world without feedback."""
    b = np.asarray(b, float)
    b = b[b > 0]
    return float(-np.sum(b * np.log(b)))


# ----------------------------------------------------------------------------------------- instances
@dataclass(frozen=True)
class Instance:
    """A world ``b`` and a manipulator ``q`` (the honest hypothesis predicts ``b``)."""

    name: str
    b: tuple[float, ...]
    q: tuple[float, ...]

    @property
    def kappa(self) -> float:
        return takeover_kappa(np.array(self.b), np.array(self.q))


#: binary: a fairly predictable coin, a manipulator that predicts (and, with weight, brings) a fair coin;
#: categorical: a world dominated by outcome 0, a manipulator that predicts the rare outcome 2.
INSTANCES = {
    "binary": Instance("binary", (0.8, 0.2), (0.5, 0.5)),
    "categorical": Instance("categorical", (0.7, 0.2, 0.1), (0.15, 0.15, 0.7)),
}


# ----------------------------------------------------------------------------------------- the mechanism
def sample_categorical(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One draw per row of ``p`` (rows sum to 1), by inverse CDF."""
    u = rng.random(p.shape[0])[:, None]
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class MixtureRun:
    """Per run: final weights ``(R, K)``, cumulative log losses of the mixture ``(R,)`` and of each
    hypothesis ``(R, K)``, and the mixture's mean log loss over the last half of the steps ``(R,)``."""

    weights: np.ndarray
    mixture_loss: np.ndarray
    hypothesis_loss: np.ndarray
    late_loss: np.ndarray


def run_mixture(
    rng: np.random.Generator,
    b: np.ndarray,
    hypotheses: np.ndarray,
    prior: np.ndarray,
    eps: np.ndarray,
    n_steps: int,
    learner: tuple[int, float] | None = None,
    frozen_weights: bool = False,
    feedback=None,
) -> MixtureRun:
    """Run ``R`` independent worlds + mixtures for ``n_steps`` (vectorised over runs, a loop over steps).

    ``b`` ``(R, C)`` world distributions; ``hypotheses`` ``(R, K, C)`` fixed predictions; ``prior``
    ``(R, K)``; ``eps`` ``(R,)`` feedback strengths. ``learner = (k, lr)`` makes hypothesis ``k`` a
    myopic learner (initial logits ``ln hypotheses[:, k]``, step ``lr`` on the stop-gradient log-loss
    gradient ``h - onehot(x)``). ``feedback`` (optional) maps the mixture's prediction ``m`` ``(R, C)`` to
    the world's response (default: ``m`` itself, the self-fulfilling map). ``frozen_weights`` is a
    deliberately broken mixture (no Bayes update) for the check's mutation.
    """
    n_runs, k_hyp, _ = hypotheses.shape
    w = prior / prior.sum(axis=1, keepdims=True)
    hyp = hypotheses.copy()
    logits = np.log(hypotheses[:, learner[0]]) if learner else None
    rows = np.arange(n_runs)
    mix_loss, late, hyp_loss = np.zeros(n_runs), np.zeros(n_runs), np.zeros((n_runs, k_hyp))
    half = n_steps // 2
    for t in range(n_steps):
        if learner:
            hyp[:, learner[0]] = softmax(logits)
        m = np.einsum("rk,rkc->rc", w, hyp)
        response = m if feedback is None else feedback(m)
        p = (1 - eps)[:, None] * b + eps[:, None] * response
        x = sample_categorical(rng, p)
        lik = hyp[rows, :, x]  # (R, K): each hypothesis's probability of what happened
        step = -np.log(m[rows, x])
        mix_loss += step
        if t >= half:
            late += step
        hyp_loss -= np.log(lik)
        if not frozen_weights:
            w = w * lik
            w /= w.sum(axis=1, keepdims=True)
        if learner:
            grad = hyp[:, learner[0]].copy()
            grad[rows, x] -= 1.0
            logits = logits - learner[1] * grad
    return MixtureRun(w, mix_loss, hyp_loss, late / (n_steps - half))


def regret_excess(run: MixtureRun, prior: np.ndarray) -> np.ndarray:
    """``L_mix - min_i (L_i + ln(1 / w_i(0)))`` per run: <= 0 for a Bayes mixture, on any sequence."""
    w0 = prior / prior.sum(axis=1, keepdims=True)
    return run.mixture_loss - np.min(run.hypothesis_loss - np.log(w0), axis=1)
