"""A library of efficiently computable traders, and an enumeration of small trading programs.

Every trader returns, on day n, one expressible feature per sentence it trades (shares to buy), a
continuous function of today's prices built from the constants it computed from the past (past prices
and revealed outcomes are known numbers on day n, which is what "e.c. trader" allows, def. 3.4.4).

- :class:`ConstantBelief` -- believes sentences of a class have probability p: ``s_curve(p, P)``.
- :class:`FrequencyTrader` -- p = Laplace-smoothed frequency of resolved sentences of its class (sec. 4.4
  "learning pseudorandom frequencies").
- :class:`CalibrationTrader` -- p = observed frequency of outcomes among resolved sentences whose
  price (at its first day) fell in the same bin (sec. 4.3 calibration).
- :class:`NegationCoherence` / :class:`BlockCoherence` -- buy both phi and ~phi (every member of an
  exclusive-exhaustive block) when their prices sum below 1, sell when above: arbitrage (sec. 4.1).
- :class:`FloorTrader` -- buys undecided sentences priced below eps, sells above 1 - eps (sec. 4.6).
- :class:`ModelTrader` -- wraps any predictor ``f(sentence_text) -> probability``.
- :class:`ProvableTrader` -- buys sentences that D_n already decides true (a propositional prover).

:func:`enumerate_programs` lists small programs of this grammar in order of size and gives program
``k`` the prior weight ``2^-size`` (normalised to sum 1/2), entering the market on day ``k+1`` if
staggered, as in the paper's enumeration of e.c. traders (sec. 5.4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aflab.logical_induction.market import DayContext, Trade

RESOLVED_COLUMNS = ("gid", "sentence", "label", "value", "day_resolved", "first_price")


class ResolvedLog:
    """The sentences resolved so far (decided by the deductive process), one row each, growing by
    appends: numpy columns ``gid``, ``value``, ``day_resolved``, ``first_price`` (amortised doubling),
    Python lists ``sentence`` / ``label``, and running per-label ``(count, sum of values)`` and
    per-``n_bins`` first-price bin counts, so that a trader's day-n look at the outcomes is O(1) /
    O(new rows) instead of O(all rows). :meth:`frame` gives the table (columns :data:`RESOLVED_COLUMNS`).

    It is passed as :attr:`.market.DayContext.resolved`; ``len(log)``, ``"col" in log`` and ``log["col"]``
    (a pandas Series, O(rows)) work as on the DataFrame it replaces."""

    def __init__(self):
        self._n = 0
        self._gid = np.zeros(64, dtype=np.int64)
        self._value = np.zeros(64, dtype=np.int64)
        self._day = np.zeros(64, dtype=np.int64)
        self._fp = np.zeros(64)
        self.sentence: list[str] = []
        self.label: list[str] = []
        self._by_label: dict[str, list[int]] = {}  # label -> [count, sum of values]
        self._bins: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # n_bins -> (rows seen, cnt, hits)

    @classmethod
    def from_columns(cls, gid, sentence, label, value, day_resolved, first_price) -> ResolvedLog:
        log = cls()
        for row in zip(
            np.asarray(gid).tolist(),
            sentence,
            label,
            np.asarray(value).tolist(),
            np.asarray(day_resolved).tolist(),
            np.asarray(first_price, dtype=float).tolist(),
        ):
            log.append(*row)
        return log

    def append(self, gid: int, sentence: str, label: str, value: int, day_resolved: int, first_price: float) -> None:
        n = self._n
        if n == len(self._gid):
            self._gid, self._value, self._day, self._fp = (
                np.concatenate([a, np.zeros_like(a)]) for a in (self._gid, self._value, self._day, self._fp)
            )
        self._gid[n], self._value[n], self._day[n], self._fp[n] = gid, value, day_resolved, first_price
        self.sentence.append(sentence)
        self.label.append(label)
        st = self._by_label.setdefault(label, [0, 0])
        st[0] += 1
        st[1] += int(value)
        self._n = n + 1

    def __len__(self) -> int:
        return self._n

    @property
    def gid(self) -> np.ndarray:
        return self._gid[: self._n]

    @property
    def value(self) -> np.ndarray:
        return self._value[: self._n]

    @property
    def day_resolved(self) -> np.ndarray:
        return self._day[: self._n]

    @property
    def first_price(self) -> np.ndarray:
        return self._fp[: self._n]

    def label_stats(self, label: str) -> tuple[int, int]:
        """(number resolved, number resolved true) of class ``label``: O(1)."""
        n, k = self._by_label.get(label, (0, 0))
        return n, k

    def first_price_bins(self, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """Over resolved rows with a finite first price: per bin ``min(int(fp n_bins), n_bins - 1)`` the
        count and the number true (float), updated incrementally (O(new rows) per call)."""
        seen, cnt, hits = self._bins.get(n_bins, (0, np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins)))
        if seen < self._n:
            fp = self._fp[seen : self._n]
            ok = np.isfinite(fp)
            bins = np.minimum((fp[ok] * n_bins).astype(int), n_bins - 1)
            cnt = cnt + np.bincount(bins, minlength=n_bins)
            hits = hits + np.bincount(bins, weights=self._value[seen : self._n][ok], minlength=n_bins)
            self._bins[n_bins] = (self._n, cnt, hits)
        return cnt, hits

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "gid": self.gid.copy(),
                "sentence": list(self.sentence),
                "label": list(self.label),
                "value": self.value.copy(),
                "day_resolved": self.day_resolved.copy(),
                "first_price": self.first_price.copy(),
            },
            columns=list(RESOLVED_COLUMNS),
        )

    @property
    def columns(self) -> list[str]:
        return list(RESOLVED_COLUMNS)

    def __contains__(self, column) -> bool:
        return column in RESOLVED_COLUMNS

    def __getitem__(self, column: str) -> pd.Series:
        return self.frame()[column]


def _select(ctx: DayContext, label: str | None, undecided_only: bool = True) -> np.ndarray:
    idx = ctx.undecided if undecided_only else np.arange(len(ctx.sentences))
    if label is not None and len(idx):
        labels = np.asarray(ctx.labels, dtype=object)[idx]
        idx = idx[labels == label]
    return idx


@dataclass(frozen=True)
class ConstantBelief:
    """Buys class-``label`` sentences below ``p`` and sells above: ``clip(slope (p - P), -1, 1)``."""

    p: float
    label: str | None = None
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        return Trade(idx, _position(ctx, idx, ctx.graph.s_curve(self.p, ctx.price(idx), self.slope), self.hold))


def _position(ctx: DayContext, idx: np.ndarray, target, hold: bool):
    """Position-targeting (``hold``): trade ``target - already held``, so a trader holds at most its
    target per sentence instead of buying it again every day (bounded exposure, sec. 5.2)."""
    if not hold:
        return target
    held = ctx.held(idx)
    return target - held if np.any(held != 0) else target


@dataclass(frozen=True)
class FloorTrader:
    """Non-dogmatism trader (sec. 4.6): buys any undecided sentence priced below ``eps`` and sells any
    priced above ``1 - eps``: ``clip(slope (eps - P), 0, 1) - clip(slope (P - 1 + eps), 0, 1)``."""

    eps: float = 1 / 16
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = ctx.undecided
        if len(idx) == 0:
            return None
        g = ctx.graph
        P = ctx.price(idx)
        buy = g.clip((P * -1.0 + self.eps) * self.slope, 0.0, 1.0)
        sell = g.clip((P + (self.eps - 1.0)) * self.slope, 0.0, 1.0)
        return Trade(idx, _position(ctx, idx, buy - sell, self.hold))


@dataclass(frozen=True)
class FrequencyTrader:
    """Bets the Laplace-smoothed frequency ``(k + prior_a)/(n + prior_a + prior_b)`` of its class."""

    label: str
    slope: float = 10.0
    prior_a: float = 1.0
    prior_b: float = 1.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def target(self, ctx: DayContext) -> float:
        res = ctx.resolved
        if isinstance(res, ResolvedLog):  # running counts: O(1)
            n, k = res.label_stats(self.label)
            return float((k + self.prior_a) / (n + self.prior_a + self.prior_b))
        vals = res["value"].to_numpy()[res["label"].to_numpy() == self.label] if len(res) else np.zeros(0)
        return float((vals.sum() + self.prior_a) / (len(vals) + self.prior_a + self.prior_b))

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        return Trade(
            idx, _position(ctx, idx, ctx.graph.s_curve(self.target(ctx), ctx.price(idx), self.slope), self.hold)
        )


@dataclass(frozen=True)
class CalibrationTrader:
    """Uses ``n_bins`` price bins: a sentence now priced near bin j is pushed to the observed frequency
    of bin j (outcomes of resolved sentences by their first price). Continuous in P: the target is a
    piecewise-linear interpolation of the bin frequencies."""

    n_bins: int = 5
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = ctx.undecided
        res = ctx.resolved
        if len(idx) == 0 or len(res) == 0 or "first_price" not in res:
            return None
        if isinstance(res, ResolvedLog):  # incremental bin counts: O(new rows)
            cnt, hits = res.first_price_bins(self.n_bins)
            if cnt.sum() < 2 * self.n_bins:
                return None
        else:
            fp = res["first_price"].to_numpy()
            ok = np.isfinite(fp)
            if ok.sum() < 2 * self.n_bins:
                return None
            bins = np.minimum((fp[ok] * self.n_bins).astype(int), self.n_bins - 1)
            cnt = np.bincount(bins, minlength=self.n_bins)
            hits = np.bincount(bins, weights=res["value"].to_numpy()[ok], minlength=self.n_bins)
        centres = (np.arange(self.n_bins) + 0.5) / self.n_bins
        freq = np.where(cnt > 0, (hits + centres) / (cnt + 1), centres)
        g = ctx.graph
        P = ctx.price(idx)
        # target(P) = sum_j freq_j hat_j(clip(P)): a continuous piecewise-linear interpolation of the
        # bin frequencies (the hats sum to 1 on [first centre, last centre])
        Pc = g.clip(P, centres[0], centres[-1])
        width = 1.0 / self.n_bins
        zero = P * 0.0
        target = None
        for j in range(self.n_bins):
            hat = g.max(1.0 - g.abs(Pc - centres[j]) * (1.0 / width), zero)
            term = hat * freq[j]
            target = term if target is None else target + term
        return Trade(idx, _position(ctx, idx, g.clip((target - P) * self.slope, -1.0, 1.0), self.hold))


@dataclass(frozen=True)
class NegationCoherence:
    """For priced pairs (phi, ~phi): buy both if ``P(phi) + P(~phi) < 1``, sell both if above."""

    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = "coherence(~)"

    def trade(self, ctx: DayContext) -> Trade | None:
        pairs = ctx.negation_pairs
        if len(pairs) == 0:
            return None
        g = ctx.graph
        gap = 1.0 - (ctx.price(pairs[:, 0]) + ctx.price(pairs[:, 1]))
        q = g.clip(gap * self.slope, -1.0, 1.0)
        idx = np.concatenate([pairs[:, 0], pairs[:, 1]])
        return Trade(idx, _position(ctx, idx, _tile(q, 2), self.hold))


def _tile(q, times: int):
    from aflab.logical_induction.expressions import Expr

    return Expr(q.graph, np.tile(q.ids, times))


@dataclass(frozen=True)
class BlockCoherence:
    """For exclusive-exhaustive blocks (exactly one member true): trade every member by
    ``clip(slope (1 - sum_i P_i), -1, 1)`` -- a sure profit whenever the block's prices do not sum to 1."""

    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = "coherence(block)"

    def trade(self, ctx: DayContext) -> Trade | None:
        if not ctx.blocks:
            return None
        g = ctx.graph
        by_size: dict[int, list[np.ndarray]] = {}
        for b in ctx.blocks:
            by_size.setdefault(len(b), []).append(b)
        idx_all, ids_all = [], []
        for size, blocks in by_size.items():
            M = np.stack(blocks)  # (nb, size)
            total = ctx.price(M[:, 0])
            for j in range(1, size):
                total = total + ctx.price(M[:, j])
            q = g.clip((1.0 - total) * self.slope, -1.0, 1.0)
            idx_all.append(M.T.ravel())
            ids_all.append(np.tile(q.ids, size))
        from aflab.logical_induction.expressions import Expr

        idx = np.concatenate(idx_all)
        return Trade(idx, _position(ctx, idx, Expr(g, np.concatenate(ids_all)), self.hold))


