"""The ``aflab`` command line: list, run, report, results, version, and one sub-command per system."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aflab import __version__
from aflab.core.claims import SYSTEMS, ConfigError, all_claims, enabled_systems, get_claim

app = typer.Typer(
    name="aflab",
    help="Agent Foundations Lab: run the formal systems of agent-foundations research and test claims about "
    "them with measurements.\n\nExample: aflab report --quick --out report",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)

#: system package -> CLI name of its sub-command
SYSTEM_CLI_NAMES = {
    "logical_induction": "li",
    "waluigi": "waluigi",
    "path_dependence": "pd",
    "partial_agency": "partial-agency",
    "embedded": "embedded",
    "normativity": "normativity",
}

StoreOpt = typer.Option(Path("aflab-results/results.duckdb"), "--store", help="DuckDB result store file.")


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


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


def _store(path: Path):
    from aflab.core.store import ResultStore, StoreLockedError

    try:
        return ResultStore(path)
    except StoreLockedError as err:
        _fail(str(err))


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
        from aflab.core.store import ResultStore

        try:
            with ResultStore(store, read_only=True) as st:
                verdicts = st.latest_verdicts() if _has_table(st, "verdicts") else {}
        except Exception:
            verdicts = {}
    table = Table(title=f"{len(claims)} claims")
    for col in ("claim", "statement", "quick seeds", "latest verdict"):
        table.add_column(col)
    for c in claims:
        v = verdicts.get(c.id)
        table.add_row(
            c.id,
            c.statement[:90] + ("…" if len(c.statement) > 90 else ""),
            str(c.n_seeds("quick")),
            f"{v[0]} ({v[2]:%Y-%m-%d %H:%M})" if v else "not run",
        )
    console.print(table)


def _has_table(st, name: str) -> bool:
    return bool(
        st.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name=?", [name]).fetchone()[0]
    )


@app.command()
def run(
    claim_id: str = typer.Argument(..., help="Claim id (see `aflab list --ids`)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set key=value (repeatable)."),
    grid: list[str] = typer.Option([], "--grid", help="Sweep a key over values: --grid k=4,8,16 (repeatable)."),
    seeds: int | None = typer.Option(None, "--seeds", min=1, help="Number of seeds (default: the preset's)."),
    full: bool = typer.Option(False, "--full", help="Use the full preset instead of quick."),
    seed: int = typer.Option(0, "--seed", help="Base seed; each cell's seed is derived from it."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes (one thread each)."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or a cluster ADDRESS."),
    force: bool = typer.Option(False, "--force", help="Recompute cells already in the store."),
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
    preset = "full" if full else "quick"
    overrides = parse_assignments(set_)
    grid_values = parse_assignments(grid, "--grid")
    points: list[dict] = [dict(overrides)]
    for key, raw in grid_values.items():
        values = raw if isinstance(raw, list) else [_json_or_str(v) for v in str(raw).split(",")]
        points = [{**p, key: v} for p in points for v in values]
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
    seed: int = typer.Option(0, "--seed", help="Base seed."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Worker processes (one thread each)."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or a cluster ADDRESS."),
    force: bool = typer.Option(False, "--force", help="Recompute cells already in the store."),
    store: Path = StoreOpt,
) -> None:
    """Run every registered claim and write a static HTML report (plus report.json).

    Example: aflab report --quick --only waluigi --out report
    """
    from aflab.core.evaluate import run_claims
    from aflab.core.report import write_report

    for name in only:
        if name not in ("core", *SYSTEMS):
            _fail(f"--only: unknown system {name!r}; allowed: {', '.join(('core',) + SYSTEMS)}")
    preset = "quick" if quick else "full"
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
        )
    path = write_report(outcomes, out, preset, seed, time.perf_counter() - t0)
    for o in outcomes:
        _print_outcome(o)
    console.print(
        f"\nReport: [bold]{path.resolve()}[/]  ({time.perf_counter() - t0:.1f} s; cells {summary.done} "
        f"done, {summary.cached} cached, {summary.failed} failed)"
    )
    if summary.interrupted:
        _fail("interrupted; finished cells are saved, rerun to resume", 130)
    if not summary.ok or any(o.error for o in outcomes):
        raise typer.Exit(1)


@app.command()
def results(
    claim: str | None = typer.Option(None, "--claim", help="Only this claim id."),
    export: Path | None = typer.Option(None, "--export", help="Write all finished tables to FILE (.csv or .parquet)."),
    store: Path = StoreOpt,
) -> None:
    """List what the result store holds, or export its tables.

    Example: aflab results --claim core.selfcheck --export selfcheck.parquet
    """
    from aflab.core.report import atomic_write
    from aflab.core.store import ResultStore

    if not store.exists():
        _fail(f"no result store at {store}; run a claim first or pass --store PATH")
    if export is not None and export.suffix not in (".csv", ".parquet"):
        _fail(f"--export: unsupported extension {export.suffix!r}; use .csv or .parquet")
    with ResultStore(store, read_only=True) as st:
        if export is None:
            df = st.list_cells(claim)
            table = Table(title=str(store))
            for col in df.columns:
                table.add_column(col)
            for row in df.itertuples(index=False):
                table.add_row(*[str(x) for x in row])
            console.print(table)
            return
        df = st.export_tables(claim)
    if export.suffix == ".csv":
        atomic_write(export, df.to_csv(index=False))
    else:
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write(export, buf.getvalue())
    console.print(f"wrote {len(df)} rows to {export}")


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


def _mount_systems() -> None:
    for system in enabled_systems():
        name = SYSTEM_CLI_NAMES[system]
        try:
            mod = importlib.import_module(f"aflab.{system}.cli")
        except ModuleNotFoundError as err:
            if err.name in (f"aflab.{system}", f"aflab.{system}.cli"):
                continue
            err_console.print(f"[yellow]aflab: the '{name}' commands are unavailable: {err}[/]")
            continue
        sub = getattr(mod, "app", None)
        if sub is not None:
            app.add_typer(sub, name=name)


_mount_systems()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
