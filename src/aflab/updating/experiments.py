"""Experiments of the radical-probabilism claims: typed config in, tidy table out (one row per measurement).

Every experiment reads only its config and its seed (and, for the LI audit, its ``seed_index``: which
stretch of the shipped price table it reads).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import ClaimConfig, ClaimSkipped
from aflab.updating import dynamics as D
from aflab.updating import kinematics as K
from aflab.updating import merging as M


# ------------------------------------------------------------------------ Jeffrey order vs Bayes factors
class JeffreyOrderVsBayesFactorsConfig(ClaimConfig):
    n_instances: int = Field(60, ge=2, le=100_000, description="random instances per seed")
    n_rows: int = Field(3, ge=2, le=8, description="cells of the first partition E (grid rows)")
    n_cols: int = Field(3, ge=2, le=8, description="cells of the second partition F (grid columns)")
    product_share: float = Field(
        0.25, ge=0, le=1, description="share of instances with a product prior (E, F independent: updates commute)"
    )
    max_denominator: int = Field(50, ge=2, le=10_000, description="denominators of the random rationals")
    factors_from_current: bool = Field(
        False,
        description="mutation: the second experience's Bayes factors are recomputed against the already-updated "
        "belief so that they hit the original target (Jeffrey's update in Field's clothing)",
    )


def random_rational_simplex(rng: np.random.Generator, k: int, max_denominator: int) -> np.ndarray:
    """A random point of the open simplex as exact Fractions summing to 1 (Dirichlet(1), then rounded)."""
    x = K.as_exact(rng.dirichlet(np.ones(k)) + 1e-3, max_denominator)
    x = np.array([v if v > 0 else Fraction(1, max_denominator) for v in x], dtype=object)
    return x / x.sum()


def order_instance(rng: np.random.Generator, cfg: JeffreyOrderVsBayesFactorsConfig, product: bool) -> dict:
    """One instance: prior ``p`` on the grid, targets ``q`` on E and ``r`` on F; both orders of both rules."""
    e, f = K.grid_partitions(cfg.n_rows, cfg.n_cols)
    if product:
        a = random_rational_simplex(rng, cfg.n_rows, cfg.max_denominator)
        b = random_rational_simplex(rng, cfg.n_cols, cfg.max_denominator)
        p = np.outer(a, b).ravel()
    else:
        p = random_rational_simplex(rng, cfg.n_rows * cfg.n_cols, cfg.max_denominator)
    q = random_rational_simplex(rng, cfg.n_rows, cfg.max_denominator)
    r = random_rational_simplex(rng, cfg.n_cols, cfg.max_denominator)
    j_ef = K.jeffrey_update(K.jeffrey_update(p, e, q), f, r)
    j_fe = K.jeffrey_update(K.jeffrey_update(p, f, r), e, q)
    beta_e, beta_f = K.factors_for_targets(p, e, q), K.factors_for_targets(p, f, r)
    if cfg.factors_from_current:  # each experience re-expressed against the belief it meets
        f_ef = K.factor_update(
            K.factor_update(p, e, beta_e), f, K.factors_for_targets(K.factor_update(p, e, beta_e), f, r)
        )
        f_fe = K.factor_update(
            K.factor_update(p, f, beta_f), e, K.factors_for_targets(K.factor_update(p, f, beta_f), e, q)
        )
    else:
        f_ef = K.factor_update(K.factor_update(p, e, beta_e), f, beta_f)
        f_fe = K.factor_update(K.factor_update(p, f, beta_f), e, beta_e)
    point = np.array([Fraction(int(i == 0)) for i in range(cfg.n_rows)], dtype=object)
    jeffrey_gap = K.max_abs_difference(j_ef, j_fe)
    return {
        "product": product,
        "jeffrey_gap": jeffrey_gap,
        "commutes": bool(np.all(j_ef == j_fe)),
        "dz_condition": K.jeffrey_commutes_condition(p, e, q, f, r),
        "field_gap": K.max_abs_difference(f_ef, f_fe),
        "rigidity": K.rigidity_residual(p, K.jeffrey_update(p, e, q), e),
        "conditioning_gap": K.max_abs_difference(K.jeffrey_update(p, e, point), K.condition(p, e == 0)),
        "last_target_kept": bool(np.all(K.cell_probs(j_ef, f) == r)),
        "first_target_lost": float(K.max_abs_difference(K.cell_probs(j_ef, e), q)),
    }


def jeffrey_order_vs_bayes_factors_experiment(cfg: JeffreyOrderVsBayesFactorsConfig, seed: int) -> pd.DataFrame:
    """Random finite instances in exact rational arithmetic: does the order of two updates matter?"""
    rng = np.random.default_rng(seed)
    rows = [
        {"instance": i, **order_instance(rng, cfg, product=bool(rng.random() < cfg.product_share))}
        for i in range(cfg.n_instances)
    ]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- merging: hard vs soft
class MergingHardNotSoftConfig(ClaimConfig):
    n_pairs: int = Field(40, ge=2, le=100_000, description="pairs of agents with random priors, per seed")
    n_days: int = Field(400, ge=10, le=100_000, description="days of glimpses (even: whole alternating pairs)")
    glimpse: float = Field(0.8, gt=0.5, lt=1, description="constructed stream: q alternates glimpse, 1 - glimpse")
    grid: int = Field(9, ge=2, le=200, description="random streams: size of the theta grid")
    accuracy: float = Field(0.75, gt=0.5, lt=1, description="random streams: the witness's reliability")
    merged_tol: float = Field(1e-3, gt=0, lt=1, description="predictives within this are 'merged'")
    hard_as_factor: bool = Field(
        False, description="mutation: the hard arm applies the glimpse as a Bayes factor (a soft shift) instead"
    )


def _disagreement(theta: np.ndarray, beliefs: np.ndarray) -> np.ndarray:
    """``|m_A - m_B|`` per day and pair, beliefs ``(T + 1, pairs, 2, K)``."""
    m = M.predictive(theta, beliefs)
    return np.abs(m[..., 0] - m[..., 1])


def merging_arm(theta, priors, glimpses, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(disagreement per day and pair, beliefs): priors ``(pairs, 2, K)``, glimpses ``(T, pairs)``."""
    beliefs = M.run_agents(theta, priors, glimpses[:, :, None], mode)
    return _disagreement(theta, beliefs), beliefs