@dataclass(frozen=True)
class ModelTrader:
    """Wraps any predictor ``predict(sentence_text, day) -> probability`` as an s-curve trader."""

    predict: Callable[[str, int], float]
    label: str | None = None
    slope: float = 10.0
    weight: float = 0.5
    start_day: int = 1
    name: str = "model"

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        p = np.array([float(self.predict(str(ctx.sentences[i]), ctx.day)) for i in idx])
        if np.any((p < 0) | (p > 1) | ~np.isfinite(p)):
            raise ValueError(f"ModelTrader {self.name!r}: predictor returned a value outside [0, 1]")
        return Trade(idx, ctx.graph.s_curve(p, ctx.price(idx), self.slope))


@dataclass(frozen=True)
class ProvableTrader:
    """Buys one share of every sentence D_n has already decided true (and sells decided-false ones)
    when it is mispriced; a no-risk trade. With decided sentences priced at their truth it is silent,
    so it documents (and tests) that the maker prices proved sentences at 1."""

    weight: float = 0.5
    start_day: int = 1
    name: str = "provable"

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = np.flatnonzero(ctx.truth >= 0)
        if len(idx) == 0:
            return None
        P = ctx.price(idx)
        target = ctx.truth[idx].astype(float)
        return Trade(idx, ctx.graph.clip((P * -1.0 + target) * 10.0, -1.0, 1.0))


