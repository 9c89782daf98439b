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

from aflab.logical_induction.expressions import Expr
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
        self._features: dict[str, tuple[int, dict]] = {}  # feature -> (rows seen, {group: (n, k)})

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
        """(number resolved, number resolved true) of class ``label`` (O(1)), or of every class a pattern
        such as ``"digit=*"`` matches (:func:`label_matches`; O(number of classes))."""
        if label.endswith("*"):
            stats = [v for lab, v in self._by_label.items() if label_matches(lab, label)]
            return sum(v[0] for v in stats), sum(v[1] for v in stats)
        n, k = self._by_label.get(label, (0, 0))
        return n, k

    def feature_stats(self, feature: str) -> dict[str, tuple[int, int]]:
        """Per group of :data:`FEATURES` ``[feature]``: (number resolved, number true), updated
        incrementally (O(new rows) per call)."""
        seen, stats = self._features.get(feature, (0, {}))
        if seen < self._n:
            fn = FEATURES[feature]
            stats = dict(stats)
            for j in range(seen, self._n):
                key = fn(self.sentence[j])
                if key is not None:
                    n, k = stats.get(key, (0, 0))
                    stats[key] = (n + 1, k + int(self._value[j]))
            self._features[feature] = (self._n, stats)
        return stats

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

    def frame(self, n: int | None = None) -> pd.DataFrame:
        """The log as a table: its first ``n`` rows (default all; the log only grows, so a length taken
        earlier gives the table as it was then)."""
        n = self._n if n is None else n
        return pd.DataFrame(
            {
                "gid": self._gid[:n].copy(),
                "sentence": self.sentence[:n],
                "label": self.label[:n],
                "value": self._value[:n].copy(),
                "day_resolved": self._day[:n].copy(),
                "first_price": self._fp[:n].copy(),
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


def _primality_feature(text: str) -> str | None:
    return "primality" if text.lstrip("~").startswith("prime(") else None


def _negation_feature(text: str) -> str | None:
    return "negated" if text.startswith("~") else "plain"


#: sentence features a program may read (a fixed table of pure functions of the sentence's text: the same
#: text always gives the same group; nothing is registered at run time). A feature maps a sentence to
#: its group (or None: not covered); :class:`FeatureFrequency` learns one frequency per group.
FEATURES = {"primality": _primality_feature, "negation": _negation_feature}


def label_matches(label: str, pattern: str | None) -> bool:
    """A class pattern: ``None`` matches every class, ``"digit=*"`` every class starting with ``digit=``
    (a pooled class), anything else exactly that class."""
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return label.startswith(pattern[:-1])
    return label == pattern


def _select(ctx: DayContext, label: str | None, undecided_only: bool = True) -> np.ndarray:
    idx = ctx.undecided if undecided_only else np.arange(len(ctx.sentences))
    if label is not None and len(idx):
        labels = np.asarray(ctx.labels, dtype=object)[idx]
        if label.endswith("*"):
            keep = np.fromiter((lab.startswith(label[:-1]) for lab in labels), dtype=bool, count=len(labels))
        else:
            keep = labels == label
        idx = idx[keep]
    return idx


@dataclass(frozen=True)
class ConstantBelief:
    """Buys class-``label`` sentences below ``p`` and sells above: ``clip(slope (p - P), -size, size)``
    (``size`` caps the position: the same pull near ``p``, ``size`` times the worst-case exposure)."""

    p: float
    label: str | None = None
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""
    size: float = 1.0

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        q = _capped_s_curve(ctx, self.p, idx, self.slope, self.size)
        return Trade(idx, _position(ctx, idx, q, self.hold))


def _capped_s_curve(ctx: DayContext, target, idx: np.ndarray, slope: float, size: float):
    """``clip(slope (target - P), -size, size)`` (the graph's shared s-curve when ``size == 1``)."""
    if size == 1.0:
        return ctx.graph.s_curve(target, ctx.price(idx), slope)
    return ctx.graph.affine_clip(ctx.price(idx), -slope, np.asarray(target, dtype=float) * slope, -size, size)


@dataclass(frozen=True)
class BandTrader:
    """Buys class-``label`` sentences priced below ``low`` and sells those above ``high`` (nothing in
    between): ``clip(slope (low - P), 0, size) - clip(slope (P - high), 0, size)``. A constant belief
    with a dead zone: it bets only that prices leave the band [low, high]."""

    low: float
    high: float
    label: str | None = None
    slope: float = 10.0
    size: float = 1.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        g, P = ctx.graph, ctx.price(idx)
        buy = g.affine_clip(P, -self.slope, self.low * self.slope, 0.0, self.size)
        sell = g.affine_clip(P, -self.slope, self.high * self.slope, -self.size, 0.0)  # = -clip(s (P - high), 0, size)
        return Trade(idx, _position(ctx, idx, buy + sell, self.hold))


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
    priced above ``1 - eps``: ``clip(slope (eps - P), 0, 1) - clip(slope (P - 1 + eps), 0, 1)``.

    With ``evidence``, a sentence's floor yields to its track record: ``eps_i = min(eps, 1/(n_i + 2))`` with
    ``n_i`` the largest number of resolved sentences in a group the firm's learners read it by (its class,
    its class family, its feature groups: :func:`_track_records`) -- the lowest price Laplace's rule could
    give after ``n_i`` outcomes. A class that never resolves keeps ``eps``; a class of theorems
    proved one after another is no longer held below ``1 - 1/(n + 2)`` (a fixed floor at 15/16 loses only
    second-order amounts on each theorem, so it never dies and pins them; issue 14)."""

    eps: float = 1 / 16
    slope: float = 10.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = ""
    evidence: bool = False

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = ctx.undecided
        if len(idx) == 0:
            return None
        g = ctx.graph
        P = ctx.price(idx)
        if self.evidence:
            eps = np.array([min(self.eps, 1.0 / (n + 2.0)) for n in _track_records(ctx, idx)])
        else:
            eps = self.eps
        eps = np.asarray(eps, dtype=float)
        buy = g.affine_clip(P, -self.slope, eps * self.slope, 0.0, 1.0)
        sell = g.affine_clip(P, -self.slope, (1.0 - eps) * self.slope, -1.0, 0.0)  # = -clip(s (P - 1 + eps), 0, 1)
        return Trade(idx, _position(ctx, idx, buy + sell, self.hold))


def _class_count(ctx: DayContext, label: str) -> int:
    res = ctx.resolved
    if isinstance(res, ResolvedLog):
        return res.label_stats(label)[0]
    return int(sum(1 for lab in res["label"] if lab == label)) if len(res) else 0


#: the features whose groups count as a sentence's track record for the floor: content features only. The
#: negation feature splits *every* sentence by its syntax, so counting it would hand a class that never
#: resolves (an undecidable sentence) the whole market's record and drop its floor to ~0.
EVIDENCE_FEATURES = ("primality",)


def _track_records(ctx: DayContext, idx: np.ndarray) -> list[int]:
    """Per sentence: the largest number of resolved sentences in a group the firm's learners read it by --
    its class, its class family (``fam=*``), its feature groups (:data:`FEATURES`) -- the most evidence any
    learner has about it."""
    from aflab.logical_induction.sentences import to_text

    res = ctx.resolved
    counts: dict[str, int] = {}
    feats = {name: res.feature_stats(name) for name in EVIDENCE_FEATURES} if isinstance(res, ResolvedLog) else {}
    out = []
    for i in idx:
        lab = ctx.labels[i]
        if lab not in counts:
            n = _class_count(ctx, lab)
            if "=" in lab and isinstance(res, ResolvedLog):
                n = max(n, res.label_stats(lab.split("=", 1)[0] + "=*")[0])
            counts[lab] = n
        n = counts[lab]
        if feats:
            text = to_text(ctx.sentences[i])
            for name in EVIDENCE_FEATURES:
                key = FEATURES[name](text)
                if key is not None:
                    n = max(n, feats[name].get(key, (0, 0))[0])
        out.append(n)
    return out


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
    size: float = 1.0

    def target(self, ctx: DayContext) -> float:
        res = ctx.resolved
        if isinstance(res, ResolvedLog):  # running counts: O(1)
            n, k = res.label_stats(self.label)
            return float((k + self.prior_a) / (n + self.prior_a + self.prior_b))
        if len(res):
            mine = np.array([label_matches(lab, self.label) for lab in res["label"]], dtype=bool)
            vals = res["value"].to_numpy()[mine]
        else:
            vals = np.zeros(0)
        return float((vals.sum() + self.prior_a) / (len(vals) + self.prior_a + self.prior_b))

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        q = _capped_s_curve(ctx, self.target(ctx), idx, self.slope, self.size)
        return Trade(idx, _position(ctx, idx, q, self.hold))


@dataclass(frozen=True)
class FeatureFrequency:
    """Reads each sentence through a feature of :data:`FEATURES` (e.g. 'is this a primality sentence')
    and bets, per group, the Laplace-smoothed frequency ``(k + prior_a)/(n + prior_a + prior_b)`` of the
    resolved sentences in that group; sentences the feature does not cover are not traded."""

    feature: str
    slope: float = 10.0
    prior_a: float = 1.0
    prior_b: float = 1.0
    hold: bool = True
    size: float = 1.0
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        from aflab.logical_induction.sentences import to_text

        fn = FEATURES[self.feature]
        res = ctx.resolved
        if not isinstance(res, ResolvedLog) or len(res) == 0:
            return None
        stats = res.feature_stats(self.feature)
        idx, target = [], []
        for i in ctx.undecided:
            key = fn(to_text(ctx.sentences[i]))
            if key is not None:
                n, k = stats.get(key, (0, 0))
                idx.append(i)
                target.append((k + self.prior_a) / (n + self.prior_a + self.prior_b))
        if not idx:
            return None
        idx = np.array(idx)
        q = _capped_s_curve(ctx, np.array(target), idx, self.slope, self.size)
        return Trade(idx, _position(ctx, idx, q, self.hold))


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
        # target(P): the continuous piecewise-linear interpolation of the bin frequencies through the
        # points (centre_j, freq_j), flat outside [first centre, last centre]; written as
        # freq_0 + sum_j slope_j (clip(P, c_j, c_j+1) - c_j), one clipped affine node per segment
        target = None
        for j in range(self.n_bins - 1):
            c0, c1 = centres[j], centres[j + 1]
            sl = (freq[j + 1] - freq[j]) / (c1 - c0)
            lo, hi = sorted((0.0, sl * (c1 - c0)))
            seg = g.affine_clip(P, sl, -sl * c0, lo, hi)
            target = seg if target is None else target + seg
        target = target + freq[0] if target is not None else P * 0.0 + freq[0]
        q = g.affine_clip(target - P, self.slope, 0.0, -1.0, 1.0)
        return Trade(idx, _position(ctx, idx, q, self.hold))


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


@dataclass(frozen=True)
class ConjunctionCoherence:
    """For priced conjunctions ``c = a & b`` whose conjuncts are priced: the Frechet bounds
    ``P(a) + P(b) - 1 <= P(c) <= min(P(a), P(b))`` hold in every world, so a price outside them is a sure
    profit. Above ``P(a)`` (or ``P(b)``): sell c, buy that conjunct, ``clip(slope (P(c) - P(a)), 0, 1)``
    shares; below ``P(a) + P(b) - 1``: buy c, sell both conjuncts."""

    slope: float = 10.0
    hold: bool = False  # a conjunct shared by several conjunctions appears once per conjunction: trade flows
    weight: float = 0.5
    start_day: int = 1
    name: str = "coherence(&)"

    def trade(self, ctx: DayContext) -> Trade | None:
        rows = []
        for i in ctx.undecided:
            s = ctx.sentences[i]
            if s.kind == "and" and len(s.args) == 2 and all(x in ctx.index for x in s.args):
                rows.append((i, ctx.index[s.args[0]], ctx.index[s.args[1]]))
        if not rows:
            return None
        c, a, b = (np.array(col) for col in zip(*rows))
        g = ctx.graph
        Pc, Pa, Pb = ctx.price(c), ctx.price(a), ctx.price(b)
        over_a = g.affine_clip(Pc - Pa, self.slope, 0.0, 0.0, 1.0)  # c priced above a: sell c, buy a
        over_b = g.affine_clip(Pc - Pb, self.slope, 0.0, 0.0, 1.0)
        under = g.affine_clip(Pa + Pb - Pc, self.slope, -self.slope, 0.0, 1.0)  # c below a + b - 1: buy c
        idx = np.concatenate([c, a, b])
        q = Expr(g, np.concatenate([(under - over_a - over_b).ids, (over_a - under).ids, (over_b - under).ids]))
        return Trade(idx, _position(ctx, idx, q, self.hold))


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


@dataclass(frozen=True)
class Grammar:
    """What the learning firm enumerates (see :func:`enumerate_grammar`)."""

    #: dyadic depth of constant beliefs per class family and per class (levels j / 2^d, odd j)
    constant_depth: int = 3
    #: dyadic depth of band programs per class family: bands [j / 2^d, (j+1) / 2^d]
    band_depth: int = 3
    #: position caps (a capped program pulls as hard near its target, with ``cap`` times the exposure)
    sizes: tuple[float, ...] = (1.0, 0.125)
    #: one frequency program per *family* of classes (``digit=*``: every digit pooled)
    pooled: bool = True
    #: the non-dogmatism floor yields to each class's track record (:class:`FloorTrader` ``evidence``)
    evidence_floor: bool = True
    slope: float = 10.0
    #: extra slopes of the frequency learners (a steep learner defends its target harder)
    learner_slopes: tuple[float, ...] = ()
    #: features of :data:`FEATURES` that get a frequency learner (one per feature)
    features: tuple[str, ...] = ("primality",)
    #: one-day (non-holding) arbitrage programs beside the position-holding ones: they trade the whole
    #: gap again every day it stays open, so a persistent incoherence costs the firm nothing to remove
    flow_arbitrage: bool = True


def label_families(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Class families: ``fam=*`` for every prefix ``fam=`` shared by at least two classes."""
    prefixes: dict[str, int] = {}
    for lab in labels:
        if "=" in lab:
            prefixes[lab.split("=", 1)[0]] = prefixes.get(lab.split("=", 1)[0], 0) + 1
    return tuple(sorted(f"{p}=*" for p, n in prefixes.items() if n >= 2))


def enumerate_grammar(labels: tuple[str, ...], grammar: Grammar = Grammar()) -> list[Program]:
    """The learning firm's programs, sorted by description length (bits):

    - arbitrage: block and negation coherence (2 bits each);
    - the non-dogmatism floor (4), evidence-weighted by default; calibration (5);
    - frequency learners: one per class and, with ``pooled``, one per class family ``fam=*`` (3 + bits
      naming the family or class: one bit for which, then its index), at every position cap (+ bits of
      the cap);
    - constant beliefs at dyadic levels j/2^d, d <= ``constant_depth``, per family and per class
      (3 + scope bits + d), at every cap;
    - band programs (buy below j/2^d, sell above (j+1)/2^d) per family and per class at depth
      ``band_depth`` (4 + scope bits + d), at every cap.

    Weights ``2^-size`` (normalised by :func:`build_traders`) make the simple programs heavy; no program
    reads anything but prices, the class labels and the resolved outcomes (efficiently computable)."""
    families = label_families(labels) if grammar.pooled else ()
    # a scope is named by one bit (family or class) and its index: a family, naming many classes at once,
    # is the shorter description when there are fewer families than classes
    fam_bits = 1 + int(np.ceil(np.log2(len(families) + 1))) if families else 0
    lab_bits = 1 + int(np.ceil(np.log2(len(labels) + 1)))
    scopes = [(f, fam_bits) for f in families] + [(lab, lab_bits) for lab in labels]
    cap_bits = int(np.ceil(np.log2(len(grammar.sizes)))) if len(grammar.sizes) > 1 else 0
    s = grammar.slope
    floor_kind = "evidence_floor" if grammar.evidence_floor else "floor"
    progs = [
        Program("block_coherence", (s,), 2),
        Program("negation_coherence", (s,), 2),
        Program(floor_kind, (1 / 16, s), 4),
        Program("calibration", (5, s), 5),
    ]
    if grammar.flow_arbitrage:
        progs += [Program("block_coherence_flow", (s,), 3), Program("negation_coherence_flow", (s,), 3)]
    slopes = (s,) + tuple(x for x in grammar.learner_slopes if x != s)
    slope_bits = int(np.ceil(np.log2(len(slopes)))) if len(slopes) > 1 else 0
    feat_bits = 1 + int(np.ceil(np.log2(len(grammar.features) + 1))) if grammar.features else 0
    for cap in grammar.sizes:
        extra = cap_bits if cap != 1.0 or cap_bits else 0
        for sl in slopes:
            for feature in grammar.features:
                progs.append(Program("feature_frequency", (feature, sl, cap), 3 + feat_bits + extra + slope_bits))
            for scope, scope_bits in scopes:
                progs.append(Program("frequency", (scope, sl, cap), 3 + scope_bits + extra + slope_bits))
        for scope, scope_bits in scopes:
            for p, bits in _dyadic_grid(grammar.constant_depth):
                progs.append(Program("constant", (p, scope, s, cap), 3 + scope_bits + bits + extra))
            d = grammar.band_depth
            for j in range(2**d if d > 0 else 0):
                lo, hi = j / 2**d, (j + 1) / 2**d
                progs.append(Program("band", (lo, hi, scope, s, cap), 4 + scope_bits + d + extra))
    return sorted(progs, key=lambda pr: (pr.size, pr.describe()))


def build_traders(programs: list[Program], stagger: bool = False, total_weight: float = 0.5) -> list:
    """Instantiate programs with prior weights ``2^-size`` normalised to ``total_weight``."""
    raw = np.array([2.0**-p.size for p in programs])
    w = raw / raw.sum() * total_weight if len(raw) else raw
    out = []
    for k, (pr, wk) in enumerate(zip(programs, w)):
        start = k + 1 if stagger else 1
        name = pr.describe()
        if pr.kind in ("block_coherence", "block_coherence_flow"):
            hold = pr.kind == "block_coherence"
            out.append(BlockCoherence(slope=pr.args[0], hold=hold, weight=wk, start_day=start, name=name))
        elif pr.kind in ("negation_coherence", "negation_coherence_flow"):
            hold = pr.kind == "negation_coherence"
            out.append(NegationCoherence(slope=pr.args[0], hold=hold, weight=wk, start_day=start, name=name))
        elif pr.kind == "feature_frequency":
            feature, sl, size = pr.args
            out.append(FeatureFrequency(feature=feature, slope=sl, size=size, weight=wk, start_day=start, name=name))
        elif pr.kind == "calibration":
            out.append(CalibrationTrader(n_bins=pr.args[0], slope=pr.args[1], weight=wk, start_day=start, name=name))
        elif pr.kind in ("floor", "evidence_floor"):
            out.append(
                FloorTrader(
                    eps=pr.args[0],
                    slope=pr.args[1],
                    evidence=pr.kind == "evidence_floor",
                    weight=wk,
                    start_day=start,
                    name=name,
                )
            )
        elif pr.kind == "frequency":
            size = pr.args[2] if len(pr.args) > 2 else 1.0
            out.append(
                FrequencyTrader(label=pr.args[0], slope=pr.args[1], size=size, weight=wk, start_day=start, name=name)
            )
        elif pr.kind == "constant":
            size = pr.args[3] if len(pr.args) > 3 else 1.0
            out.append(
                ConstantBelief(
                    p=pr.args[0], label=pr.args[1], slope=pr.args[2], size=size, weight=wk, start_day=start, name=name
                )
            )
        elif pr.kind == "band":
            lo, hi, scope, sl, size = pr.args
            out.append(
                BandTrader(low=lo, high=hi, label=scope, slope=sl, size=size, weight=wk, start_day=start, name=name)
            )
        else:
            raise ValueError(f"unknown program kind {pr.kind!r}")
    return out


# ---------------------------------------------------------------------------------------------
# revival: a broke program re-enters with fresh books


@dataclass(frozen=True)
class Revived:
    """Program ``inner`` started afresh on ``start_day`` (empty books, its own budget): in the paper's
    enumeration every e.c. trader also appears as 'T started on day d', with its own prior weight. The
    trade is the inner program's, computed from this copy's own holdings."""

    inner: object
    weight: float
    start_day: int
    name: str
    revived_from: int

    @property
    def hold(self) -> bool:
        return bool(getattr(self.inner, "hold", True))

    def trade(self, ctx: DayContext) -> Trade | None:
        return self.inner.trade(ctx)


def revived_copies(day: int, traders, multipliers) -> list:
    """The revival policy: on days ``2^j`` (j >= 1), every program of the firm whose whole lineage (itself
    and its earlier copies) has budget multiplier below ``2^-j`` re-enters as a fresh copy with weight
    ``2^-j`` times its own (the paper's 'T started on day d', d = 2^j, costing j more bits). A program
    that went broke in the early transient -- its budget levels died on a drawdown and never come back --
    can thus come back at every scale of time, while a program that is still solvent costs nothing."""
    if day < 2 or day & (day - 1):
        return []
    j = day.bit_length() - 1
    best: dict[int, float] = {}
    for k, (t, m) in enumerate(zip(traders, multipliers)):
        root = getattr(t, "revived_from", None)
        root = k if root is None else root
        best[root] = max(best.get(root, 0.0), float(m))
    out = []
    for k, m in best.items():
        if m < 2.0**-j:
            t = traders[k]
            out.append(Revived(t, t.weight * 2.0**-j, day, f"{t.name}@{day}", k))
    return out


# ---------------------------------------------------------------------------------------------
# shared calls: traders running the same program


#: library traders whose day-n trade is a pure function of their program fields (everything but
#: ``name``, ``weight``, ``start_day``), the day context and -- if they ``hold`` positions -- their own
#: holdings. ``ModelTrader`` (an arbitrary predictor) and user classes are always called one by one.
_PURE_PROGRAMS = (
    ConstantBelief,
    BandTrader,
    FloorTrader,
    FrequencyTrader,
    FeatureFrequency,
    CalibrationTrader,
    NegationCoherence,
    BlockCoherence,
    ConjunctionCoherence,
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
