"""Merging of opinions under uncertain evidence: "hard" Jeffrey shifts vs "soft" (Field) shifts.

Model (the text of Huttegger 2015, "Merging of opinions and probability kinematics", Rev. Symb. Logic
8(4), could not be re-read here; this is the model implemented, stated so that it can be checked):

- a coin of unknown bias ``theta`` on a grid ``theta_1 .. theta_K``; two agents A, B hold different priors
  over the grid (full support, so mutually absolutely continuous);
- on day ``t`` the coin lands ``X_t`` and each agent gets an *uncertain* glimpse of it, summarised by a
  number ``q_t`` in (0, 1);
- **hard (Jeffrey) shift**: the glimpse fixes the posterior ``P'(X_t = 1) = q_t`` for both agents -- the
  same target probability whatever the prior (Jeffrey's rule on the partition {X_t = 1, X_t = 0});
- **soft (Field) shift**: the glimpse is the Bayes factor ``beta_t = q_t / (1 - q_t)`` on the same
  partition, applied to each agent's own prior (virtual evidence with likelihood ``theta beta_t + 1 - theta``).

Closed forms used by the tests and the check:

- a hard shift moves an agent's predictive ``m = E[theta]`` a fraction of the way to the target:
  ``m' - m = v (q - m) / (m (1 - m))`` with ``v = Var(theta)`` (so ``0 <= v / (m(1-m)) <= 1``);
- under soft shifts the likelihood is common to both agents, so ``P_A(theta) / P_B(theta)`` stays
  proportional to the prior ratio for ever: the agents merge only if the common likelihood concentrates;
- constructed counterexample: ``theta in {0.3, 0.7}`` and glimpses alternating ``q, 1 - q``: each pair of
  soft shifts multiplies both hypotheses' likelihood by the same factor ``0.58 + 0.21 (beta + 1/beta)``,
  so soft-shifting agents never merge, while hard-shifting agents do.
"""

from __future__ import annotations

import numpy as np

HARD, SOFT = "hard", "soft"


def predictive(theta: np.ndarray, beliefs: np.ndarray) -> np.ndarray:
    """``m = E[theta]`` for each agent (beliefs: ``(..., K)`` rows over the theta grid)."""
    return beliefs @ theta


def hard_factor(theta: np.ndarray, beliefs: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jeffrey's rule on {X=1, X=0} with target ``q``, as a per-theta factor:
    ``q theta / m + (1 - q)(1 - theta) / (1 - m)`` (its expectation under the prior is 1)."""
    m = predictive(theta, beliefs)[..., None]
    q = np.asarray(q, float)[..., None]
    return q * theta / m + (1 - q) * (1 - theta) / (1 - m)


def soft_factor(theta: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Field's rule with Bayes factor ``beta = q / (1 - q)``: likelihood ``theta beta + 1 - theta``."""
    beta = (np.asarray(q, float) / (1 - np.asarray(q, float)))[..., None]
    return theta * beta + (1 - theta)


def shift(theta: np.ndarray, beliefs: np.ndarray, q: np.ndarray, mode: str) -> np.ndarray:
    """One day's update of every agent's belief (``beliefs`` ``(..., K)``, ``q`` broadcast over ``...``)."""
    if mode == HARD:
        factor = hard_factor(theta, beliefs, q)
    elif mode == SOFT:
        factor = np.broadcast_to(soft_factor(theta, q), beliefs.shape)
    else:
        raise ValueError(f"mode must be {HARD!r} or {SOFT!r}, got {mode!r}")
    new = beliefs * factor
    return new / new.sum(axis=-1, keepdims=True)


def run_agents(theta: np.ndarray, priors: np.ndarray, glimpses: np.ndarray, mode: str) -> np.ndarray:
    """Beliefs of every agent after each day: ``priors`` ``(..., K)``, ``glimpses`` ``(T, ...)`` broadcast
    against the agents' batch shape; returns ``(T + 1, ..., K)`` (day 0 = the priors)."""
    out = [priors]
    b = priors
    for q in glimpses:
        b = shift(theta, b, q, mode)
        out.append(b)
    return np.stack(out)


def hard_gain_closed_form(theta: np.ndarray, beliefs: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``m' = m + v (q - m) / (m (1 - m))``: the predictive after a hard shift, in closed form."""
    m = predictive(theta, beliefs)
    v = beliefs @ theta**2 - m**2
    return m + v * (np.asarray(q, float) - m) / (m * (1 - m))


def alternating_glimpses(q: float, n_days: int) -> np.ndarray:
    """The constructed stream ``q, 1-q, q, 1-q, ...`` (balanced soft evidence that never concentrates)."""
    return np.where(np.arange(n_days) % 2 == 0, q, 1 - q)


def noisy_glimpses(rng: np.random.Generator, theta_true: np.ndarray, accuracy: float, n_days: int) -> np.ndarray:
    """Glimpses of real coins, ``(n_days, n_runs)``: ``X_t ~ Bernoulli(theta_true[run])``, ``q_t = accuracy``
    if ``X_t = 1`` else ``1 - accuracy`` (a witness who reports the side seen, trusted to degree ``accuracy``)."""
    theta_true = np.atleast_1d(np.asarray(theta_true, float))
    x = rng.random((n_days, theta_true.size)) < theta_true
    return np.where(x, accuracy, 1 - accuracy)


def log_ratio_spread(beliefs_a: np.ndarray, beliefs_b: np.ndarray, prior_a: np.ndarray, prior_b: np.ndarray):
    """``max_theta - min_theta`` of ``log(P_A/P_B) - log(prior_A/prior_B)``: zero exactly when the ratio of
    the agents' posteriors is the prior ratio times a constant (what soft shifts preserve)."""
    d = np.log(beliefs_a) - np.log(beliefs_b) - (np.log(prior_a) - np.log(prior_b))
    return d.max(axis=-1) - d.min(axis=-1)
