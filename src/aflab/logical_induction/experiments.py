"""Claim experiments: the consequences of logical induction (Garrabrant et al. 2016, sec. 4) audited on
finite runs of the digits-of-pi scenario, plus the Kelly-market / Bayes-mixture identity.

Each pi audit is two steps: :func:`pi_run` computes one market run for a (config, stretch of pi) and a
``*_table(run)`` function turns a run into the audit's tidy table. The registered experiments are the
composition; an audit of a run computed elsewhere (a checkpoint, the long benchmark) calls the table
functions on that run and the claims' verdict functions on the tables (:mod:`.claims`
``judge_pi_run``), so an experiment reads nothing but its config and seed.

The seed index picks the stretch of pi: seed ``i`` of a sweep reads the digits from place
``1 + 1000 i`` on (:func:`digit_offset`), so every seed of a sweep -- and every seed set of a
stability run, which uses indices ``j n .. j n + n - 1`` -- is a different market. Runs are cached
in-process by (config, seed index, market), and their tables across processes (:func:`shared_pi_run`, under
``$AFLAB_RUN_CACHE``): the audits of one stretch share one run, and the cache's content is a deterministic
function of its key (which includes the code digest).

Broken mechanisms for the counterfactuals (config switches): ``firm='dogmatic'`` (one constant-belief
trader instead of the enumeration), ``drop_programs`` (program kinds removed from the enumeration, e.g.
the arbitrage programs), ``maker='frozen'`` (prices stuck at 1/2) or ``'oscillating'`` (1/4 and 3/4 on
alternate days), ``floor_weight`` (the non-dogmatism floor's prior weight multiplied).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.optimize import linprog

from aflab.core import ClaimConfig
from aflab.logical_induction.deduction import Scenario, digit_atom, pi_scenario
from aflab.logical_induction.inductor import MarketRun, run_market
from aflab.logical_induction.kelly import bayes_mixture, bernoulli_and_markov_predictions, kelly_market
from aflab.logical_induction.market import MakerResult, budget_multipliers, split_bound
from aflab.logical_induction.traders import (
    ConjunctionCoherence,
    ConstantBelief,
    FloorTrader,
    Grammar,
    IntrospectionTrader,
    build_traders,
    enumerate_grammar,
    enumerate_programs,
    revived_copies,
)

ProgramKind = Literal["block_coherence", "negation_coherence", "calibration", "floor", "frequency", "constant", "band"]
PROGRAM_KINDS: tuple[str, ...] = ProgramKind.__args__


class PiAuditConfig(ClaimConfig):
    n_days: int = Field(24, ge=4, le=10_000, description="days the market runs")
    window: int = Field(2, ge=1, le=20, description="digit places priced ahead each day")
    delay: int = Field(3, ge=1, le=50, description="days until a digit is revealed")
    enum_depth: int = Field(2, ge=1, le=4, description="dyadic depth of constant-belief programs")
    constant_labels: int = Field(2, ge=0, le=6, description="classes that get constant-belief programs")
    firm: Literal["learning", "enumerated", "dogmatic"] = Field(
        "learning",
        description="'learning': the grammar of traders.enumerate_grammar (pooled frequencies, bands, capped "
        "positions, evidence floor); 'enumerated': the original 20-program firm; 'dogmatic' (mechanism "
        "switch): one constant-belief trader",
    )
    band_depth: int = Field(2, ge=0, le=5, description="learning firm: dyadic depth of band programs")
    sizes: tuple[float, ...] = Field((1.0,), min_length=1, max_length=4, description="learning firm: position caps")
    learner_slopes: tuple[float, ...] = Field(
        (), max_length=3, description="learning firm: extra slopes of the frequency learners"
    )
    flow_arbitrage: bool = Field(True, description="learning firm: one-day arbitrage programs too")
    revival: bool = Field(True, description="learning firm: broke programs re-enter on days 2^j (revived_copies)")
    dogmatic_p: float = Field(0.5, ge=0, le=1, description="the belief of the dogmatic firm")
    drop_programs: tuple[ProgramKind, ...] = Field(
        (), description="mechanism switch: program kinds removed from the enumerated firm"
    )
    floor_weight: float = Field(
        1.0, gt=0, le=1e4, description="mechanism switch: multiplies the prior weight of the non-dogmatism floor"
    )
    maker: Literal["solver", "frozen", "oscillating"] = Field(
        "solver", description="mechanism switch: 'frozen' prices stay at 1/2, 'oscillating' alternate 1/4 and 3/4"
    )


#: digits between the starts of consecutive seeds' stretches of pi
STRETCH = 1000


def digit_offset(cfg: PiAuditConfig, seed_index: int) -> int:
    """Where seed ``seed_index``'s stretch of pi starts: place p reads digit ``p + 1000 seed_index`` (the same
    stretch as ``aflab li run pi --seed``). Runs of up to ~1,000 days on different seed indices share no
    digit; longer ones overlap, shifted by 1,000 places."""
    if seed_index < 0:
        raise ValueError(f"seed_index must be >= 0, got {seed_index}")
    return STRETCH * int(seed_index)


def pi_audit_scenario(cfg: PiAuditConfig, seed_index: int) -> Scenario:
    return pi_scenario(
        cfg.n_days, window=cfg.window, delay=cfg.delay, digit_offset=digit_offset(cfg, seed_index), far_block=True
    )


def pi_traders(sc: Scenario, cfg: PiAuditConfig) -> list:
    """The firm: the enumeration of small programs (coherence, floor, calibration, one frequency
    program per class, constant beliefs for a few classes), weights 2^-size; ``drop_programs`` and
    ``floor_weight`` break it on purpose. ``firm='dogmatic'``: one constant-belief trader."""
    if cfg.firm == "dogmatic":
        return [ConstantBelief(p=cfg.dogmatic_p, weight=0.5, name=f"dogmatic({cfg.dogmatic_p:g})")]
    labels = tuple(sorted(set(sc.labels.values())))
    if cfg.firm == "learning":
        grammar = Grammar(
            constant_depth=cfg.enum_depth,
            band_depth=cfg.band_depth,
            sizes=cfg.sizes,
            learner_slopes=cfg.learner_slopes,
            flow_arbitrage=cfg.flow_arbitrage,
        )
        progs = [p for p in enumerate_grammar(labels, grammar) if program_family(p.kind) not in cfg.drop_programs]
        return _with_floor_weight(build_traders(progs), cfg.floor_weight)
    const_labels = ("digit=3", "prime", "digit=7", "undecidable", "digit=1", "neg_digit")[: cfg.constant_labels]
    progs = [
        p
        for p in enumerate_programs(labels, depth=cfg.enum_depth)
        if (p.kind != "constant" or p.args[1] in const_labels) and p.kind not in cfg.drop_programs
    ]
    return _with_floor_weight(build_traders(progs), cfg.floor_weight)


def program_family(kind: str) -> str:
    """The ``drop_programs`` name of a program kind: variants go with their family (the one-day arbitrage
    with the holding one, the evidence floor with the floor, feature learners with the frequency ones)."""
    kind = kind.removeprefix("evidence_").removesuffix("_flow")
    return "frequency" if kind == "feature_frequency" else kind


def _with_floor_weight(traders: list, factor: float) -> list:
    import dataclasses

    if factor == 1.0:
        return traders
    return [dataclasses.replace(t, weight=t.weight * factor) if isinstance(t, FloorTrader) else t for t in traders]


def adversaries() -> list:
    """The held-out adversary suite (:func:`.heldout.heldout_suite`): traders outside the firm's
    enumeration, booked at the market's prices without moving them."""
    from aflab.logical_induction.heldout import heldout_suite

    return heldout_suite()


