"""The day loop's per-day cost and memory do not grow with the day number, and the measures that make it
so change no number: settled books == unsettled books == an independent recomputation; component
solvers with local variable numbering == brute force after many unrelated components and merges;
the books' width stays at the size of a day's universe; the resolved log == its DataFrame reading."""

import json

import numpy as np
import pandas as pd
import pytest

from aflab.logical_induction.deduction import pi_scenario
from aflab.logical_induction.inductor import (
    load_checkpoint,
    run_market,
    save_checkpoint,
)
from aflab.logical_induction.market import DayContext, Trade
from aflab.logical_induction.sentences import (
    atom,
    conj,
    disj,
    exactly_one,
    iff,
    implies,
    neg,
)
from aflab.logical_induction.traders import (
    CalibrationTrader,
    ConstantBelief,
    FloorTrader,
    FrequencyTrader,
    NegationCoherence,
    ResolvedLog,
)
from aflab.logical_induction.worlds import KnowledgeBase, brute_force_worlds


class BuyEveryUndecided:
    """Adversary: buys one share of every undecided sentence of today's universe, every day (a
    constant trade, so its holdings and cash can be recomputed from the prices table alone)."""

    name = "buyer"
    weight = 0.5
    start_day = 1

    def trade(self, ctx: DayContext):
        idx = ctx.undecided
        if len(idx) == 0:
            return None
        return Trade(idx, ctx.graph.price(idx) * 0.0 + 1.0)


def _small_run(n_days=40):
    sc = pi_scenario(n_days, window=2, delay=3, far_block=True)
    traders = [
        FloorTrader(weight=0.25),
        FrequencyTrader(label="digit=3", weight=0.125, name="f3"),
        ConstantBelief(p=0.2, weight=0.0625, name="c2"),
        NegationCoherence(weight=0.0625),
    ]
    return sc, traders


def test_settled_books_equal_unsettled_books():
    """Settlement moves decided holdings into cash: prices and the ledger (worst / best / mark are sums
    of cash and holdings' values) must equal a run that keeps every column and values the decided
    ones from their truth every day, up to round-off."""
    sc, traders = _small_run()
    states = []
    settled = run_market(sc, traders, [BuyEveryUndecided()], state_out=states)
    ref_states = []
    ref = run_market(sc, traders, [BuyEveryUndecided()], state_out=ref_states, settle=False)
    # settlement did happen (and the reference kept the columns)
    assert len(states[0].live) < len(ref_states[0].live) // 2
    assert np.abs(states[0].adv.cash - ref_states[0].adv.cash).max() > 1.0
    np.testing.assert_allclose(settled.prices.price, ref.prices.price, rtol=0, atol=1e-12)
    for col in ("multiplier", "worst", "best", "mark", "moved"):
        np.testing.assert_allclose(settled.ledger[col], ref.ledger[col], rtol=1e-12, atol=1e-10, err_msg=col)
    pd.testing.assert_frame_equal(settled.resolved, ref.resolved)


def test_adversary_mark_equals_recomputation_from_prices():
    """The held-out buyer's mark-to-market, recomputed from the prices table alone: it paid today's
    price for one share of every undecided sentence of every day; a share is worth today's price while
    in the universe and its truth once decided (it then leaves the universe and is settled)."""
    sc, traders = _small_run()
    run = run_market(sc, traders, [BuyEveryUndecided()])
    pr = run.prices
    mark = run.ledger[run.ledger.role == "adversary"].set_index("day")["mark"]
    count: dict = {}
    cash = 0.0
    value: dict = {}
    for day, today in pr.groupby("day", sort=True):
        for s, p, d in zip(today.sentence, today.price, today.decided):
            value[s] = p  # in the universe: valued at today's price (== truth when decided)
            if d < 0:
                count[s] = count.get(s, 0) + 1
                cash -= p
        expect = cash + sum(n * value[s] for s, n in count.items())
        assert mark[day] == pytest.approx(expect, rel=1e-11, abs=1e-9), day
    # decided sentences were all settled: their shares are in the books' cash now
    decided_held = {s for s in count if (pr[pr.sentence == s].decided >= 0).any()}
    assert len(decided_held) > 20