@dataclass(frozen=True)
class IntrospectionTrader:
    """Prices the market's own price atoms ``P_n(phi) > p`` (sec. 4.11, introspection): on day n, for an
    undecided atom about today's price of a sentence priced today, the target is
    ``clip(0.5 + sharpness (P_n(phi) - p), 0, 1)`` (``p - P_n(phi)`` for ``<``), a continuous function of
    today's prices; it trades ``clip(slope (target - P(atom)), -1, 1)``. The atom is settled the next
    day from the price history, so this trader profits whenever the market misprices its own beliefs."""

    sharpness: float = 20.0
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = "introspection"

    def trade(self, ctx: DayContext) -> Trade | None:
        from aflab.logical_induction.sentences import price_atom_meaning

        rows = []
        for i in ctx.undecided:
            meaning = price_atom_meaning(ctx.sentences[i])  # decoded from the atom's name: no registry
            if meaning is None or meaning.day != ctx.day or meaning.sentence not in ctx.index:
                continue
            rows.append((i, ctx.index[meaning.sentence], meaning.threshold, 1.0 if meaning.above else -1.0))
        if not rows:
            return None
        idx, inner, thr, sign = (np.array(c) for c in zip(*rows))
        g = ctx.graph
        target = g.clip((ctx.price(inner) * sign + (-sign * thr)) * self.sharpness + 0.5, 0.0, 1.0)
        q = g.clip((target - ctx.price(idx)) * self.slope, -1.0, 1.0)
        return Trade(idx, _position(ctx, idx, q, self.hold))


