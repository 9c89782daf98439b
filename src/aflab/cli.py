"""The ``aflab`` command line: list, run, stability, report, results, version, and one sub-command per system.

System sub-commands are found from each system's ``system.toml`` and imported only when used, so
``aflab --help`` and ``aflab list`` do not load torch or a language model.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors click as typer._click; its classes must match TyperGroup's
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer runs on click itself
    import click

from aflab import __version__
from aflab.core.claims import SYSTEMS, ConfigError, all_claims, enabled_systems, get_claim
from aflab.core.cli_support import fail as _fail
from aflab.core.cli_support import write_table
from aflab.core.systems import SystemInfo, discover


class SystemsGroup(TyperGroup):
    """The top-level group: core commands plus one lazily imported sub-command per enabled system.

    Listing (``--help``) shows each system's declared one-line help without importing it; the system's
    ``cli`` module is imported only when its sub-command is resolved for running.
    """

    _resolving = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(i.cli_name for i in _enabled_infos())]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        info = next((i for i in _enabled_infos() if i.cli_name == cmd_name), None)
        if info is None:
            return None
        if self._resolving:
            return _load_system_cli(info)
        return TyperGroup(name=cmd_name, help=info.help or info.title)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        self._resolving = True
        try:
            return super().resolve_command(ctx, args)
        finally:
            self._resolving = False


def _enabled_infos() -> list[SystemInfo]:
    enabled = set(enabled_systems())
    return [i for i in discover() if i.name in enabled]


def _load_system_cli(info: SystemInfo) -> click.Command:
    """The system's typer app as a click command; a missing optional dependency gives a clear error."""
    try:
        mod = importlib.import_module(f"aflab.{info.name}.cli")
    except ModuleNotFoundError as err:
        missing = err.name or str(err)
        stub = typer.Typer(add_completion=False)

        @stub.command(name=info.cli_name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
        def unavailable() -> None:
            _fail(
                f"the '{info.cli_name}' commands need the module {missing!r}, which is not installed; "
                "install the extras: pip install 'aflab[all]'"
            )

        return typer.main.get_command(stub)
    cmd = typer.main.get_command(mod.app)
    cmd.name = info.cli_name
    return cmd


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"aflab {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="aflab",
    cls=SystemsGroup,
    help="Agent Foundations Lab: run the formal systems of agent-foundations research and test claims about "
    "them with measurements.\n\nExample: aflab report --quick --out report",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print aflab's version and exit."
    ),
) -> None:
    """Agent Foundations Lab: run the formal systems of agent-foundations research and test claims about them
    with measurements.

    Example: aflab report --quick --out report
    """


CellTimeoutOpt = typer.Option(
    None,
    "--cell-timeout",
    min=0,
    max=30 * 86400,  # 30 days: beyond any cell, and within the interval timer's range
    help="Stop a cell after SECONDS and record it as failed (0: no limit; "
    "default: the claim's own limit, 3600 s unless it says otherwise).",
)
StoreOpt = typer.Option(
    Path("aflab-results"), "--store", help="Result store folder (created if missing; Parquet files, one per cell)."
)