# -- deliberately broken market makers (counterfactuals) ------------------------------------------------


def _unsolved(pw, truth, raw_trades, weights, state, P, tolerance) -> MakerResult:
    """The firm's trade and its exact worst-case value at prices ``P`` chosen without solving."""
    T = raw_trades(P)
    m = budget_multipliers(pw, T, P, state)
    F = (weights * m) @ T
    value = float(pw.max_linear(F) - F @ P) if len(P) else 0.0
    return MakerResult(P, F, m, value, split_bound(F, P), tolerance, bool(value <= tolerance), 1)


def frozen_maker(pw, truth, raw_trades, weights, state, prev, tolerance) -> MakerResult:
    """Broken maker: every undecided sentence priced 1/2 every day, whatever the traders do."""
    P = np.where(truth >= 0, truth.astype(float), 0.5)
    return _unsolved(pw, truth, raw_trades, weights, state, P, tolerance)


class OscillatingMaker:
    """Broken maker: undecided sentences priced 1/4 and 3/4 on alternate days, whatever the traders do."""

    def __init__(self):
        self.day = 0

    def __call__(self, pw, truth, raw_trades, weights, state, prev, tolerance) -> MakerResult:
        self.day += 1
        P = np.where(truth >= 0, truth.astype(float), 0.25 if self.day % 2 else 0.75)
        return _unsolved(pw, truth, raw_trades, weights, state, P, tolerance)


