"""CLI: help texts, bad input -> exit 2 with a message, tiny runs write their tables."""

import pandas as pd
from typer.testing import CliRunner

from aflab.path_dependence.cli import app

runner = CliRunner()


def test_help_has_examples():
    for cmd in ("sweep", "shard"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output


def test_bad_input_exits_2_naming_the_option():
    r = runner.invoke(app, ["sweep", "--widths", "64,abc"])
    assert r.exit_code == 2 and "--widths" in r.output
    r = runner.invoke(app, ["sweep", "--params", "ntk,foo"])
    assert r.exit_code == 2 and "--params" in r.output
    r = runner.invoke(app, ["sweep", "--manipulation", "order,shuffle"])
    assert r.exit_code == 2 and "--manipulation" in r.output
    r = runner.invoke(app, ["shard", "--schedules", "both,never"])
    assert r.exit_code == 2 and "--schedules" in r.output


def test_tiny_sweep_and_shard_write_tables(tmp_path):
    out = tmp_path / "sweep.csv"
    r = runner.invoke(
        app,
        [
            "sweep",
            "--widths",
            "16,32",
            "--steps",
            "12",
            "--stop-at-loss",
            "1.5",
            "--max-steps",
            "40",
            "--pairs",
            "1",
            "--base-width",
            "16",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "s.png"),
        ],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert set(t.width) == {16, 32} and (tmp_path / "s.png").stat().st_size > 0
    assert {"budget", "converged"} <= set(t.regime)
    out = tmp_path / "shard.parquet"
    r = runner.invoke(app, ["shard", "--widths", "16", "--steps", "8", "--params", "mup", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert set(pd.read_parquet(out).schedule) == {"hard_only", "both", "hard_first", "easy_first", "easy_removed"}


def test_frankle_curve_runs_and_rejects_bad_fractions(tmp_path):
    r = runner.invoke(app, ["frankle", "--fractions", "0,1.5"])
    assert r.exit_code == 2 and "--fractions" in r.output
    out = tmp_path / "frankle.csv"
    args = ["frankle", "--widths", "16,32", "--params", "mup", "--steps", "20", "--seeds", "1", "--out", str(out)]
    r = runner.invoke(app, [*args, "--plot", str(tmp_path / "f.png")])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert set(t.fraction) == {0, 0.01, 0.02, 0.05, 0.1, 0.25} and (t.loss_barrier > -1e-6).all()
    assert (t[t.fraction == 1.0].empty) and (tmp_path / "f.png").stat().st_size > 0
