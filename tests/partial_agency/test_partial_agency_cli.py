"""CLI: commands run, JSON output parses, bad input exits with code 2."""

import json

from typer.testing import CliRunner

from aflab.partial_agency.cli import app

runner = CliRunner()


def test_simulate_json():
    r = runner.invoke(
        app,
        [
            "simulate",
            "--map",
            "location",
            "--eps",
            "0.3",
            "--learner",
            "rrm",
            "--rounds",
            "50",
            "--seeds",
            "2",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["runs"][0]["dist_ps"] < 0.1 and out["runs"][0]["dist_po"] > 1.0


def test_diagnose_and_fixed_points():
    r = runner.invoke(app, ["diagnose", "--map", "location", "--eps", "1.2"])
    assert r.exit_code == 0 and "can diverge" in r.output
    r = runner.invoke(app, ["fixed-points", "--slope", "8", "--starts", "5", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["fixed_points"]) == 3
    r = runner.invoke(app, ["fixed-points", "--outcomes", "3", "--slope", "6", "--starts", "4"])
    assert r.exit_code == 0, r.output


def test_bad_input_exit_2():
    assert runner.invoke(app, ["simulate", "--map", "nope"]).exit_code == 2
    assert runner.invoke(app, ["simulate", "--learner", "magic"]).exit_code == 2
    assert runner.invoke(app, ["diagnose", "--eps", "-1"]).exit_code == 2
    assert runner.invoke(app, ["simulate", "--map", "location", "--moving-label", "0"]).exit_code == 2


def test_simulate_class_statistic_perfgd():
    r = runner.invoke(
        app,
        [
            "simulate",
            "--map",
            "strategic",
            "--eps",
            "0.5",
            "--moving-label",
            "0",
            "--lr",
            "1",
            "--learner",
            "perfgd-class",
            "--seeds",
            "2",
            "--rounds",
            "150",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    run = json.loads(r.output)["runs"][0]
    assert run["learner"] == "PerfGD-class" and run["dist_po"] < 0.2 < run["dist_ps"]
