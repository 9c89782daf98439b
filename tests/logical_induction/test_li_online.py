"""The online API (LogicalInductor.update), traders joining mid-run, and revival of broke programs."""

import numpy as np
import pandas as pd

from aflab.logical_induction.deduction import Scenario, observation_scenario, pi_scenario
from aflab.logical_induction.inductor import LogicalInductor, load_checkpoint, run_market, save_checkpoint
from aflab.logical_induction.sentences import atom, neg
from aflab.logical_induction.traders import (
    BlockCoherence,
    ConstantBelief,
    FloorTrader,
    FrequencyTrader,
    Revived,
    revived_copies,
)


def _firm():
    return [
        BlockCoherence(weight=0.25),
        FrequencyTrader(label="digit=3", weight=0.125, name="f3"),
        ConstantBelief(p=0.2, weight=0.0625, name="c2"),
        FloorTrader(weight=0.0625, name="floor"),
    ]


def test_online_updates_equal_the_scenario_run():
    sc = pi_scenario(12, window=1, delay=2)
    ref = run_market(sc, _firm())
    market = LogicalInductor(_firm(), labels=sc.labels, blocks=sc.blocks, truth=sc.truth, revealed_on=sc.revealed_on)
    for day in range(sc.n_days):
        prices = market.update(sc.facts[day], sc.priced[day])
        assert set(prices) >= set(sc.priced[day]) and all(0 <= p <= 1 for p in prices.values())
    got = market.tables()
    # online settlement (after each priced day) differs from the scenario's look-ahead only in rounding
    np.testing.assert_allclose(got.prices.price, ref.prices.price, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(got.prices.drop(columns="price"), ref.prices.drop(columns="price"))
    np.testing.assert_allclose(got.ledger.worst, ref.ledger.worst, rtol=0, atol=1e-9)


def test_update_parses_text_and_a_trader_joins_mid_run():
    market = LogicalInductor([ConstantBelief(p=0.3, name="c")])
    p1 = market.update(observations=["rain -> wet"], priced=["rain", "wet"])
    assert abs(p1[atom("rain")] - 0.3) < 1e-6
    p2 = market.update(observations=["rain"], priced=["wet", "sun"], new_traders=[ConstantBelief(p=0.9, name="late")])
    assert p2[atom("wet")] == 1.0  # rain and rain -> wet: decided true, priced at its truth
    assert 0.3 < p2[atom("sun")] < 0.9  # the newcomer moved the undecided sentence
    led = market.tables().ledger
    assert set(led[led.day == 2].trader) == {"c", "late"} and set(led[led.day == 1].trader) == {"c"}


def test_joining_equals_entering_later():
    sc = pi_scenario(8, window=1, delay=2)
    late = ConstantBelief(p=0.4, label="digit=5", weight=0.25, name="late")
    from dataclasses import replace

    ref = run_market(sc, _firm() + [replace(late, start_day=4)])
    market = LogicalInductor(_firm(), labels=sc.labels, blocks=sc.blocks, truth=sc.truth, revealed_on=sc.revealed_on)
    for day in range(8):
        market.update(sc.facts[day], sc.priced[day], new_traders=[replace(late, start_day=4)] if day == 3 else ())
    np.testing.assert_allclose(market.tables().prices.price, ref.prices.price, rtol=0, atol=1e-12)


def _regime_change(n_days=48, switch=12):
    """Class 'x': one new sentence a day, revealed the next day; true on days 1..switch (a transient),
    false afterwards."""
    facts, priced, labels, truth = [], [], {}, {}
    for d in range(1, n_days + 1):
        s = atom(f"x({d})")
        labels[s], truth[s] = "x", d <= switch
        priced.append((s,))
        prev = atom(f"x({d - 1})")
        facts.append(() if d == 1 else ((prev if d - 1 <= switch else neg(prev)),))
    return Scenario("regime", tuple(facts), tuple(priced), labels, truth)


def test_revival_lets_a_program_that_went_broke_early_come_back():
    """A constant belief of 0.1 loses through the transient (every sentence true) and its budget levels die;
    without revival it stays at 2^-b forever, with revival its fresh copy (day 16, 32) prices the new regime."""
    sc = _regime_change()
    firm = [
        ConstantBelief(p=0.1, label="x", slope=10.0, hold=False, weight=0.25, name="low"),
        ConstantBelief(p=0.6, label="x", slope=10.0, weight=0.0625, name="mid"),
    ]
    plain = run_market(sc, firm)
    revived = run_market(sc, firm, revival=revived_copies)
    late = lambda run: run.prices[run.prices.day > 36].price.mean()
    end = revived.ledger[revived.ledger.day == 48].set_index("trader").multiplier
    low = plain.ledger[(plain.ledger.trader == "low") & (plain.ledger.day == 48)].multiplier.iloc[0]
    assert low < 2**-4 and end["low"] < 2**-4  # the early loser is still broke at the end
    copies = [name for name in end.index if name.startswith("low@")]
    assert copies and max(end[c] for c in copies) > 0.5  # its fresh copy is solvent in the new regime
    influence = 0.25 * end["low"] + sum(0.25 * 2.0 ** -(int(c[4:]).bit_length() - 1) * end[c] for c in copies)
    assert influence > 1.5 * 0.25 * low  # the lineage has come back
    assert late(revived) < late(plain)  # and pulls prices toward the new regime
    # a revived copy reads its own books, and resuming rebuilds it from the checkpoint
    states = []
    run_market(sc, firm, n_days=40, revival=revived_copies, state_out=states)
    assert states[0].revived and isinstance(Revived(firm[0], 0.1, 16, "x", 0), Revived)


def test_checkpoint_with_revived_traders_resumes_identically(tmp_path):
    sc = _regime_change()
    firm = [
        ConstantBelief(p=0.1, label="x", slope=10.0, hold=False, weight=0.25, name="low"),
        ConstantBelief(p=0.6, label="x", slope=10.0, weight=0.0625, name="mid"),
    ]
    full = run_market(sc, firm, revival=revived_copies)
    states = []
    run_market(sc, firm, n_days=20, revival=revived_copies, state_out=states)
    save_checkpoint(states[0], tmp_path / "r.npz")
    rest = run_market(sc, firm, revival=revived_copies, resume=load_checkpoint(tmp_path / "r.npz"))
    pd.testing.assert_frame_equal(rest.prices, full.prices, check_exact=True)
    pd.testing.assert_frame_equal(rest.ledger, full.ledger, check_exact=True)


def test_observation_scenario_price_atoms_are_settled_without_a_registry():
    sc = observation_scenario(["sun", "sun", "sun"], priced=[["rain"], ["P_1(rain) > 0.2"], ["P_1(rain) > 0.2"]])
    run = run_market(sc, [ConstantBelief(p=0.3, name="c")])
    p = run.prices.set_index(["day", "sentence"]).price
    assert abs(p[(1, "rain")] - 0.3) < 1e-6
    assert p[(2, "P_1(rain)>0.2")] == 1.0  # P_1(rain) = 0.3 > 0.2, settled from the history on day 2


def test_a_kept_run_does_not_keep_the_market_state_alive():
    """``tables()`` holds the row lists, not the state: the books, worlds and expression caches of a finished
    market are freed while its run is kept (a cached 120-day pi run kept ~0.5 GB of them)."""
    import gc
    import weakref

    sc = pi_scenario(6, window=1, delay=2)
    market = LogicalInductor(_firm(), labels=sc.labels, blocks=sc.blocks, truth=sc.truth, revealed_on=sc.revealed_on)
    for day in range(sc.n_days):
        market.update(sc.facts[day], sc.priced[day])
    run = market.tables()
    state = weakref.ref(market.st)
    n_rows = len(market.st.price_rows)
    del market
    gc.collect()
    assert state() is None
    assert len(run.prices) == n_rows and len(run.ledger) > 0 and len(run.resolved) > 0
