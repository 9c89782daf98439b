"""Claim experiments: the consequences of logical induction (Garrabrant et al. 2016, sec. 4) audited on
finite runs of the digits-of-pi scenario, plus the Kelly-market / Bayes-mixture identity.

All pi audits share one market run per (config, stretch of pi), cached in-process: the seed picks
the stretch (place p reads digit p + 1000 (seed mod digit_offsets)), so with ``digit_offsets = 1`` (the
quick preset) every audit in a worker process reuses a single run.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.optimize import linprog

from aflab.core import ClaimConfig
from aflab.logical_induction.deduction import Scenario, pi_scenario
from aflab.logical_induction.inductor import MarketRun, run_market
from aflab.logical_induction.kelly import bayes_mixture, bernoulli_and_markov_predictions, kelly_market
from aflab.logical_induction.traders import (
    BlockCoherence,
    ConstantBelief,
    FrequencyTrader,
    IntrospectionTrader,
    NegationCoherence,
    build_traders,
    enumerate_programs,
)


class PiAuditConfig(ClaimConfig):
    n_days: int = Field(24, ge=8, le=10_000, description="days the market runs")
    window: int = Field(2, ge=1, le=20, description="digit places priced ahead each day")
    delay: int = Field(3, ge=1, le=50, description="days until a digit is revealed")
    enum_depth: int = Field(1, ge=1, le=4, description="dyadic depth of constant-belief programs")
    constant_labels: int = Field(2, ge=0, le=6, description="classes that get constant-belief programs")
    digit_offsets: int = Field(
        1,
        ge=1,
        le=1000,
        description="the seed picks one of this many stretches of "
        "pi (offset 1000 * (seed mod digit_offsets)); 1 = every seed and every audit "
        "shares one run",
    )


def pi_traders(sc: Scenario, cfg: PiAuditConfig) -> list:
    """The firm: the enumeration of small programs (coherence, floor, calibration, one frequency
    program per class, constant beliefs for a few classes), weights 2^-size."""
    labels = tuple(sorted(set(sc.labels.values())))
    const_labels = ("digit=3", "prime", "digit=7", "undecidable", "digit=1", "neg_digit")[: cfg.constant_labels]
    progs = [
        p for p in enumerate_programs(labels, depth=cfg.enum_depth) if p.kind != "constant" or p.args[1] in const_labels
    ]
    return build_traders(progs)


#: held-out adversaries that are *variants of programs the firm enumerates* (same kind and class,
#: another slope or prior). With a finite firm, the LI criterion bounds only traders the firm can
#: represent, so the verdict is taken on these; the others are reported as out-of-class.
IN_CLASS_ADVERSARIES = ("adv:block-arbitrage(25)", "adv:negation-arbitrage(25)", "adv:frequency(digit=3,3)")


def adversaries() -> list:
    """Held-out traders (not in the firm, not moving prices): different slopes/targets than the firm's.
    The last one, a constant belief on ``digit=5``, is outside the firm's enumeration (its constant
    programs cover ``digit=3`` and ``prime`` only)."""
    return [
        BlockCoherence(slope=25.0, name="adv:block-arbitrage(25)"),
        NegationCoherence(slope=25.0, name="adv:negation-arbitrage(25)"),
        FrequencyTrader(label="digit=3", slope=3.0, prior_a=0.5, prior_b=4.5, name="adv:frequency(digit=3,3)"),
        ConstantBelief(p=0.1, label="digit=5", slope=20.0, name="adv:constant(0.1,digit=5)"),
    ]


#: runs computed elsewhere (the long benchmark's checkpointed run), used by the audits of their config
_SUPPLIED: dict = {}


def supply_run(cfg: PiAuditConfig, seed: int, scenario: Scenario, run: MarketRun, control: bool = False) -> None:
    """Make the audits of ``(cfg, seed)`` use ``run`` (e.g. a 10,000-day run computed in checkpointed
    chunks by ``benchmarks/bench_logical_induction.py --long``) instead of computing their own."""
    _SUPPLIED[(cfg, int(seed) % cfg.digit_offsets, bool(control))] = (scenario, run)


def pi_run(cfg: PiAuditConfig, seed: int, control: bool = False) -> tuple[Scenario, MarketRun]:
    """One market run on the pi scenario (``control``: a one-trader dogmatic market, for detectability);
    cached in-process, so the audits of one (config, seed) share it."""
    hit = _SUPPLIED.get((cfg, int(seed) % cfg.digit_offsets, bool(control)))
    return hit if hit is not None else _pi_run(cfg, int(seed) % cfg.digit_offsets, bool(control))


@lru_cache(maxsize=8)
def _pi_run(cfg: PiAuditConfig, stretch: int, control: bool) -> tuple[Scenario, MarketRun]:
    sc = pi_scenario(cfg.n_days, window=cfg.window, delay=cfg.delay, digit_offset=1000 * stretch, far_block=True)
    traders = [ConstantBelief(p=0.5, weight=0.5, name="dogmatic(0.5)")] if control else pi_traders(sc, cfg)
    return sc, run_market(sc, traders, adversaries())


def _last(frac: float, days: pd.Series, n_days: int) -> pd.Series:
    return days > n_days * (1 - frac)


# -- market maker -------------------------------------------------------------------------------


def exp_maker(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    _, run = pi_run(cfg, seed)
    m = run.maker.copy()
    return m[
        [
            "day",
            "n_priced",
            "n_undecided",
            "max_value",
            "split_bound",
            "tolerance",
            "certified",
            "evaluations",
            "seconds",
        ]
    ]


# -- pi digits ------------------------------------------------------------------------------------


def exp_pi_frequencies(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Per day: mean |P - 0.1| over undecided digit sentences and max |sum_d P - 1| over blocks."""
    _, run = pi_run(cfg, seed)
    p = run.prices
    dig = p[p.label.str.startswith("digit=") & (p.decided < 0)].copy()
    dig["place"] = dig.sentence.str.extract(r"pi_digit\((\d+)\)").astype(int)
    dev = dig.assign(dev=(dig.price - 0.1).abs()).groupby("day").dev.mean()
    block = dig.groupby(["day", "place"]).price.sum().sub(1).abs().groupby("day").max()
    return pd.DataFrame(
        {"day": dev.index, "mean_abs_dev": dev.values, "max_block_gap": block.reindex(dev.index).values}
    )


