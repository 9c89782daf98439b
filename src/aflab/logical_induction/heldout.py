"""The held-out adversary suite: simple traders written *outside* the firm's enumeration.

A logical inductor must not be exploitable by any efficiently computable trader (Garrabrant et al. 2016,
def. 3.5): a trader's plausible value ``min_W W(holdings)`` over the worlds consistent with ``D_n`` must
stay bounded. A finite firm guarantees this only for the traders it contains; these are the ten-line
traders a skeptical reader would try next, and the audits book them as *outside adversaries*: they trade
at the market's prices every day, their holdings are valued over ``PC(D_n)``, but they do not move prices.

Kinds (:data:`SUITE_KINDS`): threshold/band, momentum, contrarian, buyers of later-proved sentences (by
class, and by reading the sentence and testing primality), pair and block arbitrage with other sizes,
content readers (a digit-repeat pattern read from the sentence's place), a recency-window frequency, a
constant belief of 1/10 on every digit class, and a buyer of cheap undecidable sentences. A second suite
(:data:`SECOND_SUITE`), written after the firm's grammar froze and before any of its traders had been run
against it: learners of digit patterns (by the previous digit, by the place's parity), a sniper of new
sentences' first price, mean reversion on persistent sentences, a spread between the two classes of
theorems, a steep narrow band on digits, and a fader of extreme prices.

Not in the suite, on purpose: a trader that computes digits of pi itself. It is efficiently computable,
so in the paper's sense it would exploit any market that does not also compute pi; the digits are
*pseudorandom* only to traders that cannot compute them in time (sec. 4.4), and the pi scenario audits
exactly that regime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from aflab.logical_induction.market import DayContext, Trade
from aflab.logical_induction.traders import (
    BandTrader,
    BlockCoherence,
    ConstantBelief,
    NegationCoherence,
    ResolvedLog,
    _position,
    _select,
)

_PRIME_ATOM = re.compile(r"^prime\((\d+)\)$")
_DIGIT_ATOM = re.compile(r"^pi_digit\((\d+)\)=(\d)$")


def _revealed_digits(res) -> dict[int, int]:
    """Place -> digit of every pi digit revealed so far (the resolved sentences ``pi_digit(p) = d`` that
    came out true; O(true rows))."""
    out: dict[int, int] = {}
    for j in np.flatnonzero(np.asarray(res.value) == 1):
        m = _DIGIT_ATOM.match(res.sentence[j].replace(" ", ""))
        if m is not None:
            out[int(m.group(1))] = int(m.group(2))
    return out


def _digit_sentences(ctx: DayContext) -> list[tuple[int, int, int]]:
    """(index, place, digit) of today's undecided ``pi_digit(p) = d`` sentences."""
    rows = []
    for i in ctx.undecided:
        s = ctx.sentences[i]
        m = _DIGIT_ATOM.match(s.name) if s.kind == "atom" else None
        if m is not None:
            rows.append((int(i), int(m.group(1)), int(m.group(2))))
    return rows


def _toward(ctx: DayContext, idx: list, target: list, slope: float, hold: bool = True) -> Trade | None:
    """``clip(slope (target - P), -1, 1)`` on sentences ``idx`` (a held position with ``hold``), or no trade."""
    if not idx:
        return None
    idx = np.array(idx)
    q = ctx.graph.s_curve(np.array(target), ctx.price(idx), slope)
    return Trade(idx, _position(ctx, idx, q, hold))


@dataclass(frozen=True)
class MomentumTrader:
    """Buys what rose since yesterday, sells what fell: ``clip(slope (P - P_yesterday), -size, size)``."""

    label: str | None = None
    slope: float = 20.0
    size: float = 1.0
    hold: bool = True
    weight: float = 0.5
    start_day: int = 1
    name: str = "momentum"
    sign: float = 1.0

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if ctx.prev_price is None or len(idx) == 0:
            return None
        idx = idx[np.isfinite(ctx.prev_price[idx])]
        if len(idx) == 0:
            return None
        g = ctx.graph
        q = g.clip((ctx.price(idx) + (-ctx.prev_price[idx])) * (self.sign * self.slope), -self.size, self.size)
        return Trade(idx, _position(ctx, idx, q, self.hold))


def contrarian(label: str | None = None, slope: float = 20.0, name: str = "contrarian") -> MomentumTrader:
    """Buys what fell since yesterday, sells what rose (momentum with the sign flipped)."""
    return MomentumTrader(label=label, slope=slope, sign=-1.0, name=name)


