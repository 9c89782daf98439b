"""The CLI (exit codes, messages, nothing written on bad input) and the HTML report (in Chromium)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from aflab.cli import app
from aflab.core.report import QUICK_REPORT_BUDGET_S, write_report
from aflab.core.stability import machine_signature

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_every_command_has_help_with_example():
    for cmd in ("list", "run", "report", "results", "version"):
        res = invoke(cmd, "--help")
        assert res.exit_code == 0
        assert "Example" in res.output, cmd


def test_list_ids():
    res = invoke("list", "--ids")
    assert res.exit_code == 0
    assert "core.selfcheck" in res.output.split()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--set", "bogus=1"], "bogus"),
        (["--set", "n_samples=3"], "n_samples"),
        (["--set", "n_samples=many"], "n_samples"),
        (["--set", "noequals"], "key=value"),
    ],
)
def test_bad_set_exits_2_and_writes_nothing(tmp_path, args, fragment):
    store = tmp_path / "s.duckdb"
    res = invoke("run", "core.selfcheck", "--store", str(store), *args)
    assert res.exit_code == 2
    assert fragment in res.output
    assert not store.exists()


def test_unknown_claim_and_system(tmp_path):
    assert invoke("run", "nope.claim", "--store", str(tmp_path / "s")).exit_code == 2
    res = invoke("report", "--only", "astrology", "--out", str(tmp_path / "r"), "--store", str(tmp_path / "s"))
    assert res.exit_code == 2 and "astrology" in res.output


def test_run_grid_results_export(tmp_path):
    store = tmp_path / "s.duckdb"
    res = invoke("run", "core.selfcheck", "--store", str(store), "--grid", "n_batches=5,10", "--seeds", "2")
    assert res.exit_code == 0, res.output
    assert res.output.count("core.selfcheck: supported") == 2
    res = invoke("results", "--store", str(store), "--claim", "core.selfcheck", "--export", str(tmp_path / "out.csv"))
    assert res.exit_code == 0
    import pandas as pd

    df = pd.read_csv(tmp_path / "out.csv")
    assert set(df["seed_index"]) == {0, 1} and df["config_hash"].nunique() == 2 and len(df) == 2 * (5 + 10)
    assert {"batch", "mean", "n", "claim", "cell_seed"} <= set(df.columns)
    # every claim in one long tidy table (the README's command): 3 columns x 30 rows
    res = invoke("results", "--store", str(store), "--export", str(tmp_path / "all.parquet"))
    assert res.exit_code == 0, res.output
    long = pd.read_parquet(tmp_path / "all.parquet")
    assert len(long) == 3 * 2 * (5 + 10) and set(long["variable"]) == {"batch", "mean", "n"}
    res = invoke("results", "--store", str(store), "--export", str(tmp_path / "per_claim"))
    assert res.exit_code == 0 and (tmp_path / "per_claim" / "core.selfcheck.parquet").is_file()
    assert invoke("results", "--store", str(store), "--export", str(tmp_path / "out.xlsx")).exit_code == 2
    assert invoke("results", "--store", str(store)).exit_code == 0


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    res = runner.invoke(
        app,
        ["report", "--quick", "--only", "core", "--out", str(out), "--store", str(out / "s.duckdb"), "--jobs", "1"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return out


def test_report_files(report_dir):
    html = (report_dir / "index.html").read_text()
    data = json.loads((report_dir / "report.json").read_text())
    assert data["claims"][0]["id"] == "core.selfcheck" and data["claims"][0]["verdict"] == "supported"
    assert data["claims"][0]["config"]["n_samples"] == 20000
    assert "data:image/png;base64," in html and 'id="verdict-table"' in html and 'id="check-table"' in html
    assert data["claims"][0]["kind"] == "check" and data["claims"][0]["threshold"]["side"] == "equals"
    assert data["provenance"]["libraries"]["numpy"] != "not installed"
    machine = data["provenance"]["machine"]
    assert machine["kernels"] == machine_signature() and machine["matmul_gflops"] > 0
    assert "over the 10-minute quick budget" not in html  # the core-only report takes seconds
    assert "http://" not in html and "https://" not in html  # self-contained
    assert data["stability_overview"]["claims"] == 0 and "<b>Stability</b>" in html


def test_a_quick_report_over_ten_minutes_says_so(tmp_path):
    """The quick report's rule is < 10 min on 2 cores; on a slower machine it can run over: the page must say
    so next to the wall time, with the machine's speed probe, not leave the reader to compare numbers."""
    over = write_report([], tmp_path / "over", "quick", 0, wall_s=QUICK_REPORT_BUDGET_S + 1).read_text()
    assert "over the 10-minute quick budget" in over and "GFLOP/s" in over
    assert f"cells and verdicts {QUICK_REPORT_BUDGET_S + 1:.1f} s, figures" in over  # where the time went
    under = write_report([], tmp_path / "under", "quick", 0, wall_s=QUICK_REPORT_BUDGET_S - 1).read_text()
    assert "over the 10-minute quick budget" not in under
    full = write_report([], tmp_path / "full", "full", 0, wall_s=10 * QUICK_REPORT_BUDGET_S).read_text()
    assert "over the 10-minute quick budget" not in full  # the rule is the quick report's


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.chromium
def test_report_renders_in_headless_chromium(report_dir):
    path = _chromium()
    if path is None:
        pytest.skip("no headless Chromium on this machine (Debian package 'chromium'; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) not installed")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((report_dir / "index.html").resolve().as_uri())
        n_imgs = page.evaluate("document.images.length")
        loaded = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        rows = page.evaluate("document.querySelectorAll('#check-table tr').length")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        sticky = page.evaluate("getComputedStyle(document.querySelector('nav')).position")
        fig_width = page.evaluate(
            "Math.max(...Array.from(document.querySelectorAll('.figs img:not(.small)'))"
            ".map(i => i.getBoundingClientRect().width))"
        )
        page.screenshot(path=str(report_dir / "screenshot.png"), full_page=True)
        browser.close()
    assert n_imgs >= 1 and loaded, "figures did not render"
    assert rows == 2
    assert errors == []
    assert overflow <= 1400, "the page scrolls sideways at 1400 px"
    assert sticky == "sticky"  # the table of contents stays in view
    assert fig_width > 800  # figures at full column width


