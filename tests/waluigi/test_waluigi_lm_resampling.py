"""Tests of the redrawn-turn hazard (aflab.waluigi.lm_resampling, claim waluigi.lm-hazard-decay).

With the model: the growing cache (repeated, selected back, a forced row's slots masked out) reproduces the
whole conversation re-encoded every turn, draw for draw; the kept draw is the first in-persona one (the
mutation: the first broken one); the same seed gives the same table. Without the model: the statistic on
tables whose answer is known -- above all, a population of constant-hazard conversations that differ in
how break-prone they are reads "decay" under first-break sampling but not here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from aflab.waluigi import lm_probe, lm_resampling, lm_sampling
from aflab.waluigi.claims_ml import (
    LM_HAZARD_DECAY_CLAIM,
    MIN_EARLY_BREAKS,
    lm_hazard_decay_verdict,
)
from aflab.waluigi.experiments_ml import LmHazardDecayConfig

AVAILABLE, WHY = lm_probe.lm_available()
needs_lm = pytest.mark.skipif(not AVAILABLE, reason=f"SmolLM2 unavailable: {WHY}")


def small(**kw) -> lm_resampling.RedrawSpec:
    base = dict(n_conversations=3, n_turns=3, draws=3, n_seed_turns=0, max_new_tokens=10, batch=3)
    return lm_resampling.RedrawSpec(**{**base, **kw})


# ------------------------------------------------------------------------------------ with the model
@needs_lm
def test_the_redrawn_cache_is_the_conversation_re_encoded(lm):
    """Two code paths: one cache repeated / selected / masked vs every turn re-encoded from its tokens.
    No seed turns: the first turn breaks almost always, so forced turns (masked slots) occur. (At T = 1 the
    flat next-token distributions let the two paths' float rounding flip an occasional inverse-CDF draw.)"""
    spec = small(n_conversations=4, n_turns=4)
    full = lm_resampling.run_redraws(lm, spec, 0)
    wide = lm_resampling.run_redraws(lm, small(n_conversations=4, n_turns=4, window=lm_sampling.UNBOUNDED_WINDOW), 0)
    assert full["forced"].any(), "the test needs a forced turn to check the masked slots"
    cols = ["conversation", "turn", "draw", "violated", "kept", "forced", "context_tokens", "reply"]
    pd.testing.assert_frame_equal(full[cols], wide[cols])
    np.testing.assert_allclose(full["p_first"], wide["p_first"], rtol=1e-4, atol=1e-7)
    assert len(full) == spec.n_conversations * spec.n_turns * spec.draws
    assert (full["violated"] == full["reply"].map(lm_probe.violates_lowercase)).all()
    pd.testing.assert_frame_equal(full, lm_resampling.run_redraws(lm, spec, 0))  # same seed, same table


@needs_lm
def test_the_kept_draw_is_the_first_of_its_kind_and_the_mutation_keeps_broken_ones(lm):
    for keep_broken in (False, True):
        t = lm_resampling.run_redraws(lm, small(temperature=1.0, keep_broken=keep_broken), 1)
        for _, turn in t.groupby(["conversation", "turn"]):
            wanted = turn["violated"].to_numpy() == keep_broken
            if turn["forced"].iloc[0]:
                assert not wanted.any() and not turn["kept"].any()
            else:
                assert turn["kept"].sum() == 1 and turn["kept"].to_numpy().argmax() == wanted.argmax()


@needs_lm
def test_rows_do_not_depend_on_their_batch_neighbours(lm):
    spec = small(n_seed_turns=2)
    together = pd.DataFrame(lm_resampling.sample_redraws(lm, spec, 9, [0, 1, 2]))
    alone = pd.DataFrame(lm_resampling.sample_redraws(lm, spec, 9, [2]))
    pd.testing.assert_series_equal(together[together.conversation == 2]["reply"].reset_index(drop=True), alone["reply"])


# ------------------------------------------------------------------------------------- no model needed
def redrawn(hazards_of, n=200, turns=6, draws=4, seed=0) -> pd.DataFrame:
    """Every conversation measured every turn: ``draws`` Bernoulli(h) per turn, h = hazards_of(c, t)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        for t in range(1, turns + 1):
            h = hazards_of(c, t)
            for r in range(draws):
                rows.append(
                    dict(conversation=c, turn=t, draw=r, violated=rng.random() < h, p_first=h / 2, forced=False)
                )
    return pd.DataFrame(rows)


def cfg(**kw) -> LmHazardDecayConfig:
    return LmHazardDecayConfig(**{"n_turns": 6, "late_from": 3, **kw})


def frail(c: int, t: int) -> float:
    """Constant hazards that differ between conversations: 30% at 0.6, 70% at 0.05 -- no decay in any."""
    return 0.6 if c % 10 < 3 else 0.05


def test_hazard_counts_are_exact_on_a_small_table():
    t = pd.DataFrame(
        [
            dict(conversation=c, turn=tt, violated=v)
            for c, tt, v in [(0, 1, 1), (0, 1, 0), (0, 2, 1), (1, 1, 0), (1, 3, 1)]
        ]
    )
    np.testing.assert_array_equal(lm_resampling.hazard_counts(t, 2), [[1, 2, 1, 1], [0, 1, 1, 1]])
    assert lm_resampling.late_early_ratio(lm_resampling.hazard_counts(t, 2)) == pytest.approx((2 / 2) / (1 / 3))
    broken = np.array([[True, False, False], [True, True, True], [False, True, False]])
    kept, forced = lm_resampling.kept_draws(broken)
    assert kept.tolist() == [1, 0, 0] and forced.tolist() == [False, True, False]
    kept, forced = lm_resampling.kept_draws(broken, keep_broken=True)
    assert kept.tolist() == [0, 0, 1] and forced.tolist() == [False, False, False]


def test_frailty_alone_reads_decay_under_first_breaks_but_not_here():
    """The selection the redraw design removes: the same population, two designs."""
    rng = np.random.default_rng(1)
    first = []
    for c in range(400):
        for t in range(1, 7):
            broke = rng.random() < frail(c, t)
            first.append(dict(window=0, conversation=c, turn=t, violated=broke))
            if broke:
                break
    pooled = lm_sampling.pair_counts(pd.DataFrame(first), 0, late_from=3)
    late, early = pooled[:, 2].sum() / pooled[:, 3].sum(), pooled[:, 4].sum() / pooled[:, 5].sum()
    assert late / early < LM_HAZARD_DECAY_CLAIM.threshold.value  # survivors only: a spurious "decay"
    v = lm_hazard_decay_verdict(cfg(), redrawn(frail, n=400))
    key = LM_HAZARD_DECAY_CLAIM.threshold.statistic
    assert v.numbers[key + "_ci_low"] < 1 < v.numbers[key + "_ci_high"]
    assert v.label == "refuted"  # a ratio near 1, its CI clear of 0.75 at this size


def test_the_verdict_follows_the_hazard_in_each_direction():
    assert lm_hazard_decay_verdict(cfg(), redrawn(lambda c, t: 0.3 if t < 3 else 0.1)).label == "supported"
    assert lm_hazard_decay_verdict(cfg(), redrawn(lambda c, t: 0.2 if t < 3 else 0.4)).label == "refuted"
    near = lm_hazard_decay_verdict(cfg(), redrawn(lambda c, t: 0.3 if t < 3 else 0.22, n=12))
    assert near.label == "inconclusive"  # a ratio of 0.73 from 12 conversations decides nothing


def test_too_few_early_breaks_decide_nothing():
    t = redrawn(lambda c, t: 0.0 if t < 3 else 0.05, n=60)
    t.loc[t.index[:2], "violated"] = True  # two early breaks (conversation 0, turn 1)
    assert 0 < lm_resampling.hazard_counts(t, 3)[:, 0].sum() < MIN_EARLY_BREAKS
    assert lm_hazard_decay_verdict(cfg(), t).label == "inconclusive"


def test_config_rejects_what_the_design_cannot_run():
    with pytest.raises(ValidationError, match="window"):
        LmHazardDecayConfig(window=8)
    with pytest.raises(ValidationError, match="late_from"):
        LmHazardDecayConfig(n_turns=4, late_from=5)
    with pytest.raises(ValidationError, match="draws"):
        LmHazardDecayConfig(draws=1)
    with pytest.raises(ValueError, match="draws"):
        lm_resampling.RedrawSpec(draws=1)


# ------------------------------------------------------------------------------------------ the CLI
def test_cli_redraw_names_the_bad_option():
    from typer.testing import CliRunner

    from aflab.waluigi.cli import app

    for args, field in ((["--window", "8"], "--window"), (["--draws", "1"], "--draws"), (["--late-from", "9"], "late")):
        res = CliRunner().invoke(app, ["redraw", *args])
        assert res.exit_code != 0 and field in res.output, res.output


def test_cli_redraw_prints_the_hazards_and_the_verdict(lm, tmp_path):
    from typer.testing import CliRunner

    from aflab.waluigi.cli import app

    res = CliRunner().invoke(
        app,
        [
            "redraw",
            "--n-conversations",
            "2",
            "--n-turns",
            "3",
            "--draws",
            "2",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "break hazard per turn" in res.output and "verdict:" in res.output
    assert (tmp_path / "waluigi_lm_hazard_decay.png").exists()