@dataclass(frozen=True)
class ClassBuyer:
    """Holds ``size`` shares of every undecided sentence of class ``label``: a bet that the class gets
    proved (the 'prime' and 'composite_neg' theorems), whatever the price."""

    label: str
    size: float = 1.0
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        idx = _select(ctx, self.label)
        if len(idx) == 0:
            return None
        q = ctx.graph.const(np.full(len(idx), self.size))
        return Trade(idx, _position(ctx, idx, q, True))


@dataclass(frozen=True)
class PrimalityReader:
    """A content reader: parses ``prime(n)`` and ``~prime(n)``, tests n with Miller-Rabin and holds one
    share of the sentence if it is true, minus one if false (a buyer of later-proved sentences that
    reads them instead of their class)."""

    weight: float = 0.5
    start_day: int = 1
    name: str = "primality-reader"

    def trade(self, ctx: DayContext) -> Trade | None:
        from aflab.logical_induction.deduction import is_prime

        rows = []
        for i in ctx.undecided:
            s = ctx.sentences[i]
            negated = s.kind == "not"
            core = s.args[0] if negated else s
            m = _PRIME_ATOM.match(core.name) if core.kind == "atom" else None
            if m is not None:
                rows.append((i, 1.0 if is_prime(int(m.group(1))) != negated else -1.0))
        if not rows:
            return None
        idx, target = (np.array(c) for c in zip(*rows))
        return Trade(idx, _position(ctx, idx, ctx.graph.const(target), True))


@dataclass(frozen=True)
class DigitRepeatReader:
    """A content reader betting on a false pattern: reads the place p of ``pi_digit(p) = d`` and buys
    the digit that the latest revealed place showed ('digits repeat'), sells the others at ``price >
    0.1``; it should lose, or at least not earn, in a sound market."""

    slope: float = 20.0
    weight: float = 0.5
    start_day: int = 1
    name: str = "digit-repeat-reader"

    def trade(self, ctx: DayContext) -> Trade | None:
        res = ctx.resolved
        last = None
        values = res.value
        for j in range(len(res) - 1, max(len(res) - 200, 0) - 1, -1):  # the latest revealed digit
            m = _DIGIT_ATOM.match(res.sentence[j].replace(" ", "")) if values[j] == 1 else None
            if m is not None:
                last = int(m.group(2))
                break
        if last is None:
            return None
        rows = _digit_sentences(ctx)
        if not rows:
            return None
        idx = np.array([i for i, _, _ in rows])
        target = [0.5 if digit == last else 0.05 for _, _, digit in rows]
        q = ctx.graph.clip(ctx.price(idx) * (-self.slope) + np.array(target) * self.slope, -1.0, 1.0)
        return Trade(idx, _position(ctx, idx, q, True))


@dataclass(frozen=True)
class WindowFrequency:
    """Bets the frequency of its class among the last ``window`` resolved sentences of the class (a
    recency-weighted learner, unlike the firm's whole-history Laplace counts)."""

    label: str
    window: int = 50
    slope: float = 10.0
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        from aflab.logical_induction.traders import label_matches

        idx = _select(ctx, self.label)
        res = ctx.resolved
        if len(idx) == 0 or len(res) == 0:
            return None
        vals, values = [], res.value
        for j in range(len(res) - 1, -1, -1):  # the latest `window` resolved sentences of the class
            if label_matches(res.label[j], self.label):
                vals.append(int(values[j]))
                if len(vals) == self.window:
                    break
        if len(vals) < 10:
            return None
        target = (sum(vals) + 0.5) / (len(vals) + 1.0)
        q = ctx.graph.s_curve(target, ctx.price(idx), self.slope)
        return Trade(idx, _position(ctx, idx, q, True))


# -- the second suite: written 2026-12-07 against the frozen firm (commit d91e73b), before any run -----------