@lru_cache(maxsize=64)
def pi_run(cfg: PiAuditConfig, seed_index: int, market: str = "firm") -> tuple[Scenario, MarketRun]:
    """One market run on seed ``seed_index``'s stretch of pi, with the held-out adversaries booked.

    ``market``: ``"firm"`` (the configured firm and maker) or ``"control"`` (one dogmatic trader at 1/2,
    the solver: a market the adversaries can exploit, to show the audit can detect exploitation)."""
    if market not in ("firm", "control"):
        raise ValueError(f"market must be 'firm' or 'control', got {market!r}")
    sc = pi_audit_scenario(cfg, seed_index)
    if market == "control":
        return sc, run_market(sc, [ConstantBelief(p=0.5, weight=0.5, name="dogmatic(0.5)")], adversaries())
    maker = {"solver": "solver", "frozen": frozen_maker, "oscillating": OscillatingMaker()}[cfg.maker]
    revival = revived_copies if cfg.revival and cfg.firm == "learning" else None
    return sc, run_market(sc, pi_traders(sc, cfg), adversaries(), maker=maker, revival=revival)


# -- tables of a run (pure functions of the run) -------------------------------------------------------

MAKER_COLUMNS = ["day", "n_priced", "n_undecided", "max_value", "split_bound", "tolerance", "certified", "evaluations"]


def maker_table(run: MarketRun) -> pd.DataFrame:
    """The maker's certificate per day (no wall-clock column: timings live in the benchmark)."""
    return run.maker[MAKER_COLUMNS].reset_index(drop=True)


def digit_table(run: MarketRun) -> pd.DataFrame:
    """Per day: mean |P - 0.1| over undecided digit sentences and max |sum_d P - 1| over blocks."""
    p = run.prices
    dig = p[p.label.str.startswith("digit=") & (p.decided < 0)].copy()
    dig["place"] = dig.sentence.str.extract(r"pi_digit\((\d+)\)", expand=False).astype(int)
    dev = dig.assign(dev=(dig.price - 0.1).abs()).groupby("day").dev.mean()
    block = dig.groupby(["day", "place"]).price.sum().sub(1).abs().groupby("day").max()
    return pd.DataFrame(
        {
            "day": dev.index.to_numpy(),
            "mean_abs_dev": dev.to_numpy(),
            "max_block_gap": block.reindex(dev.index).to_numpy(),
        }
    )


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


#: the consistent worlds of a digit block and its first digit's negation: exactly one digit true, ~d0 iff not d0
BLOCK_WORLDS = np.hstack([np.eye(10), 1 - np.eye(10)[:, :1]])


def coherence_table(run: MarketRun) -> pd.DataFrame:
    """Per day: mean |P(phi) + P(~phi) - 1| over priced negation pairs and the mean L1 distance of each
    undecided digit block (10 digits + the negation) to the hull of its consistent worlds."""
    p = run.prices
    price = {(d, s): v for d, s, v in zip(p.day, p.sentence, p.price)}
    rows = []
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
                dists.append(hull_distance(np.array(vec), BLOCK_WORLDS))
        rows.append(
            {
                "day": int(day),
                "mean_negation_gap": float(np.mean(gaps)) if gaps else np.nan,
                "mean_hull_l1": float(np.mean(dists)) if dists else np.nan,
                "n_blocks": len(dists),
            }
        )
    return pd.DataFrame(rows, columns=["day", "mean_negation_gap", "mean_hull_l1", "n_blocks"])


