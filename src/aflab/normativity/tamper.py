"""Stable pointers to value: a gridworld with a tamperable reward box.

"Stable Pointers to Value" (Demski, in "Alternate Alignment Ideas"); Everitt, Hutter, Kumar,
Krakovna 2021, "Reward tampering problems and solutions in reinforcement learning" (Synthese);
Dewey 2011, "Learning what to value" (observation-utility agents).

World: a ``side x side`` grid with a start cell, a goal cell (the designer's utility u0 = 1 per
step there, 0 elsewhere) and a reward-box cell. Stepping on the box *rewrites the box's reward
function*: from then on the box outputs ``tamper_reward`` (> 1) in every cell. Separately, with
probability ``glitch`` per step the box is corrupted by the environment (not by the agent).
The agent's state is (cell, box tampered?), so the box's behaviour is Markov.

Agents (all plan or learn in the same product MDP, discount gamma):

- ``box_planner``: reward-box maximiser, model-based: value iteration on the box's output;
- ``box_learner``: reward-box maximiser, learned: Q-learning on the rewards the box emits;
- ``ou_planner``: observation-utility agent (Dewey 2011): evaluates predicted futures with its own
  utility u0 of the observed cell, fixed when it was built; the box's output never enters;
- ``ou_learner``: the same, learned: Q-learning on u0(observed cell);
- ``current_reward``: current-RF agent (Everitt et al. 2021, "current-RF optimisation", TI-aware): at each step it
  evaluates all futures with the box's *current* reward function. While the box is intact that
  is u0, so it never gains by tampering; once the box is corrupted (here only by a glitch) it
  adopts the corrupted function, under which every action is equally good.

Measured per layout: whether the agent itself tampered, and its true (u0) discounted return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.mdp import N_ACTIONS, greedy_actions, grid_distance, grid_next_state

AGENTS = ("box_planner", "box_learner", "ou_planner", "ou_learner", "current_reward")


@dataclass(frozen=True)
class TamperWorlds:
    """B layouts on the same grid (batch axis first). Product state index = tampered * S + cell."""

    side: int
    start: np.ndarray
    goal: np.ndarray
    box: np.ndarray
    tamper_reward: float

    @property
    def n_cells(self) -> int:
        return self.side * self.side

    def next_state(self) -> np.ndarray:
        """(B, 2S, A) deterministic successors in the product MDP (the agent's model)."""
        s = self.n_cells
        cell_next = grid_next_state(self.side)  # (S, A)
        nxt = np.concatenate([cell_next, cell_next])  # (2S, A)
        tampered = np.repeat([0, 1], s)[:, None]  # (2S, 1)
        hits_box = nxt[None] == self.box[:, None, None]  # (B, 2S, A)
        return nxt[None] + s * np.maximum(tampered[None], hits_box)

    def true_utility(self) -> np.ndarray:
        """(B, 2S) the designer's u0: 1 at the goal cell, whatever the box says."""
        cells = np.tile(np.arange(self.n_cells), 2)
        return (cells[None] == self.goal[:, None]).astype(float)

    def box_output(self) -> np.ndarray:
        """(B, 2S) what the reward box emits: u0 while intact, ``tamper_reward`` once tampered."""
        s = self.n_cells
        out = self.true_utility()
        out[:, s:] = self.tamper_reward
        return out


def make_worlds(side: int, tamper_reward: float, rng: np.random.Generator, batch: int) -> TamperWorlds:
    """Random layouts: start, goal and box on three distinct cells, the box on no shortest
    start-goal path (so an agent indifferent to the box never crosses it on its way; any
    tampering is then either deliberate or a slip)."""
    if side < 3:
        raise ValueError(f"side must be >= 3 (the box must fit off the start-goal paths); got {side}")
    if tamper_reward <= 1:
        raise ValueError(f"tamper_reward must exceed the honest maximum 1; got {tamper_reward}")
    dist = grid_distance(side)
    kept = np.empty((0, 3), dtype=int)
    while len(kept) < batch:
        cells = np.argsort(rng.random((4 * batch, side * side)), axis=1)[:, :3]
        st, go, bx = cells.T
        off_path = dist[st, bx] + dist[bx, go] > dist[st, go]
        kept = np.concatenate([kept, cells[off_path]])
    kept = kept[:batch]
    return TamperWorlds(side, kept[:, 0], kept[:, 1], kept[:, 2], float(tamper_reward))


def batched_value_iteration(next_state: np.ndarray, reward: np.ndarray, gamma: float, tol: float = 1e-10) -> np.ndarray:
    """Optimal Q (B, S, A) for per-batch deterministic successors (B, S, A) and rewards (B, S)."""
    rows = np.arange(reward.shape[0])[:, None, None]
    r_next = reward[rows, next_state]
    v = np.zeros(reward.shape)
    while True:
        q = r_next + gamma * v[rows, next_state]
        v_new = q.max(axis=-1)
        if np.max(np.abs(v_new - v)) < tol * (1 - gamma):
            return r_next + gamma * v_new[rows, next_state]
        v = v_new


@dataclass(frozen=True)
class TamperSettings:
    gamma: float = 0.9
    slip: float = 0.05
    glitch: float = 0.01
    horizon: int = 40
    q_steps: int = 6000
    q_lr: float = 0.3
    q_epsilon: float = 0.2


def _step(
    worlds: TamperWorlds,
    nxt: np.ndarray,
    state: np.ndarray,
    action: np.ndarray,
    settings: TamperSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One environment step: slip, move (box rewrite), glitch. Returns (new state, agent tampered)."""
    b = state.shape[0]
    rows = np.arange(b)
    s = worlds.n_cells
    slip = rng.random(b) < settings.slip
    action = np.where(slip, rng.integers(0, N_ACTIONS, b), action)
    new = nxt[rows, state, action]
    agent_tampered = (state < s) & (new >= s)
    glitch = (new < s) & (rng.random(b) < settings.glitch)
    return np.where(glitch, new + s, new), agent_tampered


def q_learn(
    worlds: TamperWorlds, reward: np.ndarray, q_init: float, settings: TamperSettings, rng: np.random.Generator
) -> np.ndarray:
    """Epsilon-greedy Q-learning in the product MDP from the start cell; episodes of ``horizon``."""
    nxt = worlds.next_state()
    b, n_states, a = nxt.shape
    rows = np.arange(b)
    q = np.full((b, n_states, a), float(q_init))
    state = worlds.start.copy()
    for t in range(settings.q_steps):
        if t % settings.horizon == 0:
            state = worlds.start.copy()
        explore = rng.random(b) < settings.q_epsilon
        action = np.where(explore, rng.integers(0, a, b), greedy_actions(q[rows, state], rng))
        new, _ = _step(worlds, nxt, state, action, settings, rng)
        target = reward[rows, new] + settings.gamma * q[rows, new].max(axis=-1)
        q[rows, state, action] += settings.q_lr * (target - q[rows, state, action])
        state = new
    return q


def rollout(
    worlds: TamperWorlds,
    q_intact: np.ndarray,
    q_corrupted: np.ndarray,
    settings: TamperSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy rollout (random tie-breaking); policy from ``q_intact`` while the box is intact and
    from ``q_corrupted`` after. Returns (agent tampered?, true discounted return) per layout."""
    nxt = worlds.next_state()
    b = nxt.shape[0]
    rows = np.arange(b)
    s = worlds.n_cells
    u0 = worlds.true_utility()
    state = worlds.start.copy()
    tampered = np.zeros(b, dtype=bool)
    ret = np.zeros(b)
    for t in range(settings.horizon):
        q_now = np.where((state < s)[:, None], q_intact[rows, state], q_corrupted[rows, state])
        new, agent_tampered = _step(worlds, nxt, state, greedy_actions(q_now, rng), settings, rng)
        tampered |= agent_tampered
        ret += settings.gamma**t * u0[rows, new]
        state = new
    return tampered, ret


def run_tamper_agents(
    worlds: TamperWorlds, settings: TamperSettings, rng: np.random.Generator, ou_reads: str = "u0"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(tampered, true return) per agent, plus ``optimum``: u0-optimal planner with no slips/glitches.

    ``ou_reads="box"`` is a mutation: the observation-utility agents evaluate futures with the box's output
    instead of their own u0 (they become reward-box maximisers under another name)."""
    if ou_reads not in ("u0", "box"):
        raise ValueError(f"ou_reads must be 'u0' or 'box'; got {ou_reads!r}")
    nxt = worlds.next_state()
    u0, box = worlds.true_utility(), worlds.box_output()
    ou_utility = u0 if ou_reads == "u0" else box
    q_box = batched_value_iteration(nxt, box, settings.gamma)
    q_u0 = batched_value_iteration(nxt, u0, settings.gamma)
    q_ou = q_u0 if ou_reads == "u0" else q_box
    # under the corrupted box function (constant) every action is worth the same
    q_flat = np.zeros_like(q_ou)
    g = settings.gamma
    out = {
        "box_planner": rollout(worlds, q_box, q_box, settings, rng),
        "ou_planner": rollout(worlds, q_ou, q_ou, settings, rng),
        "current_reward": rollout(worlds, q_u0, q_flat, settings, rng),
    }
    q_bl = q_learn(worlds, box, worlds.tamper_reward / (1 - g), settings, rng)
    out["box_learner"] = rollout(worlds, q_bl, q_bl, settings, rng)
    q_ol = q_learn(worlds, ou_utility, float(ou_utility.max()) / (1 - g), settings, rng)
    out["ou_learner"] = rollout(worlds, q_ol, q_ol, settings, rng)
    opt = q_u0[np.arange(len(worlds.start)), worlds.start].max(axis=-1)
    # the rollout counts `horizon` steps: V_H = V_inf - g^H V_inf(goal) = V_inf - g^H / (1 - g)
    # (exact once the goal, at most 2 (side - 1) < horizon moves away, is reached)
    out["optimum"] = (np.zeros(len(opt), dtype=bool), np.maximum(opt - g**settings.horizon / (1 - g), 0.0))
    return out
