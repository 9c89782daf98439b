"""Claims: the laziness slopes on a small sweep, verdict logic (incl. refutation), configs, data."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from aflab.core import ConfigError, get_claim
from aflab.path_dependence import data
from aflab.path_dependence.experiments import width_sweep
from aflab.path_dependence.theory import band_label, combine_labels, loglog_slope

torch.set_num_threads(1)
IDS = [
    "laziness-theory",
    "d1-vanishes-with-width",
    "d2-data-scaling-preserves",
    "d3-large-nets-hedge",
    "t1-first-shard-starves",
    "t2-early-shard-survives",
    "sd-reduces-starvation",
]


def test_laziness_slopes_on_a_small_quick_sweep():
    """Theory (Yang & Hu 2021): NTK feature change ~ n^-1/2, muP ~ n^0 after a fixed step budget."""
    t = width_sweep(
        (64, 128, 256, 512, 1024), ("ntk", "mup"), seed=0, dataset="digits", n_pairs=1, steps=100, steps_early=50
    )
    t = t[t.budget == "final"]
    ntk = loglog_slope(t[t.parametrization == "ntk"], "feature_change")["slope"]
    mup = loglog_slope(t[t.parametrization == "mup"], "feature_change")["slope"]
    assert -0.65 <= ntk <= -0.35, ntk
    assert abs(mup) < 0.15, mup


def test_cnn_laziness_slopes_on_a_small_sweep():
    """The same exponents for a 1-D CNN on MNIST-1D with width = channels (fan-in = channels x kernel)."""
    from aflab.path_dependence.experiments import laziness_sweep

    t = laziness_sweep(
        (16, 32, 64, 128, 256),
        ("ntk", "mup"),
        seed=0,
        dataset="mnist1d",
        arch="cnn",
        members=4,
        n_hidden=1,
        base_width=16,
        lr=0.2,
        steps=60,
        probe=128,
    )
    ntk = loglog_slope(t[t.parametrization == "ntk"], "feature_change")["slope"]
    mup = loglog_slope(t[t.parametrization == "mup"], "feature_change")["slope"]
    assert -0.65 <= ntk <= -0.35, ntk
    assert abs(mup) < 0.15, mup


def test_loglog_slope_ci_has_its_nominal_coverage():
    """Over 200 simulated 3-seed sweeps of a noisy n^-1/2 law, the 95% t-interval covers -1/2 ~95% of the time."""
    w = np.array([64, 128, 256, 512])
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        t = pd.DataFrame({"seed": np.repeat(np.arange(3), len(w)), "width": np.tile(w, 3)})
        t["m"] = 3 * t.width**-0.5 * np.exp(rng.normal(0, 0.1, len(t)))
        s = loglog_slope(t, "m")
        hits += s["ci_low"] < -0.5 < s["ci_high"]
    assert 0.88 <= hits / 200 <= 0.995
    single = loglog_slope(t[t.seed == 0].drop(columns="seed"), "m")
    assert single["n_seeds"] == 1 and single["ci_low"] < single["slope"] < single["ci_high"]


def test_band_and_combine_labels():
    assert band_label(-0.55, -0.45, -0.65, -0.35) == "supported"
    assert band_label(-0.1, 0.1, -0.65, -0.35) == "refuted"
    assert band_label(-0.5, -0.2, -0.65, -0.35) == "inconclusive"
    assert combine_labels({"a": "supported", "b": "supported"}) == "supported"
    assert combine_labels({"a": "supported", "b": "refuted"}) == "refuted"
    assert combine_labels({"a": "supported", "b": "inconclusive"}) == "inconclusive"


def _fake_sweep(slope_by_param: dict, metric: str, extra: dict | None = None) -> pd.DataFrame:
    rows = []
    for p, s in slope_by_param.items():
        for seed in range(3):
            for w in (64, 256, 1024):
                rows.append(
                    dict(
                        seed=seed,
                        width=w,
                        parametrization=p,
                        budget="final",
                        diverged=False,
                        manipulation="order",
                        **{metric: 0.5 * (w / 64) ** s * (1 + 0.01 * seed)},
                        **(extra or {}),
                    )
                )
    return pd.DataFrame(rows)


def test_verdicts_can_come_out_refuted_and_supported():
    lazy = get_claim("path_dependence.laziness-theory")
    cfg = lazy.make_config("quick")
    assert lazy.verdict(cfg, _fake_sweep({"ntk": -0.5, "mup": 0.0}, "feature_change")).label == "supported"
    assert lazy.verdict(cfg, _fake_sweep({"ntk": 0.0, "mup": 0.0}, "feature_change")).label == "refuted"
    good = _fake_sweep({"ntk": -0.5, "mup": 0.0}, "feature_change", {"arch": "mlp"})
    frozen_cnn = _fake_sweep({"ntk": -0.5, "mup": -0.5}, "feature_change", {"arch": "cnn"})  # muP CNN lazy
    v = lazy.verdict(cfg, pd.concat([good, frozen_cnn]))
    assert v.label == "refuted" and v.numbers["cnn_mup_label"] == -1 and v.numbers["mup_label"] == 1
    d1 = get_claim("path_dependence.d1-vanishes-with-width")
    cfg = d1.make_config("quick")
    table = pd.concat(
        [_fake_sweep({"ntk": -1.0, "mup": -0.8}, "tv_distance").assign(budget=b) for b in ("early", "final")]
    )
    assert d1.verdict(cfg, table).label == "supported"
    table = pd.concat(
        [_fake_sweep({"ntk": -1.0, "mup": 0.0}, "tv_distance").assign(budget=b) for b in ("early", "final")]
    )
    assert d1.verdict(cfg, table).label == "refuted"
    d2 = get_claim("path_dependence.d2-data-scaling-preserves")
    assert d2.verdict(d2.make_config("quick"), table[table.parametrization == "mup"]).label == "supported"
    t2 = get_claim("path_dependence.t2-early-shard-survives")
    rows = [
        dict(
            seed=s,
            width=w,
            parametrization="ntk",
            schedule=sch,
            rep=0,
            budget="final",
            follow_hard=0.1,
            follow_easy=0.1,
        )
        for s in range(3)
        for w in (64, 512)
        for sch in ("hard_only", "hard_first", "easy_first")
    ]
    rows[0]["follow_hard"] = 0.12
    assert t2.verdict(t2.make_config("quick"), pd.DataFrame(rows)).label == "refuted"


def test_sd_verdict_is_refuted_when_losses_starve_equally():
    claim = get_claim("path_dependence.sd-reduces-starvation")
    cfg = claim.make_config("quick")
    rows = []
    for seed in range(3):
        for w in (64, 512):
            for loss in ("ce", "sd"):
                for sched, acc in (("hard_only", 0.95), ("easy_first", 0.6 + 0.01 * seed)):
                    rows.append(
                        dict(
                            seed=seed,
                            parametrization="mup",
                            width=w,
                            rep=0,
                            loss=loss,
                            budget="final",
                            schedule=sched,
                            hard_only_acc=acc,
                            chance=0.1,
                            scavenging=0.0,
                            follow_easy=0.9,
                        )
                    )
    table = pd.DataFrame(rows)
    assert claim.verdict(cfg, table).label == "refuted"
    better = table.copy()
    better.loc[(better.loss == "sd") & (better.schedule == "easy_first"), "hard_only_acc"] = 0.9
    v = claim.verdict(cfg, better)
    assert v.label == "supported" and v.numbers["mup_starvation_ce"] == pytest.approx(1 - 0.51 / 0.85, abs=0.02)


@pytest.mark.parametrize("slug", IDS)
def test_each_claim_runs_end_to_end_on_a_tiny_config(slug):
    claim = get_claim(f"path_dependence.{slug}")
    tiny = {"widths": (16, 32), "base_width": 16, "steps": 24}
    if "steps_early" in claim.config.model_fields:
        tiny["steps_early"] = 8
    if slug == "laziness-theory":  # a tiny 2-conv CNN too (the full preset's CNN depth)
        tiny.update(parametrizations=("ntk", "mup"), cnn_widths=(4, 8), cnn_n_hidden=2, cnn_steps=6, ntk_probe=3)
    if slug == "d1-vanishes-with-width":  # the manipulations no other test trains
        tiny.update(
            parametrizations=("ntk", "mup"),
            manipulations=("perturb", "curriculum"),
            perturb_step=10,
            curriculum_steps=8,
        )
    cfg = claim.make_config("quick", tiny)
    table = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in (0, 1)])
    assert len(table) and all(table[c].dtype != object or table[c].map(type).eq(str).all() for c in table)
    table.to_parquet(io.BytesIO())  # the store's format
    v = claim.verdict(cfg, table)
    assert v.label in ("supported", "refuted", "inconclusive") and v.numbers
    figs = claim.figures(cfg, table)
    assert figs and all(isinstance(f, Figure) for f in figs.values())


def test_experiment_is_a_pure_function_of_config_and_seed():
    claim = get_claim("path_dependence.t2-early-shard-survives")
    cfg = claim.make_config("quick", {"widths": (16, 32), "base_width": 16, "steps": 12})
    pd.testing.assert_frame_equal(claim.experiment(cfg, 5), claim.experiment(cfg, 5))


def test_bad_config_values_name_the_field():
    claim = get_claim("path_dependence.d1-vanishes-with-width")
    with pytest.raises(ConfigError, match="parametrizations"):
        claim.make_config("quick", {"parametrizations": ("ntk", "bogus")})
    with pytest.raises(ConfigError, match="widths"):
        claim.make_config("quick", {"widths": (64,)})
    with pytest.raises(ConfigError, match="manipulations"):
        claim.make_config("quick", {"manipulations": ("shuffle",)})
    shard = get_claim("path_dependence.t1-first-shard-starves")
    with pytest.raises(ConfigError, match="schedules"):
        shard.make_config("quick", {"schedules": ("both",)})


def test_mnist1d_is_generated_offline_and_leaves_global_rng_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    d = data.mnist1d(num_samples=200, seed=1)
    assert np.array_equal(np.random.get_state()[1], before)
    assert d.x.shape == (160, 40) and d.x_test.shape == (40, 40) and set(d.y.tolist()) <= set(range(10))


def test_slab_data_easy_coordinate_linear_hard_coordinate_not():
    from sklearn.linear_model import LogisticRegression

    d = data.slab(2000, 1000, seed=0)
    for col, lo, hi in ((0, 0.99, 1.0), (1, 0.0, 0.7)):
        clf = LogisticRegression().fit(d.x[:, [col]].numpy(), d.y.numpy())
        acc = clf.score(d.x_test[:, [col]].numpy(), d.y_test.numpy())
        assert lo <= acc <= hi, (col, acc)
    # ... yet the hard coordinate is fully predictive: a tree on x1 alone finds the 5 bands
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(min_samples_leaf=20, random_state=0).fit(d.x[:, [1]].numpy(), d.y.numpy())
    assert tree.score(d.x_test[:, [1]].numpy(), d.y_test.numpy()) > 0.97
    assert torch.equal(d.x[:, -1], torch.ones(len(d.y)))  # the bias input of the bias-free nets


def test_slab_shard_hard_feature_is_learned_alone_and_starved_next_to_the_easy_one():
    """Shah et al. 2020 (simplicity bias): a net learns the 5-slab alone, but next to the linear slab it
    relies on the linear one only (hard-only accuracy near chance). The control needs the bias column."""
    from aflab.path_dependence.experiments import shard_point

    task = data.slab_shard_task(0)
    assert (task.mask(False, True)[-1] == 1) and (task.mask(True, False)[0] == 0)
    rows = pd.DataFrame(
        shard_point(
            width=128, parametrization="mup", seed=0, schedules=("hard_only", "both"), reps=1, steps=1000, task="slab"
        )
    )
    fin = rows[rows.budget == "final"].set_index("schedule")
    assert fin.loc["hard_only", "hard_only_acc"] > 0.9
    assert fin.loc["both", "acc"] > 0.99 and fin.loc["both", "hard_only_acc"] < 0.7