def parse_assignments(pairs: list[str], option: str = "--set") -> dict:
    """``key=value`` pairs; values are parsed as JSON when possible (numbers, booleans, lists), else strings."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            _fail(f"{option} expects key=value, got {pair!r} (example: {option} k=12)")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _store(path: Path, read_only: bool = False):
    """Open the result store, or exit 2 with a message naming the path and the fix."""
    from aflab.core.store import ResultStore, StoreError

    try:
        return ResultStore(path, read_only=read_only)
    except StoreError as err:
        _fail(str(err))
    except FileNotFoundError as err:
        _fail(f"--store: {err}")


def _print_outcome(o) -> None:
    color = {"supported": "green", "refuted": "red", "inconclusive": "yellow", "skipped": "dim"}.get(o.label, "white")
    console.print(f"[bold]{o.claim.id}[/]: [{color}]{o.label}[/]")
    if o.verdict:
        console.print(f"  {escape(o.verdict.reason)}")
        for k, v in list(o.verdict.numbers.items())[:12]:
            console.print(f"    {escape(str(k))} = {v}")
    if o.skipped:
        console.print(f"  skipped: {escape(o.skipped)}")
    if o.error:
        err_console.print(escape(o.error))


@app.command("list")
def list_claims(
    ids: bool = typer.Option(False, "--ids", help="Print bare claim ids, one a line."),
    system: str | None = typer.Option(None, "--system", help="Only this system (subpackage name)."),
    store: Path = StoreOpt,
) -> None:
    """List registered claims with their latest verdict in the store.

    Example: aflab list --system waluigi
    """
    if system is not None and system not in ("core", *SYSTEMS):
        _fail(f"--system: unknown system {system!r}; allowed: {', '.join(('core',) + SYSTEMS)}")
    claims = all_claims(system)
    if ids:
        for c in claims:
            typer.echo(c.id)
        return
    verdicts = {}
    if store.exists():
        with _store(store, read_only=True) as st:
            verdicts = st.latest_verdicts()
    table = Table(title=f"{len(claims)} claims")
    for col in ("claim", "kind", "statement", "quick seeds", "latest verdict"):
        table.add_column(col)
    for c in claims:
        v = verdicts.get(c.id)
        table.add_row(
            c.id,
            c.kind,
            c.statement[:90] + ("…" if len(c.statement) > 90 else ""),
            str(c.n_seeds("quick")),
            f"{v[0]} ({v[2]:%Y-%m-%d %H:%M})" if v else "not run",
        )
    console.print(table)


@app.command()
def run(
    claim_id: str = typer.Argument(..., help="Claim id (see `aflab list --ids`)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set key=value (repeatable)."),
    grid: list[str] = typer.Option([], "--grid", help="Sweep a key over values: --grid k=4,8,16 (repeatable)."),
    seeds: int | None = typer.Option(
        None, "--seeds", min=1, max=100_000, help="Number of seeds (default: the preset's)."
    ),
    full: bool = typer.Option(False, "--full", help="Use the full preset instead of quick."),
    preset: str | None = typer.Option(
        None, "--preset", help="quick (default), full, or smoke (seconds: the size the claim contract runs)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Base seed; each cell's seed is derived from it."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=256, help="Worker processes (one thread each)."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or a cluster ADDRESS."),
    force: bool = typer.Option(False, "--force", help="Recompute cells already in the store."),
    cell_timeout: float | None = CellTimeoutOpt,
    out: Path | None = typer.Option(None, "--out", help="Also write this claim's report (HTML + JSON) here."),
    store: Path = StoreOpt,
) -> None:
    """Run one claim (every seed, every grid point) and print its verdict.

    Example: aflab run core.selfcheck --seeds 4 --set n_samples=100000 --jobs 2
    """
    from aflab.core.evaluate import run_claims

    try:
        claim = get_claim(claim_id)
    except KeyError as err:
        _fail(str(err.args[0]))
    preset = _preset(claim, preset, full)
    _check_out(out)
    _check_ray(ray)
    points = _grid_points(parse_assignments(set_), parse_assignments(grid, "--grid"))
    try:
        configs = [claim.make_config(preset, p) for p in points]
    except ConfigError as err:
        _fail(str(err))
    n = seeds or claim.n_seeds(preset)
    t0 = time.perf_counter()
    with _store(store) as st:
        outcomes, summary = run_claims(
            [(claim, cfg, preset, n) for cfg in configs],
            st,
            n_jobs=jobs,
            ray_address=ray,
            force=force,
            base_seed=seed,
            draw_figures=out is not None,
            cell_timeout_s=cell_timeout,
        )
    for o in outcomes:
        if len(outcomes) > 1:
            console.print(f"[dim]config {o.config.model_dump()}[/]")
        _print_outcome(o)
    if out is not None:
        from aflab.core.report import write_report

        path = write_report(outcomes, out, preset, seed, time.perf_counter() - t0)
        console.print(f"report: {path}")
    console.print(
        f"cells: {summary.done} done, {summary.cached} cached, {summary.failed} failed"
        + (f", {summary.skipped} skipped" if summary.skipped else "")
    )
    if summary.interrupted:
        _fail("interrupted; finished cells are saved, rerun the same command to resume", 130)
    if not summary.ok or any(o.error for o in outcomes):
        raise typer.Exit(1)


def _preset_name(preset: str | None, full: bool) -> str:
    """--preset (quick, full or smoke) or --full, checked."""
    if preset is not None and full:
        _fail("give --preset or --full, not both")
    name = preset or ("full" if full else "quick")
    if name not in ("quick", "full", "smoke"):
        _fail(f"--preset: unknown preset {name!r}; allowed: quick, full, smoke")
    return name


def _preset(claim, preset: str | None, full: bool) -> str:
    """--preset (quick, full or smoke) or --full; a claim without a smoke preset runs quick for smoke."""
    name = _preset_name(preset, full)
    return name if name in claim.presets else "quick"


MAX_GRID_POINTS = 10_000


def _grid_points(overrides: dict, grid_values: dict) -> list[dict]:
    """The cartesian product of ``--grid`` values over the ``--set`` overrides (at most MAX_GRID_POINTS)."""
    points: list[dict] = [dict(overrides)]
    for key, raw in grid_values.items():
        values = raw if isinstance(raw, list) else [_json_or_str(v) for v in str(raw).split(",")]
        if not values or values == [""]:
            _fail(f"--grid {key}= has no values (example: --grid {key}=4,8,16)")
        points = [{**p, key: v} for p in points for v in values]
        if len(points) > MAX_GRID_POINTS:
            _fail(f"--grid: more than {MAX_GRID_POINTS} grid points; split the sweep into several runs")
    for point in points:
        for key, value in point.items():
            if _non_finite(value):
                _fail(f"--set/--grid {key}={value}: NaN and infinity are not config values; give a finite number")
    return points


def _non_finite(value) -> bool:
    """Is ``value`` (a number, a string such as 'nan' or '-inf', or a list of them) not a finite number?"""
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    if isinstance(value, bool):
        return False
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False  # not a number at all: the config's own validation names the field


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file; give a folder for index.html and report.json (it is created if missing)")


def _check_ray(address: str | None) -> None:
    if address is None:
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        _fail("--ray needs the 'ray' extra: pip install 'aflab[ray]' (or run without --ray)")


def _json_or_str(raw: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@app.command()
def report(
    quick: bool = typer.Option(True, "--quick/--full", help="Preset: quick (minutes) or full (hours)."),
    out: Path = typer.Option(Path("report"), "--out", help="Output folder for index.html and report.json."),
    only: list[str] = typer.Option(
        [], "--only", help="Only this system (repeatable): " + ", ".join(SYSTEMS) + ", core."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Base seed."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, max=256, help="Worker processes (one thread each)."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or a cluster ADDRESS."),
    force: bool = typer.Option(False, "--force", help="Recompute cells already in the store."),
    cell_timeout: float | None = CellTimeoutOpt,
    store: Path = StoreOpt,
) -> None:
    """Run every registered claim and write a static HTML report (plus report.json).

    The quick preset aims at < 10 min on 2 cores (--jobs 2); a slow 2-core AMD EPYC takes ~12 (docs/architecture.md).
    Finished cells are stored: an interrupted report resumes, and a rerun only redraws the page (under a minute).

    Example: aflab report --quick --only waluigi --out report
    """
    from aflab.core.evaluate import run_claims
    from aflab.core.report import write_report

    for name in only:
        if name not in ("core", *SYSTEMS):
            _fail(f"--only: unknown system {name!r}; allowed: {', '.join(('core',) + SYSTEMS)}")
    preset = "quick" if quick else "full"
    _check_out(out)
    _check_ray(ray)
    claims = [c for c in all_claims() if not only or c.system in only]
    if not claims:
        _fail("no claims selected")
    t0 = time.perf_counter()
    with _store(store) as st:
        outcomes, summary = run_claims(
            [(c, c.make_config(preset), preset, c.n_seeds(preset)) for c in claims],
            st,
            n_jobs=jobs,
            ray_address=ray,
            force=force,
            base_seed=seed,
            draw_figures=False,  # drawn by write_report while its workers encode the ones already drawn
            cell_timeout_s=cell_timeout,
        )
        stability = _stability_for(claims, st, preset)
    path = write_report(outcomes, out, preset, seed, time.perf_counter() - t0, stability, jobs=jobs, progress=True)
    for o in outcomes:
        _print_outcome(o)
    wall = time.perf_counter() - t0
    console.print(
        f"\nReport: [bold]{path.resolve()}[/]  ({wall:.1f} s; cells {summary.done} "
        f"done, {summary.cached} cached, {summary.failed} failed)"
    )
    if over := quick_budget_warning(preset, wall, summary.done):
        console.print(f"[yellow]{over}[/]")
    if summary.interrupted:
        _fail("interrupted; finished cells are saved, rerun to resume", 130)
    if not summary.ok or any(o.error for o in outcomes):
        raise typer.Exit(1)


def quick_budget_warning(preset: str, wall_s: float, cells_run: int) -> str | None:
    """The line that says a quick report that computed its cells ran over the 10-minute rule (the page's badge,
    on the terminal too); None when it did not, for other presets, and for a report read from cached cells."""
    from aflab.core.report import QUICK_REPORT_BUDGET_S

    if preset != "quick" or cells_run == 0 or wall_s <= QUICK_REPORT_BUDGET_S:
        return None
    return (
        f"{wall_s / 60:.1f} min: over the quick report's {QUICK_REPORT_BUDGET_S / 60:.0f}-minute rule on this machine "
        "(2 cores); the page gives its speed probe, docs/architecture.md the measured passes"
    )


@app.command()
def stability(
    claim_ids: list[str] = typer.Argument(None, help="Claim ids (see `aflab list --ids`); omit with --all."),
    all_: bool = typer.Option(False, "--all", help="Every registered claim of kind 'claim' (add --checks for checks)."),
    checks: bool = typer.Option(False, "--checks", help="With --all: include the theory checks too."),
    sets: int = typer.Option(10, "--sets", min=2, max=1000, help="Disjoint seed sets (set 0 = the report's seeds)."),
    full: bool = typer.Option(False, "--full", help="Use the full preset instead of quick."),
    preset: str | None = typer.Option(
        None, "--preset", help="quick (default), full, or smoke (seconds: the size the claim contract runs)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Base seed; each cell's seed is derived from it."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=256, help="Worker processes (one thread each)."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or a cluster ADDRESS."),
    export: Path | None = typer.Option(None, "--export", help="Also write the results as JSON to FILE."),
    shipped: bool = typer.Option(
        False,
        "--shipped",
        help="Run nothing: list the stability measurements already stored (this store's, then those shipped "
        "with aflab) for the named claims, or for every claim with --all.",
    ),
    figure: Path | None = typer.Option(
        None, "--figure", help="With --shipped: also draw the listed claims' measured sets on one PNG (FILE)."
    ),
    cell_timeout: float | None = CellTimeoutOpt,
    store: Path = StoreOpt,
) -> None:
    """Judge a claim on disjoint seed sets and report how often the verdict agrees.

    Set j runs the preset's n seeds with seed indices j*n .. j*n+n-1, so the sets share no seed and set 0 is
    exactly what `aflab report` runs. Cells are cached in the store like any run; the agreement is stored and
    shown by the report. With --shipped nothing runs: the stored measurements are listed, marked "older code"
    when measured at an earlier code version of the same config.

    Example: aflab stability waluigi.lm-window-plateau --sets 10 --jobs 2
    Example: aflab stability --all --checks --shipped
    """
    from aflab.core.stability import export_results, run_stability

    if shipped and not claim_ids and not all_:
        all_ = True
    if all_ == bool(claim_ids):
        _fail("name claim ids or pass --all (not both)")
    if figure is not None and not shipped:
        _fail("--figure draws stored results: add --shipped")
    if shipped:
        _show_stability(claim_ids, checks, _preset_name(preset, full), store, figure)
        return
    _check_ray(ray)
    claims = _claims_for(claim_ids, checks)
    results = []
    with _store(store) as st:
        for claim in claims:
            res = run_stability(
                claim,
                st,
                n_sets=sets,
                preset=_preset(claim, preset, full),
                n_jobs=jobs,
                ray_address=ray,
                base_seed=seed,
                cell_timeout_s=cell_timeout,
            )
            if res is None:
                console.print(
                    f"[bold]{claim.id}[/]: [dim]not judged (skipped here or a cell failed; see aflab results)[/]"
                )
                continue
            results.append(res)
            color = "green" if res.agreement == res.n_sets else "yellow"
            console.print(f"[bold]{claim.id}[/] ({claim.kind}): [{color}]{escape(res.summary())}[/]")
    if export is not None:
        export_results(results, export)
        console.print(f"wrote {len(results)} results to {export}")


def _claims_for(claim_ids: list[str] | None, checks: bool) -> list:
    """The named claims, or every claim of kind 'claim' (and the checks with ``checks``); exits on an unknown id."""
    try:
        if claim_ids:
            return [get_claim(c) for c in claim_ids]
        return [c for c in all_claims() if c.kind == "claim" or checks]
    except KeyError as err:
        _fail(str(err.args[0]))
        raise  # unreachable: _fail exits


def _show_stability(claim_ids: list[str] | None, checks: bool, preset: str, store: Path, figure: Path | None) -> None:
    """Print the stored stability measurements as a table (``aflab stability --shipped``)."""
    from aflab.core.stability import StabilityResult, platform_summary, shipped_results, stability_rows

    claims = _claims_for(claim_ids, checks)
    stored = []
    if store.exists():
        with _store(store) as st:
            stored = [StabilityResult.from_json(r) for r in st.stability_results()]
    rows = stability_rows(claims, stored + shipped_results(), preset)
    if figure is not None:
        _stability_png(claims, stored + shipped_results(), preset, figure)
    head = ("claim (* = a check)", "set 0", "agreement", "seeds", "code")
    lines = [
        (
            r.claim + (" *" if r.kind != "claim" else ""),
            r.set0,
            r.agreement,
            str(r.seeds_per_set or "-"),
            ("current" if r.current else "older") if r.agreement != "not measured" else "-",
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    console.print(
        f"verdict stability, {preset} preset (target: >= 9 of 10 disjoint seed sets give the same supported/refuted verdict)"
    )
    console.print("  ".join(h.ljust(w) for h, w in zip(head, widths)), style="bold", soft_wrap=True)
    for r, cells in zip(rows, lines):
        color = "green" if r.meets_target else ("yellow" if r.agreement != "not measured" else "dim")
        console.print("  ".join(c.ljust(w) for c, w in zip(cells, widths)), style=color, soft_wrap=True)
    met, undecided = sum(r.meets_target for r in rows), sum(r.undecided for r in rows)
    console.print(
        f"{met}/{len(rows)} meet the target; {undecided} agree only on 'inconclusive' (quick cannot decide "
        f"them: not a met target); {sum(r.current for r in rows)} measured at the current code"
    )
    for line in platform_summary(rows):
        console.print(line, style="dim", soft_wrap=True)


def _stability_png(claims, stored, preset: str, path: Path) -> None:
    from aflab.core.plots import figure_png
    from aflab.core.report import atomic_write
    from aflab.core.stability import best_results, stability_panels

    best = best_results(claims, stored, preset)
    found = [best[c.id][0] for c in claims if c.id in best]
    if not found:
        _fail("--figure: none of these claims has a stored stability measurement")
    atomic_write(path, figure_png(stability_panels(found), dpi=110))
    console.print(f"wrote {path} ({len(found)} claims)")


def _stability_for(claims, store, preset: str) -> dict:
    """Stability results for the report: the store's own, then the measurements shipped with aflab."""
    from aflab.core.stability import StabilityResult, best_results, shipped_results

    stored = [StabilityResult.from_json(r) for r in store.stability_results()]
    return best_results(claims, stored + shipped_results(), preset)


