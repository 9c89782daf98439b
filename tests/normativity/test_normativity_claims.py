"""The registered claims run, decide from their numbers, can come out refuted, and draw figures;
the CLI answers and rejects bad input with exit code 2."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from aflab.core import get_claim, load_systems

load_systems()

SMALL = {
    "normativity.quantilizer-cost-bound": {"n_envs": 10, "pool_size": 500, "mc_draws": 2000, "n_q": 4},
    "normativity.goodhart-quantilize-beats-max": {"pool_size": 2000, "pools": 24, "n_q": 6},
    "normativity.crmdp-decoupled-limits-regret": {"mdps": 64, "q_steps": 4000, "corruptions": (0.0, 0.2, 0.4)},
    "normativity.reward-box-tampering": {"worlds": 48, "q_steps": 4000},
}


def run_claim(claim_id, seeds=(0, 1)):
    claim = get_claim(claim_id)
    cfg = claim.make_config("quick", SMALL[claim_id])
    table = pd.concat([claim.experiment(cfg, s).assign(seed=s) for s in seeds], ignore_index=True)
    return claim, cfg, table


@pytest.fixture(scope="module", params=sorted(SMALL))
def claim_run(request):
    return run_claim(request.param)


def test_claim_runs_decides_and_draws(claim_run):
    claim, cfg, table = claim_run
    table.to_parquet(__import__("io").BytesIO())  # plain, Parquet-serialisable columns
    verdict = claim.verdict(cfg, table)
    assert verdict.label == "supported", verdict.reason
    assert all(np.isfinite(v) for v in verdict.numbers.values())
    figs = claim.figures(cfg, table)
    assert figs and all(isinstance(f, Figure) for f in figs.values())


def test_experiments_are_pure_functions_of_config_and_seed():
    claim = get_claim("normativity.goodhart-quantilize-beats-max")
    cfg = claim.make_config("quick", {"pool_size": 300, "pools": 2, "n_q": 4})
    pd.testing.assert_frame_equal(claim.experiment(cfg, 5), claim.experiment(cfg, 5))


def test_verdicts_can_refute():
    claim, cfg, table = run_claim("normativity.quantilizer-cost-bound", seeds=(0,))
    broken = table.copy()
    broken.loc[broken.index[0], "ratio"] = 1.01  # a quantilizer exceeding its bound
    assert claim.verdict(cfg, broken).label == "refuted"
    claim, cfg, table = run_claim("normativity.reward-box-tampering", seeds=(0,))
    swapped = table.copy()
    swapped["agent"] = swapped["agent"].replace({"box_planner": "ou_planner", "ou_planner": "box_planner"})
    assert claim.verdict(cfg, swapped).label == "refuted"
    claim = get_claim("normativity.goodhart-quantilize-beats-max")
    cfg = claim.make_config("quick", SMALL[claim.id])
    rows = []
    for shape in ("heavy", "corrupted", "gaussian"):
        for pool in range(5):
            rows += [
                (shape, "quantilizer", 1 / cfg.pool_size, pool, 1.0 + 0.01 * pool, 0, 0.0, 0),
                (shape, "quantilizer", cfg.q_eval, pool, 0.0 + 0.01 * pool, 0, 0.0, 0),
            ]
    fake = pd.DataFrame(rows, columns=["shape", "method", "knob", "pool", "true", "proxy", "p_corrupt", "seed"])
    assert claim.verdict(cfg, fake).label == "refuted"


def test_bad_config_is_rejected_with_the_key_named():
    claim = get_claim("normativity.goodhart-quantilize-beats-max")
    with pytest.raises(ValueError, match="q_eval"):
        claim.make_config("quick", {"q_eval": 0.0})


def test_cli_commands(tmp_path):
    from aflab.normativity.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app, ["quantilize", "--probs", "0.1,0.2,0.3,0.4", "--utility", "1,2,2,0", "--q", "0.6", "--cost", "1,1,1,1"]
    )
    assert res.exit_code == 0, res.output
    assert "0.166667" in res.output
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"probs": [0.5, 0.5], "utility": [0, 1]}))
    assert runner.invoke(app, ["quantilize", "--file", str(path), "--q", "0.5"]).exit_code == 0
    assert runner.invoke(app, ["quantilize", "--probs", "0.5,0.5", "--utility", "0,1", "--q", "0"]).exit_code == 2
    assert runner.invoke(app, ["quantilize", "--probs", "a,b", "--utility", "0,1"]).exit_code == 2
    path.write_text("not json")
    assert runner.invoke(app, ["quantilize", "--file", str(path)]).exit_code == 2
    assert runner.invoke(app, ["goodhart", "--shape", "nope"]).exit_code == 2
    res = runner.invoke(app, ["goodhart", "--shape", "corrupted", "--pool-size", "500", "--pools", "2"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["tamper", "--worlds", "4"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["crmdp", "--corruption", "0,0.3", "--mdps", "4", "--side", "3"])
    assert res.exit_code == 0, res.output
    for cmd in ("quantilize", "goodhart", "crmdp", "tamper"):
        assert "Example" in runner.invoke(app, [cmd, "--help"]).output