# ---------------------------------------------------------------------------------------------
# enumeration of small trading programs


@dataclass(frozen=True)
class Program:
    """A trading program of the small grammar, with its description length in bits."""

    kind: str
    args: tuple
    size: int

    def describe(self) -> str:
        return f"{self.kind}({', '.join(map(str, self.args))})"


def _dyadic_grid(depth: int) -> list[tuple[float, int]]:
    """Dyadic probabilities j/2^d (odd j) with their bit cost d, for d = 1..depth."""
    out = []
    for d in range(1, depth + 1):
        for j in range(1, 2**d, 2):
            out.append((j / 2**d, d))
    return out


def enumerate_programs(
    labels: tuple[str, ...],
    depth: int = 3,
    slopes: tuple[float, ...] = (10.0,),
    include: tuple[str, ...] = ("coherence", "frequency", "constant", "calibration", "floor"),
) -> list[Program]:
    """Programs sorted by size: coherence (2 bits), floor (4), calibration (5), frequency/class
    (3 + log2 #labels), constant belief per class (3 + log2 #labels + bits of p). Each slope choice adds
    log2(#slopes) bits."""
    lab_bits = int(np.ceil(np.log2(max(1, len(labels) + 1))))
    sl_bits = int(np.ceil(np.log2(len(slopes)))) if len(slopes) > 1 else 0
    progs: list[Program] = []
    for s in slopes:
        if "coherence" in include:
            progs.append(Program("block_coherence", (s,), 2 + sl_bits))
            progs.append(Program("negation_coherence", (s,), 2 + sl_bits))
        if "calibration" in include:
            progs.append(Program("calibration", (5, s), 5 + sl_bits))
        if "floor" in include:
            progs.append(Program("floor", (1 / 16, s), 4 + sl_bits))
        for lab in labels:
            if "frequency" in include:
                progs.append(Program("frequency", (lab, s), 3 + lab_bits + sl_bits))
            if "constant" in include:
                for p, bits in _dyadic_grid(depth):
                    progs.append(Program("constant", (p, lab, s), 3 + lab_bits + bits + sl_bits))
    return sorted(progs, key=lambda pr: (pr.size, pr.describe()))