@app.command()
def results(
    claim: str | None = typer.Option(None, "--claim", help="Only this claim id."),
    export: Path | None = typer.Option(
        None,
        "--export",
        help="FILE.parquet / FILE.csv: one table (one claim's, wide, with --claim; else every "
        "claim in one long tidy table). A FOLDER: one wide Parquet file per claim.",
    ),
    migrate: Path | None = typer.Option(None, "--migrate", help="Copy an old single-file .duckdb store into --store."),
    store: Path = StoreOpt,
) -> None:
    """List what the result store holds, or export its tables.

    Example: aflab results --claim core.selfcheck --export selfcheck.parquet
    """
    if migrate is not None:
        from aflab.core.store import migrate_duckdb_store

        if not migrate.is_file():
            _fail(f"--migrate: no file at {migrate}")
        with _store(store) as st:
            n = migrate_duckdb_store(migrate, st)
        console.print(f"copied {n} cells from {migrate} into {store}")
        return
    if not store.exists():
        _fail(f"--store: no result store at {store}; run a claim first or pass --store PATH")
    if claim is not None:
        try:
            get_claim(claim)
        except KeyError as err:
            _fail(f"--claim: {err.args[0]}")
    if export is not None and export.suffix not in (".csv", ".parquet", ""):
        _fail(f"--export: unsupported extension {export.suffix!r}; use .csv, .parquet or a folder")
    with _store(store, read_only=True) as st:
        if export is None:
            _print_frame(st.list_cells(claim), str(store))
        elif export.suffix == "":
            n = _export_folder(st, export, [claim] if claim else st.claims())
            console.print(f"wrote {n} claim files to {export}/")
        else:
            df = st.export_claim(claim) if claim else st.export_long()
            _write_frame(df, export)
            console.print(f"wrote {len(df)} rows to {export}")


