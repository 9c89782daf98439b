"""Tests of the sampled-transition engine (aflab.waluigi.lm_sampling, claim waluigi.lm-transitions).

With the model: the chunked conversation equals the chat template; a batch row does not depend on its
neighbours; a window wider than the conversation reproduces the full-context reader (re-encoded every
turn vs one growing cache: two independent code paths); the mutation reproduces it exactly. Without the
model: the statistics on tables whose answer is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aflab.waluigi import lm_probe, lm_sampling
from aflab.waluigi.claims_ml import LM_TRANSITIONS_CLAIM, MIN_LATE_BREAKS, lm_transitions_verdict

AVAILABLE, WHY = lm_probe.lm_available()
needs_lm = pytest.mark.skipif(not AVAILABLE, reason=f"SmolLM2 unavailable: {WHY}")


def small(**kw) -> lm_sampling.TransitionSpec:
    base = dict(n_conversations=3, n_turns=2, windows=(0,), n_seed_turns=2, max_new_tokens=10, batch=3)
    return lm_sampling.TransitionSpec(**{**base, **kw})


# ------------------------------------------------------------------------------------ with the model
@needs_lm
def test_conversation_chunks_equal_the_chat_template(lm):
    tok = lm.tokenizer
    (q1, a1), (q2, _) = lm_probe.QA_PAIRS[3], lm_probe.QA_PAIRS[7]
    reply = lm_probe._ids(tok, "berlin, of course.")
    mine = np.concatenate(
        [
            lm_probe.system_ids(tok),
            lm_probe.turn_ids(tok, q1, a1.lower()),
            lm_probe.prompt_ids(tok, q2),
            lm_sampling._close_turn(tok, reply),
        ]
    )
    msgs = [
        {"role": "system", "content": lm_probe.PERSONA_SYSTEM_PROMPT},
        {"role": "user", "content": q1},
        {"role": "assistant", "content": a1.lower()},
        {"role": "user", "content": q2},
        {"role": "assistant", "content": "berlin, of course."},
    ]
    ref = tok.apply_chat_template(msgs, tokenize=True)
    ref = ref["input_ids"] if hasattr(ref, "keys") else ref
    assert list(ref) == mine.tolist()


@needs_lm
def test_rows_do_not_depend_on_their_batch_neighbours(lm):
    spec = small(windows=(0, 64), temperature=1.0)
    together = pd.DataFrame(lm_sampling.sample_reader(lm, spec, 11, 0, [0, 1, 2]))
    alone = pd.DataFrame(lm_sampling.sample_reader(lm, spec, 11, 0, [1]))
    mine = together[together.conversation == 1].reset_index(drop=True)
    pd.testing.assert_series_equal(mine["reply"], alone["reply"])
    np.testing.assert_allclose(mine["p_first"], alone["p_first"], rtol=1e-4, atol=1e-9)  # float rounding only
    win = pd.DataFrame(lm_sampling.sample_reader(lm, spec, 11, 64, [0, 1, 2]))
    win1 = pd.DataFrame(lm_sampling.sample_reader(lm, spec, 11, 64, [1]))
    pd.testing.assert_series_equal(win[win.conversation == 1]["reply"].reset_index(drop=True), win1["reply"])
    # every verdict row is the persona checker applied to the reply text
    assert (together["violated"] == together["reply"].map(lm_probe.violates_lowercase)).all()


@needs_lm
def test_a_window_wider_than_the_conversation_is_the_full_reader(lm):
    """Two code paths: one growing cache (full) vs the whole conversation re-encoded every turn (window)."""
    spec = small(windows=(0, 4096), n_turns=3, temperature=1.0)
    t = lm_sampling.run_transitions(lm, spec, 5)
    full = t[t.window == 0].drop(columns=["window", "p_first"]).reset_index(drop=True)
    wide = t[t.window == 4096].drop(columns=["window", "p_first"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(full, wide)
    np.testing.assert_allclose(t[t.window == 0]["p_first"], t[t.window == 4096]["p_first"], rtol=1e-4, atol=1e-7)


@needs_lm
def test_window_sees_at_most_k_tokens_and_the_mutation_is_the_full_reader(lm):
    spec = small(windows=(0, 32), n_turns=3)
    t = lm_sampling.run_transitions(lm, spec, 2)
    w = t[t.window == 32]
    longest_question = max(len(lm_probe.prompt_ids(lm.tokenizer, q)) for q, _ in lm_probe.QA_PAIRS)
    assert (w["context_tokens"] <= 32 + longest_question).all()
    assert (t[t.window == 0]["context_tokens"].max()) > 32 + longest_question
    m = lm_sampling.run_transitions(lm, small(windows=(0, 32), n_turns=3, ignore_window=True), 2)
    pd.testing.assert_frame_equal(  # the mutation runs the windowed path, unbounded: the full reader's replies
        m[m.window == 32].drop(columns=["window", "p_first"]).reset_index(drop=True),
        m[m.window == 0].drop(columns=["window", "p_first"]).reset_index(drop=True),
    )
    np.testing.assert_allclose(m[m.window == 32]["p_first"], m[m.window == 0]["p_first"], rtol=1e-4, atol=1e-7)
    pd.testing.assert_frame_equal(m[m.window == 0].reset_index(drop=True), t[t.window == 0].reset_index(drop=True))


# ------------------------------------------------------------------------------------- no model needed
def synthetic(h_full_early: float, h_full_late: float, h_win: float, n: int = 200, turns: int = 8, late_from=3):
    """Conversations whose breaks follow given per-turn hazards (random draws, fixed seed)."""
    rng = np.random.default_rng(0)
    rows = []
    for c in range(n):
        for w in (0, 64):
            for t in range(1, turns + 1):
                h = h_win if w else (h_full_early if t < late_from else h_full_late)
                broke = rng.random() < h
                rows.append(dict(window=w, conversation=c, turn=t, violated=broke, p_first=h / 2, seed=0))
                if broke:
                    break
    return pd.DataFrame(rows)


def test_pair_counts_and_statistics_are_exact_on_a_small_table():
    t = pd.DataFrame(
        [
            dict(window=0, conversation=0, turn=1, violated=False),
            dict(window=0, conversation=0, turn=2, violated=False),
            dict(window=0, conversation=0, turn=3, violated=True),
            dict(window=64, conversation=0, turn=1, violated=False),
            dict(window=64, conversation=0, turn=2, violated=True),
            dict(window=0, conversation=1, turn=1, violated=True),
            dict(window=64, conversation=1, turn=1, violated=True),
        ]
    )
    a = lm_sampling.pair_counts(t, 64, late_from=2)
    np.testing.assert_array_equal(a, [[1, 1, 1, 2, 0, 1, 0, 1], [0, 0, 0, 0, 1, 1, 1, 1]])
    assert lm_sampling.late_gap(a) == pytest.approx(1.0 - 0.5)
    assert lm_sampling.full_decay(a) == pytest.approx(0.5 - 0.5)


def test_verdict_logic_on_synthetic_hazards():
    cfg = LM_TRANSITIONS_CLAIM.make_config("quick")
    assert lm_transitions_verdict(cfg, synthetic(0.3, 0.05, 0.4)).label == "supported"
    # the window adds nothing: refuted
    assert lm_transitions_verdict(cfg, synthetic(0.3, 0.05, 0.05)).label == "refuted"
    # too few conversations to tell a 0.1 gap from the 0.05 margin: inconclusive
    assert lm_transitions_verdict(cfg, synthetic(0.1, 0.1, 0.2, n=30)).label == "inconclusive"
    # the full-context hazard's change is reported, not judged: a rising one with a large gap is still supported
    v = lm_transitions_verdict(cfg, synthetic(0.05, 0.3, 0.6))
    assert v.label == "supported" and len(v.decisions) == 1
    assert v.numbers["full_decay_late_minus_early_reported"] > 0.1


def test_no_breaks_decide_nothing():
    """Zero events: the bootstrap collapses to [0, 0]; that must not "refute" the claim (review finding)."""
    cfg = LM_TRANSITIONS_CLAIM.make_config("quick")
    v = lm_transitions_verdict(cfg, synthetic(0.0, 0.0, 0.0, n=40))
    assert v.label == "inconclusive" and v.numbers["late_breaks"] == 0
    few = synthetic(0.0, 0.0, 0.01, n=40)  # a handful of breaks: below MIN_LATE_BREAKS, still undecided
    n_late = int(few[(few.turn >= cfg.late_from)].violated.sum())
    assert 0 < n_late < MIN_LATE_BREAKS and lm_transitions_verdict(cfg, few).label == "inconclusive"


def test_frailty_alone_makes_the_pooled_full_hazard_fall_so_it_is_not_judged():
    """Conversations with constant but different hazards (30% at 0.3, 70% at 0.03) and no decay in any of them:
    the pooled late-minus-early hazard falls anyway (the break-prone ones leave early). This is why the decay is
    reported, not decided; the headline (the window's gap) is still decided."""
    rng = np.random.default_rng(1)
    rows = []
    for c in range(600):
        h_full = 0.3 if c < 180 else 0.03
        for w, h in ((0, h_full), (64, 0.3)):
            for t in range(1, 9):
                broke = rng.random() < h
                rows.append(dict(window=w, conversation=c, turn=t, violated=broke, p_first=h / 2, seed=0))
                if broke:
                    break
    cfg = LM_TRANSITIONS_CLAIM.make_config("quick")
    v = lm_transitions_verdict(cfg, pd.DataFrame(rows))
    assert v.numbers["full_decay_late_minus_early_reported_ci_high"] < 0  # a "decline" that no conversation has
    assert [d.threshold for d in v.decisions] == [v.headline.threshold]


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="windows"):
        LM_TRANSITIONS_CLAIM.make_config("quick", {"windows": (64, 128)})
    with pytest.raises(ValueError, match="questions"):
        LM_TRANSITIONS_CLAIM.make_config("quick", {"n_turns": 68, "n_seed_turns": 8})
    with pytest.raises(ValueError, match="late_from"):
        LM_TRANSITIONS_CLAIM.make_config("quick", {"n_turns": 4, "late_from": 5})
    with pytest.raises(ValueError, match="windows"):
        lm_sampling.TransitionSpec(windows=(0, 8))


def test_the_window_ignored_during_generation_refutes_the_claim():
    """The mutation's table (every windowed row = the full reader's row, by the common random numbers) gives a
    gap of exactly 0: refuted, whatever the hazards."""
    t = synthetic(0.3, 0.05, 0.4)
    full = t[t.window == 0]
    mutated = pd.concat([full, full.assign(window=64)], ignore_index=True)
    cfg = LM_TRANSITIONS_CLAIM.make_config("quick", {"ignore_window": True})
    v = lm_transitions_verdict(cfg, mutated)
    assert v.label == "refuted" and v.headline.interval.low == v.headline.interval.high == 0.0
