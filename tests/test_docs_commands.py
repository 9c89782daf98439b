"""Doc-tests: every `aflab ...` command line shown in a shell block of README.md and docs/*.md runs, exit 0.

A documented command runs as written (in a scratch folder that links the repository's ``src`` and ``docs``),
with three generic changes that keep the suite fast without changing what is exercised: ``--full`` runs the
quick preset, ``--ray`` is dropped (the Ray backend has its own tests), ``--sets N`` becomes ``--sets 2``,
``aflab run`` and ``aflab stability`` run the claim's ``smoke`` preset (the claim contract's size; quick where a
claim has none), and ``aflab report`` without ``--only`` reports ``core`` only (the whole quick report is CI's
``make report``).
Where a doc shows a long run, :data:`QUICK_VARIANTS` names the smaller command the test runs instead, so
each substitution is visible here. Optional parts written ``[--flag value]`` are left out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = ("bash", "sh", "shell", "console")

#: documented command -> the quicker command the test runs (same sub-command and options, smaller sizes)
QUICK_VARIANTS: dict[str, str] = {
    # placeholders for the reader's own files -> files the package ships
    "aflab embedded run FILE.ua --format reference": "aflab embedded run src/aflab/embedded/modal_files/decision_problems.ua --format reference",
    "aflab embedded run FILE.ua [--format reference] [--check] [--budget N]": "aflab embedded run src/aflab/embedded/modal_files/decision_problems.ua --check --budget 20000",
    "aflab embedded tournament my.agents --check [--budget 20000] [--time-budget 60]": "aflab embedded tournament src/aflab/embedded/agent_files/tournament_small.agents --check --budget 20000",
    "aflab updating li-residual --prices my_prices.parquet": "aflab updating li-residual --prices src/aflab/data/li_prices_pi.parquet",
}


def documented_commands() -> list[tuple[str, int, str]]:
    """(file, line, command) for every line starting with `aflab` inside a shell code block."""
    found = []
    for path in DOCS:
        lang = None
        for number, line in enumerate(path.read_text().splitlines(), 1):
            text = line.strip()
            if text.startswith("```"):
                lang = None if lang is not None else (text[3:].strip() or "text")
                continue
            if lang in SHELL_BLOCKS and re.match(r"^(\$ )?aflab\s", text):
                found.append((path.name, number, text.removeprefix("$ ")))
    return found


def runnable(command: str) -> list[list[str]]:
    """The argument lists to run for one documented line (a `&&` chain gives several)."""
    command = re.sub(r"\s+#.*$", "", command)  # a trailing comment
    command = QUICK_VARIANTS.get(command, command)
    command = re.sub(r"\s\[[^\]]*\]", "", command)  # optional parts, written [--flag value]
    runs = []
    for part in command.split("&&"):
        args = shlex.split(part)
        args = [a for a in args if a != "--full"]
        if "--ray" in args:
            i = args.index("--ray")
            del args[i : i + 2]
        if "--sets" in args:
            args[args.index("--sets") + 1] = "2"
        if args[:2] in (["aflab", "run"], ["aflab", "stability"]) and "--preset" not in args:
            args += ["--preset", "smoke"]
        if args[:2] == ["aflab", "report"] and "--only" not in args:
            args += ["--only", "core"]
        runs.append(args)
    return runs


COMMANDS = documented_commands()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("docs")
    for name in ("src", "docs"):
        (d / name).symlink_to(ROOT / name)
    return d


@pytest.mark.slow
@pytest.mark.parametrize("doc, line, command", COMMANDS, ids=[f"{d}:{n}" for d, n, _ in COMMANDS])
def test_documented_command_runs(doc, line, command, scratch, monkeypatch):
    """In-process (the CLI's own entry point, no interpreter start-up per command), in the scratch folder."""
    from typer.testing import CliRunner

    from aflab.cli import app

    monkeypatch.chdir(scratch)
    for args in runnable(command):
        res = CliRunner().invoke(app, args[1:], env={"HF_HUB_OFFLINE": "1", "COLUMNS": "200"})
        assert res.exit_code == 0, f"{doc}:{line}: {' '.join(args)}\n{res.output[-3000:]}\n{res.exception!r}"


def test_the_docs_show_commands_and_every_quick_variant_is_still_documented():
    assert len(COMMANDS) >= 20
    shown = {re.sub(r"\s+#.*$", "", c) for _, _, c in COMMANDS}
    assert set(QUICK_VARIANTS) <= shown, set(QUICK_VARIANTS) - shown