def _print_frame(df, title: str) -> None:
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for row in df.itertuples(index=False):
        table.add_row(*[str(x) for x in row])
    console.print(table)


def _write_frame(df, path: Path) -> None:
    if path.exists() and path.is_dir():
        _fail(f"--export: {path} is a folder; give a file name ending in .parquet or .csv")
    write_table(df, path)


def _export_folder(st, folder: Path, claims: list[str]) -> int:
    if folder.exists() and not folder.is_dir():
        _fail(f"--export: {folder} is a file; give a folder (no extension) or FILE.parquet")
    for claim_id in claims:
        _write_frame(st.export_claim(claim_id), folder / f"{claim_id}.parquet")
    return len(claims)


@app.command()
def version() -> None:
    """Print aflab's version and the versions of its main dependencies.

    Example: aflab version
    """
    import numpy
    import pandas

    typer.echo(f"aflab {__version__}")
    typer.echo(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, pandas {pandas.__version__}")
    for mod in ("torch", "ray", "transformers"):
        try:
            m = importlib.import_module(mod)
            typer.echo(f"{mod} {m.__version__}")
        except ImportError:
            typer.echo(f"{mod} not installed")


def main() -> None:
    """The console entry point. A file-system error that reached it (e.g. ``--out`` under a folder that
    does not exist or cannot be written) ends in one line naming the path and what to check, exit code 1,
    instead of a traceback; ``AFLAB_TRACEBACK=1`` re-raises it."""
    from aflab.core.cli_support import TRACEBACK_ENV, os_error_message, print_error

    try:
        app()
    except OSError as err:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print_error(os_error_message(err))
        sys.exit(1)


if __name__ == "__main__":
    main()
