"""Parity with the PyPI reference `logicalinduction` on its choreographed s-curve example.

The reference values a trader's past purchases at the *latest* price instead of the purchase price
(`inductor.evaluate` uses `credence_history.price`), which changes its budgets from day 6 on; with that
one line patched to use each purchase day's price, its exhaustive rational search and aflab's
`maker="rational"` mode give identical prices. Unpatched, it diverges exactly there (documented).
"""

import numpy as np
import pytest

from aflab.logical_induction.deduction import observation_scenario
from aflab.logical_induction.inductor import run_market
from aflab.logical_induction.traders import ConstantBelief

N_DAYS = 9


def aflab_prices(maker: str) -> np.ndarray:
    sc = observation_scenario(["foo"] * N_DAYS, priced=[["d"]] * N_DAYS)
    traders = [
        ConstantBelief(p=0.1, slope=10.0, hold=False, weight=2.0 ** -(k + 1), start_day=k + 1, name=f"t{k}")
        for k in range(N_DAYS)
    ]
    run = run_market(sc, traders, maker=maker)
    assert run.maker.certified.all()
    return run.prices.price.to_numpy()


def reference_prices(patched: bool) -> np.ndarray:
    li = pytest.importorskip("logicalinduction")
    from logicalinduction import enumerator, formula, inductor, sentence

    day_of = {}
    orig = inductor.evaluate

    def evaluate(policy, hist, world):
        day = day_of.get(id(policy))
        if not patched or day is None or day > len(hist):
            return orig(policy, hist, world)
        return sum(f.evaluate(hist) * (float(world[s]) - hist.lookup(s, day)) for s, f in policy.items())

    d, foo = sentence.Atom("d"), sentence.Atom("foo")

    def algorithm():
        for day in enumerator.integers(start=1):
            pol = {
                d: formula.Min(
                    formula.Constant(1),
                    formula.Max(
                        formula.Constant(-1),
                        formula.Sum(
                            formula.Constant(1.0), formula.Product(formula.Constant(-10), formula.Price(d, day))
                        ),
                    ),
                )
            }
            day_of[id(pol)] = day
            yield pol

    inductor.evaluate = evaluate
    try:
        market = inductor.LogicalInductor()
        out = [float(market.update(foo, algorithm())[d]) for _ in range(N_DAYS)]
    finally:
        inductor.evaluate = orig
    del li
    return np.array(out)


def test_rational_mode_matches_reference_with_purchase_price_valuation():
    ref = reference_prices(patched=True)
    np.testing.assert_allclose(aflab_prices("rational"), ref, atol=1e-12)
    # the published sequence: 0, 1/3, 1/6, 1/7, 1/8, 1/9, 1/10, ...
    np.testing.assert_allclose(ref[:7], [0, 1 / 3, 1 / 6, 1 / 7, 1 / 8, 1 / 9, 1 / 10], atol=1e-12)


def test_unpatched_reference_diverges_only_where_latest_price_valuation_bites():
    ref = reference_prices(patched=False)
    ours = aflab_prices("rational")
    np.testing.assert_allclose(ref[:5], ours[:5], atol=1e-12)
    assert abs(ref[5] - ours[5]) > 1e-3  # 1/8 vs 1/9 on day 6


def test_solver_mode_prices_are_also_valid_fixed_points():
    p = aflab_prices("solver")
    assert np.all(np.abs(p[1:] - 0.1) < 1e-6)  # the s-curves' common root; any certified price is valid
