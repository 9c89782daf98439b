"""Quantilization over trajectories with a base policy learned from demonstrations (behaviour cloning), in the
spirit of mtrazzi/quantilizers (Taylor 2016 applied to whole trajectories of a gridworld).

World (B layouts of a ``side x side`` grid, moves + stay): a start, a goal (true reward 1 per step spent there)
and a *reward bug*: a trap cell whose true reward is ``trap_true`` (< 0) per step but which the proxy rewards
with ``trap_proxy`` (> 1) -- the proxy is right everywhere except in its tail.

- **demonstrator**: Boltzmann-rational in the *true* reward (softmax of the optimal Q over temperature tau);
- **behaviour cloning**: the base policy pi_hat(a | s) = (count(s, a) + alpha) / (count(s) + 5 alpha) from
  ``n_demos`` demonstrations of ``horizon`` steps (unvisited states: uniform);
- **trajectory quantilizer**: draw a pool of n trajectories from pi_hat, score each by its discounted *proxy*
  return, keep the top q of the pool (exact quantilizer with a uniform base over the pool, ties split) and
  return a uniform pick among them. q = 1/n is the proxy maximiser over the pool, q = 1 imitation;
- **cost bound**: for a cost c >= 0 of a trajectory (its number of steps in the trap), E_q[c] <= E_base[c] / q
  (Taylor 2016), checked against E_base[c] estimated from an independent sample of the learned base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.mdp import N_ACTIONS, grid_distance, grid_next_state
from aflab.normativity.tamper import batched_value_iteration


@dataclass(frozen=True)
class TrapWorlds:
    """B layouts: start, goal and trap cells (batch axis first) and the two reward tables."""

    side: int
    start: np.ndarray
    goal: np.ndarray
    trap: np.ndarray
    trap_true: float
    trap_proxy: float

    @property
    def n_cells(self) -> int:
        return self.side * self.side

    def true_reward(self) -> np.ndarray:
        cells = np.arange(self.n_cells)[None]
        return (cells == self.goal[:, None]) + self.trap_true * (cells == self.trap[:, None])

    def proxy_reward(self) -> np.ndarray:
        cells = np.arange(self.n_cells)[None]
        return (cells == self.goal[:, None]) + self.trap_proxy * (cells == self.trap[:, None])


def make_trap_worlds(
    side: int, trap_true: float, trap_proxy: float, rng: np.random.Generator, batch: int
) -> TrapWorlds:
    """Random layouts with start, goal and trap distinct and the trap no farther from the start than the goal
    (so the bug is within reach of a trajectory that heads for the goal)."""
    if side < 3:
        raise ValueError(f"side must be >= 3; got {side}")
    dist = grid_distance(side)
    kept = np.empty((0, 3), dtype=int)
    while len(kept) < batch:
        cells = np.argsort(rng.random((4 * batch, side * side)), axis=1)[:, :3]
        st, go, tr = cells.T
        kept = np.concatenate([kept, cells[(dist[st, tr] <= dist[st, go]) & (dist[st, go] >= 3)]])
    kept = kept[:batch]
    return TrapWorlds(side, kept[:, 0], kept[:, 1], kept[:, 2], float(trap_true), float(trap_proxy))


def demonstrator_policy(worlds: TrapWorlds, gamma: float, temperature: float) -> np.ndarray:
    """(B, S, A) Boltzmann-rational policy in the true reward: softmax(Q* / temperature)."""
    nxt = np.broadcast_to(grid_next_state(worlds.side), (len(worlds.start), worlds.n_cells, N_ACTIONS))
    q = batched_value_iteration(np.ascontiguousarray(nxt), worlds.true_reward(), gamma)
    z = (q - q.max(axis=-1, keepdims=True)) / temperature
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def rollout_policy(
    worlds: TrapWorlds, policy: np.ndarray, n: int, horizon: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """n trajectories per layout from ``policy`` (B, S, A): visited states (B, n, horizon + 1) and actions
    (B, n, horizon)."""
    b = len(worlds.start)
    nxt = grid_next_state(worlds.side)
    rows = np.arange(b)[:, None]
    state = np.repeat(worlds.start[:, None], n, axis=1)
    states, actions = [state], []
    cum = np.cumsum(policy, axis=-1)
    for _ in range(horizon):
        u = rng.random((b, n, 1))
        act = np.minimum((u > cum[rows, state]).sum(axis=-1), N_ACTIONS - 1)
        state = nxt[state, act]
        states.append(state)
        actions.append(act)
    return np.stack(states, axis=-1), np.stack(actions, axis=-1)


def behaviour_clone(worlds: TrapWorlds, states: np.ndarray, actions: np.ndarray, alpha: float) -> np.ndarray:
    """(B, S, A) tabular behaviour cloning with add-alpha smoothing from demonstrations (B, N, H+1)/(B, N, H)."""
    b, s = len(worlds.start), worlds.n_cells
    counts = np.zeros((b, s, N_ACTIONS))
    flat_b = np.repeat(np.arange(b), actions.shape[1] * actions.shape[2])
    np.add.at(counts, (flat_b, states[..., :-1].ravel(), actions.ravel()), 1.0)
    counts += alpha
    return counts / counts.sum(axis=-1, keepdims=True)


def returns(states: np.ndarray, reward: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted return of every trajectory: sum_t gamma^t r(s_t) over t >= 1 (B, n)."""
    b = reward.shape[0]
    r = reward[np.arange(b)[:, None, None], states[..., 1:]]
    return (r * gamma ** np.arange(r.shape[-1])).sum(axis=-1)


def trap_steps(worlds: TrapWorlds, states: np.ndarray) -> np.ndarray:
    """The cost c >= 0: steps spent in the trap (B, n)."""
    return (states[..., 1:] == worlds.trap[:, None, None]).sum(axis=-1).astype(float)
