"""Budgeter, TradingFirm and MarketMaker against brute-force definitions on small cases."""

import numpy as np
import pytest

from aflab.logical_induction.deduction import observation_scenario
from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.inductor import run_market
from aflab.logical_induction.market import (
    BudgetState,
    budget_factors,
    budget_multipliers,
    dependency_pattern,
    make_market,
)
from aflab.logical_induction.sentences import atom, conj, disj, exactly_one, neg
from aflab.logical_induction.traders import ConstantBelief, NegationCoherence
from aflab.logical_induction.worlds import KnowledgeBase, brute_force_worlds


def brute_factor(worlds, T, P, H, c, b):
    """Budgeter def. 5.2.1 literally: inf_W 1/max(1, -W(T)/(b + W(S)))."""
    vals = [1 / max(1.0, -(T @ (w - P)) / (b + H @ w + c)) for w in worlds]
    return min(vals)


@pytest.mark.parametrize("seed", range(20))
def test_budget_factor_equals_brute_force_infimum(seed):
    rng = np.random.default_rng(seed)
    kb = KnowledgeBase()
    a = [atom(f"bf{seed}_{i}") for i in range(5)]
    facts = [disj(a[0], a[1]), neg(conj(a[2], a[3]))]
    for f in facts:
        kb.add_fact(f)
    sents = a + [conj(a[0], a[4])]
    pw = kb.project(sents)
    worlds = brute_force_worlds(facts, sents)
    N, K = len(sents), 3
    T = rng.normal(size=(K, N)) * 2
    H = rng.normal(size=(K, N))
    P = rng.random(N)
    const = rng.normal(size=K)
    minS = np.array([min(H[k] @ w + const[k] for w in worlds) for k in range(K)])
    budgets, owners = [], []
    for k in range(K):
        for b in range(int(np.floor(-minS[k])) + 1, int(np.floor(-minS[k])) + 6):
            if b >= 1:
                budgets.append(float(b))
                owners.append(k)
    f = budget_factors(pw, T, P, H, const, np.array(budgets), np.array(owners))
    for fi, b, k in zip(f, budgets, owners):
        assert fi == pytest.approx(brute_factor(worlds, T[k], P, H[k], const[k], b), rel=1e-9, abs=1e-12)


def test_budget_multiplier_equals_truncated_paper_sum():
    """m = sum_b 2^-b Budgeter^b, computed by brute force up to b = 60 (dead levels give 0)."""
    kb = KnowledgeBase()
    s = [atom("m1"), atom("m2")]
    kb.add_fact(disj(*s))
    pw = kb.project(s)
    worlds = brute_force_worlds([disj(*s)], s)
    T = np.array([[3.0, -2.0], [0.5, 0.5]])
    H = np.array([[1.0, -1.0], [0.0, 0.0]])
    c = np.array([-1.5, 0.0])
    P = np.array([0.3, 0.6])
    worst = np.array([-2.2, 0.0])
    m = budget_multipliers(pw, T, P, BudgetState(H, c, worst))
    for k in range(2):
        ref = 0.0
        for b in range(1, 60):
            if -worst[k] >= b or min(H[k] @ w + c[k] for w in worlds) <= -b:
                continue
            ref += 2.0**-b * brute_factor(worlds, T[k], P, H[k], c[k], b)
        assert m[k] == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_budgeted_trader_never_falls_below_its_budget():
    """Simulate Budgeter^b of a reckless trader (buys 5 shares of everything daily) for b = 1..4 and
    check the budgeted holdings' worst-case value over PC(D_n) stays > -b every day."""
    rng = np.random.default_rng(0)
    kb = KnowledgeBase()
    atoms_ = [atom(f"bud{i}") for i in range(4)]
    for f in exactly_one(atoms_[:3]):
        kb.add_fact(f)
    for b in (1.0, 2.0, 3.0, 4.0):
        H_raw, c_raw, worst = np.zeros(4), 0.0, 0.0
        H_b, c_b = np.zeros(4), 0.0
        for _day in range(12):
            pw = kb.project(atoms_)
            P = rng.random(4)
            T = np.full(4, 5.0) * rng.choice([-1, 1], size=4)
            state = BudgetState(H_raw[None], np.array([c_raw]), np.array([worst]))
            if worst <= -b:
                fac = 0.0
            else:
                fac = budget_factors(pw, T[None], P, H_raw[None], np.array([c_raw]), np.array([b]), np.array([0]))[0]
            H_b += fac * T
            c_b -= fac * T @ P
            assert pw.min_linear(H_b) + c_b > -b - 1e-9
            H_raw += T
            c_raw -= T @ P
            worst = min(worst, pw.min_linear(H_raw) + c_raw)
            del state