def build_traders(programs: list[Program], stagger: bool = False, total_weight: float = 0.5) -> list:
    """Instantiate programs with prior weights ``2^-size`` normalised to ``total_weight``."""
    raw = np.array([2.0**-p.size for p in programs])
    w = raw / raw.sum() * total_weight if len(raw) else raw
    out = []
    for k, (pr, wk) in enumerate(zip(programs, w)):
        start = k + 1 if stagger else 1
        name = pr.describe()
        if pr.kind == "block_coherence":
            out.append(BlockCoherence(slope=pr.args[0], weight=wk, start_day=start, name=name))
        elif pr.kind == "negation_coherence":
            out.append(NegationCoherence(slope=pr.args[0], weight=wk, start_day=start, name=name))
        elif pr.kind == "calibration":
            out.append(CalibrationTrader(n_bins=pr.args[0], slope=pr.args[1], weight=wk, start_day=start, name=name))
        elif pr.kind == "floor":
            out.append(FloorTrader(eps=pr.args[0], slope=pr.args[1], weight=wk, start_day=start, name=name))
        elif pr.kind == "frequency":
            out.append(FrequencyTrader(label=pr.args[0], slope=pr.args[1], weight=wk, start_day=start, name=name))
        elif pr.kind == "constant":
            out.append(
                ConstantBelief(p=pr.args[0], label=pr.args[1], slope=pr.args[2], weight=wk, start_day=start, name=name)
            )
        else:
            raise ValueError(f"unknown program kind {pr.kind!r}")
    return out


# ---------------------------------------------------------------------------------------------
# shared calls: traders running the same program


#: library traders whose day-n trade is a pure function of their program fields (everything but
#: ``name``, ``weight``, ``start_day``), the day context and -- if they ``hold`` positions -- their own
#: holdings. ``ModelTrader`` (an arbitrary predictor) and user classes are always called one by one.
_PURE_PROGRAMS = (
    ConstantBelief,
    FloorTrader,
    FrequencyTrader,
    CalibrationTrader,
    NegationCoherence,
    BlockCoherence,
    ProvableTrader,
    IntrospectionTrader,
)


def program_key(trader) -> tuple | None:
    """Hashable identity of a library trader's *program* (``None``: not shareable). Two traders with the
    same key (and, when :func:`reads_holdings`, bit-identical holdings) write the same trade, so the
    day loop calls one of them and reuses the trade -- the paper's enumeration re-lists every program
    with new weights and entry days, and the reference's choreograph adds one identical trader a day."""
    if type(trader) not in _PURE_PROGRAMS:
        return None
    fields = tuple(
        (f.name, repr(getattr(trader, f.name)))
        for f in dataclasses.fields(trader)
        if f.name not in ("name", "weight", "start_day")
    )
    return (type(trader).__name__, fields)


def reads_holdings(trader) -> bool:
    """Does the trade depend on the trader's own holdings (position-targeting, ``hold=True``)?"""
    return bool(getattr(trader, "hold", True))
