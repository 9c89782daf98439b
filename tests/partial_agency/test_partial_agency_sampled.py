"""Predict-O-Matic learners that only see sampled outcomes: limits vs fixed points / optimal reports computed
independently (brentq roots, grid argmax), the logistic fit vs a scipy MLE, and the claim's verdict."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit

from aflab.core import get_claim
from aflab.core.claims import load_system
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.predict_o_matic_sampled import (
    _fit_logistic,
    run_sampled_predictor,
)

load_system("partial_agency")
CID = "partial_agency.sampled-learners-match-known-F"


@pytest.mark.parametrize("rule", P.RULES)
def test_non_performative_world_both_learners_report_the_truth(rule):
    """slope 0: F = sigmoid(b) whatever is announced; a proper score makes the honest q the only optimum."""
    rng = np.random.default_rng(0)
    b = np.array([-1.0, 0.3, 1.2])
    q = expit(b)
    for mode in ("myopic", "full"):
        run = run_sampled_predictor(b, 0.0, [0.5, 0.5, 0.5], rule, mode, 3000, rng)
        # the full learner's residual misreport comes from the noise in its slope estimate (F' = 0 truly)
        assert np.max(np.abs(run.final - q)) < (0.01 if mode == "myopic" else 0.035), (mode, run.final, q)


@pytest.mark.parametrize("rule", P.RULES)
def test_myopic_sampled_lands_on_the_fixed_point_of_its_basin(rule):
    """Bistable world (slope 8, b = 0.2): starts on either side of the repelling root go to the stable root
    on that side; roots from brentq on F(p) - p, independent of the learners."""
    F = P.LogisticResponse(0.2, 8.0)
    lo = optimize.brentq(lambda p: F(p) - p, 1e-9, 0.3)
    mid = optimize.brentq(lambda p: F(p) - p, 0.3, 0.6)
    hi = optimize.brentq(lambda p: F(p) - p, 0.6, 1 - 1e-9)
    starts = np.array([0.05, mid - 0.15, mid + 0.15, 0.95])
    run = run_sampled_predictor(0.2, 8.0, starts, rule, "myopic", 3000, np.random.default_rng(1))
    np.testing.assert_allclose(run.final, [lo, lo, hi, hi], atol=0.02)


@pytest.mark.parametrize("estimator", ["logistic", "local-linear"])
@pytest.mark.parametrize("rule", P.RULES)
def test_full_sampled_reaches_the_score_maximiser(rule, estimator):
    """Self-defeating world (slope -6): G has a single interior maximum, found here by a 200 001-point grid.
    The model-based learner reaches it (not the fixed point, which it misreports)."""
    F = P.LogisticResponse(0.4, -6.0)
    xs = np.linspace(1e-4, 1 - 1e-4, 200001)
    p_star = xs[np.argmax(P.expected_score(xs, F(xs), rule))]
    fp = P.fixed_points(F)[0].p
    assert abs(p_star - fp) > 0.01  # the optimum is a misreport
    run = run_sampled_predictor(
        np.full(4, 0.4), -6.0, [0.1, 0.4, 0.6, 0.9], rule, "full", 4000, np.random.default_rng(2), estimator=estimator
    )
    np.testing.assert_allclose(run.final, p_star, atol=0.02)


def test_logistic_fit_is_the_binomial_mle():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.2, 0.8, (1, 400))
    n = 5
    y = rng.binomial(n, expit(0.5 + 3.0 * (p - 0.5))) / n
    w = np.zeros((1, 2))
    for _ in range(10):
        w = _fit_logistic(p, y, n, w, ridge=0.0)

    def nll(v):
        f = np.clip(expit(v[0] + v[1] * (p[0] - 0.5)), 1e-15, 1 - 1e-15)
        return -float(np.sum(n * (y[0] * np.log(f) + (1 - y[0]) * np.log(1 - f))))

    ref = optimize.minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12}).x
    np.testing.assert_allclose(w[0], ref, atol=1e-5)
    assert abs(ref[1] - 3.0) < 1.5  # and the MLE is near the truth


def test_full_sampled_model_recovers_F():
    run = run_sampled_predictor(
        np.full(8, -0.3), 5.0, np.linspace(0.1, 0.9, 8), "log", "full", 3000, np.random.default_rng(4)
    )
    assert np.median(np.abs(run.model[:, 0] - (-0.3))) < 0.3
    assert np.median(np.abs(run.model[:, 1] - 5.0)) < 1.5


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mode"):
        run_sampled_predictor(0.0, 1.0, [0.5], "log", "greedy", 100, rng)
    with pytest.raises(ValueError, match="estimator"):
        run_sampled_predictor(0.0, 1.0, [0.5], "log", "full", 100, rng, estimator="spline")
    with pytest.raises(ValueError, match="starts"):
        run_sampled_predictor(0.0, 1.0, [1.0], "log", "myopic", 100, rng)
    with pytest.raises(ValueError, match="explore"):
        run_sampled_predictor(0.0, 1.0, [0.5], "log", "full", 100, rng, explore=0.0)


@pytest.fixture(scope="module")
def claim_table():
    c = get_claim(CID)
    cfg = c.make_config("quick", {"slopes": (-6.0, 8.0), "instances": 2, "n_starts": 5, "rounds": 1500})
    return cfg, pd.concat([c.experiment(cfg, s).assign(seed=s) for s in (0, 1)], ignore_index=True)


def test_sampled_claim_supported_refutable_and_draws(claim_table):
    c = get_claim(CID)
    cfg, table = claim_table
    v = c.verdict(cfg, table)
    assert v.label == "supported", v.reason
    assert v.numbers["myopic_same_fixed_point"] > 0.8
    moved = table.assign(p_sampled=np.where(table["learner"] == "full-local", 1 - table["p_known"], table["p_sampled"]))
    moved = moved.assign(
        p_sampled=np.where(
            (moved["learner"] == "full-local") & ((moved["p_known"] - 0.5).abs() < 0.1),
            moved["p_known"] + 0.3,
            moved["p_sampled"],
        )
    )
    assert c.verdict(cfg, moved).label == "refuted"
    figs = c.figures(cfg, table)
    assert set(figs) == {"sampled_trajectories", "sampled_entropy"}
    table.to_parquet(__import__("io").BytesIO())


@pytest.mark.parametrize("rule", P.RULES)
def test_full_sampled_from_a_start_near_0_does_not_freeze_its_fit(rule):
    """Regression (undamped Newton): from p0 = 0.002 / 0.02 the first refit overshot to the +-50 clip, where the
    Hessian vanishes, and froze there: 12 (log) / 7 (quadratic) of 16 fits, with 10 / 7 chains ending at 0.455 /
    0.466 or 0.534 instead of the score maximiser 0.564 (found here by a 200 001-point grid)."""
    F = P.LogisticResponse(1.0, -6.0)
    xs = np.linspace(1e-4, 1 - 1e-4, 200001)
    p_star = xs[np.argmax(P.expected_score(xs, F(xs), rule))]
    starts = np.repeat([0.002, 0.02], 8)
    run = run_sampled_predictor(1.0, -6.0, starts, rule, "full", 2500, np.random.default_rng(0))
    assert np.abs(run.model).max() < 49
    np.testing.assert_allclose(run.final, p_star, atol=0.02)
