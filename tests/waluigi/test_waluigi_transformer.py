"""Tests of the trained-transformer comparison (aflab.waluigi.transformer, claim transformer-window-plateau).

References are independent of the code under test: the closed form of the windowed floor, a direct
Monte Carlo of windowed Bayes generation, and an "oracle net" that *is* the Bayes reader (every
model-vs-Bayes statistic must then be exact).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from aflab.waluigi import transformer as tf  # noqa: E402
from aflab.waluigi.claims_ml import TRANSFORMER_CLAIM, transformer_window_plateau_verdict  # noqa: E402
from aflab.waluigi.model import bayes_predictive  # noqa: E402


def closed_form_floor(h: float, w: float, k: int) -> float:
    """P(revealing | k neutral tokens) for luigi (delta=0) + waluigi(h, r=1) with prior weight w.

    The window is luigi-consistent iff the waluigi has not defected in k steps (prob (1-h)^k); the
    next token reveals iff it defects now (h). Neutral identities cancel (uniform in every state).
    """
    masked = w * (1 - h) ** k
    return masked * h / (masked + (1 - w))


@settings(max_examples=25, deadline=None)
@given(h=st.floats(0.01, 0.9), w=st.floats(0.05, 0.95), k=st.integers(0, 30), n_neutral=st.integers(1, 3))
def test_bayes_floor_matches_closed_form(h, w, k, n_neutral):
    mix = tf.persona_source(h, w, n_neutral)
    assert tf.bayes_floor(mix, k) == pytest.approx(closed_form_floor(h, w, k), rel=1e-9)


def test_floor_is_the_same_for_every_neutral_window():
    mix = tf.persona_source(0.1, 0.5, 3)
    rng = np.random.default_rng(0)
    for k in (1, 5, 12):
        w = tf.neutral_windows(mix, 50, k, rng)
        p = bayes_predictive(mix, w)[:, list(mix.alphabet.revealing)].sum(axis=1)
        np.testing.assert_allclose(p, tf.bayes_floor(mix, k), rtol=1e-10)


class OracleNet(torch.nn.Module):
    """A 'net' whose logits are log of the exact Bayes predictive: the ideal windowed reader."""

    def __init__(self, mixture):
        super().__init__()
        self.mixture = mixture

    def forward(self, idx):
        seq = idx[:, 1:].numpy()  # drop BOS
        B, T = seq.shape
        out = np.empty((B, T + 1, self.mixture.alphabet.size))
        for j in range(T + 1):
            w = seq[:, :j] if j else np.full((B, 1), -1)
            out[:, j] = bayes_predictive(self.mixture, w)
        return torch.as_tensor(np.log(np.maximum(out, 1e-300)))


@pytest.fixture(scope="module")
def oracle():
    mix = tf.persona_source(0.15, 0.5, 2)
    spec = tf.TransformerSpec(context=12, steps=1)
    return tf.TrainedModel(OracleNet(mix), mix, spec, np.zeros(1), 0.0)


def test_oracle_reader_survival_is_exact_and_matches_direct_monte_carlo(oracle):
    """S_bayes (product formula) == the importance-weighted estimator on the oracle, and both agree
    with a direct simulation of windowed Bayes generation (sample, feed back, stop at a reveal)."""
    k, steps = 4, 30
    _t, s_model, s_bayes, hazard = tf.windowed_survival(oracle, k, steps, 64, np.random.default_rng(1))
    np.testing.assert_allclose(s_model, s_bayes, rtol=1e-9)
    np.testing.assert_allclose(hazard[k:], tf.bayes_floor(oracle.mixture, k), rtol=1e-9)
    # direct Monte Carlo of the generation process, not using the survival code
    mix, n = oracle.mixture, 20000
    rng = np.random.default_rng(2)
    docs = np.zeros((n, steps), dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    surv = [1.0]
    for s in range(steps):
        w = docs[:, max(0, s - k) : s] if s else np.full((n, 1), -1)
        p = bayes_predictive(mix, w)
        u = rng.random(n)[:, None]
        docs[:, s] = (u >= np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)
        alive &= docs[:, s] != mix.alphabet.revealing[0]
        surv.append(alive.mean())
    surv = np.asarray(surv)
    se = np.sqrt(s_bayes * (1 - s_bayes) / n) + 1e-12
    assert np.all(np.abs(surv - s_bayes) <= 4 * se + 1e-9)


def test_oracle_has_zero_kl_and_unit_ratios(oracle):
    kl, _se = tf.kl_to_bayes(oracle, 64, np.random.default_rng(3))
    assert abs(kl) < 1e-9
    rows = tf.plateau_rows(oracle, [1, 4, 12], 16, np.random.default_rng(4))
    for r in rows:
        assert r["p_model"] == pytest.approx(r["p_bayes"], rel=1e-9)


def test_windowed_hazard_floor_is_positive_and_below_the_unbounded_reader():
    """Window k keeps the hazard at eps_k > 0; a reader that remembers t >> k tokens goes lower."""
    mix = tf.persona_source(0.1, 0.5, 2)
    eps = [tf.bayes_floor(mix, k) for k in (4, 16, 64, 256)]
    assert all(e > 0 for e in eps)
    assert all(a > b for a, b in itertools.pairwise(eps))


def test_trained_transformer_reproduces_the_floor_quick_preset():
    """The claim's quick preset, end to end for one seed: a 2-layer d=32 net, 450 steps (~10 s on one thread)."""
    cfg = TRANSFORMER_CLAIM.make_config("quick")
    table = TRANSFORMER_CLAIM.experiment(cfg, 0).assign(seed=0)
    assert set(table["kind"]) == {"plateau", "survival", "train"}
    v = TRANSFORMER_CLAIM.verdict(cfg, table)
    # one seed: the t-interval over seeds is unbounded, so nothing is decided ...
    assert v.label == "inconclusive"
    # ... but the seed's own worst ratio is within the factor 2
    assert v.headline.interval.estimate < np.log(2), v.reason
    assert v.numbers["kl_to_bayes_nats"] < 5e-3
    # the test is discriminating: the floor spans more than the factor-2 tolerance over k
    assert v.numbers["floor_range_eps1_over_epsK"] > 4
    figs = TRANSFORMER_CLAIM.figures(cfg, table)
    assert set(figs) == {"transformer_plateau", "transformer_survival"}


