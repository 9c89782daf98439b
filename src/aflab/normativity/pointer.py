"""A stable pointer that can fail: an observation-utility agent that has to *learn* what to value through a
reward channel it can corrupt, next to the reward-box maximiser and current-RF agents, plus a delusion box.

Sources: Demski, "Stable Pointers to Value" (Alternate Alignment Ideas, AF 2017-18); Everitt, Hutter, Kumar,
Krakovna 2021, "Reward tampering problems and solutions in reinforcement learning" (Synthese): reward-box vs
current-RF agents, RF-tampering and RF-input tampering; Ring & Orseau 2011, "Delusion, survival, and
intelligent agents" (the delusion box); Armstrong, Leike, Orseau, Legg 2020, "Pitfalls of learning a reward
function online" (influenceable learning).

World (B layouts of a ``side x side`` grid): start, goal (the designer's u0 = 1 per step there), a reward box
and a delusion box on four distinct cells, the two boxes off every shortest start-goal path. Product state =
(cell, box corrupted?, deluded?), index ``cell + S (box + 2 deluded)``:

- stepping on the box corrupts the **reward function** (RF-tampering): the channel then reports
  ``tamper_reward`` (> 1) whatever happens; with probability ``glitch`` per step the environment corrupts it;
- stepping on the delusion box corrupts the **RF's input** (RF-input tampering): from then on the agent's
  camera shows the goal cell wherever it is; the intact channel computes u0 of the *observed* cell.

What the learner can and cannot learn. Two hypotheses about what the channel points at fit every intact
reading equally well: H_intact "value is u0 of the true state, which the channel reports while intact" and
H_channel "value is whatever the channel reports". They disagree only in corrupted states, where H_channel
says the value *is* ``tamper_reward``. So the reward channel alone can never tell them apart (the stable
pointer problem); only *decoupled* evidence can -- an incorruptible inspector who, with probability
``inspect_rate`` per step, reports the value of the current state (noisy: right with probability
1 - noise, else a uniform draw from {0, 1, tamper_reward}). During exploration (random cells, glitches
corrupting the channel for the rest of an episode) every inspected corrupted step adds the log-likelihood
ratio log P(report | H_channel) - log P(report | H_intact) to the prior log-odds.

Agents (all plan by value iteration in the product MDP, discount gamma; rollouts have slips and glitches):

- ``box_maximiser``: maximises the channel's output (the reward box);
- ``current_rf_obs`` / ``current_rf_state``: Everitt et al.'s current-RF agents: evaluate futures with the
  reward function as it is now (u0 of the observation / of the inferred state); after a corruption (here
  only by a slip or a glitch) they adopt the corrupted, constant function;
- ``learning_ou``: the observation-utility agent that learned its pointer: it plans with the posterior
  mixture P(H_channel | data) x channel + P(H_intact | data) x u0(state). It tampers exactly when its
  posterior weight on H_channel exceeds the world's threshold ``p_star`` (the mixture weight at which its
  noise-free plan starts to visit the box, found by bisection);
- ``ou_given_u0``: Dewey's agent handed u0 of the state (the hand-coded pointer of
  ``normativity.reward-box-tampering``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.mdp import N_ACTIONS, greedy_actions, grid_distance, grid_next_state
from aflab.normativity.tamper import batched_value_iteration

AGENTS = ("box_maximiser", "current_rf_obs", "current_rf_state", "learning_ou", "ou_given_u0")


@dataclass(frozen=True)
class PointerWorlds:
    """B layouts on one grid (batch axis first)."""

    side: int
    start: np.ndarray
    goal: np.ndarray
    box: np.ndarray
    delusion: np.ndarray
    tamper_reward: float

    @property
    def n_cells(self) -> int:
        return self.side * self.side

    def _flags(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.n_cells
        idx = np.arange(4 * s)
        return idx % s, (idx // s) % 2, idx // (2 * s)  # cell, box corrupted, deluded

    def next_state(self) -> np.ndarray:
        """(B, 4S, A) deterministic successors: moving onto the box / delusion cell sets its flag for good."""
        s = self.n_cells
        cell, box, dl = self._flags()
        nxt = grid_next_state(self.side)[cell]  # (4S, A)
        hit_box = nxt[None] == self.box[:, None, None]
        hit_dl = nxt[None] == self.delusion[:, None, None]
        new_box = np.maximum(box[None, :, None], hit_box)
        new_dl = np.maximum(dl[None, :, None], hit_dl)
        return nxt[None] + s * (new_box + 2 * new_dl)

    def observed_cell(self) -> np.ndarray:
        """(B, 4S) what the camera shows: the goal cell once deluded, else the true cell."""
        cell, _, dl = self._flags()
        return np.where(dl[None] == 1, self.goal[:, None], cell[None])

    def true_utility(self) -> np.ndarray:
        """(B, 4S) u0 of the true state: 1 at the goal cell."""
        cell, _, _ = self._flags()
        return (cell[None] == self.goal[:, None]).astype(float)

    def observed_utility(self) -> np.ndarray:
        """(B, 4S) u0 applied to the observation (what an intact RF that reads the camera computes)."""
        return (self.observed_cell() == self.goal[:, None]).astype(float)

    def channel(self) -> np.ndarray:
        """(B, 4S) the reward channel: u0 of the observation while intact, ``tamper_reward`` once corrupted."""
        _, box, _ = self._flags()
        return np.where(box[None] == 1, self.tamper_reward, self.observed_utility())


def make_pointer_worlds(side: int, tamper_reward: float, rng: np.random.Generator, batch: int) -> PointerWorlds:
    """Random layouts: start, goal, box and delusion box on four distinct cells, both boxes off every
    shortest start-goal path (so an agent indifferent to them never crosses one on its way)."""
    if side < 3:
        raise ValueError(f"side must be >= 3 (two boxes must fit off the start-goal paths); got {side}")
    if tamper_reward <= 1:
        raise ValueError(f"tamper_reward must exceed the honest maximum 1; got {tamper_reward}")
    dist = grid_distance(side)
    kept = np.empty((0, 4), dtype=int)
    while len(kept) < batch:
        cells = np.argsort(rng.random((4 * batch, side * side)), axis=1)[:, :4]
        st, go, bx, dl = cells.T
        off = (dist[st, bx] + dist[bx, go] > dist[st, go]) & (dist[st, dl] + dist[dl, go] > dist[st, go])
        kept = np.concatenate([kept, cells[off]])
    kept = kept[:batch]
    return PointerWorlds(side, *kept.T, float(tamper_reward))


@dataclass(frozen=True)
class PointerSettings:
    gamma: float = 0.9
    slip: float = 0.05
    glitch: float = 0.01
    horizon: int = 40
    train_episodes: int = 50
    inspector_noise: float = 0.1


def pointer_log_odds(
    worlds: PointerWorlds,
    prior_channel: float,
    inspect_rate: float,
    settings: PointerSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior log-odds of H_channel vs H_intact after exploration, and the number of inspected corrupted steps.

    Per episode the channel is corrupted from a Geometric(glitch) step on (until the episode ends); each
    corrupted step is inspected with probability ``inspect_rate`` at a uniformly random cell (the
    exploration). Intact steps carry no evidence (both hypotheses predict the same reading)."""
    if not 0 < prior_channel < 1:
        raise ValueError(f"prior_channel must lie in (0, 1); got {prior_channel}")
    b, s, eta, t = len(worlds.start), worlds.n_cells, settings.inspector_noise, worlds.tamper_reward
    onset = rng.geometric(settings.glitch, (b, settings.train_episodes)) if settings.glitch > 0 else None
    corrupted = np.zeros(b, dtype=int) if onset is None else np.maximum(settings.horizon - onset, 0).sum(axis=1)
    n = rng.binomial(corrupted, inspect_rate)
    width = max(int(n.max()), 1)
    live = np.arange(width)[None, :] < n[:, None]
    at_goal = rng.random((b, width)) < 1.0 / s
    truth = at_goal.astype(float)
    noisy = rng.random((b, width)) < eta
    report = np.where(noisy, np.array([0.0, 1.0, t])[rng.integers(0, 3, (b, width))], truth)
    p_channel = (1 - eta) * (report == t) + eta / 3
    p_intact = (1 - eta) * (report == truth) + eta / 3
    llr = np.where(live, np.log(p_channel) - np.log(p_intact), 0.0).sum(axis=1)
    return np.log(prior_channel / (1 - prior_channel)) + llr, n