def _maker_case(seed):
    rng = np.random.default_rng(seed)
    kb = KnowledgeBase()
    a = [atom(f"mk{seed}_{i}") for i in range(4)]
    facts = [disj(a[0], a[1], a[2]), neg(conj(a[0], a[1]))]
    for f in facts:
        kb.add_fact(f)
    sents = a + [neg(a[0]), conj(a[2], a[3])]
    pw = kb.project(sents)
    N = len(sents)
    g = ExpressionGraph(N)
    idx = np.arange(N)
    targets = rng.random((3, N))
    trades = [(k, idx, g.s_curve(targets[k], g.price(idx), 10.0).ids) for k in range(3)]
    tot = g.price(idx[0])
    for j in range(1, 3):
        tot = tot + g.price(idx[j])
    q = g.clip((1.0 - tot) * 10.0, -1.0, 1.0)
    trades.append((3, idx[:3], q.ids[[0, 0, 0]]))
    K = 4

    def raw(P):
        vals = g.evaluate_all(P)
        if vals.ndim == 1:
            out = np.zeros((K, N))
            for k, ix, ids in trades:
                np.add.at(out[k], ix, vals[ids])
            return out
        out = np.zeros((vals.shape[0], K, N))
        for k, ix, ids in trades:
            np.add.at(out, (slice(None), k, ix), vals[:, ids])
        return out

    weights = np.array([0.25, 0.125, 0.0625, 0.5])
    state = BudgetState(np.zeros((K, N)), np.zeros(K), np.zeros(K))
    res = make_market(
        pw, pw.decided(), raw, weights, state, np.full(N, np.nan), 1e-8, pattern=dependency_pattern(g, trades, N)
    )
    return res, facts, sents


@pytest.mark.parametrize("seed", range(6))
def test_market_maker_output_satisfies_condition_in_every_world(seed):
    res, facts, sents = _maker_case(seed)
    assert res.certified
    worlds = brute_force_worlds(facts, sents)
    F, P = res.firm_trade, res.prices
    worst = max(F @ (w - P) for w in worlds)
    assert worst <= res.tolerance + 1e-15
    assert worst == pytest.approx(res.max_value, abs=1e-12)
    assert res.split_bound >= worst - 1e-15  # the per-sentence split bounds the world maximum


def test_market_runs_certified_and_prices_decided_sentences_at_truth():
    sc = observation_scenario(["a | b", "~a", "c"], priced=[["a", "b", "a | b", "~a"]] * 3)
    traders = [
        ConstantBelief(p=0.7, weight=0.25, name="c7"),
        ConstantBelief(p=0.2, weight=0.25, name="c2"),
        NegationCoherence(weight=0.25),
    ]
    run = run_market(sc, traders)
    assert run.maker.certified.all()
    last = run.prices[run.prices.day == 3].set_index("sentence").price
    assert last["a"] == 0.0 and last["b"] == 1.0 and last["~a"] == 1.0


def test_bad_inputs():
    sc = observation_scenario(["a"])
    with pytest.raises(ValueError, match="n_days"):
        run_market(sc, [ConstantBelief(p=0.5)], n_days=5)
    with pytest.raises(ValueError, match="maker"):
        run_market(sc, [ConstantBelief(p=0.5)], maker="magic")
    with pytest.raises(ValueError, match="weight"):
        run_market(sc, [ConstantBelief(p=0.5, weight=0.0)])


def test_model_trader_alone_sets_its_prediction_and_rejects_bad_predictors():
    from aflab.logical_induction.traders import ModelTrader

    sc = observation_scenario(["z"] * 2, priced=[["x", "y"]] * 2)
    pred = {"x": 0.3, "y": 0.8}
    run = run_market(sc, [ModelTrader(predict=lambda text, day: pred[text], weight=0.5)])
    assert run.maker.certified.all()
    np.testing.assert_allclose(run.prices.price.to_numpy(), [0.3, 0.8, 0.3, 0.8], atol=1e-9)
    with pytest.raises(ValueError, match="outside"):
        run_market(sc, [ModelTrader(predict=lambda text, day: 1.5, weight=0.5)])


def test_enumeration_weights_follow_description_length():
    from aflab.logical_induction.traders import build_traders, enumerate_programs

    progs = enumerate_programs(("a", "b"), depth=2)
    sizes = [p.size for p in progs]
    assert sizes == sorted(sizes)
    traders = build_traders(progs)
    w = np.array([t.weight for t in traders])
    assert w.sum() == pytest.approx(0.5)
    np.testing.assert_allclose(w / w[0], 2.0 ** (sizes[0] - np.array(sizes)))