@dataclass(frozen=True)
class PatternReader:
    """A content reader that *learns* a digit pattern instead of assuming one: it reads the place p of
    ``pi_digit(p) = d`` and bets the Laplace-smoothed frequency of d among revealed digits in the same
    context, ``(count + 0.1) / (n + 1)``: ``context="markov"`` -- the digit at place p - 1 (a first-order
    Markov chain, 100 cells); ``"parity"`` -- p mod 2 (20 cells). pi's digits carry neither pattern, so it
    should earn nothing in a sound market; it trades only once ``min_data`` revealed places inform it."""

    context: str = "markov"
    slope: float = 10.0
    min_data: int = 20
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def _key(self, place: int, revealed: dict[int, int]):
        if self.context == "parity":
            return place % 2
        return revealed.get(place - 1)

    def trade(self, ctx: DayContext) -> Trade | None:
        revealed = _revealed_digits(ctx.resolved)
        counts: dict[object, np.ndarray] = {}
        for place, digit in revealed.items():
            key = self._key(place, revealed)
            if key is not None:
                counts.setdefault(key, np.zeros(10))[digit] += 1
        if sum(c.sum() for c in counts.values()) < self.min_data:
            return None
        idx, target = [], []
        for i, place, digit in _digit_sentences(ctx):
            c = counts.get(self._key(place, revealed))
            if c is not None:
                idx.append(i)
                target.append((c[digit] + 0.1) / (c.sum() + 1.0))
        return _toward(ctx, idx, target, self.slope)


@dataclass(frozen=True)
class FirstDaySniper:
    """Trades a sentence only on the day it is first priced (no price yesterday), toward the Laplace
    frequency of its class, and keeps the shares to resolution (a one-day bet on the maker's pricing of
    new sentences, which starts its solve from 1/2); classes with fewer than 10 resolved are skipped."""

    slope: float = 10.0
    weight: float = 0.5
    start_day: int = 2
    name: str = "first-day-sniper"

    def trade(self, ctx: DayContext) -> Trade | None:
        if ctx.prev_price is None:
            return None
        res = ctx.resolved
        if not isinstance(res, ResolvedLog):
            return None
        idx, target = [], []
        for i in ctx.undecided:
            if np.isfinite(ctx.prev_price[i]):
                continue
            n, k = res.label_stats(ctx.labels[i])
            if n >= 10:
                idx.append(int(i))
                target.append((k + 0.5) / (n + 1.0))
        return _toward(ctx, idx, target, self.slope, hold=False)


@dataclass(frozen=True)
class MeanReversion:
    """Bets that a persistent sentence's price returns to its recent mean: on every undecided sentence
    priced on each of the last ``window`` days, holds ``clip(slope (mean - P), -1, 1)`` (the far digit,
    the undecidable sentences and theorems still waiting for their proof)."""

    window: int = 10
    slope: float = 20.0
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        if ctx.day <= self.window:
            return None
        idx, level = [], []
        for i in ctx.undecided:
            past = [ctx.past_prices(ctx.sentences[i], ctx.day - j) for j in range(1, self.window + 1)]
            if np.all(np.isfinite(past)):
                idx.append(int(i))
                level.append(float(np.mean(past)))
        return _toward(ctx, idx, level, self.slope)


@dataclass(frozen=True)
class ClassSpread:
    """A relative-value trader between two classes of theorems (both 'prime(n)' and '~prime(m)' for
    composite m are proved in the end): buys a sentence of one class below yesterday's mean price of the
    other class and sells above it, ``clip(slope (mean_other_yesterday - P), -1, 1)``; it earns if the
    market keeps one class cheaper than the other."""

    first: str = "prime"
    second: str = "composite_neg"
    slope: float = 20.0
    weight: float = 0.5
    start_day: int = 2
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        if ctx.prev_price is None:
            return None
        groups = {lab: _select(ctx, lab) for lab in (self.first, self.second)}
        means = {}
        for lab, idx in groups.items():
            prev = ctx.prev_price[idx]
            prev = prev[np.isfinite(prev)]
            if len(prev) == 0:
                return None
            means[lab] = float(prev.mean())
        idx = np.concatenate([groups[self.first], groups[self.second]])
        level = np.concatenate(
            [np.full(len(groups[self.first]), means[self.second]), np.full(len(groups[self.second]), means[self.first])]
        )
        q = ctx.graph.s_curve(level, ctx.price(idx), self.slope)
        return Trade(idx, _position(ctx, idx, q, True))


