"""Corrupted-reward MDPs (Everitt, Krakovna, Orseau, Hutter, Legg 2017, "Reinforcement Learning
with a Corrupted Reward Channel", IJCAI).

A CRMDP is an MDP with a true reward R and an observed (corrupted) reward R^ that differs from R
in the *corrupt states*. Our instance: a ``side x side`` gridworld (moves + stay, deterministic), so
the optimal long-run policy is "walk to argmax_s R(s) and stay" and regret = max R - R(where the
agent settles). A fraction ``corruption`` of the states is corrupt.

Feedback (decoupled RL, Everitt et al. 2017, section on decoupled feedback): every state k is a feedback *source*. Visiting
k yields a report on k's own reward (what plain RL sees) and reviews of ``reviews_per_state`` other
states. Honest sources report R(j) + b_k + noise (b_k a small source bias). A corrupt state's
channel is corrupt: it reports its own reward as 1 (the maximum: wireheading-like) and fixed
random values in [0, 1] about the states it reviews.

Agents (all get the same exploration budget; reward scale [0, 1]):

- ``q_learning``: plain epsilon-greedy Q-learning on the observed own-state reward;
- ``own_reports_max``: the ablation of the cross-checkers -- the same free sweep of reports, but it settles
  in the argmax of each state's report *about itself* (the RL channel without exploration cost);
- ``quantilizer``: Everitt et al. 2017 (quantilisation) -- estimate the observed reward of every state, then
  settle in a state drawn from the q-quantilizer (uniform base over states);
- ``decoupled``: cross-checks sources: the reward of j is the median of all reports about j;
- ``levels``: the three-level feedback learner (:mod:`aflab.normativity.levels`) with learned source
  reliabilities and bias, recursive quantilised choice;
- ``levels_max``: the same learner choosing the argmax of its reward posterior (ablation).

The three model-based agents see one pass of reports from every state, ``visits`` times each (a
full exploration sweep); Q-learning takes ``q_steps`` environment steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.levels import FeedbackPriors, fit_feedback_model, recursive_quantilized_utility
from aflab.normativity.mdp import grid_next_state, long_run_true_reward, q_learning
from aflab.normativity.quantilizers import expectation, quantilize

AGENTS = ("q_learning", "own_reports_max", "quantilizer", "decoupled", "levels", "levels_max")


@dataclass(frozen=True)
class CRMDPBatch:
    """B corrupted-reward gridworlds with the same grid (batch axis first)."""

    side: int
    true_reward: np.ndarray  # (B, S)
    corrupt: np.ndarray  # (B, S) bool
    review: np.ndarray  # (B, K=S, J=S) bool: source k reports on item j (incl. k == j)
    source_bias: np.ndarray  # (B, S)
    lies: np.ndarray  # (B, S, S) what a corrupt source reports about j

    @property
    def n_states(self) -> int:
        return self.side * self.side


def make_crmdps(
    side: int,
    corruption: float,
    reviews_per_state: int,
    bias_sd: float,
    rng: np.random.Generator,
    batch: int,
    collusion: bool = False,
) -> CRMDPBatch:
    """Draw B CRMDPs: R ~ U(0, 1), round(corruption * S) corrupt states, random review graph.

    Independent corruption (default): a corrupt source's reviews are fixed random values.
    ``collusion=True``: corrupt sources report the truth about honest states (to look reliable)
    and 1 about every corrupt state (to promote each other).
    """
    if not 0 <= corruption <= 1:
        raise ValueError(f"corruption must lie in [0, 1]; got {corruption}")
    s = side * side
    if not 0 <= reviews_per_state < s:
        raise ValueError(f"reviews_per_state must lie in [0, {s - 1}]; got {reviews_per_state}")
    true = rng.random((batch, s))
    n_corrupt = round(corruption * s)
    corrupt = np.argsort(rng.random((batch, s)), axis=1) < n_corrupt
    # each source reviews reviews_per_state random others (random keys, self excluded)
    keys = rng.random((batch, s, s))
    keys[:, np.arange(s), np.arange(s)] = np.inf
    ranks = np.argsort(np.argsort(keys, axis=2), axis=2)
    review = ranks < reviews_per_state
    review[:, np.arange(s), np.arange(s)] = True
    bias = bias_sd * rng.standard_normal((batch, s))
    lies = rng.random((batch, s, s))
    if collusion:
        lies = np.where(corrupt[:, None, :], 1.0, true[:, None, :] + bias[:, :, None])
    lies[:, np.arange(s), np.arange(s)] = 1.0
    return CRMDPBatch(side, true, corrupt, review, bias, lies)


def concat_batches(batches: list[CRMDPBatch]) -> CRMDPBatch:
    """One batch from several (same grid), so every agent runs all of them in one vectorised pass."""
    sides = {m.side for m in batches}
    if len(sides) != 1:
        raise ValueError(f"batches must share the grid side; got {sorted(sides)}")
    cat = lambda name: np.concatenate([getattr(m, name) for m in batches])
    return CRMDPBatch(
        batches[0].side, cat("true_reward"), cat("corrupt"), cat("review"), cat("source_bias"), cat("lies")
    )


def report_means(mdps: CRMDPBatch, noise_sd: float, visits: int, rng: np.random.Generator) -> np.ndarray:
    """(B, K, J) mean of ``visits`` noisy reports of source k about j (NaN if k does not review j)."""
    honest = mdps.true_reward[:, None, :] + mdps.source_bias[:, :, None]
    value = np.where(mdps.corrupt[:, :, None], mdps.lies, honest)
    noisy = value + noise_sd / np.sqrt(visits) * rng.standard_normal(value.shape)
    return np.where(mdps.review, noisy, np.nan)


def observed_own_reward(mdps: CRMDPBatch) -> np.ndarray:
    """(B, S) expected observed reward of each state as seen from inside it (the RL channel)."""
    s = mdps.n_states
    own = mdps.true_reward + mdps.source_bias
    return np.where(mdps.corrupt, mdps.lies[:, np.arange(s), np.arange(s)], own)


def meta_labels(mdps: CRMDPBatch, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """(B, S) a meta-source's labels of each source: 1 = "reliable"; right with prob ``accuracy``."""
    right = rng.random(mdps.corrupt.shape) < accuracy
    return np.where(right, ~mdps.corrupt, mdps.corrupt).astype(int)


