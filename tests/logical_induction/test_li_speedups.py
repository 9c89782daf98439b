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


def _general_coupling(pattern, N):
    """The pattern + identity, its components and colours, by the general sparse route (the reference for
    the identity fast path)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    base = ((sp.csr_matrix(pattern) + sp.eye(N)) > 0).astype(np.float64).tocsr()
    _, comp = csgraph.connected_components(base + base.T, directed=False)
    colors = market.color_columns(base) if np.bincount(comp).max() > 1 else np.zeros(N, dtype=np.int64)
    return base, comp, colors


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 7),
    cells=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=10),
    with_support=st.booleans(),
)
def test_identity_pattern_fast_path_equals_the_general_route(n, cells, with_support):
    """``_with_diagonal`` and ``_coupling`` skip the sparse sum and the component search when no
    sentence's trade reads another's price; the result must be the general route's, for every pattern
    (diagonal-only, empty, coupled) and with or without active traders widening it."""
    dense = np.zeros((n, n))
    for i, j in cells:
        if i < n and j < n:
            dense[i, j] = 1.0
    import scipy.sparse as sp

    base = market._with_diagonal(sp.csr_matrix(dense), n)
    ref_base, _, _ = _general_coupling(dense, n)
    np.testing.assert_array_equal(base.toarray(), ref_base.toarray())
    support = np.zeros((1, n), dtype=bool)
    if with_support:
        support[0, : min(2, n)] = True
    pat, comp, colors = market._coupling(base, support)
    widened = pat.toarray()
    ref_pat, ref_comp, ref_colors = _general_coupling(widened, n)
    np.testing.assert_array_equal(widened, ref_pat.toarray())  # the widened pattern keeps its diagonal
    np.testing.assert_array_equal(comp, ref_comp)
    np.testing.assert_array_equal(colors, ref_colors)
    assert market._with_diagonal(None, n).toarray().tolist() == np.eye(n).tolist()


def test_tables_are_a_snapshot_built_on_first_access():
    """``LogicalInductor.tables()`` taken after day 1 keeps day 1 only, however the market trades on, and
    builds each table when first read (equal to the tables of a run stopped at day 1)."""
    from aflab.logical_induction.inductor import LogicalInductor
    from aflab.logical_induction.traders import ConstantBelief

    market = LogicalInductor([ConstantBelief(p=0.3, name="c")])
    market.update(observations=["rain -> wet"], priced=["rain", "wet"])
    early = market.tables()
    assert all(callable(t) for t in early._tables.values())  # nothing built yet
    market.update(observations=["rain"], priced=["wet", "sun"], new_traders=[ConstantBelief(p=0.9, name="late")])
    late = market.tables()
    assert set(early.prices.day) == {1} and set(early.ledger.day) == {1} and set(early.maker.day) == {1}
    assert early.resolved.empty and len(late.resolved) == 1  # 'wet' decided on day 2 only
    assert set(late.prices.day) == {1, 2}
    pd.testing.assert_frame_equal(early.prices, late.prices[late.prices.day == 1])
    pd.testing.assert_frame_equal(early.ledger, late.ledger[late.ledger.day == 1].reset_index(drop=True))