def theorem_table(run: MarketRun) -> pd.DataFrame:
    """Per day: the mean of ``1 - P`` over the undecided theorems priced that day (``prime(p_n)``,
    ``~prime(q_n)``: true, proofs revealed ``2 delay`` days after they are first priced), and how many."""
    p = run.prices
    th = p[p.label.isin(["prime", "composite_neg"]) & (p.decided < 0)]
    g = th.assign(gap=1.0 - th.price).groupby("day").gap.agg(["mean", "size"])
    return pd.DataFrame(
        {"day": g.index.to_numpy(), "mean_gap": g["mean"].to_numpy(), "n_theorems": g["size"].to_numpy()}
    )


def calibration_table(run: MarketRun) -> pd.DataFrame:
    """Every resolved sentence with its price on the day before its resolution, its truth, and its
    *cluster* for resampling: a digit place's sentences share one (exactly one digit of a place is true),
    every other sentence is its own."""
    p = run.prices
    last = p[p.decided < 0].sort_values("day", kind="stable").groupby("sentence").last()
    df = run.resolved.merge(last[["price"]], left_on="sentence", right_index=True, how="inner")
    place = df.sentence.str.extract(r"pi_digit\((\d+)\)", expand=False)
    cluster = np.where(place.notna(), "place " + place.fillna(""), df.sentence)
    out = df.assign(cluster=cluster)[["sentence", "label", "value", "day_resolved", "price", "cluster"]]
    return out.rename(columns={"price": "price_before"}).reset_index(drop=True)


def undecided_paths_table(run: MarketRun) -> pd.DataFrame:
    """Price paths of the never-decided sentences (undecidable atoms, the far digit block; kind
    'never_decided') and, for the price-trajectory plot, of the digit blocks of places 1-3 up to and
    after their resolution (kind 'sample')."""
    p = run.prices
    never = p[(p.revealed_on < 0) & (p.truth < 0)]
    sample = p[p.sentence.str.match(r"^pi_digit\([123]\) = ")]
    return pd.concat([never.assign(kind="never_decided"), sample.assign(kind="sample")])[
        ["day", "sentence", "label", "price", "decided", "revealed_on", "kind"]
    ].reset_index(drop=True)


def exploitation_table(run: MarketRun, control: MarketRun) -> pd.DataFrame:
    """Held-out adversaries' plausible value range ``[min_W, max_W]`` per day in the audited market and
    in a control market (one dogmatic trader) where the same adversaries can exploit it; plus the
    firm's traders' ledger in the audited market (who earned what). ``adversary_kind`` and
    ``adversary_suite`` ('first', or 'second' for :data:`.heldout.SECOND_SUITE`) describe each held-out trader."""
    frames = []
    from aflab.logical_induction.heldout import suite_kind, suite_of

    for market, r in (("logical_inductor", run), ("control", control)):
        led = r.ledger if market == "logical_inductor" else r.ledger[r.ledger.role == "adversary"]
        kinds = {name: suite_kind(name) for name in led.trader.unique()}
        adversary = led.role == "adversary"
        kind = np.where(adversary, led.trader.map(kinds), "")
        suite = np.where(adversary, led.trader.map(suite_of), "")
        cols = ["day", "trader", "role", "adversary_kind", "adversary_suite", "market"]
        frames.append(
            led.assign(market=market, adversary_kind=kind, adversary_suite=suite)[
                cols + ["multiplier", "worst", "best", "mark", "moved"]
            ]
        )
    return pd.concat(frames, ignore_index=True)


# -- the registered experiments: a run, then its table ---------------------------------------------------


def market_maker_certified_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    return maker_table(shared_pi_run(cfg, seed_index))


def pi_digit_frequencies_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    return digit_table(shared_pi_run(cfg, seed_index))


def limit_coherence_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    return coherence_table(shared_pi_run(cfg, seed_index))


def without_floor(cfg: PiAuditConfig) -> PiAuditConfig:
    """The same config with the non-dogmatism floor program removed (the provability audit's control)."""
    drop = tuple(k for k in PROGRAM_KINDS if k in set(cfg.drop_programs) | {"floor"})
    return type(cfg)(**{**cfg.model_dump(), "drop_programs": drop})


