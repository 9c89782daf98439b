"""Claim experiments: typed config in, tidy table out (one cell = config x seed)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from aflab.core import ClaimConfig
from aflab.normativity import crmdp, goodhart, tamper
from aflab.normativity.quantilizers import best_of_n, cost_bound_ratio, quantilize, top_k_of_n_bound, top_k_of_n_choice


def _split_floats(value):
    """Let ``--set corruptions=0,0.2,0.4`` (a comma-separated string) fill a tuple-of-floats field."""
    if isinstance(value, str):
        parts = [x for x in value.strip("()[] ").split(",") if x.strip()]
        try:
            return tuple(float(x) for x in parts)
        except ValueError:
            raise ValueError(f"expected comma-separated numbers such as 0,0.2,0.4; got {value!r}") from None
    return value


def _check_fractions(value: tuple) -> tuple:
    if any(not 0 <= v <= 1 for v in value):
        raise ValueError(f"every corruption level must lie in [0, 1]; got {value}")
    return tuple(sorted(value))


# --------------------------------------------------------------------------- 1. cost bound


class CostBoundConfig(ClaimConfig):
    n_envs: int = Field(200, ge=1, le=100_000, description="random discrete environments per seed")
    max_actions: int = Field(40, ge=2, le=10_000, description="largest action set of a random environment")
    utility_levels: int = Field(5, ge=1, le=1000, description="distinct utility values (few -> many ties)")
    pool_size: int = Field(4000, ge=10, le=1_000_000, description="actions per Goodhart pool")
    n_q: int = Field(9, ge=2, le=200, description="q values per environment")
    mc_draws: int = Field(20_000, ge=100, le=10_000_000, description="Monte Carlo repetitions of top-k-of-n sampling")
    policy_q_scale: float = Field(
        1.0,
        gt=0,
        le=1,
        description="mutation: the policy quantilizes at q * policy_q_scale while the bound is checked at 1/q",
    )


def _random_env(rng: np.random.Generator, max_actions: int, levels: int):
    k = int(rng.integers(2, max_actions + 1))
    p = rng.dirichlet(np.full(k, 0.5))
    p = np.where(rng.random(k) < 0.1, 0.0, p)  # some zero-mass actions
    if p.sum() == 0:
        p[0] = 1.0
    p = p / p.sum()
    u = rng.integers(0, levels, k).astype(float)
    return p, u


def cost_bound_experiment(cfg: CostBoundConfig, seed: int) -> pd.DataFrame:
    """Ratio E_pi[c] / (factor E_base[c]) for exact quantilizers, exact best-of-n and sampled
    top-k-of-n, on random discrete environments (with ties) and Goodhart pools; <= 1 is the bound."""
    rng = np.random.default_rng(seed)
    rows = []
    qs_fixed = np.geomspace(0.01, 1.0, cfg.n_q)
    for _env in range(cfg.n_envs):
        p, u = _random_env(rng, cfg.max_actions, cfg.utility_levels)
        qs = np.concatenate([qs_fixed[:-1], rng.random(1) * 0.99 + 0.01])
        for q in qs:
            probs = quantilize(p, u, q * cfg.policy_q_scale)
            costs = {
                "exponential": rng.exponential(1.0, len(p)),
                "sparse": (rng.random(len(p)) < 0.2).astype(float),
                "adversarial": (probs > 0).astype(float) * (p > 0),
            }
            for name, c in costs.items():
                rows.append(("random", "quantilizer", name, float(q), float(cost_bound_ratio(p, probs, c, 1 / q)), 0.0))
        for n in (1, 2, 4, 16, 64):
            probs = best_of_n(p, u, n)
            c = rng.exponential(1.0, len(p))
            rows.append(("random", "best_of_n", "exponential", float(n), float(cost_bound_ratio(p, probs, c, n)), 0.0))
    for shape in goodhart.SHAPES:
        pool = goodhart.draw_pool(shape, cfg.pool_size, goodhart.GoodhartParams(), rng)
        base = np.full(cfg.pool_size, 1.0 / cfg.pool_size)
        harm = np.maximum(-pool.true[0], 0.0)
        for q in goodhart.q_grid(cfg.pool_size, cfg.n_q):
            probs = quantilize(base, pool.proxy[0], q * cfg.policy_q_scale)
            rows.append(
                (
                    f"goodhart-{shape}",
                    "quantilizer",
                    "harm",
                    float(q),
                    float(cost_bound_ratio(base, probs, harm, 1 / q)),
                    0.0,
                )
            )
    # sampled top-k-of-n: Monte Carlo ratio against n / k, with its standard error
    p, u = _random_env(rng, cfg.max_actions, cfg.utility_levels)
    c = (u == u.max()).astype(float) + 0.01 * rng.random(len(p))  # cost loaded on the top action
    base_cost = float(p @ c)
    for n, k in ((1, 1), (4, 1), (16, 1), (16, 4), (64, 8)):
        draws = rng.choice(len(p), size=(cfg.mc_draws, n), p=p)
        pick = np.take_along_axis(draws, top_k_of_n_choice(u[draws], k, rng)[:, None], axis=1)[:, 0]
        bound = top_k_of_n_bound(n, k) * base_cost
        rows.append(
            (
                "random",
                f"top_{k}_of_n",
                "top-loaded",
                float(n),
                float(c[pick].mean() / bound),
                float(c[pick].std(ddof=1) / np.sqrt(cfg.mc_draws) / bound),
            )
        )
    return pd.DataFrame(rows, columns=["env", "method", "cost", "knob", "ratio", "ratio_se"])


# --------------------------------------------------------------------------- 2. Goodhart bench


class GoodhartConfig(ClaimConfig):
    pool_size: int = Field(10_000, ge=100, le=1_000_000, description="actions per pool (K); argmax = q of 1/K")
    pools: int = Field(8, ge=1, le=10_000, description="independent pools per seed and shape")
    n_q: int = Field(16, ge=3, le=200, description="points of the q sweep (log-spaced 1/K..1)")
    q_eval: float = Field(0.05, gt=0, le=1, description="pre-stated q at which quantilizer and argmax are compared")
    noise_sd: float = Field(1.0, gt=0, le=100, description="scale of the proxy error")
    tail_df: float = Field(1.5, gt=0.1, le=1000, description="Student-t degrees of freedom of the heavy-tailed error")
    corrupt_frac: float = Field(0.002, ge=0, le=0.5, description="fraction of actions in the corrupted region")


def goodhart_experiment(cfg: GoodhartConfig, seed: int) -> pd.DataFrame:
    """True / proxy value vs q (quantilizer) and vs n (best-of-n) on each proxy shape, exact per pool."""
    rng = np.random.default_rng(seed)
    params = goodhart.GoodhartParams(noise_sd=cfg.noise_sd, tail_df=cfg.tail_df, corrupt_frac=cfg.corrupt_frac)
    qs = np.unique(np.concatenate([goodhart.q_grid(cfg.pool_size, cfg.n_q), [cfg.q_eval]]))
    ns = 2 ** np.arange(0, int(np.log2(cfg.pool_size)) + 1)
    frames = []
    for shape in goodhart.SHAPES:
        pool = goodhart.draw_pool(shape, cfg.pool_size, params, rng, batch=cfg.pools)
        for method, knobs, curves in (
            ("quantilizer", qs, goodhart.quantilizer_curves(pool, qs)),
            ("best_of_n", ns, goodhart.best_of_n_curves(pool, ns)),
        ):
            n_k, n_p = curves["true"].shape
            frames.append(
                pd.DataFrame(
                    {
                        "shape": shape,
                        "method": method,
                        "knob": np.repeat(knobs.astype(float), n_p),
                        "pool": np.tile(np.arange(n_p), n_k),
                        "true": curves["true"].ravel(),
                        "proxy": curves["proxy"].ravel(),
                        "p_corrupt": curves["corrupt"].ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- 3. corrupted-reward MDPs

#: 'limited regret' on the [0, 1] reward scale (the claim's threshold; drawn in the figure)
REGRET_TOLERANCE = 0.1


class CRMDPConfig(ClaimConfig):
    side: int = Field(5, ge=3, le=12, description="grid side; S = side^2 states")
    mdps: int = Field(
        32, ge=2, le=4096, description="MDPs per corruption level and seed (all levels: one vectorised batch)"
    )
    corruptions: tuple[float, ...] = Field(
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6), min_length=2, description="fractions of corrupt states to sweep"
    )
    reviews_per_state: int = Field(
        6, ge=0, le=100, description="other states each state reviews (decoupled feedback; 0: no cross-checking)"
    )
    source_bias_sd: float = Field(0.05, ge=0, le=1, description="sd of an honest source's bias")
    noise_sd: float = Field(0.1, ge=0, le=1, description="sd of one report")
    q_steps: int = Field(6000, ge=100, le=1_000_000, description="Q-learning environment steps")
    quantile_q: float = Field(0.2, gt=0, le=1, description="q of the quantilising agent")
    levels_q: float = Field(0.1, gt=0, le=1, description="q of the level-aware learner's action quantilizer")
    interpretation_q: float = Field(0.5, gt=0, le=1, description="q of the quantilizer over interpretations")
    claim_max_corruption: float = Field(0.5, gt=0, le=1, description="the claim covers corruption in (0, this]")
    collusion: bool = Field(
        False, description="corrupt sources tell the truth about honest states and promote each other"
    )

    _split = field_validator("corruptions", mode="before")(_split_floats)
    _range = field_validator("corruptions")(_check_fractions)


def crmdp_experiment(cfg: CRMDPConfig, seed: int) -> pd.DataFrame:
    """One row per (corruption level, MDP, agent): regret (max R - long-run R) of each agent, and the
    quantilizer's P(corrupt state) and the level learner's mean P(good) of corrupt / honest sources."""
    rng = np.random.default_rng(seed)
    settings = crmdp.AgentSettings(
        noise_sd=cfg.noise_sd,
        q_steps=cfg.q_steps,
        quantile_q=cfg.quantile_q,
        levels_q=cfg.levels_q,
        interpretation_q=cfg.interpretation_q,
    )
    # all corruption levels in one batch: one vectorised Q-learning loop for every level
    mdps = crmdp.concat_batches(
        [
            crmdp.make_crmdps(
                cfg.side, rho, cfg.reviews_per_state, cfg.source_bias_sd, rng, cfg.mdps, collusion=cfg.collusion
            )
            for rho in cfg.corruptions
        ]
    )
    out = crmdp.run_agents(mdps, settings, rng)
    rho = np.repeat(np.asarray(cfg.corruptions, dtype=float), cfg.mdps)
    mdp = np.tile(np.arange(cfg.mdps), len(cfg.corruptions))
    values = {agent: out["optimum"] - out[agent] for agent in crmdp.AGENTS}
    values |= {name: out[name] for name in ("quantilizer_p_corrupt", "weight_corrupt", "weight_honest")}
    frames = [pd.DataFrame({"corruption": rho, "mdp": mdp, "agent": name, "value": v}) for name, v in values.items()]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- 3b. meta-level feedback


class MetaFeedbackConfig(ClaimConfig):
    side: int = Field(5, ge=3, le=12, description="grid side; S = side^2 states (= sources)")
    mdps: int = Field(64, ge=2, le=4096, description="MDPs per corruption level and seed")
    corruptions: tuple[float, ...] = Field(
        (0.5, 0.6, 0.7), min_length=1, description="high corruption levels, where cross-checking starts to fail"
    )
    meta_accuracy: float = Field(
        0.8, ge=0, le=1, description="probability the meta-source labels a source correctly (< 0.5: misleading)"
    )
    assumed_meta_accuracy: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="mechanism switch: None = level 3 learns the meta-source's accuracy from the data; a number = "
        "the learner takes the meta-source to be that accurate and never checks it",
    )
    reviews_per_state: int = Field(6, ge=1, le=100, description="other states each state reviews")
    noise_sd: float = Field(0.1, ge=0, le=1, description="sd of one report")
    levels_q: float = Field(0.1, gt=0, le=1, description="q of the action quantilizer")

    _split = field_validator("corruptions", mode="before")(_split_floats)
    _range = field_validator("corruptions")(_check_fractions)


#: the meta-feedback learners, as the table's ``variant`` column names them
META_VARIANTS = ("object_level_only", "uninformative_meta", "with_meta_feedback")


def meta_feedback_experiment(cfg: MetaFeedbackConfig, seed: int) -> pd.DataFrame:
    """Paired per MDP: the level-aware learner with no meta-source, with an *uninformative* one (labels right
    with probability 1/2: the same labelled code path and the same grading of the source, no information),
    and with the configured one. The claim is judged on uninformative minus informative: the meta-source's
    information, not the change of prior that any labels make (coin-flip labels alone cut the regret)."""
    rng = np.random.default_rng(seed)
    settings = crmdp.AgentSettings(noise_sd=cfg.noise_sd, levels_q=cfg.levels_q)
    priors = crmdp.FeedbackPriors(noise_sd=max(cfg.noise_sd, 0.05))
    frames = []
    for rho in cfg.corruptions:
        mdps = crmdp.make_crmdps(cfg.side, rho, cfg.reviews_per_state, 0.05, rng, cfg.mdps)
        reports = crmdp.report_means(mdps, cfg.noise_sd, settings.visits, rng)
        labels = crmdp.meta_labels(mdps, cfg.meta_accuracy, rng)
        coin_flips = crmdp.meta_labels(mdps, 0.5, rng)
        c = mdps.corrupt
        for variant, meta in zip(META_VARIANTS, (None, coin_flips, labels), strict=True):
            trust = cfg.assumed_meta_accuracy if meta is not None else None
            fit = crmdp.fit_feedback_model(reports, meta, priors, n_iter=settings.em_iters, meta_trust=trust)
            choice = crmdp.levels_choice(reports, fit, settings, rng)
            regret = mdps.true_reward.max(axis=1) - (choice * mdps.true_reward).sum(axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "corruption": float(rho),
                        "variant": variant,
                        "mdp": np.arange(cfg.mdps),
                        "regret": regret,
                        "weight_corrupt": (fit.source_good * c).sum(1) / np.maximum(c.sum(1), 1),
                        "weight_honest": (fit.source_good * ~c).sum(1) / np.maximum((~c).sum(1), 1),
                        "meta_level": fit.meta_accuracy,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- 4. tampering


class TamperConfig(ClaimConfig):
    side: int = Field(5, ge=3, le=12, description="grid side")
    worlds: int = Field(64, ge=1, le=100_000, description="random layouts per seed (one vectorised batch)")
    tamper_reward: float = Field(
        3.0, gt=1, le=1000, description="what a tampered box outputs everywhere (honest max 1)"
    )
    gamma: float = Field(0.9, gt=0, lt=1, description="discount")
    slip: float = Field(0.05, ge=0, le=1, description="probability an action is replaced by a random one")
    glitch: float = Field(0.01, ge=0, le=1, description="per-step probability the environment corrupts the box")
    horizon: int = Field(40, ge=10, le=10_000, description="episode length")
    q_steps: int = Field(6000, ge=100, le=1_000_000, description="Q-learning steps of the learned agents")
    ou_reads: Literal["u0", "box"] = Field(
        "u0",
        description="mutation: what the observation-utility agents evaluate futures with ('box': the box's output, "
        "which makes them reward-box maximisers)",
    )


def tamper_experiment(cfg: TamperConfig, seed: int) -> pd.DataFrame:
    """Tampering indicator and true (u0) discounted return per agent and layout."""
    rng = np.random.default_rng(seed)
    worlds = tamper.make_worlds(cfg.side, cfg.tamper_reward, rng, cfg.worlds)
    settings = tamper.TamperSettings(
        gamma=cfg.gamma, slip=cfg.slip, glitch=cfg.glitch, horizon=cfg.horizon, q_steps=cfg.q_steps
    )
    out = tamper.run_tamper_agents(worlds, settings, rng, ou_reads=cfg.ou_reads)
    frames = [
        pd.DataFrame({"agent": agent, "world": np.arange(cfg.worlds), "tampered": t.astype(bool), "true_return": r})
        for agent, (t, r) in out.items()
    ]
    return pd.concat(frames, ignore_index=True)
