"""Introspection audit (thm 4.11.1): the introspection trader's target, and the verdict can refute."""

import numpy as np
import pandas as pd

from aflab.core import get_claim
from aflab.logical_induction.deduction import observation_scenario
from aflab.logical_induction.inductor import run_market
from aflab.logical_induction.sentences import parse, price_atom
from aflab.logical_induction.traders import ConstantBelief, IntrospectionTrader


def test_introspection_trader_makes_the_price_atom_track_the_inner_price():
    # 'rain' is held at 0.8 by a strong constant trader; the atoms P_n(rain) > 0.5 / > 0.9 are priced on day n
    days = 4
    rain = parse("rain")
    atoms = [(price_atom(n, rain, 0.5), price_atom(n, rain, 0.9)) for n in range(1, days + 1)]
    sc = observation_scenario(["sun"] * days, priced=[["rain"] for _ in range(days)])
    sc = type(sc)(sc.name, sc.facts, tuple((rain,) + atoms[n] for n in range(days)), {rain: "weather"})
    run = run_market(
        sc,
        [
            ConstantBelief(p=0.8, label="weather", slope=50.0, hold=False, weight=0.5, name="rain=0.8"),
            IntrospectionTrader(weight=0.25),
        ],
    )
    p = run.prices
    for n in range(1, days + 1):
        day = p[p.day == n].set_index("sentence").price
        assert abs(day["rain"] - 0.8) < 0.05
        assert day[str(atoms[n - 1][0])] > 0.9  # 0.8 > 0.5: true
        assert day[str(atoms[n - 1][1])] < 0.1  # 0.8 < 0.9: false
    # settled the next day from the price history (decided, priced at its truth, if still held)
    later = p[(p.day == 2) & (p.sentence == str(atoms[0][0]))]
    assert later.empty or float(later.price.iloc[0]) == 1.0


def test_introspection_verdict_refutes_a_market_that_misprices_its_own_beliefs():
    c = get_claim("logical_induction.introspection")
    cfg = c.make_config("quick")
    rng = np.random.default_rng(0)
    n = 200
    inner = rng.random(n)
    thr = rng.choice([0.1, 0.3, 0.5], n)
    truth = (inner > thr).astype(int)
    base = pd.DataFrame(
        {"day": rng.integers(1, 21, n), "sentence": "x", "inner_price": inner, "threshold": thr, "truth": truth}
    )
    good = pd.concat(
        [base.assign(price=np.where(truth == 1, 0.95, 0.05) + rng.normal(0, 0.01, n), seed=k) for k in range(3)]
    )
    assert c.verdict(cfg, good).label == "supported"
    bad = good.assign(price=1.0 - good.price)  # confidently wrong about its own prices
    assert c.verdict(cfg, bad).label == "refuted"
    ignorant = good.assign(price=0.5)  # a market without the introspection program
    assert c.verdict(cfg, ignorant).label == "refuted"


def test_introspection_run_does_not_depend_on_what_the_process_built_before():
    """Price atoms carry their meaning in their names; a run reads nothing outside its scenario."""
    from aflab.logical_induction import experiments as E
    from aflab.logical_induction.sentences import atom

    cfg = E.IntrospectionConfig(n_days=5, window=1, delay=2)
    first = E.introspection_experiment(cfg, 0, seed_index=1)
    for n in range(1, 8):  # atoms about the same days and sentences, registered in another order
        for p in (0.5, 0.35, 0.2, 0.1, 0.05, 0.3):
            price_atom(n, atom("undecidable(0)"), p, above=False)
            parse(f"P_{n}(pi_digit({n}) = 3) > {p}")
    E.introspection_run.cache_clear()
    again = E.introspection_experiment(cfg, 0, seed_index=1)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert len(first) > 0


def test_introspection_judges_the_second_half_and_reports_the_second_quarter_apart():
    """The property is a limit: a market that errs early (days 6-10 of 20) and learns later is judged on
    days 11-20 only, and its early error is reported, not hidden (second quarter = days (5, 10])."""
    c = get_claim("logical_induction.introspection")
    cfg = c.make_config("quick")
    rows = []
    for seed in range(3):
        for day in range(1, 21):
            for inner, thr in ((0.05, 0.5), (0.8, 0.2)):  # one false atom, one true atom a day
                truth = int(inner > thr)
                err = 0.4 if day <= 10 else 0.01 + 0.001 * seed
                price = truth - err if truth else err
                rows.append(
                    dict(day=day, sentence="x", inner_price=inner, threshold=thr, truth=truth, price=price, seed=seed)
                )
    t = pd.DataFrame(rows)
    v = c.verdict(cfg, t)
    assert v.label == "supported"
    assert abs(v.numbers["mean_abs_error_below"] - 0.011) < 1e-9
    assert abs(v.numbers["mean_abs_error_below_second_quarter"] - 0.4) < 1e-9
    assert abs(v.numbers["mean_abs_error_above_second_quarter"] - 0.4) < 1e-9
    late_bad = t.assign(price=np.where(t.day > 10, 1 - t.truth, t.price))  # learns, then forgets: refuted
    assert c.verdict(cfg, late_bad).label == "refuted"


def test_introspection_figure_draws_both_panels_with_the_judged_half_shaded():
    import matplotlib

    matplotlib.use("Agg")
    from aflab.logical_induction.plots import introspection_figure

    days = np.repeat(np.arange(1, 11), 2)
    t = pd.DataFrame(
        {"day": days, "inner_price": np.tile([0.05, 0.8], 10), "threshold": np.tile([0.5, 0.2], 10), "seed": 0}
    ).assign(truth=lambda d: (d.inner_price > d.threshold).astype(int), price=lambda d: d.truth * 0.9 + 0.05)
    fig = introspection_figure(t, margin=0.05, bar=0.1)
    left, right = fig.axes[:2]
    assert len(left.collections) == 1 and len(left.collections[0].get_offsets()) == len(t)
    assert [line.get_label() for line in right.get_lines()][:2] == ["atoms false (P_n(phi) < p)", "atoms true"]
    shaded = [p for p in right.patches if p.get_label() == "judged (second half)"]
    assert len(shaded) == 1 and np.isclose(shaded[0].get_x(), 5.5)  # days 6-10 of 10 are judged


def test_introspection_config_refuses_a_threshold_outside_the_unit_interval_naming_the_field():
    import pydantic
    import pytest

    from aflab.logical_induction.experiments import IntrospectionConfig

    with pytest.raises(pydantic.ValidationError, match="thresholds"):
        IntrospectionConfig(thresholds=(0.2, 1.5))
    assert IntrospectionConfig(thresholds=(0.0, 1.0)).thresholds == (0.0, 1.0)