def provability_induction_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    """Theorem prices per day in the audited market and in a control market: the same firm without the
    non-dogmatism floor (which sells every undecided sentence above 15/16, theorems included)."""
    return pd.concat(
        [
            theorem_table(shared_pi_run(cfg, seed_index)).assign(market="logical_inductor"),
            theorem_table(shared_pi_run(without_floor(cfg), seed_index)).assign(market="no_floor_control"),
        ],
        ignore_index=True,
    )


def calibration_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    return calibration_table(shared_pi_run(cfg, seed_index))


def undecided_paths_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    """Shared by non-dogmatism and convergence (both judge the never-decided sentences' paths)."""
    return undecided_paths_table(shared_pi_run(cfg, seed_index))


def non_exploitation_experiment(cfg: PiAuditConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    ledger = ("ledger",)
    return exploitation_table(
        shared_pi_run(cfg, seed_index, tables=ledger), shared_pi_run(cfg, seed_index, "control", ledger)
    )


# -- introspection ------------------------------------------------------------------------------------


class IntrospectionConfig(PiAuditConfig):
    n_days: int = Field(20, ge=4, le=10_000, description="days the market runs")
    thresholds: tuple[Annotated[float, Field(ge=0, le=1)], ...] = Field(
        (0.05, 0.1, 0.2, 0.35, 0.5),
        min_length=1,
        max_length=12,
        description="p of the price atoms 'P_n(phi) > p' priced on day n",
    )
    introspection_weight: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description="prior weight of the introspection program added to the enumerated firm "
        "(0 = mechanism switch: no introspection program)",
    )
    conjunction_weight: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description="prior weight of the conjunction-coherence program (Frechet bounds; 0 = mechanism switch: none)",
    )
    distrust_weight: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="mechanism switch: weight of a trader that prices every 'phi & P_n(phi) > p' at 0 (self-distrust)",
    )


def introspection_scenario(cfg: IntrospectionConfig, seed_index: int = 0) -> Scenario:
    """The pi scenario plus, on day n, the price atoms ``A = P_n(phi) > p`` for ``phi`` = ``undecidable(0)``
    and ``pi_digit(n) = 3`` (both priced on day n) and every threshold p (class 'introspection'), and the
    conjunctions ``phi & A`` (class 'self_trust', for the self-trust audit); each atom is settled on day
    n+1 from the market's own history. The atoms' meanings are the scenario's
    (:attr:`.deduction.Scenario.price_atoms`), decoded from their names."""
    from aflab.logical_induction.sentences import atom, conj, price_atom, price_atom_meaning

    sc = pi_audit_scenario(cfg, seed_index)
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
        conjunctions = tuple(conj(price_atom_meaning(a).sentence, a) for a in extra)
        labels.update(dict.fromkeys(conjunctions, "self_trust"))
        priced.append(tuple(day) + extra + conjunctions)
    return Scenario(sc.name + "+introspection", sc.facts, tuple(priced), labels, sc.truth, sc.blocks, sc.revealed_on)


@lru_cache(maxsize=4)
def introspection_run(cfg: IntrospectionConfig, seed_index: int) -> tuple[Scenario, MarketRun]:
    sc = introspection_scenario(cfg, seed_index)
    traders = pi_traders(sc, cfg)
    if cfg.introspection_weight > 0:
        traders = traders + [IntrospectionTrader(weight=cfg.introspection_weight)]
    if cfg.conjunction_weight > 0:
        traders = traders + [ConjunctionCoherence(weight=cfg.conjunction_weight)]
    if cfg.distrust_weight > 0:
        traders = traders + [ConstantBelief(p=0.0, label="self_trust", slope=10.0, weight=cfg.distrust_weight)]
    return sc, run_market(sc, traders)


def introspection_table(sc: Scenario, run: MarketRun) -> pd.DataFrame:
    """Every price atom ``P_n(phi) > p`` on its day n: its price, and its truth computed from the price
    table (``P_n(phi) > p``)."""
    from aflab.logical_induction.sentences import to_text

    meanings = {to_text(a): m for a, m in sc.price_atoms.items()}
    p = run.prices
    price = {(d, s): v for d, s, v in zip(p.day, p.sentence, p.price)}
    rows = []
    for d, s, v in zip(p.day, p.sentence, p.price):
        meaning = meanings.get(s)
        if meaning is None or meaning.day != d:
            continue
        inner = price[(d, to_text(meaning.sentence))]
        rows.append(
            {
                "day": int(d),
                "sentence": s,
                "inner_price": inner,
                "threshold": meaning.threshold,
                "price": v,
                "truth": int(meaning.holds(inner)),
            }
        )
    return pd.DataFrame(rows, columns=["day", "sentence", "inner_price", "threshold", "price", "truth"])


