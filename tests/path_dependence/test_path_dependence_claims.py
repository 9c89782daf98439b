"""Claims: the laziness slopes on a small sweep, verdict logic (incl. refutation), configs, data."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from aflab.core import ConfigError, get_claim
from aflab.path_dependence import data
from aflab.path_dependence.claims import vanish_category
from aflab.path_dependence.experiments import laziness_sweep
from aflab.path_dependence.theory import width_slope

torch.set_num_threads(1)
IDS = [
    "laziness-theory",
    "d1-vanishes-with-width",
    "d2-data-scaling-preserves",
    "d3-large-nets-hedge",
    "t1-first-shard-starves",
    "t2-early-shard-survives",
    "sd-reduces-starvation",
    "linearization-gap",
    "lr-transfer",
]


def test_laziness_slopes_on_a_small_quick_sweep():
    """Theory (Yang & Hu 2021): NTK feature change ~ n^-1/2, muP ~ n^0 after a fixed step budget."""
    t = laziness_sweep((64, 128, 256, 512, 1024), ("ntk", "mup"), seed=0, dataset="digits", members=2, steps=10)
    ntk = width_slope(t[t.parametrization == "ntk"], "feature_change").estimate
    mup = width_slope(t[t.parametrization == "mup"], "feature_change").estimate
    assert -0.6 <= ntk <= -0.4, ntk
    assert abs(mup) < 0.1, mup


def test_wrong_mup_readout_init_refutes_the_laziness_claim():
    """The mutation of issue 13: muP with readout std 1/sqrt(n) (not sqrt(n0)/n) must come out refuted."""
    claim = get_claim("path_dependence.laziness-theory")
    cfg = claim.make_config("smoke", {"parametrizations": ("mup",)})
    right = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in range(3)])
    assert claim.verdict(cfg, right).label == "supported"
    bad = cfg.model_copy(update={"readout_init": "fan_in"})
    wrong = pd.concat([claim.experiment(bad, s).assign(seed=s) for s in range(3)])
    v = claim.verdict(bad, wrong)
    assert v.label == "refuted" and v.headline.interval.low > 0.1, v.reason


def test_cnn_laziness_slopes_on_a_small_sweep():
    """The same exponents for a 1-D CNN on MNIST-1D with width = channels (fan-in = channels x kernel)."""
    t = laziness_sweep(
        (16, 32, 64, 128),
        ("ntk", "mup"),
        seed=0,
        dataset="mnist1d",
        arch="cnn",
        members=2,
        n_hidden=1,
        base_width=16,
        lr=0.2,
        steps=20,
        probe=128,
    )
    ntk = width_slope(t[t.parametrization == "ntk"], "feature_change").estimate
    mup = width_slope(t[t.parametrization == "mup"], "feature_change").estimate
    assert -0.65 <= ntk <= -0.35, ntk
    assert abs(mup) < 0.15, mup


def test_width_slope_ci_has_its_nominal_coverage():
    """Over 200 simulated 3-seed sweeps of a noisy n^-1/2 law, the 95% t-interval covers -1/2 ~95% of the time;
    two rows per (seed, width) are averaged first, so they do not count as independent."""
    w = np.array([64, 128, 256, 512])
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        t = pd.DataFrame({"seed": np.repeat(np.arange(3), 2 * len(w)), "width": np.tile(np.repeat(w, 2), 3)})
        t["m"] = 3 * t.width**-0.5 * np.exp(rng.normal(0, 0.1, len(t)))
        s = width_slope(t, "m")
        hits += s.low < -0.5 < s.high
        assert s.n == 3
    assert 0.88 <= hits / 200 <= 0.995


def test_vanish_category_is_the_three_way_rule():
    from aflab.core.stats import Interval

    def iv(lo, hi):
        return Interval((lo + hi) / 2, lo, hi)

    assert vanish_category(iv(-0.6, -0.3)) == "vanishes"
    assert vanish_category(iv(-0.2, -0.05)) == "weaker than claimed"
    assert vanish_category(iv(-0.2, 0.1)) == "does not decrease"
    assert vanish_category(iv(0.1, 0.3)) == "does not decrease"
    assert vanish_category(iv(-0.4, -0.1)) == "undecided"


def _fake_sweep(slope_by_param: dict, metric: str, extra: dict | None = None, jitter: float = 0.0) -> pd.DataFrame:
    """Rows with a known log-log slope per parametrization; ``jitter`` moves seed k's slope by jitter * (k - 1)."""
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
                        ntk_distance=np.nan,
                        **{metric: 0.5 * (w / 64) ** (s + jitter * (seed - 1)) * (1 + 0.01 * seed)},
                        **({"arch": "mlp"} | (extra or {})),
                    )
                )
    return pd.DataFrame(rows)