def test_checkpoint_and_resume_reproduce_an_uninterrupted_run(tmp_path):
    from aflab.logical_induction.deduction import pi_scenario
    from aflab.logical_induction.inductor import load_checkpoint, save_checkpoint
    from aflab.logical_induction.sentences import parse, price_atom
    from aflab.logical_induction.traders import BlockCoherence, FloorTrader, FrequencyTrader

    sc = pi_scenario(8, window=1, delay=2)
    intro = price_atom(2, parse("undecidable(0)"), 0.4)  # an introspective atom, revealed on day 3
    sc = type(sc)(
        sc.name,
        sc.facts,
        tuple(p + ((intro,) if i >= 1 else ()) for i, p in enumerate(sc.priced)),
        sc.labels,
        sc.truth,
        sc.blocks,
        sc.revealed_on,
    )
    traders = [
        BlockCoherence(weight=0.25),
        FrequencyTrader(label="prime", weight=0.125, name="fp"),
        FloorTrader(weight=0.0625, name="floor"),
        ConstantBelief(p=0.3, weight=0.0625, name="c3"),
    ]
    full = run_market(sc, traders, [NegationCoherence(slope=20.0, name="adv")])
    states = []
    run_market(sc, traders, [NegationCoherence(slope=20.0, name="adv")], n_days=4, state_out=states)
    save_checkpoint(states[0], tmp_path / "ck.npz")
    resumed = run_market(
        sc, traders, [NegationCoherence(slope=20.0, name="adv")], resume=load_checkpoint(tmp_path / "ck.npz")
    )
    import pandas as pd

    pd.testing.assert_frame_equal(full.prices, resumed.prices)
    pd.testing.assert_frame_equal(full.ledger, resumed.ledger)
    pd.testing.assert_frame_equal(full.maker.drop(columns="seconds"), resumed.maker.drop(columns="seconds"))
    assert (full.prices.sentence == str(intro)).any()
    assert full.prices[(full.prices.sentence == str(intro)) & (full.prices.day >= 3)].decided.ge(0).all()
    with pytest.raises(ValueError, match="same traders"):
        run_market(sc, traders[:2], resume=load_checkpoint(tmp_path / "ck.npz"))


def test_days_without_trades_run_and_certify():
    """Issue 14: a day on which no trader trades (a trader entering on day 2, every priced sentence already
    decided, a label matching nothing) used to raise IndexError on the empty expression graph."""
    from aflab.logical_induction.deduction import observation_scenario
    from aflab.logical_induction.traders import ConstantBelief

    sc = observation_scenario(["rain", "sun", "wind"], priced=[["rain"], ["rain", "sun"], ["sun"]])
    late = ConstantBelief(p=0.3, start_day=2, weight=0.5, name="late")
    run = run_market(sc, [late])
    assert run.maker.certified.all() and len(run.maker) == 3
    p = run.prices.set_index(["day", "sentence"]).price
    assert p[(1, "rain")] == 1.0 and p[(3, "sun")] == 1.0  # decided: priced at truth, nobody trades
    nobody = run_market(sc, [ConstantBelief(p=0.3, label="no-such-class", name="silent")])
    assert nobody.maker.certified.all()


def test_calibration_target_is_the_interpolation_of_bin_frequencies():
    """Closed form: the calibration trader's target is np.interp(P, bin centres, frequencies) and its
    trade clip(slope (target - P), -1, 1)."""
    from aflab.logical_induction.market import DayContext
    from aflab.logical_induction.traders import CalibrationTrader, ResolvedLog

    log = ResolvedLog()
    rng = np.random.default_rng(3)
    for i, fp in enumerate(rng.random(60)):
        log.append(i, f"s{i}", "x", int(rng.random() < 0.3 + 0.4 * fp), 1, float(fp))
    P = np.linspace(0, 1, 41)
    g = ExpressionGraph(len(P))
    ctx = DayContext(5, tuple(range(len(P))), {}, g, np.full(len(P), -1), ("x",) * len(P), None, log)
    tr = CalibrationTrader(n_bins=5, slope=7.0, hold=False).trade(ctx)
    cnt, hits = log.first_price_bins(5)
    centres = (np.arange(5) + 0.5) / 5
    freq = np.where(cnt > 0, (hits + centres) / (cnt + 1), centres)
    want = np.clip(7.0 * (np.interp(P, centres, freq) - P), -1, 1)
    np.testing.assert_allclose(g.evaluate(tr.quantity, P), want, atol=1e-12)