def self_trust_table(sc: Scenario, run: MarketRun) -> pd.DataFrame:
    """Every conjunction ``phi & A`` with ``A = P_n(phi) > p`` on its day n: the prices of ``phi & A``, of
    ``A`` and of ``phi``, the threshold p, and the truth of A (from the price table)."""
    from aflab.logical_induction.sentences import to_text

    p = run.prices
    price = {(d, s): v for d, s, v in zip(p.day, p.sentence, p.price)}
    rows = []
    for a, meaning in sc.price_atoms.items():
        d, phi = meaning.day, to_text(meaning.sentence)
        c = f"{phi} & {to_text(a)}" if meaning.sentence.kind == "atom" else f"({phi}) & {to_text(a)}"
        if (d, c) not in price or (d, phi) not in price or (d, to_text(a)) not in price:
            continue
        rows.append(
            {
                "day": int(d),
                "sentence": phi,
                "threshold": meaning.threshold,
                "phi_price": price[(d, phi)],
                "atom_price": price[(d, to_text(a))],
                "conj_price": price[(d, c)],
                "atom_truth": int(meaning.holds(price[(d, phi)])),
            }
        )
    cols = ["day", "sentence", "threshold", "phi_price", "atom_price", "conj_price", "atom_truth"]
    return pd.DataFrame(rows, columns=cols)


#: environment variable: the folder for tables shared between two audits' cells ("off": no sharing)
RUN_CACHE_ENV = "AFLAB_RUN_CACHE"


def run_cache_dir() -> Path | None:
    """Where tables shared by two claims' cells are kept across processes: ``$AFLAB_RUN_CACHE`` (default
    ``~/.cache/aflab/runs``); ``AFLAB_RUN_CACHE=off`` switches sharing off (each audit computes its run)."""
    root = os.environ.get(RUN_CACHE_ENV, "")
    if root.lower() == "off":
        return None
    return Path(root) if root else Path.home() / ".cache" / "aflab" / "runs"


def shared_tables(key: str, names: tuple[str, ...], compute: Callable[[], dict[str, pd.DataFrame]]) -> dict:
    """Tables two claims' cells need, computed once across processes: ``compute()``'s tables ``names`` are
    written (Parquet, atomically) under the run cache as ``{key}.{name}.parquet`` and read back by whichever
    cell needs them next. ``key`` must carry everything the tables depend on (config hash, seed index, the
    code digest that keys the cells themselves), so the same key means the same tables: sharing changes the
    cost, never the result (tested against a fresh computation). An unreadable file is recomputed and
    replaced; a read-only cache folder only costs the sharing."""
    from aflab.core.store import atomic_write_bytes, bytes_to_table, table_to_bytes

    folder = run_cache_dir()
    paths = {name: folder / f"{key}.{name}.parquet" for name in names} if folder else {}
    if paths and all(p.exists() for p in paths.values()):
        try:
            return {name: bytes_to_table(p.read_bytes()) for name, p in paths.items()}
        except Exception:  # a truncated or foreign file: recompute below and overwrite it
            pass
    tables = compute()
    for name, p in paths.items():
        try:
            atomic_write_bytes(p, table_to_bytes(tables[name]))
        except OSError:  # a read-only home: sharing is an optimisation, the result stands without it
            break
    return tables


def _cells_code_version() -> str:
    """The code digest that keys this system's cells (core, the system's sources, key libraries)."""
    from aflab.core.claims import code_version, get_claim

    return code_version(get_claim("logical_induction.market-maker-certified"))


#: the tables of a :class:`MarketRun`, all a pi audit reads
RUN_TABLES = ("prices", "ledger", "maker", "resolved")


