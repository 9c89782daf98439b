"""CLI: `aflab li run/audit/parse` with typer's runner; bad input exits with code 2."""

from typer.testing import CliRunner

from aflab.logical_induction.cli import app

runner = CliRunner()


def test_run_prg_writes_tables(tmp_path):
    res = runner.invoke(app, ["run", "prg", "--days", "6", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "certified 6/6" in res.output
    assert (tmp_path / "prices.parquet").exists() and (tmp_path / "trajectories.png").exists()


def test_bad_inputs_exit_2():
    assert runner.invoke(app, ["run", "nonsense"]).exit_code == 2
    assert runner.invoke(app, ["run", "pi", "--days", "0"]).exit_code == 2
    res = runner.invoke(app, ["parse", "a & "])
    assert res.exit_code == 2 and "column 5" in res.output


def test_parse_and_audit_filter(tmp_path):
    res = runner.invoke(app, ["parse", "pi_digit(7) = 3 & ~rain"])
    assert res.exit_code == 0 and "pi_digit(7) = 3 & ~rain" in res.output
    store = str(tmp_path / "r.duckdb")
    res = runner.invoke(app, ["audit", "--only", "kelly", "--preset", "smoke", "--store", store])
    assert res.exit_code == 0 and "supported" in res.output and "2 done" in res.output, res.output
    res = runner.invoke(app, ["audit", "--only", "kelly", "--preset", "smoke", "--store", store])
    assert res.exit_code == 0 and "2 cached" in res.output, res.output  # through the runner's store
    assert runner.invoke(app, ["audit", "--only", "no-such-claim"]).exit_code == 2
    assert runner.invoke(app, ["audit", "--preset", "huge"]).exit_code == 2


def test_checkpoint_then_resume(tmp_path):
    ck = tmp_path / "prg.npz"
    res = runner.invoke(app, ["run", "prg", "--days", "4", "--checkpoint", str(ck)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", "prg", "--days", "7", "--resume", str(ck)])
    assert res.exit_code == 0 and "days 5-7" in res.output and "certified 7/7" in res.output, res.output
    assert runner.invoke(app, ["run", "prg", "--days", "3", "--resume", str(ck)]).exit_code == 2
    assert runner.invoke(app, ["run", "prg", "--days", "9", "--resume", str(tmp_path / "missing.npz")]).exit_code == 2


def test_audit_a_saved_pi_run(tmp_path):
    ck = tmp_path / "pi.npz"
    res = runner.invoke(app, ["run", "pi", "--days", "14", "--checkpoint", str(ck)])
    assert res.exit_code == 0, res.output
    # the held-out summary: all 20 traders, both suites, named in full
    assert "Held-out traders" in res.output and "band(digit,0.099,0.101,steep)" in res.output
    assert res.output.count("│ second │") == 7 and res.output.count("│ first  │") == 13
    res = runner.invoke(app, ["audit", "--checkpoint", str(ck), "--only", "maker"])
    assert res.exit_code == 0, res.output
    assert "market-maker-certified" in res.output and "14/14 days" in res.output
    res = runner.invoke(app, ["audit", "--checkpoint", str(ck), "--only", "coherence"])
    assert res.exit_code == 0 and "limit-coherence" in res.output, res.output  # one run: batch-means interval
    assert runner.invoke(app, ["audit", "--checkpoint", str(ck), "--only", "kelly"]).exit_code == 2
    bad = tmp_path / "prg.npz"
    assert runner.invoke(app, ["run", "prg", "--days", "9", "--checkpoint", str(bad)]).exit_code == 0
    res = runner.invoke(app, ["audit", "--checkpoint", str(bad)])
    assert res.exit_code == 2 and "not a pi run" in res.output
    assert runner.invoke(app, ["audit", "--checkpoint", str(tmp_path / "missing.npz")]).exit_code == 2