def _fake_path(slopes: dict, budget_slope: float = 0.0, jitter: dict | None = None) -> pd.DataFrame:
    """A D1 table: converged slopes per parametrization (``jitter``: per-seed slope spread of some), a flat
    fixed-budget regime."""
    conv = pd.concat(
        [_fake_sweep({p: s}, "tv_distance", jitter=(jitter or {}).get(p, 0.0)) for p, s in slopes.items()]
    ).assign(regime="converged", converged=True)
    budget = _fake_sweep(dict.fromkeys(slopes, budget_slope), "tv_distance").assign(regime="budget", converged=True)
    return pd.concat([conv, budget]).assign(diagonal=True, train_loss=1e-3, step=100, n_train=1300, feature_change=0.1)


def test_verdicts_can_come_out_refuted_and_supported():
    lazy = get_claim("path_dependence.laziness-theory")
    cfg = lazy.make_config("quick", {"parametrizations": ("ntk", "mup")})
    assert lazy.verdict(cfg, _fake_sweep({"ntk": -0.5, "mup": 0.0}, "feature_change")).label == "supported"
    assert lazy.verdict(cfg, _fake_sweep({"ntk": 0.0, "mup": 0.0}, "feature_change")).label == "refuted"
    good = _fake_sweep({"ntk": -0.5, "mup": 0.0}, "feature_change")
    frozen_cnn = _fake_sweep({"ntk": -0.5, "mup": -0.5}, "feature_change", {"arch": "cnn"})  # muP CNN lazy
    v = lazy.verdict(cfg, pd.concat([good, frozen_cnn]))
    assert v.label == "refuted" and [d.label for d in v.decisions] == ["supported", "supported", "supported", "refuted"]
    d1 = get_claim("path_dependence.d1-vanishes-with-width")
    cfg = d1.make_config("quick", {"parametrizations": ("ntk", "mup"), "judged": ("ntk",)})
    assert d1.verdict(cfg, _fake_path({"ntk": -0.5, "mup": 0.0})).label == "supported"  # muP outside the premise
    weaker = d1.verdict(cfg, _fake_path({"ntk": -0.1, "mup": 0.0}))
    assert weaker.label == "inconclusive" and weaker.reason.startswith("weaker than claimed")
    assert d1.verdict(cfg, _fake_path({"ntk": 0.1, "mup": 0.0})).label == "refuted"
    # a pair that hit the step cap does not count toward the converged verdict
    table = _fake_path({"ntk": -0.5, "mup": 0.0})
    table.loc[(table.regime == "converged") & (table.width == 1024), "converged"] = False
    v = d1.verdict(cfg, table)
    assert v.numbers["converged_order_ntk_pairs_left_out"] == 3
    d2 = get_claim("path_dependence.d2-data-scaling-preserves")
    cfg2 = d2.make_config("quick", {"parametrizations": ("ntk",), "judged": ("ntk",)})
    assert d2.verdict(cfg2, _fake_path({"ntk": 0.0})).label == "supported"
    assert d2.verdict(cfg2, _fake_path({"ntk": -0.6})).label == "refuted"


def test_d1_laziness_decision_needs_the_lazy_net_to_fall_faster_than_mup():
    """The "because" of D1: slope(ntk) - slope(muP), paired by seed, must lie below 0."""
    d1 = get_claim("path_dependence.d1-vanishes-with-width")
    cfg = d1.make_config("quick", {"parametrizations": ("ntk", "mup"), "judged": ("ntk",)})
    same = d1.verdict(cfg, _fake_path({"ntk": -0.5, "mup": -0.5}, jitter={"mup": 0.05}))
    lazy = same.decisions[-1]
    assert len(same.decisions) == 2 and "minus muP" in lazy.threshold.statistic
    assert lazy.interval.low < 0 < lazy.interval.high and lazy.label == "inconclusive"
    assert same.label == "inconclusive" and same.decisions[0].label == "supported"  # vanishes, but not because lazy
    faster = d1.verdict(cfg, _fake_path({"ntk": -0.5, "mup": -0.1}, jitter={"mup": 0.05}))
    assert faster.label == "supported" and faster.decisions[-1].interval.estimate == pytest.approx(-0.4, abs=1e-6)
    slower = d1.verdict(cfg, _fake_path({"ntk": -0.5, "mup": -0.9}, jitter={"mup": 0.05}))
    assert slower.decisions[-1].label == "refuted" and slower.label == "refuted"
    # reported, not decisive: the slope over widths >= 4 x base (256, 1024 here)
    assert faster.numbers["converged_order_ntk_tv_slope_upper"] == pytest.approx(-0.5, abs=1e-6)
    assert "linearized model" in faster.reason
    # no muP in the config: no second decision
    only = d1.make_config("quick", {"parametrizations": ("ntk",), "judged": ("ntk",)})
    assert len(d1.verdict(only, _fake_path({"ntk": -0.5})).decisions) == 1


