"""The bounded-FairBot claim: smoke verdict and figures, the counterfactual, and mutations of the table that
the verdict must catch (a FairBot exploited by DefectBot, cooperation that switches back off)."""

import io

import pandas as pd
import pytest

from aflab.embedded.claims_bounded import BOUNDED_FAIRBOT
from aflab.embedded.experiments_bounded import BoundedFairbotThresholdConfig, k_grid, pair_thresholds


@pytest.fixture(scope="module")
def smoke():
    cfg = BOUNDED_FAIRBOT.make_config("smoke")
    return cfg, BOUNDED_FAIRBOT.experiment(cfg, 0).assign(seed=0)


def test_smoke_verdict_reports_the_cooperation_window(smoke):
    """Smoke draws pads 0..3, and twice the identical pad-2 programs, whose cooperation switches off when k
    gains a digit: the single-threshold form fails for them (headline inconclusive at n=16), the eventual
    form (Critch's 'sufficiently large k') holds for every pair."""
    cfg, table = smoke
    v = BOUNDED_FAIRBOT.verdict(cfg, table)
    assert v.headline.threshold == BOUNDED_FAIRBOT.threshold
    labels = [d.label for d in v.decisions]
    assert labels == ["inconclusive", "supported", "supported", "supported", "supported", "supported"], v.reason
    assert v.numbers["n_not_threshold_shaped"] == 2 and v.numbers["n_cooperation_windows_below_k_star"] == 2
    assert "pads 2+2 cooperate at k=962..999, defect from 1000, cooperate again from k*=1072" in v.reason
    assert v.numbers["n_proofs_rejected_by_checker"] == 0 and v.numbers["n_gl_refuted"] == 0
    assert v.numbers["n_gl_certified"] == cfg.n_variants and v.numbers["n_one_sided_fairbot_outcomes"] == 0
    assert v.numbers["n_pairs_not_monotone_within_a_digit_class"] == 0
    assert v.numbers["k_star_min"] == 746  # the two programs identical, pad 0: the hand-derived threshold
    figs = BOUNDED_FAIRBOT.figures(cfg, table)
    assert {"bounded_threshold_scan", "bounded_threshold_scaling", "bounded_robust_cooperation"} <= set(figs)


def test_table_round_trips_through_parquet(smoke):
    _, table = smoke
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(buf.getvalue())), table, check_exact=True)


def test_counterfactual_without_the_diagonal_lemma_is_refuted():
    cfg = BOUNDED_FAIRBOT.make_config("smoke", BOUNDED_FAIRBOT.counterfactual.overrides)
    table = BOUNDED_FAIRBOT.experiment(cfg, 0).assign(seed=0)
    v = BOUNDED_FAIRBOT.verdict(cfg, table)
    assert v.label == "refuted" and v.headline.label == "refuted"
    assert not (table.loc[table["opponent"] == "fairbot", "a_cooperates"]).any()


def test_verdict_catches_exploitation(smoke):
    cfg, table = smoke
    bad = table.copy()
    db = bad.index[bad["opponent"] == "defectbot"]
    bad.loc[db[: len(db) // 4], "a_cooperates"] = True
    v = BOUNDED_FAIRBOT.verdict(cfg, bad)
    assert v.label == "refuted" and v.decisions[2].label == "refuted"


def test_verdict_catches_one_sided_outcomes(smoke):
    cfg, table = smoke
    bad = table.copy()
    fb = bad.index[(bad["opponent"] == "fairbot") & bad["a_cooperates"]]
    bad.loc[fb[: len(fb) // 3], "b_cooperates"] = False  # the opponent's search no longer finds the proof back
    v = BOUNDED_FAIRBOT.verdict(cfg, bad)
    assert v.label == "refuted" and v.decisions[3].label == "refuted"


def test_verdict_catches_cooperation_that_switches_off(smoke):
    cfg, table = smoke
    bad = table.copy()
    fb = bad[(bad["opponent"] == "fairbot") & bad["a_cooperates"] & bad["b_cooperates"]].sort_values("k")
    # each pair's second cooperating bound defects again: cooperation no longer has one threshold
    second = fb.groupby("variant").nth(1).index
    bad.loc[second, "b_cooperates"] = False
    pairs = pair_thresholds(cfg, bad)
    assert not pairs["shaped"].any()
    assert BOUNDED_FAIRBOT.verdict(cfg, bad).label == "refuted"


def test_grid_and_config_errors():
    assert k_grid(BoundedFairbotThresholdConfig(k_min=16, k_max=4096, n_grid=3)) == [16, 256, 4096]
    with pytest.raises(ValueError, match="k_max"):
        BoundedFairbotThresholdConfig(k_min=100, k_max=50)


def test_decisions_memoised_across_cells_equal_fresh_searches():
    """The process-wide memo must return what a fresh search returns: seed 1 after seed 0 (memo warm) equals
    seed 1 with the memo cleared."""
    from aflab.embedded import experiments_bounded as bx

    cfg = BOUNDED_FAIRBOT.make_config("smoke", {"n_variants": 3, "km_bounds": (768, 16384)})
    BOUNDED_FAIRBOT.experiment(cfg, 0)
    warm = BOUNDED_FAIRBOT.experiment(cfg, 1)
    bx._DECISIONS.clear()
    pd.testing.assert_frame_equal(warm, BOUNDED_FAIRBOT.experiment(cfg, 1), check_exact=True)


def test_robust_cooperation_grid_counts_once_over_seeds(smoke):
    """The km grid is the same matches in every seed: four copies must not shrink the one-sided interval."""
    cfg, table = smoke
    km = table[table["phase"] == "km"]
    one = BOUNDED_FAIRBOT.verdict(cfg, table).decisions[3].interval
    four = BOUNDED_FAIRBOT.verdict(cfg, pd.concat([table, km, km, km], ignore_index=True)).decisions[3].interval
    assert four.n == one.n and four.high == one.high
