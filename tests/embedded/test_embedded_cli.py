"""CLI smoke tests: every command runs, bad input exits with code 2 and a clear message."""

import json

from typer.testing import CliRunner

from aflab.embedded.cli import app

runner = CliRunner()


def test_valid_and_countermodel():
    r = runner.invoke(app, ["valid", "[] p -> p", "--json"])
    assert r.exit_code == 0
    out = json.loads(r.output)
    assert out["valid"] is False and out["countermodel"]["checked"] is True
    r = runner.invoke(app, ["valid", "[]([]p -> p) -> []p"])
    assert r.exit_code == 0 and "GL-valid" in r.output


def test_bad_formula_exit_code_2():
    r = runner.invoke(app, ["valid", "[] (p ->"])
    assert r.exit_code == 2 and "column" in r.output


def test_fixpoint_match_problem_agents_tournament(tmp_path):
    r = runner.invoke(app, ["fixpoint", "~[] p"])
    assert r.exit_code == 0 and "~[] F" in r.output
    r = runner.invoke(app, ["match", "PrudentBot", "CooperateBot"])
    assert r.exit_code == 0 and "payoffs 3 / 0" in r.output
    r = runner.invoke(app, ["problem", "five_and_ten", "--agent", "naive"])
    assert (r.exit_code == 0 and "A=10 -> U=0" in r.output.replace("\n", " ")) or "spurious" in r.output
    r = runner.invoke(app, ["agents"])
    assert r.exit_code == 0 and "PrudentBot" in r.output
    f = tmp_path / "t.agents"
    f.write_text("use FairBot, DefectBot\nagent Mine = [] them & [] them(CooperateBot)\n")
    r = runner.invoke(app, ["tournament", str(f), "--generations", "100", "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.csv").exists()


def test_cli_bad_inputs():
    assert runner.invoke(app, ["match", "FairBot", "Nobody"]).exit_code == 2
    assert runner.invoke(app, ["problem", "trolley"]).exit_code == 2
    assert runner.invoke(app, ["fixpoint", "p"]).exit_code == 2
    assert runner.invoke(app, ["tournament", "/nonexistent.agents"]).exit_code == 2


def test_cli_xor_blackmail_and_pd_against_bots():
    r = runner.invoke(app, ["problem", "xor_blackmail", "--agent", "udt_chicken"])
    assert r.exit_code == 0 and "refuse" in r.output, r.output
    r = runner.invoke(app, ["problem", "pd_fairbot", "--agent", "udt_plain"])
    assert r.exit_code == 0 and "pd_fairbot" in r.output, r.output
    assert runner.invoke(app, ["problem", "xor_blackmail", "--agent", "edt"]).exit_code == 2


def test_tournament_check_counts_certificates_and_budget_overruns(tmp_path):
    """--check never raises: every match is certified or counted as unchecked, exit 0."""
    f = tmp_path / "r.agents"
    f.write_text("use FairBot, DefectBot, PrudentBot\nagent Odd = [] them(DefectBot) | <1> ~them\n")
    env = {"COLUMNS": "400"}
    r = runner.invoke(app, ["tournament", str(f), "--check", "--generations", "0"], env=env)
    assert r.exit_code == 0 and "GL certificates: 16 certified, 0 unchecked" in r.output, r.output
    r = runner.invoke(app, ["tournament", str(f), "--check", "--generations", "0", "--time-budget", "0"], env=env)
    assert r.exit_code == 0 and "0 certified, 16 unchecked" in r.output, r.output
    assert runner.invoke(app, ["tournament", str(f), "--check", "--budget", "0"]).exit_code == 2