@pytest.mark.parametrize("seed", range(6))
def test_local_numbering_worlds_equal_brute_force_after_many_components(seed):
    rng = np.random.default_rng(seed)
    kb = KnowledgeBase()
    # many unrelated components first (global variable ids grow; each gets a solver and cached worlds)
    for i in range(150):
        x, y, z = atom(f"u{seed}_{i}_x"), atom(f"u{seed}_{i}_y"), atom(f"u{seed}_{i}_z")
        kb.add_fact(disj(x, y))
        kb.add_fact(implies(y, z))
        kb.project([x, conj(y, z), neg(x)])
    n_global = kb._next_var
    groups = [[atom(f"g{seed}_{g}_{i}") for i in range(3)] for g in range(4)]
    facts, queries = [], []

    def rand_sentence(atoms, depth):
        if depth == 0 or rng.random() < 0.3:
            a = atoms[rng.integers(len(atoms))]
            return neg(a) if rng.random() < 0.3 else a
        x, y = rand_sentence(atoms, depth - 1), rand_sentence(atoms, depth - 1)
        return [neg(x), conj(x, y), disj(x, y), implies(x, y), iff(x, y)][rng.integers(5)]

    for g in groups:
        queries += [rand_sentence(g, 2) for _ in range(2)]
    for step in range(10):
        # facts within a group, then facts linking groups: components merge (and solvers are rebuilt)
        atoms = groups[step % 4] if step < 4 else groups[step % 4] + groups[(step + 1) % 4]
        f = rand_sentence(atoms, 2)
        if len(brute_force_worlds(facts + [f], [])) == 0:
            continue
        facts.append(f)
        kb.add_fact(f)
        queries.append(rand_sentence(atoms, 2))
        pw = kb.project(queries)
        got = {tuple(r) for r in pw.full_worlds().astype(int)}
        ref = {tuple(r) for r in brute_force_worlds(facts, queries).astype(int)}
        assert got == ref, step
        truth = pw.decided()
        for j, q in enumerate(queries):
            t = kb.truth(q)
            assert (-1 if t is None else t) == truth[j]
    # every live solver numbers its own variables: far fewer than the global count
    assert kb._solvers
    for cs in kb._solvers.values():
        assert cs.n_vars < 200 < n_global
    # only the current version's projected worlds are cached
    for root, (version, _) in kb._cache.items():
        assert version == kb._version[root]


def test_solver_rebuild_after_many_enumerations_keeps_worlds():
    """Each enumeration retires a local activation variable; past a threshold the solver is rebuilt."""
    kb = KnowledgeBase()
    a = [atom(f"re_{i}") for i in range(4)]
    facts = exactly_one(a)
    for f in facts:
        kb.add_fact(f)
    ref = {tuple(r) for r in brute_force_worlds(facts, a).astype(int)}
    for k in range(200):
        sub = [a[k % 4], a[(k + 1) % 4], neg(a[(k + 2) % 4]), disj(a[k % 4], a[(k + 3) % 4])] + a
        kb._cache.clear()  # force the SAT enumeration every time
        pw = kb.project(sub)
        assert {tuple(r) for r in pw.rows.toarray()[:, 4:].astype(int)} == ref
    root = kb._find("re_0")
    assert root not in kb._solvers or kb._solvers[root].n_vars < 100


def test_book_width_stays_at_the_universe_size():
    sc = pi_scenario(300, window=2, delay=3, far_block=True)
    firm = [FloorTrader(), FrequencyTrader(label="digit=3")]
    states = []
    run = run_market(sc, firm, [BuyEveryUndecided()], state_out=states)
    st = states[0]
    assert len(st.gsent) > 3000  # sentences ever seen: ~G
    universe = int(run.maker.n_priced.max())
    assert 0 < len(st.live) <= 2 * universe
    for book in (st.raw, st.eff, st.adv):
        assert book.H.shape[1] == len(st.live)
    assert len(run.resolved) > 2000
    # without settlement the adversary's book spans every sentence it ever bought
    ref_states = []
    ref = run_market(sc, firm, [BuyEveryUndecided()], state_out=ref_states, settle=False)
    assert len(ref_states[0].live) > 10 * len(st.live)
    np.testing.assert_allclose(run.ledger["mark"], ref.ledger["mark"], rtol=1e-12, atol=1e-9)