def test_an_untrained_net_is_refuted():
    """The verdict can come out refuted: 10 steps leave the net far from eps_k (3 seeds)."""
    cfg = TRANSFORMER_CLAIM.make_config("smoke", TRANSFORMER_CLAIM.counterfactual.overrides)
    table = pd.concat([TRANSFORMER_CLAIM.experiment(cfg, s).assign(seed=s) for s in range(3)], ignore_index=True)
    assert TRANSFORMER_CLAIM.verdict(cfg, table).label == "refuted"
    # the experiment is a pure function of (cfg, seed)
    again = TRANSFORMER_CLAIM.experiment(cfg, 0).assign(seed=0)
    pd.testing.assert_frame_equal(table[table.seed == 0].reset_index(drop=True), again)


def test_verdict_on_synthetic_tables():
    cfg = TRANSFORMER_CLAIM.make_config("quick")

    def table(ratio, seeds=(0, 1, 2)):
        frames = []
        for s in seeds:
            r = ratio * (1 + 0.01 * s)
            rows = [dict(kind="plateau", k=k, p_model=r * p, p_bayes=p) for k, p in ((1, 0.05), (8, 0.03), (24, 0.007))]
            rows += [
                dict(kind="survival", k=4, t=t, s_model=1.0, s_bayes=1.0, hazard_model=0.04 * r, hazard_bayes=0.04)
                for t in range(8)
            ]
            rows.append(dict(kind="train", kl=0.0, kl_se=0.0, final_loss=0.5))
            frames.append(pd.DataFrame(rows).assign(seed=s))
        return pd.concat(frames, ignore_index=True)

    assert transformer_window_plateau_verdict(cfg, table(1.8)).label == "supported"
    assert transformer_window_plateau_verdict(cfg, table(2.3)).label == "refuted"
    assert transformer_window_plateau_verdict(cfg, table(0.4)).label == "refuted"
    assert transformer_window_plateau_verdict(cfg, table(1.5, seeds=(0,))).label == "inconclusive"


