"""Bad input, everywhere: every command's bad inputs exit 2 with one `error:` line naming the field, and no
traceback (an uncaught exception would show as ``result.exception`` other than SystemExit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aflab.cli import app

GARBAGE = "garbage.bin"
EXISTING_FILE = "a_file.txt"

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