def test_a_figure_function_that_fails_in_the_report_is_shown_as_that_claims_error(tmp_path):
    """The report draws the claims' figures itself (while its workers encode the ones drawn); a figure
    function that raises must show on that claim (its verdict kept, as when ``judge`` draws), not vanish
    or take the page down."""
    from dataclasses import replace

    from aflab.core.claims import get_claim
    from aflab.core.evaluate import run_claims
    from aflab.core.store import ResultStore

    def broken(cfg, table):
        raise RuntimeError("no axes today")

    claim = get_claim("core.selfcheck")
    jobs = [(c, c.make_config("smoke"), "smoke", 2) for c in (claim, replace(claim, figures=broken))]
    with ResultStore(tmp_path / "store") as store:
        outcomes, _ = run_claims(jobs, store, progress=False, draw_figures=False)
    assert all(o.verdict is not None and not o.figures for o in outcomes)
    write_report(outcomes, tmp_path / "r", "smoke", 0, wall_s=1.0, jobs=2)
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [c["verdict"] for c in data["claims"]] == ["supported", "supported"]
    assert data["claims"][0]["error"] is None and data["claims"][0]["figures"]
    assert "figures function failed" in data["claims"][1]["error"] and "no axes today" in data["claims"][1]["error"]


def test_the_terminal_says_when_a_quick_report_ran_over_ten_minutes():
    from aflab.cli import quick_budget_warning

    over = quick_budget_warning("quick", QUICK_REPORT_BUDGET_S + 108, cells_run=213)
    assert over is not None and "11.8 min" in over and "10-minute rule" in over
    assert quick_budget_warning("quick", QUICK_REPORT_BUDGET_S - 1, cells_run=213) is None
    assert quick_budget_warning("full", 10 * QUICK_REPORT_BUDGET_S, cells_run=213) is None
    assert quick_budget_warning("quick", QUICK_REPORT_BUDGET_S + 1, cells_run=0) is None  # all cached: no run timed