# -- limit coherence --------------------------------------------------------------------------------


def hull_distance(prices: np.ndarray, worlds: np.ndarray) -> float:
    """L1 distance from ``prices`` to the convex hull of ``worlds`` (rows), by LP:
    min sum_j t_j s.t. -t <= P - lambda W <= t, lambda in the simplex."""
    n_w, n = worlds.shape
    c = np.concatenate([np.zeros(n_w), np.ones(n)])
    A = np.block([[worlds.T, -np.eye(n)], [-worlds.T, -np.eye(n)]])
    b = np.concatenate([prices, -prices])
    A_eq = np.concatenate([np.ones(n_w), np.zeros(n)])[None, :]
    res = linprog(c, A_ub=A, b_ub=b, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (n_w + n), method="highs")
    return float(res.fun)


def exp_coherence(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Per day: mean |P(phi) + P(~phi) - 1| over priced negation pairs and the mean L1 distance of each
    undecided digit block (10 digits + the negation) to the hull of its consistent worlds."""
    from aflab.logical_induction.deduction import digit_atom

    _, run = pi_run(cfg, seed)
    p = run.prices
    price = {(d, s): v for d, s, v in zip(p.day, p.sentence, p.price)}
    rows = []
    # the consistent worlds of a block (exactly one digit true; ~first iff not first), 10 of them
    worlds = np.hstack([np.eye(10), 1 - np.eye(10)[:, :1]])
    for day, grp in p[(p.label == "neg_digit") & (p.decided < 0)].groupby("day"):
        gaps, dists = [], []
        for text in grp.sentence:
            place = int(text.split("(")[1].split(")")[0])
            pos = price.get((day, text[1:]))
            if pos is None:
                continue
            gaps.append(abs(pos + price[(day, text)] - 1))
            vec = [price.get((day, str(digit_atom(place, d)))) for d in range(10)] + [price[(day, text)]]
            if all(v is not None for v in vec):
                dists.append(hull_distance(np.array(vec), worlds))
        rows.append(
            {
                "day": day,
                "mean_negation_gap": float(np.mean(gaps)) if gaps else np.nan,
                "mean_hull_l1": float(np.mean(dists)) if dists else np.nan,
                "n_blocks": len(dists),
            }
        )
    return pd.DataFrame(rows)


# -- provability induction ---------------------------------------------------------------------------


def exp_provability(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Each theorem (``prime(p_n)``, ``~prime(q_n)``: true, proof revealed 2 delay days later): its price
    on the first day it is priced (long before its proof) and on the day before the proof."""
    _, run = pi_run(cfg, seed)
    p = run.prices
    th = p[p.label.isin(["prime", "composite_neg"])]
    first = th.sort_values("day").groupby("sentence").first()
    before = th[th.decided < 0].sort_values("day").groupby("sentence").last()
    out = pd.DataFrame(
        {
            "sentence": first.index,
            "label": first.label.values,
            "first_day": first.day.values,
            "first_price": first.price.values,
            "price_before_proof": before.price.reindex(first.index).values,
            "revealed_on": first.revealed_on.values,
        }
    )
    return out.sort_values("first_day").reset_index(drop=True)


# -- calibration ---------------------------------------------------------------------------------------


def exp_calibration(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Every resolved sentence with its price on the day before its resolution, and its truth."""
    _, run = pi_run(cfg, seed)
    p = run.prices
    res = run.resolved
    last = p[p.decided < 0].sort_values("day").groupby("sentence").last()
    df = res.merge(last[["price", "day"]], left_on="sentence", right_index=True, how="inner")
    return df[["sentence", "label", "value", "day_resolved", "price"]].rename(columns={"price": "price_before"})


# -- non-dogmatism and convergence -----------------------------------------------------------------


def exp_undecided_paths(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Price paths of the never-decided sentences (undecidable atoms, the far digit block; kind
    'never_decided') and, for the price-trajectory plot, of the digit blocks of places 1-3 up to and
    after their resolution (kind 'sample')."""
    _, run = pi_run(cfg, seed)
    p = run.prices
    never = p[(p.revealed_on < 0) & (p.truth < 0)]
    sample = p[p.sentence.str.match(r"^pi_digit\([123]\) = ")]
    return pd.concat([never.assign(kind="never_decided"), sample.assign(kind="sample")])[
        ["day", "sentence", "label", "price", "decided", "revealed_on", "kind"]
    ].reset_index(drop=True)


# -- non-exploitation ---------------------------------------------------------------------------------


def exp_exploitation(cfg: PiAuditConfig, seed: int) -> pd.DataFrame:
    """Held-out adversaries' plausible value range [min_W, max_W] per day, in the LI market and in a
    control market (one dogmatic trader) where the same adversaries can exploit it; plus the firm's
    traders' ledger in the LI market (who earned what)."""
    frames = []
    for control in (False, True):
        _, run = pi_run(cfg, seed, control)
        led = run.ledger if not control else run.ledger[run.ledger.role == "adversary"]
        cls = np.where(
            led.role != "adversary", "", np.where(led.trader.isin(IN_CLASS_ADVERSARIES), "in-class", "out-of-class")
        )
        frames.append(
            led.assign(market="control" if control else "logical_inductor", adversary_class=cls)[
                ["day", "trader", "role", "adversary_class", "market", "multiplier", "worst", "best", "mark", "moved"]
            ]
        )
    return pd.concat(frames, ignore_index=True)


# -- introspection ------------------------------------------------------------------------------------


class IntrospectionConfig(PiAuditConfig):
    n_days: int = Field(20, ge=8, le=10_000, description="days the market runs")
    thresholds: tuple[float, ...] = Field(
        (0.05, 0.1, 0.2, 0.35, 0.5),
        min_length=1,
        max_length=12,
        description="p of the price atoms 'P_n(phi) > p' priced on day n",
    )
    introspection_weight: float = Field(
        0.05, gt=0, le=0.5, description="prior weight of the introspection program added to the enumerated firm"
    )


def introspection_scenario(cfg: IntrospectionConfig, stretch: int = 0) -> Scenario:
    """The pi scenario plus, on day n, the price atoms ``P_n(phi) > p`` for ``phi`` = ``undecidable(0)``
    and ``pi_digit(n) = 3`` (both priced on day n) and every threshold p; each is settled on day n+1 from
    the market's own history (class 'introspection')."""
    from aflab.logical_induction.deduction import digit_atom
    from aflab.logical_induction.sentences import atom, price_atom

    sc = pi_scenario(cfg.n_days, window=cfg.window, delay=cfg.delay, digit_offset=1000 * stretch, far_block=True)
    labels = dict(sc.labels)
    priced = []
    for n, day in enumerate(sc.priced, start=1):
        extra = tuple(
            price_atom(n, phi, p)
            for phi in (atom("undecidable(0)"), digit_atom(n, 3))
            for p in cfg.thresholds
            if phi in day
        )
        labels.update(dict.fromkeys(extra, "introspection"))
        priced.append(tuple(day) + extra)
    return Scenario(sc.name + "+introspection", sc.facts, tuple(priced), labels, sc.truth, sc.blocks, sc.revealed_on)


@lru_cache(maxsize=4)
def _introspection_run(cfg: IntrospectionConfig, stretch: int, with_trader: bool) -> MarketRun:
    sc = introspection_scenario(cfg, stretch)
    traders = pi_traders(sc, cfg)
    if with_trader:
        traders = traders + [IntrospectionTrader(weight=cfg.introspection_weight)]
    return run_market(sc, traders)


def exp_introspection(cfg: IntrospectionConfig, seed: int) -> pd.DataFrame:
    """Every price atom ``P_n(phi) > p`` on its day n: its price, and its truth computed from the price
    table (``P_n(phi) > p``); in the LI market (enumerated firm + the introspection program) and in a
    control market without the introspection program."""
    from aflab.logical_induction.sentences import PRICE_ATOMS, to_text

    frames = []
    for market, with_trader in (("logical_inductor", True), ("control_no_introspection", False)):
        p = _introspection_run(cfg, int(seed) % cfg.digit_offsets, with_trader).prices
        price = {(d, s): v for d, s, v in zip(p.day, p.sentence, p.price)}
        rows = []
        for d, s, v in zip(p.day, p.sentence, p.price):
            meaning = PRICE_ATOMS.get(s)
            if meaning is None or meaning[0] != d:
                continue
            inner = price[(d, to_text(meaning[1]))]
            rows.append(
                {
                    "day": d,
                    "sentence": s,
                    "inner_price": inner,
                    "threshold": meaning[2],
                    "price": v,
                    "truth": int(inner > meaning[2]),
                }
            )
        frames.append(pd.DataFrame(rows).assign(market=market))
    return pd.concat(frames, ignore_index=True)


# -- Kelly market = Bayes mixture ---------------------------------------------------------------------


class KellyConfig(ClaimConfig):
    n_steps: int = Field(2000, ge=10, le=10**6, description="binary outcomes bet on")
    n_thetas: int = Field(9, ge=2, le=200, description="Bernoulli/Markov hypothesis grid size")
    source_theta: float = Field(0.7, gt=0, lt=1, description="P(repeat previous bit) of the Markov source")
    fraction: float = Field(0.5, gt=0, lt=1, description="fractional-Kelly control (expected to deviate)")


def exp_kelly(cfg: KellyConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.zeros(cfg.n_steps, dtype=np.int64)
    x[0] = rng.integers(0, 2)
    u = rng.random(cfg.n_steps)
    for t in range(1, cfg.n_steps):
        x[t] = x[t - 1] if u[t] < cfg.source_theta else 1 - x[t - 1]
    thetas = (np.arange(cfg.n_thetas) + 0.5) / cfg.n_thetas
    q = bernoulli_and_markov_predictions(x, thetas)
    prior = rng.dirichlet(np.ones(q.shape[1]))
    p_kelly, _ = kelly_market(q, x, prior)
    p_frac, _ = kelly_market(q, x, prior, fraction=cfg.fraction)
    p_bayes = bayes_mixture(q, x, prior)
    return pd.DataFrame(
        {"t": np.arange(cfg.n_steps), "outcome": x, "p_kelly": p_kelly, "p_fractional": p_frac, "p_bayes": p_bayes}
    )
