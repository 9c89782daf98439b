"""Everitt, Krakovna, Orseau, Hutter, Legg 2017, "Reinforcement Learning with a Corrupted Reward Channel"
(IJCAI), as in the paper: the delta-quantilising agent and its regret bound, the no-free-lunch pair, and
stochastic transitions.

Setting (the paper's sec. 5 assumptions): the agent can reach any state and stay there, at most q of the |S|
states are corrupt (observed reward r_hat != true reward r there), rewards lie in [0, 1], and regret is the
long-run (time-averaged) true reward lost against the best state.

- **delta-quantilising agent** (sec. 5): explore, observe r_hat of every state, then go to a state drawn
  uniformly from the top k = ceil(delta |S|) states by observed reward and stay. Exact distribution:
  :func:`quantilising_choice` (the exact quantilizer with a uniform base and q = k / |S|, ties split).
- **regret bound** (our statement of the sec. 5 argument, checked exactly): among the k + q best states by
  *true* reward at most q are corrupt, so at least k states show r_hat >= r_(k+q) (the (k+q)-th largest true
  reward); the top-k observed set therefore contains at most q corrupt states, each of its clean states has
  true reward >= r_(k+q), and

      E[r(chosen)] >= (1 - q / k) r_(k+q),   regret <= max r - (1 - q / k) r_(k+q).

  With a rich reward distribution (r_(k+q) >= 1 - delta) and delta = sqrt(q / |S|) this is the paper's
  1 - (1 - sqrt(q / |S|))^2. :func:`quantilisation_bound`.
- **no free lunch** (sec. 4, Thm. 11 in spirit): two CRMDPs that show the agent identical observed rewards
  -- in M1 state a is truly good and b corrupt, in M2 the reverse -- are indistinguishable through the
  reward channel, so whatever an agent does, regret(M1) + regret(M2) >= 1 and its worst case is >= 1/2.
  Decoupled feedback (other states' honest reports on a and b) breaks the symmetry. :func:`nfl_pair`.
- **stochastic transitions**: with slip probability p every action is replaced by a uniformly random one, so
  "go to s and stay" spends only part of the time at s; a target's long-run true and observed values are its
  stationary distribution times r and r_hat (:func:`stationary_values`), and corruption leaks into the
  values of the targets next to a corrupt state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.mdp import MOVES, grid_distance, grid_next_state
from aflab.normativity.quantilizers import quantilize


@dataclass(frozen=True)
class CorruptRewards:
    """B reward tables over S states: true r, observed r_hat, corrupt mask (batch axis first)."""

    true: np.ndarray
    observed: np.ndarray
    corrupt: np.ndarray


def random_crmdps(
    rng: np.random.Generator, batch: int, n_states: int, n_corrupt: np.ndarray | int, adversarial: np.ndarray | bool
) -> CorruptRewards:
    """True rewards r ~ U(0, 1); ``n_corrupt`` (per MDP) random states corrupt. Adversarial corruption: a
    corrupt state's true reward is 0 and it shows 1 (the worst case for a reward maximiser); otherwise it
    shows an independent U(0, 1) draw."""
    q = np.broadcast_to(np.asarray(n_corrupt), (batch,))
    if np.any(q < 0) or np.any(q >= n_states):
        raise ValueError(f"n_corrupt must lie in [0, n_states); got {np.unique(q)}")
    adv = np.broadcast_to(np.asarray(adversarial, dtype=bool), (batch,))
    true = rng.random((batch, n_states))
    corrupt = np.argsort(rng.random((batch, n_states)), axis=1) < q[:, None]
    true = np.where(corrupt & adv[:, None], 0.0, true)
    fake = np.where(adv[:, None], 1.0, rng.random((batch, n_states)))
    return CorruptRewards(true, np.where(corrupt, fake, true), corrupt)


def quantilising_choice(observed: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """(B, S) probability of settling in each state: uniform over the top k by observed reward (ties split)."""
    b, s = observed.shape
    k = np.broadcast_to(np.asarray(k), (b,))
    if np.any(k < 1) or np.any(k > s):
        raise ValueError(f"k must lie in [1, {s}]; got {np.unique(k)}")
    return quantilize(np.full((b, s), 1.0 / s), observed, k / s)


def quantilisation_bound(true: np.ndarray, k: np.ndarray | int, q: np.ndarray | int) -> np.ndarray:
    """Lower bound (1 - q/k) r_(k+q) on the quantiliser's expected true reward (0 when k <= q or k + q > S)."""
    b, s = true.shape
    k = np.broadcast_to(np.asarray(k), (b,))
    q = np.broadcast_to(np.asarray(q), (b,))
    ranked = -np.sort(-true, axis=1)
    idx = np.clip(k + q - 1, 0, s - 1)
    r_kq = np.where(k + q <= s, ranked[np.arange(b), idx], 0.0)
    return np.maximum(1 - q / k, 0.0) * r_kq


