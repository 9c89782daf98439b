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
        [
            base.assign(price=np.where(truth == 1, 0.95, 0.05), market="logical_inductor"),
            base.assign(price=0.5, market="control_no_introspection"),
        ]
    ).assign(seed=0)
    assert c.verdict(cfg, good).label == "supported"
    bad = good.copy()
    li = bad.market == "logical_inductor"
    bad.loc[li, "price"] = 1.0 - bad.loc[li, "price"]  # confidently wrong about its own prices
    assert c.verdict(cfg, bad).label == "refuted"