def test_bad_input_is_rejected_with_clear_errors(oracle):
    with pytest.raises(ValueError, match="d_model"):
        tf.TransformerSpec(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="context"):
        tf.TransformerSpec(context=0)
    with pytest.raises(ValueError, match="context K"):
        tf.model_predictive(oracle, np.zeros((1, 13), dtype=np.int64))
    with pytest.raises(ValueError, match="alphabet mismatch"):
        tf.model_predictive(oracle, np.full((1, 3), 7))
    with pytest.raises(ValueError, match="window k"):
        tf.windowed_survival(oracle, 13, 5, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="survival_windows"):
        TRANSFORMER_CLAIM.make_config("quick", {"survival_windows": (40,)})
    with pytest.raises(ValueError, match="h"):
        TRANSFORMER_CLAIM.make_config("quick", {"h": 0.0})


def test_cli_train_runs_and_rejects_bad_input(tmp_path):
    from typer.testing import CliRunner

    from aflab.waluigi.cli_ml import app

    runner = CliRunner()
    ok = runner.invoke(app, ["train", "--steps", "15", "--windows", "4", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "verdict:" in ok.output and (tmp_path / "waluigi_transformer_plateau.png").exists()
    bad = runner.invoke(app, ["train", "--windows", "4,99"])
    assert bad.exit_code == 2 and "survival_windows" in bad.output


# ----------------------------------------------------------------------------- beyond the context
def test_position_averaged_floor_vs_direct_count_on_sampled_documents():
    """eps_w^train against an independent count: windows of w neutral tokens cut at uniform positions of sampled
    L-token documents, and how often the next token reveals."""
    h, p, w, L = 0.1, 0.9, 4, 48
    mix = tf.persona_source(h, p, 2)
    rng = np.random.default_rng(0)
    docs = tf.sample_documents(mix, 200_000, L, rng)
    rev = mix.alphabet.revealing[0]
    end = rng.integers(w, L, size=len(docs))  # one window per document (independent trials): tokens end-w..end-1
    window = np.take_along_axis(docs, end[:, None] - w + np.arange(w)[None, :], axis=1)
    clean = (window != rev).all(axis=1)
    n = int(clean.sum())
    hits = int((clean & (docs[np.arange(len(docs)), end] == rev)).sum())
    ref = tf.position_averaged_floor(h, p, w, L)
    assert abs(hits / n - ref) <= 4 * np.sqrt(ref * (1 - ref) / n)
    assert ref < tf.bayes_floor(mix, w) / 1.4  # well below the document-start reading (1.5x here)


def test_chunk_batches_mark_document_starts_only():
    mix = tf.persona_source(0.1, 0.5, 2)
    inputs, targets = tf.chunk_batch(mix, 400, 6, 40, 0.25, np.random.default_rng(1))
    V = mix.alphabet.size
    starts = inputs[:, 0] == V
    assert 0.15 < starts.mean() < 0.35 and not (inputs[:, 1:] == V).any()
    np.testing.assert_array_equal(inputs[starts, 1:], targets[starts, :-1])  # a start chunk is shifted by BOS
    np.testing.assert_array_equal(inputs[~starts, 1:], targets[~starts, :-1])


def test_chunk_trained_net_floor_lies_in_the_band_beyond_its_training_length():
    """Small size: w = 4, L = 48, generated to 2L; the floor is within [0.8, 1.25] of eps_w^train."""
    from aflab.waluigi.claims_ml import BEYOND_CLAIM

    cfg = BEYOND_CLAIM.make_config(
        "quick", {"windows": (4,), "doc_len": 48, "steps": 300, "batch": 256, "n_traj": 128, "d_model": 16}
    )
    table = pd.concat([BEYOND_CLAIM.experiment(cfg, s).assign(seed=s) for s in range(3)], ignore_index=True)
    f = table[table.part == "floor"]
    ratios = (f.floor_model / f.eps_train).to_numpy()
    assert np.all((ratios > 0.8) & (ratios < 1.25)), ratios
    assert np.all(f.floor_model < 0.8 * f.eps_start)  # not the document-start floor
    assert BEYOND_CLAIM.verdict(cfg, table).label == "supported"
