"""Experiments of the learned-model claims: typed config in, tidy table out (verdicts in :mod:`claims_ml`).

* ``lm-window-plateau``: SmolLM2-135M-Instruct scored teacher-forced (:mod:`lm_probe`);
* ``lm-transitions``: SmolLM2 sampled conversations, full context vs sliding windows (:mod:`lm_sampling`);
* ``lm-hazard-decay``: the same conversations with every turn redrawn ``m`` times (:mod:`lm_resampling`);
* ``transformer-window-plateau``: a tiny transformer trained on the persona source (:mod:`transformer`).

Importing this module imports neither torch nor transformers (they load inside the experiments).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from aflab.core import ClaimConfig
from aflab.waluigi import lm_probe


# ===================================================================================== LM probe
def _powers_of_two_grid(n_max: int, start: int = 0) -> tuple[int, ...]:
    """``start, 1, 2, 4, ...`` up to and including ``n_max``."""
    grid = {start, n_max} | {2**i for i in range(0, 12) if 2**i <= n_max}
    return tuple(sorted(g for g in grid if g >= start))


def _half_octave_grid(n_max: int) -> tuple[int, ...]:
    """``0, 1, 2, 4, 6, 8, 11, 16, 23, 32, ...`` (half-octave steps from 4) up to and including ``n_max``."""
    grid = {0, 1, 2, n_max} | {round(2 ** (j / 2)) for j in range(4, 26)}
    return tuple(sorted(g for g in grid if g <= n_max))


# ===================================================================================== LM probe
class LmWindowPlateauConfig(ClaimConfig):
    n_max_turns: int = Field(
        32,
        ge=2,
        le=64,
        description="most persona-consistent turns in context (grid 0, 1, 2, 4, 6, 8, 11, 16, 23, ... n_max_turns)",
    )
    windows: tuple[int, ...] = Field(
        (64,), min_length=1, max_length=6, description="truncation windows k in tokens (each >= 8)"
    )
    n_probes: int = Field(3, ge=1, le=8, description="held-out probe questions scored per context")
    inject_turns: int = Field(16, ge=0, le=64, description="turns in the injection experiment (0 = skip)")
    window_unit: Literal["turn", "token"] = Field(
        "turn", description="cut windows at turn boundaries (whole turns within k tokens) or at exactly k tokens"
    )
    pinned: bool = Field(True, description="also measure windows with the system prompt pinned")
    persona: Literal["lowercase", "banned-word"] = Field(
        "lowercase", description="persona constraint and its checker: lowercase only, or never saying 'sure'"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="torch device; auto = cuda if available")
    ignore_window: bool = Field(False, description="mutation: every windowed context is the full context")

    @field_validator("windows")
    @classmethod
    def _windows_ok(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(k < 8 for k in v):
            raise ValueError("each window k must be >= 8 tokens")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _enough_questions(self) -> LmWindowPlateauConfig:
        need = max(self.n_max_turns, self.inject_turns) + self.n_probes
        if need > len(lm_probe.QA_PAIRS):
            raise ValueError(
                f"max(n_max_turns, inject_turns) + n_probes = {need} exceeds the "
                f"{len(lm_probe.QA_PAIRS)} built-in question/answer pairs; lower one of them"
            )
        return self

    def spec(self) -> lm_probe.ProbeSpec:
        inject_m = _powers_of_two_grid(self.inject_turns, start=1) if self.inject_turns else ()
        return lm_probe.ProbeSpec(
            n_grid=_half_octave_grid(self.n_max_turns),
            windows=self.windows,
            n_probes=self.n_probes,
            inject_turns=self.inject_turns,
            inject_m=inject_m,
            inject_window=min(self.windows) if inject_m else 0,
            window_unit=self.window_unit,
            pinned=self.pinned,
            persona=self.persona,
            ignore_window=self.ignore_window,
        )


def lm_window_plateau_experiment(cfg: LmWindowPlateauConfig, seed: int) -> pd.DataFrame:
    """Teacher-forced probe (``lm_probe.run_probe``); raises ``LMUnavailableError`` (a ClaimSkipped naming
    the wheel to install) when the SmolLM2 GGUF is absent. The model is loaded once per process."""
    lm = lm_probe.load_smollm2(None if cfg.device == "auto" else cfg.device)
    return lm_probe.run_probe(lm, cfg.spec(), seed)


# ================================================================================== transformer
class TransformerWindowPlateauConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, le=1, description="waluigi hazard per step")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi")
    n_neutral: int = Field(2, ge=1, le=8, description="neutral tokens (alphabet = neutral + 1 revealing)")
    context: int = Field(24, ge=4, le=128, description="K: training context in tokens")
    d_model: int = Field(32, ge=8, le=256, description="transformer width")
    n_layers: int = Field(2, ge=1, le=8, description="transformer blocks")
    steps: int = Field(450, ge=10, le=100_000, description="training steps (fresh documents each)")
    batch: int = Field(128, ge=8, le=4096, description="documents per step")
    survival_windows: tuple[int, ...] = Field(
        (4, 16), min_length=1, max_length=8, description="rollout windows k <= context"
    )
    rollout_steps: int = Field(96, ge=8, le=2048, description="generated tokens per rollout")
    n_traj: int = Field(128, ge=8, le=100_000, description="rollout trajectories per window")

    @model_validator(mode="after")
    def _windows_fit(self) -> TransformerWindowPlateauConfig:
        bad = [k for k in self.survival_windows if not 1 <= k <= self.context]
        if bad:
            raise ValueError(f"survival_windows {bad} must lie in 1..context={self.context}")
        if self.d_model % 2:
            raise ValueError("d_model must be even (2 attention heads)")
        return self

    def plateau_ks(self) -> tuple[int, ...]:
        return tuple(
            sorted({1, 2, self.context} | {2**i for i in range(2, 8) if 2**i < self.context} | {self.context * 3 // 4})
        )


def transformer_window_plateau_experiment(
    cfg: TransformerWindowPlateauConfig, seed: int, progress=None
) -> pd.DataFrame:
    """Train on the source, then: plateau rows (k, p_model, p_bayes), survival rows per rollout
    window (t, s_model, s_bayes, hazard_model, hazard_bayes) and one train row (kl, final loss).
    No wall-clock time in the table (the runner records each cell's time itself)."""
    from aflab.waluigi import transformer as tf

    mix = tf.persona_source(cfg.h, cfg.p_waluigi, cfg.n_neutral)
    spec = tf.TransformerSpec(
        context=cfg.context, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=2, steps=cfg.steps, batch=cfg.batch
    )
    trained = tf.train_on_mixture(mix, spec, seed, progress=progress)
    rng = np.random.default_rng([seed, 1])
    rows = tf.plateau_rows(trained, cfg.plateau_ks(), 64, rng)
    for k in cfg.survival_windows:
        t, s_model, s_bayes, hazard = tf.windowed_survival(trained, k, cfg.rollout_steps, cfg.n_traj, rng)
        eps = np.array([tf.bayes_floor(mix, j) for j in range(k + 1)])
        hazard_bayes = np.concatenate([eps[np.minimum(np.arange(cfg.rollout_steps), k)], [np.nan]])
        rows += [
            dict(
                kind="survival",
                k=int(k),
                t=int(ti),
                s_model=float(sm),
                s_bayes=float(sb),
                hazard_model=float(hm),
                hazard_bayes=float(hb),
            )
            for ti, sm, sb, hm, hb in zip(t, s_model, s_bayes, np.append(hazard, np.nan), hazard_bayes)
        ]
    kl, kl_se = tf.kl_to_bayes(trained, 256, rng)
    rows.append(
        dict(
            kind="train",
            kl=kl,
            kl_se=kl_se,
            final_loss=float(trained.losses[-max(1, cfg.steps // 10) :].mean()),
        )
    )
    return pd.DataFrame(rows)


# ============================================================================ SmolLM2 conversations (shared)
class _ConversationConfig(ClaimConfig):
    """What the two sampled-conversation claims share: the seeded prefix, the early/late split, sampling.

    Subclasses define ``n_turns``; the questions are drawn without replacement from the built-in bank."""

    n_seed_turns: int = Field(4, ge=0, le=16, description="teacher-forced persona-consistent turns after the prompt")
    late_from: int = Field(3, ge=2, le=64, description="first turn of the 'late' region (earlier turns are 'early')")
    temperature: float = Field(0.7, gt=0, le=2, description="sampling temperature (no top-k / top-p)")
    persona: Literal["lowercase", "banned-word"] = Field("lowercase", description="persona constraint and its checker")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="torch device; auto = cuda if available")

    @model_validator(mode="after")
    def _fits(self) -> _ConversationConfig:
        if self.n_seed_turns + self.n_turns > len(lm_probe.QA_PAIRS):
            raise ValueError(
                f"n_seed_turns + n_turns = {self.n_seed_turns + self.n_turns} exceeds the "
                f"{len(lm_probe.QA_PAIRS)} built-in questions; lower one of them"
            )
        if self.late_from > self.n_turns:
            raise ValueError(f"late_from={self.late_from} must be <= n_turns={self.n_turns}")
        return self


# ============================================================================ LM sampled transitions
class LmTransitionsConfig(_ConversationConfig):
    n_conversations: int = Field(24, ge=2, le=10_000, description="conversations per seed (each under every reader)")
    n_turns: int = Field(8, ge=2, le=68, description="sampled turns per conversation (stops at the first break)")
    windows: tuple[int, ...] = Field(
        (0, 64), min_length=2, max_length=6, description="readers: 0 = full context, k >= 16 = last k tokens"
    )
    max_new_tokens: int = Field(24, ge=4, le=256, description="longest sampled reply (tokens)")
    batch: int = Field(24, ge=1, le=1024, description="conversations per batch (larger: faster per token)")
    ignore_window: bool = Field(False, description="mutation: every windowed reader sees the full context")

    @field_validator("windows")
    @classmethod
    def _windows_ok(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if 0 not in v or any(0 < k < 16 for k in v) or any(k < 0 for k in v):
            raise ValueError("windows must hold 0 (the full-context reader) and windows k >= 16 tokens")
        return tuple(sorted(set(v)))

    def spec(self):
        from aflab.waluigi.lm_sampling import TransitionSpec

        return TransitionSpec(
            n_conversations=self.n_conversations,
            n_turns=self.n_turns,
            windows=self.windows,
            n_seed_turns=self.n_seed_turns,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            persona=self.persona,
            batch=self.batch,
            ignore_window=self.ignore_window,
        )


def lm_transitions_experiment(cfg: LmTransitionsConfig, seed: int) -> pd.DataFrame:
    """Sampled conversations under every reader (``lm_sampling.run_transitions``); one row per sampled turn."""
    from aflab.waluigi import lm_sampling

    lm = lm_probe.load_smollm2(None if cfg.device == "auto" else cfg.device)
    return lm_sampling.run_transitions(lm, cfg.spec(), seed)


# ============================================================================ LM hazard decay (redrawn turns)
class LmHazardDecayConfig(_ConversationConfig):
    n_conversations: int = Field(10, ge=2, le=10_000, description="conversations per seed (all measured every turn)")
    n_turns: int = Field(6, ge=2, le=68, description="sampled turns per conversation (no conversation stops)")
    draws: int = Field(4, ge=2, le=64, description="replies drawn per turn from the same history (m)")
    window: int = Field(0, ge=0, description="reader: 0 = full context, k >= 16 = the last k tokens (whole turns)")
    max_new_tokens: int = Field(20, ge=4, le=256, description="longest sampled reply (tokens)")
    batch: int = Field(10, ge=1, le=1024, description="conversations per batch (each holds `draws` cache rows)")
    keep_broken: bool = Field(False, description="mutation: continue with a broken draw (evidence for the waluigi)")

    @field_validator("window")
    @classmethod
    def _window_ok(cls, v: int) -> int:
        if 0 < v < 16:
            raise ValueError("window must be 0 (the full-context reader) or k >= 16 tokens")
        return v

    def spec(self):
        from aflab.waluigi.lm_resampling import RedrawSpec

        return RedrawSpec(**self.model_dump(exclude={"late_from", "device"}))


def lm_hazard_decay_experiment(cfg: LmHazardDecayConfig, seed: int) -> pd.DataFrame:
    """``draws`` replies per turn, every conversation every turn (``lm_resampling.run_redraws``); one row a draw."""
    from aflab.waluigi import lm_resampling

    lm = lm_probe.load_smollm2(None if cfg.device == "auto" else cfg.device)
    return lm_resampling.run_redraws(lm, cfg.spec(), seed)


# ============================================================================ transformer beyond its context
class TransformerBeyondContextConfig(ClaimConfig):
    h: float = Field(0.1, gt=0, lt=1, description="waluigi hazard per step")
    p_waluigi: float = Field(0.5, gt=0, lt=1, description="prior weight of the waluigi")
    n_neutral: int = Field(2, ge=1, le=8, description="neutral tokens (alphabet = neutral + 1 revealing)")
    windows: tuple[int, ...] = Field((8,), min_length=1, max_length=4, description="reader windows w (<= 128)")
    doc_len: int = Field(256, ge=32, le=4096, description="L: training document length (long: L >> w)")
    d_model: int = Field(32, ge=8, le=256, description="transformer width")
    n_layers: int = Field(2, ge=1, le=8, description="transformer blocks")
    steps: int = Field(600, ge=5, le=100_000, description="training steps (fresh chunks each)")
    batch: int = Field(256, ge=8, le=4096, description="chunks per step")
    p_start: float = Field(0.1, ge=0, le=1, description="share of chunks cut at a document start (with BOS)")
    n_traj: int = Field(256, ge=8, le=100_000, description="rollout trajectories")
    gen_factor: int = Field(2, ge=2, le=16, description="rollouts run to gen_factor x L tokens; floor = mean over L..")
    full_attention_len: int = Field(
        0, ge=0, le=1024, description="> 0: also train a full-attention net on documents of this length (side by side)"
    )
    full_attention_steps: int = Field(450, ge=5, le=100_000, description="training steps of the full-attention net")

    @field_validator("windows")
    @classmethod
    def _windows_ok(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 2 <= w <= 128 for w in v):
            raise ValueError("each window w must lie in 2..128")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _long_docs(self) -> TransformerBeyondContextConfig:
        if self.doc_len <= 2 * max(self.windows):
            raise ValueError(f"doc_len={self.doc_len} must exceed 2 x the largest window (train on long documents)")
        if self.d_model % 2:
            raise ValueError("d_model must be even (2 attention heads)")
        if self.full_attention_len and self.full_attention_len <= max(self.windows):
            raise ValueError("full_attention_len must exceed the largest window (or be 0: no side-by-side net)")
        return self


def transformer_beyond_context_experiment(cfg: TransformerBeyondContextConfig, seed: int) -> pd.DataFrame:
    """Per window w: a net with context w trained on chunks of L-token documents, rolled out to gen_factor x L
    tokens reading its bare last w tokens; its floor (mean hazard over t >= L) vs the position-averaged Bayes
    floor eps_w^train and the document-start floor eps_w. Optionally a full-attention net trained on whole
    documents, run through a window read as a fresh document (BOS + last w tokens), side by side."""
    from aflab.waluigi import transformer as tf

    mix = tf.persona_source(cfg.h, cfg.p_waluigi, cfg.n_neutral)
    rows = []
    steps = cfg.gen_factor * cfg.doc_len
    for w in cfg.windows:
        spec = tf.TransformerSpec(
            context=w, d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=2, steps=cfg.steps, batch=cfg.batch
        )
        net = tf.train_on_chunks(mix, spec, cfg.doc_len, seed, cfg.p_start)
        rng = np.random.default_rng([seed, w])
        haz = tf.rollout_hazard(lambda x: tf.raw_predictive(net, x), mix, w, steps, cfg.n_traj, rng, False)
        rows += _beyond_row(cfg, mix, "chunked", w, haz, float(net.losses[-max(1, cfg.steps // 10) :].mean()))
        if cfg.full_attention_len:
            spec_f = tf.TransformerSpec(
                context=cfg.full_attention_len,
                d_model=cfg.d_model,
                n_layers=cfg.n_layers,
                n_heads=2,
                steps=cfg.full_attention_steps,
                batch=max(8, cfg.batch // 4),
            )
            full = tf.train_on_mixture(mix, spec_f, seed)
            haz_f = tf.rollout_hazard(lambda x: tf.raw_predictive(full, x), mix, w, steps, cfg.n_traj, rng, True)
            rows += _beyond_row(cfg, mix, "full-attention", w, haz_f, float(full.losses[-10:].mean()))
    return pd.DataFrame(rows)


def _beyond_row(cfg: TransformerBeyondContextConfig, mix, model: str, w: int, haz: np.ndarray, loss: float) -> list:
    """One floor row (mean hazard over t >= L, and over w <= t < L) and the hazard curve (64 points)."""
    from aflab.waluigi import transformer as tf

    floor = dict(
        part="floor",
        model=model,
        w=int(w),
        floor_model=float(haz[cfg.doc_len :].mean()),
        floor_model_early=float(haz[w : cfg.doc_len].mean()),
        eps_train=tf.position_averaged_floor(cfg.h, cfg.p_waluigi, w, cfg.doc_len),
        eps_start=tf.bayes_floor(mix, w),
        final_loss=loss,
    )
    ts = np.unique(np.linspace(0, len(haz) - 1, 64).astype(int))
    return [floor] + [dict(part="curve", model=model, w=int(w), t=int(t), hazard=float(haz[t])) for t in ts]