def shared_pi_run(
    cfg: PiAuditConfig, seed_index: int, market: str = "firm", tables: tuple[str, ...] = ("prices", "maker", "resolved")
) -> MarketRun:
    """:func:`pi_run`'s tables, shared across processes: the pi audits are separate claims over the same
    stretches (quick: 7 audits read stretches 0-4, three of them up to 9 or 11), and in a report or a
    stability run their cells land in different worker processes, where the in-process cache cannot help.
    Measured at the quick preset: each stretch's run ~8 CPU-s, its tables ~0.05 s to read back.
    ``tables``: the ones the caller reads (the ledger, 10% of a short run's cost, only where it is needed);
    the others are absent from the returned run."""
    if unknown := set(tables) - set(RUN_TABLES):
        raise ValueError(f"tables must be among {RUN_TABLES}, got {sorted(unknown)}")
    key = f"pi-{market}-{cfg.config_hash()}-{seed_index}-{_cells_code_version()}"

    def compute() -> dict[str, pd.DataFrame]:
        run = pi_run(cfg, seed_index, market)[1]
        return {name: getattr(run, name) for name in tables}

    found = shared_tables(key, tables, compute)
    return MarketRun(**{name: found.get(name, _not_shared(name)) for name in RUN_TABLES})


def _not_shared(name: str) -> Callable[[], pd.DataFrame]:
    def missing() -> pd.DataFrame:
        raise KeyError(f"table {name!r} was not requested from shared_pi_run (pass it in tables=)")

    return missing


def introspection_tables(cfg: IntrospectionConfig, seed_index: int) -> dict[str, pd.DataFrame]:
    """The introspection and self-trust tables of one introspection run, computed once for both audits
    (:func:`shared_tables`): the run is the expensive part (~44 CPU-s a stretch at the quick preset) and
    the two audits are separate claims whose cells may run in different processes."""
    key = f"introspection-{cfg.config_hash()}-{seed_index}-{_cells_code_version()}"

    def compute() -> dict[str, pd.DataFrame]:
        sc, run = introspection_run(cfg, seed_index)
        return {"introspection": introspection_table(sc, run), "self_trust": self_trust_table(sc, run)}

    return shared_tables(key, ("introspection", "self_trust"), compute)


def self_trust_experiment(cfg: IntrospectionConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    """The self-trust rows of the introspection run (the same market as the introspection audit; the run
    is shared through :func:`introspection_tables`)."""
    return introspection_tables(cfg, seed_index)["self_trust"]


def introspection_experiment(cfg: IntrospectionConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
    """Every price atom on its day, in the configured market (the enumerated firm plus the introspection
    program, or without it when ``introspection_weight = 0``)."""
    return introspection_tables(cfg, seed_index)["introspection"]


# -- Kelly market = Bayes mixture ---------------------------------------------------------------------


class KellyBayesConfig(ClaimConfig):
    n_steps: int = Field(2000, ge=10, le=10**6, description="binary outcomes bet on")
    n_thetas: int = Field(9, ge=2, le=200, description="Bernoulli/Markov hypothesis grid size")
    source_theta: float = Field(0.7, gt=0, lt=1, description="P(repeat previous bit) of the Markov source")
    kelly_fraction: float = Field(
        1.0, gt=0, le=1, description="mechanism switch: the bettors' Kelly fraction (1 = full Kelly)"
    )
    fraction: float = Field(0.5, gt=0, lt=1, description="fractional-Kelly control (expected to deviate)")


def kelly_bayes_experiment(cfg: KellyBayesConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x0 = rng.integers(0, 2)
    u = rng.random(cfg.n_steps)
    flips = np.concatenate([[0], (u[1:] >= cfg.source_theta).astype(np.int64)])
    x = (x0 + np.cumsum(flips)) % 2  # x_t repeats x_{t-1} with probability source_theta
    thetas = (np.arange(cfg.n_thetas) + 0.5) / cfg.n_thetas
    q = bernoulli_and_markov_predictions(x, thetas)
    prior = rng.dirichlet(np.ones(q.shape[1]))
    p_kelly, _ = kelly_market(q, x, prior, fraction=cfg.kelly_fraction)
    p_frac, _ = kelly_market(q, x, prior, fraction=cfg.fraction)
    p_bayes = bayes_mixture(q, x, prior)
    return pd.DataFrame(
        {"t": np.arange(cfg.n_steps), "outcome": x, "p_kelly": p_kelly, "p_fractional": p_frac, "p_bayes": p_bayes}
    )
