"""The held-out suite's second batch of traders: each one's trade recomputed by hand from a built day, and
the suite's power: in a dogmatic market (every price 1/2) the new traders find the exploitation."""

import numpy as np
import pytest

from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.heldout import (
    SECOND_SUITE,
    SUITE_KINDS,
    ClassSpread,
    FirstDaySniper,
    MeanReversion,
    PatternReader,
    heldout_suite,
    suite_kind,
)
from aflab.logical_induction.market import DayContext
from aflab.logical_induction.sentences import parse
from aflab.logical_induction.traders import ResolvedLog


def _day(texts, labels, log=None, prev=None, past=None, day=50):
    sents = tuple(parse(t) for t in texts)
    g = ExpressionGraph(len(sents))
    past = past or (lambda s, d: np.nan)
    ctx = DayContext(
        day,
        sents,
        {s: i for i, s in enumerate(sents)},
        g,
        np.full(len(sents), -1),
        tuple(labels),
        past,
        log if log is not None else ResolvedLog(),
        prev_price=prev,
    )
    return ctx, g


def _digit_log(digits: dict[int, int]) -> ResolvedLog:
    """Revealed places: for each place p, the ten sentences ``pi_digit(p) = d`` (the true one valued 1)."""
    log, gid = ResolvedLog(), 0
    for p, true_digit in digits.items():
        for d in range(10):
            log.append(gid, f"pi_digit({p}) = {d}", f"digit={d}", int(d == true_digit), p, 0.1)
            gid += 1
    return log


def _evaluate(trade, g, n, price):
    q = np.zeros(n)
    q[trade.index] = g.evaluate(trade.quantity, np.full(n, price))
    return q


def test_second_suite_is_named_and_kinded():
    names = [t.name for t in heldout_suite()]
    assert names == [n for n, _ in SUITE_KINDS] and len(set(names)) == len(names) == 20
    assert set(SECOND_SUITE) <= set(names) and len(SECOND_SUITE) == 7
    assert all(suite_kind(n) for n in SECOND_SUITE)


@pytest.mark.parametrize("context", ["markov", "parity"])
def test_pattern_reader_bets_the_counted_frequency(context):
    """Places 1..40 reveal digit p mod 10 (a perfect 'next digit = previous + 1' chain); the reader's target
    for ``pi_digit(41) = d`` is (count + 0.1) / (n + 1) over the places that share its context."""
    digits = {p: p % 10 for p in range(1, 41)}
    log = _digit_log(digits)
    texts = [f"pi_digit(41) = {d}" for d in range(10)]
    ctx, g = _day(texts, [f"digit={d}" for d in range(10)], log)
    tr = PatternReader(context=context).trade(ctx)
    counts = np.zeros(10)
    for p, d in digits.items():
        if context == "parity" and p % 2 == 41 % 2:
            counts[d] += 1
        if context == "markov" and digits.get(p - 1) == digits[40]:
            counts[d] += 1
    target = (counts + 0.1) / (counts.sum() + 1)
    np.testing.assert_allclose(_evaluate(tr, g, 10, 0.1), np.clip(10 * (target - 0.1), -1, 1))
    if context == "markov":  # after a 0 came a 1 three times (places 11, 21, 31; place 1 has no predecessor)
        assert counts[1] == 3 and counts.sum() == 3


def test_pattern_reader_waits_for_data():
    log = _digit_log({p: p % 10 for p in range(1, 10)})
    ctx, _ = _day(["pi_digit(11) = 3"], ["digit=3"], log)
    assert PatternReader(context="parity", min_data=20).trade(ctx) is None


def test_first_day_sniper_trades_only_new_sentences_toward_their_class_frequency():
    log = ResolvedLog()
    for i in range(20):  # class digit=3: 4 of 20 true -> target (4 + 0.5) / 21
        log.append(i, f"pi_digit({i}) = 3", "digit=3", int(i < 4), 1, 0.1)
    texts = ["pi_digit(90) = 3", "pi_digit(91) = 3", "undecidable(0)"]
    prev = np.array([np.nan, 0.2, np.nan])  # the second was priced yesterday; the third's class has no record
    ctx, g = _day(texts, ["digit=3", "digit=3", "undecidable"], log, prev=prev)
    tr = FirstDaySniper().trade(ctx)
    assert list(tr.index) == [0]
    np.testing.assert_allclose(g.evaluate(tr.quantity, np.full(3, 0.25)), [10 * (4.5 / 21 - 0.25)])
    np.testing.assert_allclose(g.evaluate(tr.quantity, np.full(3, 0.5)), [-1.0])  # one share at most


def test_mean_reversion_targets_the_window_mean_and_skips_gaps():
    texts = ["undecidable(0)", "undecidable(1)"]
    history = {"undecidable(0)": [0.3, 0.5] * 5, "undecidable(1)": [0.4] * 9 + [np.nan]}

    def past(s, d):
        return history[str(s)][50 - d - 1]

    ctx, g = _day(texts, ["undecidable"] * 2, past=past)
    tr = MeanReversion(window=10, slope=20.0).trade(ctx)
    assert list(tr.index) == [0]  # the second was not priced on one day of the window
    np.testing.assert_allclose(g.evaluate(tr.quantity, np.array([0.38, 0.5])), [20 * (0.4 - 0.38)])


def test_class_spread_buys_the_class_priced_below_the_other():
    texts = ["prime(7)", "prime(11)", "~prime(9)"]
    prev = np.array([0.6, 0.8, 0.9])  # yesterday: prime mean 0.7, composite_neg mean 0.9
    ctx, g = _day(texts, ["prime", "prime", "composite_neg"], prev=prev)
    tr = ClassSpread(slope=20.0).trade(ctx)
    q = _evaluate(tr, g, 3, 0.8)
    np.testing.assert_allclose(q, np.clip(20 * (np.array([0.9, 0.9, 0.7]) - 0.8), -1, 1))


def test_second_suite_exploits_a_dogmatic_market():
    """Power: with every undecided sentence at 1/2 the second suite's digit traders earn far more than the
    audit's 0.05 a day (a suite that could not see this would make 'supported' meaningless)."""
    from aflab.logical_induction import experiments as E
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import ConstantBelief

    sc = E.pi_audit_scenario(E.PiAuditConfig(n_days=30), 0)
    run = run_market(sc, [ConstantBelief(p=0.5, weight=0.5, name="dogmatic")], heldout_suite())
    adv = run.ledger[(run.ledger.role == "adversary") & run.ledger.trader.isin(SECOND_SUITE)]
    rate = {t: np.polyfit(g.day[g.day > 20], g.worst[g.day > 20], 1)[0] for t, g in adv.groupby("trader")}
    assert rate["band(digit,0.099,0.101,steep)"] > 1.0 and rate["first-day-sniper"] > 0.5, rate