def nfl_pair(rng: np.random.Generator, batch: int, n_states: int) -> tuple[CorruptRewards, CorruptRewards]:
    """Two indistinguishable CRMDPs per draw: states a, b both show observed reward 1; in M1 a is truly 1 and b
    corrupt (truly 0), in M2 the reverse; every other state is clean with r = r_hat ~ U(0, 1/2)."""
    if n_states < 3:
        raise ValueError(f"n_states must be >= 3; got {n_states}")
    base = rng.uniform(0, 0.5, (batch, n_states))
    ab = np.argsort(rng.random((batch, n_states)), axis=1)[:, :2]
    rows = np.arange(batch)
    observed = base.copy()
    observed[rows, ab[:, 0]] = observed[rows, ab[:, 1]] = 1.0
    out = []
    for bad in (1, 0):  # M1: the second of the pair is corrupt; M2: the first
        true = observed.copy()
        true[rows, ab[:, bad]] = 0.0
        corrupt = np.zeros((batch, n_states), dtype=bool)
        corrupt[rows, ab[:, bad]] = True
        out.append(CorruptRewards(true, observed.copy(), corrupt))
    return out[0], out[1]


def honest_review_median(true: np.ndarray, corrupt: np.ndarray, reviews: int, rng: np.random.Generator) -> np.ndarray:
    """Decoupled feedback: each state's value as the median of ``reviews`` reports by random other states;
    clean reviewers report the truth, corrupt ones report 1 (B, S)."""
    b, s = true.shape
    reviewer = rng.integers(0, s, (b, s, reviews))
    lies = np.take_along_axis(corrupt, reviewer.reshape(b, -1), axis=1).reshape(b, s, reviews)
    reports = np.where(lies, 1.0, true[:, :, None])
    return np.median(reports, axis=2)


def stay_policy_transitions(side: int, slip: float) -> np.ndarray:
    """(S_targets, S, S) Markov chains of "walk to the target along a shortest path, then stay", where with
    probability ``slip`` the action is replaced by a uniformly random one (5 moves incl. stay)."""
    if not 0 <= slip <= 1:
        raise ValueError(f"slip must lie in [0, 1]; got {slip}")
    s = side * side
    nxt = grid_next_state(side)  # (S, A)
    dist = grid_distance(side)
    a = len(MOVES)
    # the intended action: the first move that brings the agent closer (stay at the target)
    d_next = dist[nxt][:, :, :]  # (S, A, S): distance of each successor to each target
    d_now = dist[:, None, :]
    closer = d_next < d_now  # (S, A, T)
    intended = np.where(closer.any(axis=1), closer.argmax(axis=1), 0)  # (S, T), 0 = stay
    P = np.zeros((s, s, s))  # (T, S, S')
    for t in range(s):
        for act in range(a):
            np.add.at(P[t], (np.arange(s), nxt[:, act]), slip / a)
        np.add.at(P[t], (np.arange(s), nxt[np.arange(s), intended[:, t]]), 1 - slip)
    return P


def stationary_values(side: int, slip: float) -> np.ndarray:
    """(S_targets, S) long-run state distribution of each stay-policy (unique: slips make the chain
    irreducible when slip > 0; a point mass at the target when slip = 0)."""
    s = side * side
    if slip == 0:
        return np.eye(s)
    P = stay_policy_transitions(side, slip)
    A = np.transpose(P, (0, 2, 1)) - np.eye(s)[None]
    A[:, -1, :] = 1.0  # replace one balance equation by sum(pi) = 1
    rhs = np.zeros(s)
    rhs[-1] = 1.0
    return np.linalg.solve(A, np.broadcast_to(rhs, (s, s))[..., None])[..., 0]