def merging_hard_not_soft_experiment(cfg: MergingHardNotSoftConfig, seed: int) -> pd.DataFrame:
    """Two agents, same glimpses, hard vs soft shifts: on the constructed alternating stream and on streams
    of a real coin seen by a witness of reliability ``accuracy``."""
    rng = np.random.default_rng(seed)
    n_days = cfg.n_days + cfg.n_days % 2
    hard = M.SOFT if cfg.hard_as_factor else M.HARD
    rows = []
    for stream in ("constructed", "random"):
        if stream == "constructed":
            theta = np.array([0.3, 0.7])
            glimpses = np.repeat(M.alternating_glimpses(cfg.glimpse, n_days)[:, None], cfg.n_pairs, axis=1)
        else:
            theta = np.linspace(0.5 / cfg.grid, 1 - 0.5 / cfg.grid, cfg.grid)
            glimpses = M.noisy_glimpses(rng, rng.choice(theta, cfg.n_pairs), cfg.accuracy, n_days)
        priors = rng.dirichlet(np.ones(theta.size), size=(cfg.n_pairs, 2))
        for arm, mode in (("hard", hard), ("soft", M.SOFT)):
            dis, beliefs = merging_arm(theta, priors, glimpses, mode)
            spread = M.log_ratio_spread(beliefs[..., 0, :], beliefs[..., 1, :], priors[:, 0], priors[:, 1]).max(axis=0)
            gain = np.abs(
                M.predictive(theta, beliefs[1:]) - M.hard_gain_closed_form(theta, beliefs[:-1], glimpses[..., None])
            )
            for i in range(cfg.n_pairs):
                rows.append(
                    {
                        "stream": stream,
                        "arm": arm,
                        "pair": i,
                        "initial": float(dis[0, i]),
                        "final": float(dis[-1, i]),
                        "mid": float(dis[n_days // 2, i]),
                        "log_ratio_spread": float(spread[i]),
                        "gain_residual": float(gain[:, i].max()) if arm == "hard" and not cfg.hard_as_factor else 0.0,
                    }
                )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------- predictable updates are exploitable
class PredictableUpdatesExploitableConfig(ClaimConfig):
    eps_grid: tuple[float, ...] = Field(
        (0.05, 0.1, 0.2, 0.4), min_length=1, description="predictable drift per step, as a share of the step size"
    )
    n_steps: int = Field(2000, ge=10, le=1_000_000, description="days the bettor trades with the agent")
    runs_per_eps: int = Field(50, ge=2, le=100_000, description="independent agents per drift size and seed")
    step: float = Field(0.2, gt=0, lt=1, description="step size s_t = step * min(P, 1 - P)")
    n_bins: int = Field(10, ge=1, le=1000, description="price bins of the learning bettor")
    anchor_spread: float = Field(
        0.2,
        ge=0,
        le=0.4,
        description="each predictable agent's anchor is drawn uniformly from 1/2 +- this (0: every anchor at 1/2, "
        "on a bin edge of an even-binned bettor, the easiest case)",
    )
    agent: str = Field(
        "predictable",
        pattern="^(predictable|martingale)$",
        description="the treated agent: 'predictable' (drifts toward 1/2) or 'martingale' (the same skew, hidden sign)",
    )


def predictable_updates_exploitable_experiment(cfg: PredictableUpdatesExploitableConfig, seed: int) -> pd.DataFrame:
    """Bettor vs agent for every drift size: the treated agent (``cfg.agent``) and a martingale control."""
    if any(not 0 <= e <= 1 for e in cfg.eps_grid):
        raise ValueError("eps_grid values must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    eps = np.repeat(np.asarray(cfg.eps_grid, float), cfg.runs_per_eps)
    anchor = 0.5 + cfg.anchor_spread * (2 * rng.random(eps.size) - 1)
    frames = []
    for arm, mode in (("treated", cfg.agent), ("control", D.MARTINGALE)):
        out = D.simulate_agent_and_bettor(rng, eps, cfg.n_steps, cfg.step, cfg.n_bins, mode, anchor)
        frames.append(pd.DataFrame({"arm": arm, "agent": mode, "eps": eps, "run": np.arange(eps.size), **out}))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------ LI prices as a radical probabilist
class LiPricesMartingaleConfig(ClaimConfig):
    prices: str = Field("", description="Parquet price table ('' = the table shipped in aflab/data)")
    first_stretch: int = Field(0, ge=0, description="seed index i reads stretch first_stretch + i")
    era_edges: tuple[int, ...] = Field(
        (1, 10, 30, 80, 150), min_length=3, description="day boundaries of the eras the residual is measured in"
    )
    n_bins: int = Field(8, ge=1, le=200, description="equal-count price bins of the conditional-mean estimate")
    reverse_days: bool = Field(
        False, description="counterfactual: read each market backwards in time (a market that un-learns)"
    )
    late_signs_from_price: bool = Field(
        False,
        description="counterfactual: in the last era every move keeps its size but takes the sign of 1/2 - P_t "
        "(late updates predictable from the price, the volatility unchanged)",
    )


def li_prices_martingale_experiment(cfg: LiPricesMartingaleConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    """Martingale residual of the LI market's prices on undecided sentences, per era of days, for one
    stretch (one independent market run) of the price table."""
    from aflab.updating import li_prices as L

    path = cfg.prices or L.shipped_path()
    if path is None:
        raise ClaimSkipped("the LI price table is not installed; run python benchmarks/make_li_prices.py")
    stretch = cfg.first_stretch + seed_index
    table = L.read_prices(path, [stretch])
    if table.empty:
        raise ClaimSkipped(
            f"the price table has no stretch {stretch} (it holds {len(L.available_stretches(path))}); "
            "regenerate it with python benchmarks/make_li_prices.py --stretches N"
        )
    if cfg.reverse_days:
        table = table.assign(day=table["day"].max() + 1 - table["day"])
    pairs = D.pairs_of_days(table)
    pairs["scope"] = pairs["label"].map(label_class)
    edges = list(cfg.era_edges)
    if cfg.late_signs_from_price:
        late = pairs["day"] >= edges[-2]
        signed = pairs["move"].abs() * np.sign(0.5 - pairs["price"])
        pairs["move"] = pairs["move"].where(~late, signed)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        era = pairs[(pairs["day"] >= lo) & (pairs["day"] < hi)]
        for scope, part in [("all", era), *era.groupby("scope", sort=True)]:
            res = D.martingale_residual(part["price"].to_numpy(), part["move"].to_numpy(), cfg.n_bins)
            rows.append(
                {
                    "stretch": stretch,
                    "scope": scope,
                    "era_start": lo,
                    "era_end": hi,
                    "era_mid": float(np.sqrt(lo * hi)),
                    "mean_move": float(part["move"].mean()) if len(part) else float("nan"),
                    **res,
                }
            )
    return pd.DataFrame(rows)


def label_class(label: str) -> str:
    """The LI scenario's sentence classes, with the ten digit classes pooled into 'digit'."""
    return "digit" if label.startswith("digit=") else label