def _fake_shards(schedules, follow=None, starve=0.6, widths=(64, 512), params=("mup",)) -> pd.DataFrame:
    """A shard table in the converged and final regimes: the control reaches 0.9 hard-only accuracy, the judged
    schedules 0.1 + 0.8 (1 - starve) (+ a small seed effect); ``follow``: {schedule: (follow_hard, follow_easy)}."""
    rows = []
    for budget in ("converged", "final"):
        for p in params:
            for seed in range(3):
                for w in widths:
                    for sch in schedules:
                        acc = 0.9 if sch == "hard_only" else 0.1 + 0.8 * (1 - starve) + 0.01 * seed
                        fh, fe = (follow or {}).get(sch, (0.5, 0.5))
                        rows.append(
                            dict(
                                seed=seed,
                                width=w,
                                parametrization=p,
                                schedule=sch,
                                rep=0,
                                budget=budget,
                                converged=True,
                                hard_only_acc=acc,
                                chance=0.1,
                                scavenging=0.1,
                                follow_hard=fh + 0.01 * seed,
                                follow_easy=fe - 0.005 * seed,
                            )
                        )
    return pd.DataFrame(rows)


def test_t1_and_d3_count_members_left_out_and_refuse_a_missing_width():
    t1 = get_claim("path_dependence.t1-first-shard-starves")
    cfg = t1.make_config("quick", {"parametrizations": ("mup",)})
    table = _fake_shards(("hard_only", "easy_first"), starve=0.7)
    v = t1.verdict(cfg, table)
    assert v.label == "supported" and v.numbers["converged_mup_left_out_n512"] == 0
    # one control at n = 512 hit the step cap: its member is left out and counted, the decision stands
    capped = table.copy()
    hit = (capped.budget == "converged") & (capped.width == 512) & (capped.schedule == "hard_only")
    capped.loc[hit & (capped.seed == 0), "converged"] = False
    v = t1.verdict(cfg, capped)
    assert v.numbers["converged_mup_left_out_n512"] == 1 and "left out" in v.reason and v.label == "supported"
    # every member at n = 512 capped: the mean over widths would silently be n = 64 alone -> undecided
    capped.loc[hit, "converged"] = False
    v = t1.verdict(cfg, capped)
    assert v.numbers["converged_mup_left_out_n512"] == 3 and v.label == "inconclusive"
    assert np.isnan(v.decisions[0].interval.low) and "no usable member" in v.reason
    d3 = get_claim("path_dependence.d3-large-nets-hedge")
    cfg3 = d3.make_config("quick", {"parametrizations": ("mup",), "widths": (64, 256, 512)})
    three = _fake_shards(("hard_only", "easy_first"), widths=(64, 256, 512))
    three.loc[three.schedule == "easy_first", "hard_only_acc"] += 0.05 * np.log2(three.width / 64)  # hedges
    assert d3.verdict(cfg3, three).label == "supported"
    three.loc[(three.budget == "converged") & (three.width == 512) & (three.schedule == "easy_first"), "converged"] = (
        False
    )
    v = d3.verdict(cfg3, three)
    assert v.label == "inconclusive" and v.numbers["converged_mup_left_out_n512"] == 3


def test_t2_is_judged_against_the_same_net_without_a_head_start():
    t2 = get_claim("path_dependence.t2-early-shard-survives")
    cfg = t2.make_config("quick", {"parametrizations": ("mup",)})
    scheds = ("hard_only", "both", "hard_first", "easy_first")
    base = {"both": (0.65, 0.3), "hard_only": (0.9, 0.1)}
    # hard_first follows the image in 65% of conflicts (above the old 0.5 bar), but no more than without a head start
    v = t2.verdict(cfg, _fake_shards(scheds, base | {"hard_first": (0.65, 0.3), "easy_first": (0.6, 0.3)}))
    assert v.label != "supported" and all(abs(d.interval.estimate) < 1e-9 for d in v.decisions)
    v = t2.verdict(cfg, _fake_shards(scheds, base | {"hard_first": (0.95, 0.05), "easy_first": (0.02, 0.97)}))
    assert v.label == "supported" and v.decisions[1].interval.estimate == pytest.approx(0.67)
    lost = t2.verdict(cfg, _fake_shards(scheds, base | {"hard_first": (0.55, 0.4), "easy_first": (0.6, 0.2)}))
    assert lost.label == "refuted"  # the early feature is followed less than without a head start
    no_baseline = t2.make_config("quick", {"parametrizations": ("mup",), "schedules": ("hard_only", "easy_first")})
    assert t2.verdict(no_baseline, _fake_shards(("hard_only", "easy_first"))).label == "inconclusive"
    for preset in t2.presets:  # every preset runs the baseline the verdict needs
        assert "both" in t2.make_config(preset).schedules
    assert "both" in t2.counterfactual.overrides["schedules"]