def test_checkpoint_version_1_is_refused(tmp_path):
    path = tmp_path / "v1.npz"
    np.savez_compressed(path, doc=np.array(json.dumps({"version": 1, "day": 3})))
    with pytest.raises(ValueError, match="version 1"):
        load_checkpoint(path)


def test_checkpoint_round_trip_keeps_live_books_and_resolved_log(tmp_path):
    sc, traders = _small_run(30)
    states = []
    run_market(sc, traders, [BuyEveryUndecided()], n_days=20, state_out=states)
    save_checkpoint(states[0], tmp_path / "ck.npz")
    st = load_checkpoint(tmp_path / "ck.npz")
    np.testing.assert_array_equal(st.live, states[0].live)
    np.testing.assert_array_equal(st.eff.H, states[0].eff.H)
    np.testing.assert_array_equal(st.adv.cash, states[0].adv.cash)
    pd.testing.assert_frame_equal(st.resolved.frame(), states[0].resolved.frame())
    full = run_market(sc, traders, [BuyEveryUndecided()])
    resumed = run_market(sc, traders, [BuyEveryUndecided()], resume=st)
    pd.testing.assert_frame_equal(full.prices, resumed.prices, check_exact=True)
    pd.testing.assert_frame_equal(full.ledger, resumed.ledger, rtol=1e-12)
    pd.testing.assert_frame_equal(full.resolved, resumed.resolved)


def test_resolved_log_reads_like_its_dataframe():
    rng = np.random.default_rng(0)
    log = ResolvedLog()
    labels = ["digit=1", "digit=3", "prime"]
    g = None
    for step in range(300):
        fp = float("nan") if rng.random() < 0.1 else float(rng.random())
        if step == 7:
            fp = 1.0
        log.append(step, f"s{step}", labels[rng.integers(3)], int(rng.integers(2)), step // 3, fp)
        if step % 37 != 0:
            continue
        df = log.frame()
        assert list(df.columns) == ["gid", "sentence", "label", "value", "day_resolved", "first_price"]
        g = g or __import__("aflab.logical_induction.expressions", fromlist=["x"]).ExpressionGraph(3)
        ctx_log = DayContext(1, (), {}, g, np.array([-1, -1, -1]), ("digit=3",) * 3, lambda s, d: np.nan, log)
        ctx_df = DayContext(1, (), {}, g, np.array([-1, -1, -1]), ("digit=3",) * 3, lambda s, d: np.nan, df)
        for lab in labels:
            assert FrequencyTrader(label=lab).target(ctx_log) == FrequencyTrader(label=lab).target(ctx_df)
        fpv = df.first_price.to_numpy()
        ok = np.isfinite(fpv)
        for nb in (3, 5):
            bins = np.minimum((fpv[ok] * nb).astype(int), nb - 1)
            cnt, hits = log.first_price_bins(nb)
            np.testing.assert_array_equal(cnt, np.bincount(bins, minlength=nb))
            np.testing.assert_array_equal(hits, np.bincount(bins, weights=df.value.to_numpy()[ok], minlength=nb))
        assert len(log["value"]) == len(log) and "first_price" in log


def test_calibration_trader_same_trade_from_log_and_frame():
    sc = pi_scenario(60, window=2, delay=3)
    run = run_market(sc, [CalibrationTrader(weight=0.25), FloorTrader(weight=0.25)])
    assert len(run.resolved) > 100
    res = run.resolved.assign(gid=0)
    log = ResolvedLog.from_columns(
        np.zeros(len(res), dtype=np.int64), res.sentence, res.label, res.value, res.day_resolved, res.first_price
    )
    from aflab.logical_induction.expressions import ExpressionGraph

    P = np.linspace(0.05, 0.95, 7)
    out = []
    for r in (log, res[["gid", "sentence", "label", "value", "day_resolved", "first_price"]]):
        g = ExpressionGraph(len(P))
        ctx = DayContext(
            61,
            tuple(atom(f"cal{i}") for i in range(len(P))),
            {},
            g,
            np.full(len(P), -1),
            ("x",) * len(P),
            lambda s, d: np.nan,
            r,
        )
        tr = CalibrationTrader().trade(ctx)
        out.append(g.evaluate_all(P)[tr.quantity.ids])
    np.testing.assert_array_equal(out[0], out[1])