def levels_choice(reports: np.ndarray, fit, settings: AgentSettings, rng: np.random.Generator) -> np.ndarray:
    """(B, S) the level-aware learner's distribution over target states: recursive quantilization
    over interpretations, a pessimistic utility (mean - pessimism * sd), then a q-quantilizer."""
    b, _, s = reports.shape
    util = recursive_quantilized_utility(reports, fit, settings.interpretation_q, settings.n_interpretations, rng)
    util = util - settings.pessimism * fit.reward_sd
    return quantilize(np.full((b, s), 1.0 / s), util, settings.levels_q)


@dataclass(frozen=True)
class AgentSettings:
    """Exploration / learning settings shared by the agents."""

    noise_sd: float = 0.1
    visits: int = 4
    q_steps: int = 3000
    q_gamma: float = 0.9
    q_lr: float = 0.2
    q_epsilon: float = 0.2
    q_episode_len: int = 40
    quantile_q: float = 0.2
    levels_q: float = 0.1
    interpretation_q: float = 0.5
    n_interpretations: int = 32
    pessimism: float = 1.0
    meta_accuracy: float = 0.0  # 0 = no meta-source; else accuracy of meta-labels on sources
    em_iters: int = 40


def run_agents(mdps: CRMDPBatch, settings: AgentSettings, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Long-run true reward (B,) of every agent, plus the levels learner's source weights."""
    b, s = mdps.true_reward.shape
    nxt = grid_next_state(mdps.side)
    out: dict[str, np.ndarray] = {}
    # plain RL on the observed own-state channel
    q = q_learning(
        nxt,
        observed_own_reward(mdps),
        settings.noise_sd,
        steps=settings.q_steps,
        gamma=settings.q_gamma,
        lr=settings.q_lr,
        epsilon=settings.q_epsilon,
        episode_len=settings.q_episode_len,
        q_init=1 / (1 - settings.q_gamma),
        rng=rng,
    )
    out["q_learning"] = long_run_true_reward(
        nxt, q, mdps.true_reward, rng, burn_in=2 * mdps.side, horizon=2 * mdps.side
    )
    reports = report_means(mdps, settings.noise_sd, settings.visits, rng)
    base = np.full((b, s), 1.0 / s)
    own = reports[:, np.arange(s), np.arange(s)]
    out["own_reports_max"] = expectation(quantilize(base, own, 1.0 / s), mdps.true_reward)
    q_choice = quantilize(base, own, settings.quantile_q)
    out["quantilizer"] = expectation(q_choice, mdps.true_reward)
    # the quantilisation argument of Everitt et al. 2017: with a uniform base over states, P(settle in a corrupt
    # state) <= (fraction corrupt) / q, because no state gets more than 1/q of its base mass
    out["quantilizer_p_corrupt"] = expectation(q_choice, mdps.corrupt)
    median = np.nanmedian(reports, axis=1)
    out["decoupled"] = expectation(quantilize(base, median, 1.0 / s), mdps.true_reward)
    meta = meta_labels(mdps, settings.meta_accuracy, rng) if settings.meta_accuracy > 0 else None
    fit = fit_feedback_model(
        reports, meta, FeedbackPriors(noise_sd=max(settings.noise_sd, 0.05)), n_iter=settings.em_iters
    )
    out["levels_max"] = expectation(quantilize(base, fit.reward_mean, 1.0 / s), mdps.true_reward)
    out["levels"] = expectation(levels_choice(reports, fit, settings, rng), mdps.true_reward)
    c = mdps.corrupt
    out["weight_corrupt"] = np.where(c.any(axis=1), (fit.source_good * c).sum(1) / np.maximum(c.sum(1), 1), np.nan)
    out["weight_honest"] = np.where(
        (~c).any(axis=1), (fit.source_good * ~c).sum(1) / np.maximum((~c).sum(1), 1), np.nan
    )
    out["optimum"] = mdps.true_reward.max(axis=1)
    return out