#: (name, kind) of every held-out trader, in the order :func:`heldout_suite` returns them
SUITE_KINDS: tuple[tuple[str, str], ...] = (
    ("band(digit,0.09,0.11)", "threshold/band"),
    ("band(digit,0.08,0.12)", "threshold/band"),
    ("momentum", "momentum"),
    ("contrarian", "contrarian"),
    ("buy(prime)", "later-proved buyer"),
    ("buy(composite_neg)", "later-proved buyer"),
    ("primality-reader", "content reader"),
    ("digit-repeat-reader", "content reader"),
    ("window-frequency(digit,50)", "recency learner"),
    ("constant(0.1,digit)", "constant belief"),
    ("block-arbitrage(25,x3)", "block arbitrage"),
    ("pair-arbitrage(25,x3)", "pair arbitrage"),
    ("buy-cheap(undecidable)", "threshold/band"),
    # the second suite (:data:`SECOND_SUITE`): written after the firm froze
    ("markov-reader(digit)", "pattern learner"),
    ("parity-reader(digit)", "pattern learner"),
    ("first-day-sniper", "new-sentence sniper"),
    ("mean-reversion(10)", "mean reversion"),
    ("spread(prime,composite_neg)", "cross-class spread"),
    ("band(digit,0.099,0.101,steep)", "threshold/band"),
    ("fade-extremes(0.03,0.97)", "extreme fader"),
)
#: the traders of the second suite, written on 2026-12-07 against the firm as frozen at commit d91e73b and
#: added before any of them had been run against it (the first suite's kinds guided the firm's grammar)
SECOND_SUITE: tuple[str, ...] = tuple(n for n, _ in SUITE_KINDS[13:])


def heldout_suite() -> list:
    """The held-out adversaries (fresh instances; none is a program of the firm's enumeration)."""
    traders = [
        BandTrader(low=0.09, high=0.11, label="digit=*", slope=20.0, name="band(digit,0.09,0.11)"),
        BandTrader(low=0.08, high=0.12, label="digit=*", slope=20.0, name="band(digit,0.08,0.12)"),
        MomentumTrader(name="momentum"),
        contrarian(name="contrarian"),
        ClassBuyer(label="prime", name="buy(prime)"),
        ClassBuyer(label="composite_neg", name="buy(composite_neg)"),
        PrimalityReader(),
        DigitRepeatReader(),
        WindowFrequency(label="digit=*", window=50, name="window-frequency(digit,50)"),
        ConstantBelief(p=0.1, label="digit=*", slope=20.0, name="constant(0.1,digit)"),
        _scaled_block_arbitrage(),
        _scaled_pair_arbitrage(),
        BandTrader(low=0.4, high=1.0, label="undecidable", slope=20.0, name="buy-cheap(undecidable)"),
        PatternReader(context="markov", name="markov-reader(digit)"),
        PatternReader(context="parity", name="parity-reader(digit)"),
        FirstDaySniper(),
        MeanReversion(window=10, name="mean-reversion(10)"),
        ClassSpread(name="spread(prime,composite_neg)"),
        BandTrader(low=0.099, high=0.101, label="digit=*", slope=200.0, name="band(digit,0.099,0.101,steep)"),
        BandTrader(low=0.03, high=0.97, label=None, slope=50.0, name="fade-extremes(0.03,0.97)"),
    ]
    assert [t.name for t in traders] == [n for n, _ in SUITE_KINDS]
    return traders


@dataclass(frozen=True)
class _Scaled:
    """A trader whose trade is multiplied by ``factor`` (positions ``factor`` times as large)."""

    inner: object
    factor: float
    weight: float = 0.5
    start_day: int = 1
    name: str = ""

    def trade(self, ctx: DayContext) -> Trade | None:
        tr = self.inner.trade(ctx)
        return None if tr is None else Trade(tr.index, tr.quantity * self.factor)


def _scaled_block_arbitrage() -> _Scaled:
    return _Scaled(BlockCoherence(slope=25.0, hold=False), 3.0, name="block-arbitrage(25,x3)")


def _scaled_pair_arbitrage() -> _Scaled:
    return _Scaled(NegationCoherence(slope=25.0, hold=False), 3.0, name="pair-arbitrage(25,x3)")


def suite_kind(name: str) -> str:
    """The kind of a held-out trader by name ('' for a name not in the suite)."""
    return dict(SUITE_KINDS).get(name, "")


def suite_of(name: str) -> str:
    """Which suite a held-out trader belongs to: 'second' (:data:`SECOND_SUITE`, written after the firm
    froze), 'first', or '' for a name not in either."""
    if name in SECOND_SUITE:
        return "second"
    return "first" if name in dict(SUITE_KINDS) else ""