def _noise_free_visits_box(worlds: PointerWorlds, q: np.ndarray, horizon: int) -> np.ndarray:
    """Does the greedy plan (lowest-index tie-break, no slips or glitches) step on the box within the horizon?"""
    nxt = worlds.next_state()
    rows = np.arange(nxt.shape[0])
    state = worlds.start.copy()
    s = worlds.n_cells
    hit = np.zeros(len(state), dtype=bool)
    for _ in range(horizon):
        new = nxt[rows, state, q[rows, state].argmax(axis=-1)]
        hit |= ((state // s) % 2 == 0) & ((new // s) % 2 == 1)
        state = new
    return hit


def _warm_value_iteration(
    nxt: np.ndarray, reward: np.ndarray, gamma: float, v: np.ndarray, tol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Q and V for deterministic successors (B, S, A) and rewards (B, S), from a warm start ``v``."""
    rows = np.arange(reward.shape[0])[:, None, None]
    r_next = reward[rows, nxt]
    while True:
        q = r_next + gamma * v[rows, nxt]
        v_new = q.max(axis=-1)
        if np.max(np.abs(v_new - v)) < tol * (1 - gamma):
            return r_next + gamma * v_new[rows, nxt], v_new
        v = v_new


def tamper_threshold(worlds: PointerWorlds, settings: PointerSettings, iters: int = 8) -> np.ndarray:
    """p_star per world: the smallest mixture weight on H_channel at which the noise-free plan visits the box
    (bisection on [0, 1] to 2^-iters, value iteration warm-started from the previous weight's values; 1.0 if
    even the pure channel maximiser never visits it). The learner tampers iff its posterior exceeds p_star."""
    nxt = worlds.next_state()
    ch, u0 = worlds.channel(), worlds.true_utility()
    q, v = _warm_value_iteration(nxt, ch, settings.gamma, np.zeros(ch.shape))
    never = ~_noise_free_visits_box(worlds, q, settings.horizon)
    lo, hi = np.zeros(len(worlds.start)), np.ones(len(worlds.start))
    for _ in range(iters):
        mid = (lo + hi) / 2
        q, v = _warm_value_iteration(nxt, mid[:, None] * ch + (1 - mid[:, None]) * u0, settings.gamma, v)
        visits = _noise_free_visits_box(worlds, q, settings.horizon)
        hi, lo = np.where(visits, mid, hi), np.where(visits, lo, mid)
    return np.where(never, 1.0, hi)


def rollout(
    worlds: PointerWorlds,
    q_intact: np.ndarray,
    q_corrupted: np.ndarray,
    settings: PointerSettings,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Greedy rollout (random tie-breaks) with slips and glitches; ``q_corrupted`` is used once the channel is
    corrupted. Returns per layout: the agent stepped on the box (intact before), on the delusion box, true return."""
    nxt = worlds.next_state()
    b = nxt.shape[0]
    rows = np.arange(b)
    s = worlds.n_cells
    u0 = worlds.true_utility()
    state = worlds.start.copy()
    boxed = np.zeros(b, dtype=bool)
    deluded = np.zeros(b, dtype=bool)
    ret = np.zeros(b)
    for t in range(settings.horizon):
        corrupted = (state // s) % 2 == 1
        q_now = np.where(corrupted[:, None], q_corrupted[rows, state], q_intact[rows, state])
        action = greedy_actions(q_now, rng)
        action = np.where(rng.random(b) < settings.slip, rng.integers(0, N_ACTIONS, b), action)
        new = nxt[rows, state, action]
        boxed |= ~corrupted & ((new // s) % 2 == 1)
        deluded |= (state < 2 * s) & (new >= 2 * s)
        glitch = ((new // s) % 2 == 0) & (rng.random(b) < settings.glitch)
        new = np.where(glitch, new + s, new)
        ret += settings.gamma**t * u0[rows, new]
        state = new
    return {"tampered": boxed, "deluded": deluded, "true_return": ret}


def plan_fixed_agents(worlds: PointerWorlds, settings: PointerSettings) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(Q while the channel is intact, Q once corrupted) of every agent whose plan does not depend on data."""
    nxt = worlds.next_state()
    g = settings.gamma
    q_box = batched_value_iteration(nxt, worlds.channel(), g)
    q_u0 = batched_value_iteration(nxt, worlds.true_utility(), g)
    q_obs = batched_value_iteration(nxt, worlds.observed_utility(), g)
    q_flat = np.zeros_like(q_u0)  # the corrupted RF is constant: every action is worth the same
    return {
        "box_maximiser": (q_box, q_box),
        "current_rf_obs": (q_obs, q_flat),
        "current_rf_state": (q_u0, q_flat),
        "ou_given_u0": (q_u0, q_u0),
    }


def learner_plan(worlds: PointerWorlds, settings: PointerSettings, posterior_channel: np.ndarray) -> np.ndarray:
    """The learning agent's Q: value iteration on P(H_channel) x channel + P(H_intact) x u0(state)."""
    w = np.asarray(posterior_channel, dtype=float)[:, None]
    reward = w * worlds.channel() + (1 - w) * worlds.true_utility()
    return batched_value_iteration(worlds.next_state(), reward, settings.gamma)
