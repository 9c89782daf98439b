"""The registered theory/solver/MC claims: small configs reach their verdicts, doctored tables are refuted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import aflab.waluigi.claims  # noqa: F401  (registers the claims)
from aflab.core import ConfigError, get_claim

SMALL = {
    "waluigi.unbounded-never-certain": {"n_traj": 3000, "t_max": 250},
    "waluigi.window-inevitable": {"n_traj": 2000, "t_max": 900, "ks": (4, 16)},
    "waluigi.hazard-vs-k": {"n_traj": 1500, "mc_ks": (2, 8), "k_max": 64, "n_k": 6},
    "waluigi.approx-absorbing": {"n_traj": 400, "ks": (1, 2, 4, 6)},
    "waluigi.competing-classes": {"n_traj": 3000, "ks": (1, 4, 16)},
    "waluigi.three-state-persona": {"ks": (2, 4, 6), "mc_ks": (2, 4), "n_traj": 1500, "t_max": 800},
}


def _run(claim_id: str, seeds=(0, 1), **extra):
    claim = get_claim(claim_id)
    cfg = claim.make_config("quick", {**SMALL[claim_id], **extra})
    table = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in seeds], ignore_index=True)
    return claim, cfg, table


@pytest.fixture(scope="module")
def runs():
    return {cid: _run(cid) for cid in SMALL}


@pytest.mark.parametrize("claim_id", sorted(SMALL))
def test_claim_supported_with_figures(runs, claim_id, tmp_path):
    claim, cfg, table = runs[claim_id]
    table.to_parquet(tmp_path / "t.parquet")  # plain columns only
    v = claim.verdict(cfg, table)
    assert v.label == "supported", v.reason
    assert v.numbers and all(np.isfinite(x) or np.isinf(x) for x in v.numbers.values())
    figs = claim.figures(cfg, table)
    assert figs and all(isinstance(f, Figure) for f in figs.values())


def test_experiments_are_pure_functions_of_seed():
    claim = get_claim("waluigi.window-inevitable")
    cfg = claim.make_config("quick", {"n_traj": 300, "t_max": 200, "ks": (4,)})
    pd.testing.assert_frame_equal(claim.experiment(cfg, 5), claim.experiment(cfg, 5))


def test_unbounded_refuted_when_mc_disagrees(runs):
    claim, cfg, table = runs["waluigi.unbounded-never-certain"]
    bad = table.copy()
    bad.loc[bad.part == "summary", "p_by_tmax_mc"] += 0.05
    assert claim.verdict(cfg, bad).label == "refuted"
    certain = table.copy()
    certain.loc[certain.part == "summary", "p_ever_theory"] = 1.0
    assert claim.verdict(cfg, certain).label == "refuted"


def test_window_refuted_when_hazard_declines(runs):
    claim, cfg, table = runs["waluigi.window-inevitable"]
    bad = table.copy()
    fl = bad.part == "floor"
    bad.loc[fl, "events_late"] = (bad.loc[fl, "events_late"] * 0.3).round()
    assert claim.verdict(cfg, bad).label == "refuted"


def test_hazard_k_refuted_when_shapes_swap(runs):
    claim, cfg, table = runs["waluigi.hazard-vs-k"]
    bad = table.copy()
    s, b = (bad.part == "solver") & (bad.prior == "single"), (bad.part == "solver") & (bad.prior == "beta")
    bad.loc[s, "eps_solver"], bad.loc[b, "eps_solver"] = (
        bad.loc[b, "eps_solver"].to_numpy(),
        bad.loc[s, "eps_solver"].to_numpy(),
    )
    assert claim.verdict(cfg, bad).label == "refuted"


def test_exit_refuted_when_exit_time_flat(runs):
    claim, cfg, table = runs["waluigi.approx-absorbing"]
    bad = table.copy()
    ex = bad.part == "exit"
    bad.loc[ex, "sum"] = bad.loc[ex, "n"] * 10.0
    bad.loc[ex, "sumsq"] = bad.loc[ex, "n"] * 101.0
    assert claim.verdict(cfg, bad).label == "refuted"


def test_split_refuted_when_collapse_never_wins(runs):
    claim, cfg, table = runs["waluigi.competing-classes"]
    bad = table.copy()
    bad["n_revealing"] = bad["n_revealing"] + bad["n_collapse"]
    bad["n_collapse"] = 0
    assert claim.verdict(cfg, bad).label == "refuted"


def test_split_headline_refuted_when_the_larger_hazard_wins_the_floor(runs):
    claim, cfg, table = runs["waluigi.competing-classes"]
    v = claim.verdict(cfg, table)
    assert "smaller hazard" in v.headline.threshold.statistic and v.headline.label == "supported"
    bad = table.copy()
    bad["n_floor_collapse"] = (bad["n_floor"] * 0.3).round().astype(int)  # flat, and the waluigi wins
    assert claim.verdict(cfg, bad).label == "refuted"


@pytest.mark.parametrize("claim_id", sorted(SMALL))
def test_theory_statements_are_checks_with_a_mutation_that_refutes(claim_id):
    claim = get_claim(claim_id)
    assert claim.kind == "check" and claim.counterfactual is not None
    cfg = claim.make_config("smoke", claim.counterfactual.overrides)
    table = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in (0, 1)], ignore_index=True)
    assert claim.verdict(cfg, table).label == "refuted"


@pytest.mark.parametrize(
    "claim_id, key, value",
    [
        ("waluigi.unbounded-never-certain", "h", 0.0),
        ("waluigi.window-inevitable", "ks", (0, 4)),
        ("waluigi.approx-absorbing", "r", 1.0),
        ("waluigi.competing-classes", "p_repetition", 0.8),
        ("waluigi.hazard-vs-k", "k_max", 4),
    ],
)
def test_bad_config_is_a_clear_error(claim_id, key, value):
    with pytest.raises(ConfigError):
        get_claim(claim_id).make_config("quick", {key: value})
