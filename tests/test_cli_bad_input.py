"""Bad input, everywhere: every command's bad inputs exit 2 with one `error:` line naming the field, and no
traceback (an uncaught exception would show as ``result.exception`` other than SystemExit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aflab.cli import app

GARBAGE = "garbage.bin"
EXISTING_FILE = "a_file.txt"
AGENTS = Path(__file__).resolve().parents[1] / "src/aflab/embedded/agent_files/tournament_small.agents"

#: (arguments, a fragment the error must contain)
CASES = [
    (["run", "nope.claim"], "unknown claim"),
    (["run", "core.selfcheck", "--set", "bogus=1"], "bogus"),
    (["run", "core.selfcheck", "--set", "n_samples=3"], "n_samples"),
    (["run", "core.selfcheck", "--set", "n_samples=many"], "n_samples"),
    (["run", "core.selfcheck", "--set", "n_samples=1e99"], "n_samples"),
    (["run", "core.selfcheck", "--set", "noequals"], "key=value"),
    (["run", "core.selfcheck", "--grid", "n_batches="], "--grid"),
    (["run", "core.selfcheck", "--grid", "n_batches=5,x"], "n_batches"),
    (
        [
            "run",
            "core.selfcheck",
            "--grid",
            "a=" + ",".join(map(str, range(200))),
            "--grid",
            "b=" + ",".join(map(str, range(200))),
        ],
        "grid points",
    ),
    (["run", "core.selfcheck", "--seeds", "0"], "--seeds"),
    (["run", "core.selfcheck", "--seeds", "-1"], "--seeds"),
    (["run", "core.selfcheck", "--seeds", "10000000"], "--seeds"),
    (["run", "core.selfcheck", "--jobs", "0"], "--jobs"),
    (["run", "core.selfcheck", "--seed", "-5"], "--seed"),
    (["run", "core.selfcheck", "--seed", "abc"], "--seed"),
    (["run", "core.selfcheck", "--cell-timeout", "-1"], "--cell-timeout"),
    (["run", "core.selfcheck", "--out", EXISTING_FILE], "is a file"),
    (["run", "core.selfcheck", "--store", GARBAGE], "is a file"),
    (["run"], "CLAIM_ID"),
    (["report", "--only", "astrology"], "astrology"),
    (["report", "--out", EXISTING_FILE], "is a file"),
    (["report", "--jobs", "0"], "--jobs"),
    (["report", "--seed", "-1"], "--seed"),
    (["report", "--store", GARBAGE], "is a file"),
    (["list", "--system", "nope"], "nope"),
    (["list", "--store", GARBAGE], "is a file"),
    (["results", "--export", "out.xlsx", "--store", "."], "xlsx"),
    (["results", "--store", "no/such/store"], "no result store"),
    (["results", "--store", GARBAGE], "is a file"),
    (["results", "--migrate", "no_such.duckdb"], "no file"),
    (["results", "--claim", "nope.claim", "--store", "."], "unknown claim"),
    (["stability"], "--all"),
    (["stability", "core.selfcheck", "--all"], "not both"),
    (["stability", "core.selfcheck", "--sets", "1"], "--sets"),
    (["stability", "nope.claim"], "unknown claim"),
    (["stability", "core.selfcheck", "--jobs", "0"], "--jobs"),
    (["stability", "core.selfcheck", "--store", GARBAGE], "is a file"),
    (["stability", "core.selfcheck", "--figure", "x.png"], "--shipped"),
    (["frobnicate"], "frobnicate"),
    # NaN and inf in float options (NaN passes `x < 0`-style checks; before these checks the tamper run hung)
    (["partial-agency", "simulate", "--lr", "inf"], "--lr must be a finite number"),
    (["normativity", "tamper", "--tamper-reward", "nan"], "--tamper-reward a finite number"),
    (["normativity", "quantilize", "--probs", "0.5,0.5", "--utility", "1,2", "--q", "nan"], "--q must lie"),
    (["embedded", "tournament", str(AGENTS), "--time-budget", "nan"], "--time-budget must be a number"),
    (["pd", "sweep", "--widths", "8", "--lr", "inf"], "--lr must be a finite number"),
    (["pd", "sweep", "--widths", "8", "--stop-at-loss", "inf"], "--stop-at-loss must be a finite number"),
    (["pd", "frankle", "--widths", "8", "--lr", "inf"], "--lr must be a finite number"),
    (["run", "core.selfcheck", "--cell-timeout", "inf"], "--cell-timeout"),
    (["run", "embedded.prudentbot-results", "--set", "temptation=nan"], "NaN and infinity"),
    (["run", "embedded.prudentbot-results", "--grid", "temptation=5,Infinity"], "NaN and infinity"),
    (["run", "normativity.trajectory-quantilizer", "--set", "trap_proxy=-inf"], "NaN and infinity"),
    # sizes that would exhaust memory, and a negative seed (each ended in a traceback)
    (["pd", "sweep", "--widths", "100000000"], "--widths at most"),
    (["normativity", "goodhart", "--pool-size", "100000000000"], "--pool-size must lie"),
    (["li", "run", "prg", "--days", "3", "--seed", "-1"], "--seed must be >= 0"),
    # output paths are checked before any work: a file where a folder must be, a wrong suffix, a bad checkpoint
    (["li", "run", "pi", "--days", "2", "--out", f"{EXISTING_FILE}/sub"], "is a file, not a folder"),
    (["li", "run", "pi", "--days", "2", "--checkpoint", f"{EXISTING_FILE}/x.npz"], "is a file, not a folder"),
    (["li", "run", "pi", "--days", "2", "--resume", GARBAGE], "cannot read checkpoint"),
    (["pd", "sweep", "--widths", "8", "--out", "table.txt"], "must end in .csv or .parquet"),
    (["pd", "frankle", "--widths", "8", "--plot", f"{EXISTING_FILE}/p.png"], "is a file, not a folder"),
    (["embedded", "tournament", str(AGENTS), "--out", "outcomes.json"], "must end in .csv or .parquet"),
    (["waluigi", "train", "--out", EXISTING_FILE], "is a file"),
    (["waluigi", "figures", "hazard-vs-k", "--out", EXISTING_FILE], "is a file"),
    (["--no-such-option"], "--no-such-option"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad_input")
    (d / GARBAGE).write_bytes(b"\x00\x01garbage" * 64)
    (d / EXISTING_FILE).write_text("not a folder\n")
    return d


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_exits_2_with_one_error_line(args, fragment, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    out = res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 2, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
    assert fragment.lower() in out.lower(), out[-2000:]
    errors = [line for line in out.splitlines() if "error" in line.lower()]
    assert 1 <= len(errors) <= 2, out  # one `error:` line (click's usage errors frame it in a box title)


def test_at_least_forty_cases():
    assert len(CASES) >= 39  # plus the systems' own cases in tests/<system>/ (see docs/architecture.md)


def test_file_system_error_ends_in_one_line_not_a_traceback(monkeypatch, capsys):
    """The entry point's safety net: an OSError no command caught (here a full disk) exits 1 with one
    ``error:`` line naming the path and the debugging switch; with ``AFLAB_TRACEBACK=1`` it is re-raised."""
    import aflab.cli as cli

    def full_disk():
        raise OSError(28, "No space left on device", "/data/run/prices.parquet")

    monkeypatch.setattr(cli, "app", full_disk)
    monkeypatch.delenv("AFLAB_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "No space left on device: /data/run/prices.parquet" in err and "AFLAB_TRACEBACK=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("AFLAB_TRACEBACK", "1")
    with pytest.raises(OSError):
        cli.main()
