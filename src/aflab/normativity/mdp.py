"""Deterministic gridworld MDPs, batched value iteration and batched tabular Q-learning.

Everything is vectorised over a leading batch axis (B independent MDPs / runs stepping in
lockstep), so one Python loop over time steps serves a whole batch of seeds.
Reward convention: ``R(s')`` is received on entering (or staying in) state ``s'``;
``Q(s, a) = R(s') + gamma * max_a' Q(s', a')`` with ``s' = next_state[s, a]``.
"""

from __future__ import annotations

import numpy as np

#: stay, up, down, left, right
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])
N_ACTIONS = len(MOVES)


def grid_next_state(side: int) -> np.ndarray:
    """(S, A) deterministic successor table of a ``side x side`` grid (walls: stay in place)."""
    if side < 1:
        raise ValueError(f"side must be >= 1; got {side}")
    rows, cols = np.divmod(np.arange(side * side), side)
    r2 = np.clip(rows[:, None] + MOVES[None, :, 0], 0, side - 1)
    c2 = np.clip(cols[:, None] + MOVES[None, :, 1], 0, side - 1)
    return r2 * side + c2


def grid_distance(side: int) -> np.ndarray:
    """(S, S) Manhattan distance = number of moves between cells of the grid."""
    rows, cols = np.divmod(np.arange(side * side), side)
    return np.abs(rows[:, None] - rows[None]) + np.abs(cols[:, None] - cols[None])


def value_iteration(
    next_state: np.ndarray, reward: np.ndarray, gamma: float, tol: float = 1e-10, max_iter: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal (V, Q) of deterministic MDPs sharing ``next_state``; ``reward`` is (..., S).

    Iterates the Bellman optimality operator (a gamma-contraction) until the sup-norm change is
    below ``tol * (1 - gamma)``.
    """
    if not 0 <= gamma < 1:
        raise ValueError(f"gamma must lie in [0, 1); got {gamma}")
    r_next = reward[..., next_state]  # (..., S, A)
    v = np.zeros(reward.shape)
    for _ in range(max_iter):
        q = r_next + gamma * v[..., next_state]
        v_new = q.max(axis=-1)
        if np.max(np.abs(v_new - v)) < tol * (1 - gamma):
            v = v_new
            break
        v = v_new
    return v, r_next + gamma * v[..., next_state]


def greedy_actions(q: np.ndarray, rng: np.random.Generator | None = None, atol: float = 1e-9) -> np.ndarray:
    """argmax over the last axis; with ``rng``, ties (within atol) are broken uniformly at random."""
    if rng is None:
        return q.argmax(axis=-1)
    best = q.max(axis=-1, keepdims=True)
    keys = np.where(q >= best - atol, rng.random(q.shape), -1.0)
    return keys.argmax(axis=-1)


def q_learning(
    next_state: np.ndarray,
    reward_mean: np.ndarray,
    reward_noise_sd: float,
    *,
    steps: int,
    gamma: float,
    lr: float,
    epsilon: float,
    episode_len: int,
    q_init: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Tabular epsilon-greedy Q-learning on B MDPs at once; returns Q of shape (B, S, A).

    Observed reward on entering s' is ``reward_mean[b, s'] + reward_noise_sd * N(0, 1)``.
    Episodes restart from a uniformly random state every ``episode_len`` steps. Optimistic
    ``q_init`` drives systematic exploration (Even-Dar & Mansour 2001).
    """
    b, s = reward_mean.shape
    a = next_state.shape[1]
    q = np.full((b, s, a), float(q_init))
    rows = np.arange(b)
    state = rng.integers(0, s, size=b)
    for t in range(steps):
        if t % episode_len == 0:
            state = rng.integers(0, s, size=b)
        explore = rng.random(b) < epsilon
        action = np.where(explore, rng.integers(0, a, size=b), greedy_actions(q[rows, state], rng))
        nxt = next_state[state, action]
        r = reward_mean[rows, nxt] + reward_noise_sd * rng.standard_normal(b)
        target = r + gamma * q[rows, nxt].max(axis=-1)
        q[rows, state, action] += lr * (target - q[rows, state, action])
        state = nxt
    return q


def long_run_true_reward(
    next_state: np.ndarray, q: np.ndarray, true_reward: np.ndarray, rng: np.random.Generator, burn_in: int, horizon: int
) -> np.ndarray:
    """Average true reward of the greedy policy of ``q`` (B, S, A) after ``burn_in`` steps.

    Starts from a uniformly random state; on a deterministic grid the greedy walk ends in a cycle
    (usually a fixed point), whose average true reward is the policy's long-run (gain) value.
    """
    b, s, _ = q.shape
    rows = np.arange(b)
    policy = q.argmax(axis=-1)
    state = rng.integers(0, s, size=b)
    total = np.zeros(b)
    for t in range(burn_in + horizon):
        state = next_state[state, policy[rows, state]]
        if t >= burn_in:
            total += true_reward[rows, state]
    return total / horizon
