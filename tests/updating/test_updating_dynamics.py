"""Predictable updates, the bettor, and the martingale-residual estimator against closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aflab.updating import dynamics as D


def test_oracle_profit_is_the_drift_and_control_profit_is_zero():
    rng = np.random.default_rng(0)
    eps = np.full(400, 0.2)
    out = D.simulate_agent_and_bettor(rng, eps, 300, 0.2, 10, D.PREDICTABLE)
    # E[oracle profit] = eps * E[sum s_t]: the ratio per run has mean eps (z-test, 5 SE)
    ratio = out["oracle"] / out["volatility"]
    assert abs(ratio.mean() - 0.2) < 5 * ratio.std() / np.sqrt(ratio.size)
    ctrl = D.simulate_agent_and_bettor(rng, eps, 300, 0.2, 10, D.MARTINGALE)
    rate = ctrl["learner"] / ctrl["volatility"]
    assert abs(rate.mean()) < 5 * rate.std() / np.sqrt(rate.size)
    assert np.all(ctrl["oracle"] == 0)


def test_learner_beats_a_strong_drift_and_prices_stay_in_unit_interval():
    rng = np.random.default_rng(1)
    out = D.simulate_agent_and_bettor(rng, np.full(50, 0.5), 1000, 0.2, 10, D.PREDICTABLE)
    assert (out["learner"] / (0.5 * out["volatility"])).mean() > 0.8
    with pytest.raises(ValueError, match="mode"):
        D.simulate_agent_and_bettor(rng, np.full(2, 0.5), 10, 0.2, 10, "psychic")


def test_the_predictable_agent_reverts_to_its_own_anchor():
    # a strong drift holds P near the anchor a, so each step is s = 0.2 min(P, 1 - P) ~ 0.2 min(a, 1 - a):
    # 0.06 a day at a = 0.3 or 0.7, where a drift toward 1/2 would give ~0.1
    for a in (0.3, 0.7):
        rng = np.random.default_rng(3)
        out = D.simulate_agent_and_bettor(rng, np.full(200, 0.6), 2000, 0.2, 10, D.PREDICTABLE, a)
        assert abs(out["volatility"].mean() / 2000 - 0.2 * min(a, 1 - a)) < 0.005


def test_an_anchor_on_a_bin_edge_is_the_learners_easy_case():
    # with anchor 1/2 and 10 bins every bin's drift has one sign; anchors inside a bin cost the learner
    rng = np.random.default_rng(4)
    eps = np.full(300, 0.4)
    edge = D.simulate_agent_and_bettor(rng, eps, 1000, 0.2, 10, D.PREDICTABLE, 0.5)
    inside = D.simulate_agent_and_bettor(rng, eps, 1000, 0.2, 10, D.PREDICTABLE, 0.55)
    eff = lambda o: o["learner"].sum() / (0.4 * o["volatility"].sum())
    assert eff(edge) > 0.9 and eff(inside) < eff(edge) - 0.1


def test_martingale_residual_sits_on_its_noise_floor_for_a_martingale():
    rng = np.random.default_rng(2)
    price = rng.random(20000)
    move = rng.normal(0, 0.01, size=price.size)  # independent of the price: no predictable part
    r = D.martingale_residual(price, move, 8)
    assert r["rms_drift"] < 2.5 * r["noise_floor"]
    assert np.isclose(r["rms_move"], 0.01, rtol=0.03)


def test_martingale_residual_recovers_a_known_drift():
    rng = np.random.default_rng(3)
    price = rng.random(40000)
    drift = 0.01 * (0.5 - price)  # E[move | price], RMS = 0.01 * sqrt(1/12)
    move = drift + rng.normal(0, 0.001, size=price.size)
    r = D.martingale_residual(price, move, 40)
    assert np.isclose(r["rms_drift"], 0.01 * np.sqrt(1 / 12), rtol=0.05)


def test_pairs_of_days_keeps_consecutive_undecided_days_only():
    prices = pd.DataFrame(
        {
            "stretch": 0,
            "day": [1, 2, 3, 5, 1, 2],
            "sentence": ["a", "a", "a", "a", "b", "b"],
            "label": ["x"] * 6,
            "price": [0.1, 0.2, 0.4, 0.5, 0.5, 1.0],
            "decided": [-1, -1, -1, -1, -1, 1],
        }
    )
    pairs = D.pairs_of_days(prices)
    # a: (1,2), (2,3) kept; (3,5) skips a day; b: (1,2) decided on day 2
    assert pairs[["sentence", "day"]].values.tolist() == [["a", 1], ["a", 2]]
    np.testing.assert_allclose(pairs["move"], [0.1, 0.2])
