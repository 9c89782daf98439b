"""Round-2 speed-ups change no number: forward-cone evaluation == whole-graph evaluation, the dense
dependency pattern == the sparse one, and sharing calls between traders running the same program
gives the same tables as calling every trader (the round-1 path) -- all compared bit for bit."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from li_programs import N_PRICES, build, programs  # tests/logical_induction/li_programs.py

from aflab.logical_induction import market
from aflab.logical_induction.deduction import pi_scenario
from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.inductor import run_market
from aflab.logical_induction.traders import (
    ConstantBelief,
    FrequencyTrader,
    ModelTrader,
    build_traders,
    enumerate_programs,
    program_key,
)


@settings(max_examples=100, deadline=None)
@given(
    programs(),
    st.lists(st.floats(0, 1), min_size=N_PRICES * 4, max_size=N_PRICES * 4),
    st.lists(st.booleans(), min_size=N_PRICES, max_size=N_PRICES),
)
def test_forward_cone_evaluation_equals_whole_graph(prog, flat, mask):
    g = ExpressionGraph(N_PRICES)
    build(prog, g)
    vary = np.array(mask)
    base = np.array(flat[:N_PRICES])
    batch = np.where(vary[None, :], np.array(flat[N_PRICES:]).reshape(3, N_PRICES), base[None, :])
    ids = np.arange(g.size)
    full = g.evaluate_all(batch)
    part = g.evaluate_at(batch, ids, base=base, vary=vary)
    assert np.array_equal(full, part, equal_nan=True)
    assert np.array_equal(g.evaluate_at(batch, ids[::-1], base=base, vary=vary), full[:, ::-1], equal_nan=True)


def _random_trades(rng, N):
    g = ExpressionGraph(N)
    trades = []
    for k in range(4):
        idx = rng.choice(N, size=rng.integers(1, N + 1), replace=False)
        other = rng.choice(N, size=len(idx))
        q = g.s_curve(0.3, g.price(idx), 10.0) + g.price(other) * float(k) if k % 2 else g.s_curve(0.5, g.price(idx))
        trades.append((k, idx, q.ids))
    return g, trades


@pytest.mark.parametrize("seed", range(6))
def test_dense_dependency_pattern_equals_sparse(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    N = int(rng.integers(2, 12))
    g, trades = _random_trades(rng, N)
    dense = market.dependency_pattern(g, trades, N).toarray()
    monkeypatch.setattr(market, "DENSE_PATTERN_CELLS", 0)
    sparse = market.dependency_pattern(g, trades, N).toarray()
    assert np.array_equal(dense, sparse)
    # and it is right: trader k's trade on idx reads idx (and `other` for odd k)
    assert all(dense[i, i] for _, idx, _ in trades for i in idx)


class _Opaque:
    """Hides the trader's type: the day loop calls it alone (the round-1 path)."""

    def __init__(self, t):
        self.t, self.name, self.weight, self.start_day = t, t.name, t.weight, t.start_day

    def trade(self, ctx):
        return self.t.trade(ctx)


def test_shared_program_calls_give_identical_tables():
    sc = pi_scenario(10, window=2, delay=2)
    labels = tuple(sorted(set(sc.labels.values())))
    trs = build_traders(enumerate_programs(labels, depth=1), stagger=True)
    # duplicates of one program with other weights / entry days: hold=True (grouped by holdings) and hold=False
    trs += [
        ConstantBelief(p=0.25, weight=0.01, name="dup-a"),
        ConstantBelief(p=0.25, weight=0.02, start_day=4, name="dup-b"),
        FrequencyTrader(label="digit=3", hold=False, weight=0.01, name="f-a"),
        FrequencyTrader(label="digit=3", hold=False, weight=0.03, start_day=3, name="f-b"),
    ]
    shared = run_market(sc, trs)
    alone = run_market(sc, [_Opaque(t) for t in trs])
    for table in ("prices", "ledger", "resolved"):
        pd.testing.assert_frame_equal(getattr(shared, table), getattr(alone, table), check_exact=True)
    pd.testing.assert_frame_equal(
        shared.maker.drop(columns="seconds"), alone.maker.drop(columns="seconds"), check_exact=True
    )


def test_program_key_ignores_name_weight_entry_but_not_the_program():
    a = ConstantBelief(p=0.25, weight=0.1, start_day=1, name="a")
    assert program_key(a) == program_key(ConstantBelief(p=0.25, weight=0.3, start_day=9, name="b"))
    assert program_key(a) != program_key(ConstantBelief(p=0.5))
    assert program_key(a) != program_key(ConstantBelief(p=0.25, hold=False))
    assert program_key(ModelTrader(predict=lambda s, d: 0.5)) is None  # arbitrary predictors: never shared