def test_laziness_theory_is_a_check():
    assert get_claim("path_dependence.laziness-theory").kind == "check"


def test_sd_verdict_is_refuted_when_losses_starve_equally():
    claim = get_claim("path_dependence.sd-reduces-starvation")
    cfg = claim.make_config("quick", {"parametrizations": ("mup",)})
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
    if slug == "laziness-theory":  # a tiny 2-conv CNN too (the full preset's CNN depth)
        tiny.update(parametrizations=("ntk", "mup"), cnn_widths=(4, 8), cnn_n_hidden=2, cnn_steps=6, ntk_probe=3)
    if slug in ("d1-vanishes-with-width", "d2-data-scaling-preserves"):  # every manipulation, all regimes
        tiny.update(
            parametrizations=("ntk", "mup"),
            manipulations=("order", "perturb", "init", "curriculum", "curriculum_control"),
            perturb_step=10,
            curriculum_steps=8,
            stop_at_loss=1.0,
            max_steps=60,
            eval_every=10,
            data_sizes=(64,) if slug.startswith("d2") else (),
            data_per_width=2.0 if slug.startswith("d2") else 0.0,
            epochs=2.0 if slug.startswith("d2") else 0.0,
        )
    if slug in ("t1-first-shard-starves", "t2-early-shard-survives", "d3-large-nets-hedge"):
        tiny.update(stop_at_loss=1.0, max_steps=60, eval_every=10)
    if slug == "linearization-gap":
        tiny.update(stop_at_loss=1.0, max_steps=60, eval_every=10, n_train=200)
    if slug == "lr-transfer":
        tiny.update(log2_lrs=(-8.0, -6.0, -4.0, -2.0), steps=6)
    cfg = claim.make_config("quick", tiny)
    table = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in (0, 1)])
    assert len(table) and all(table[c].dtype != object or table[c].map(type).eq(str).all() for c in table)
    table.to_parquet(io.BytesIO())  # the store's format
    v = claim.verdict(cfg, table)
    assert v.label in ("supported", "refuted", "inconclusive") and v.numbers and v.decisions
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
    with pytest.raises(ConfigError, match="loss"):
        claim.make_config("quick", {"loss": "hinge"})
    with pytest.raises(ConfigError, match="max_steps"):
        claim.make_config("quick", {"steps": 500, "max_steps": 100})
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


def test_best_lr_is_the_vertex_of_the_loss_parabola_and_nan_at_the_grid_edge():
    from aflab.path_dependence.claims_transfer import best_log2_lr

    grid = pd.DataFrame({"log2_lr": np.arange(-8.0, 0.0)})
    grid["train_loss"] = np.exp(0.3 * (grid.log2_lr + 4.4) ** 2)  # log loss is a parabola, vertex -4.4
    assert best_log2_lr(grid) == pytest.approx(-4.4)
    grid.loc[grid.log2_lr == -1, "train_loss"] = np.inf  # a diverged LR far from the optimum changes nothing
    assert best_log2_lr(grid) == pytest.approx(-4.4)
    edge = grid.assign(train_loss=np.exp(grid.log2_lr))  # best at the smallest LR: not bracketed
    assert np.isnan(best_log2_lr(edge))


def test_lr_transfer_verdict_on_synthetic_sweeps():
    from aflab.path_dependence.claims_transfer import transfer_verdict

    claim = get_claim("path_dependence.lr-transfer")
    cfg = claim.make_config("quick")
    rows = []
    for seed in range(3):
        for p, drift in (("mup", 0.0), ("sp", -1.5)):
            for w in cfg.widths:
                vertex = -6 + drift * np.log2(w / 64) / 3 + 0.05 * seed
                for v in cfg.log2_lrs:
                    rows.append(
                        dict(seed=seed, parametrization=p, width=w, log2_lr=v, train_loss=np.exp((v - vertex) ** 2))
                    )
    table = pd.DataFrame(rows)
    v = transfer_verdict(cfg, table)
    assert v.label == "supported" and v.numbers["sp_log2_shift"] == pytest.approx(-3.0, abs=0.05)
    flat = table.copy()
    flat.loc[flat.parametrization == "sp", "train_loss"] = table.loc[
        table.parametrization == "mup", "train_loss"
    ].values
    assert transfer_verdict(cfg, flat).label == "refuted"
