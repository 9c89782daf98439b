"""`aflab li ...`: run the logical-induction market on a scenario, audit its properties, parse sentences."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aflab.core.cli_support import fail as _fail
from aflab.core.cli_support import prepare_output

app = typer.Typer(
    help="Logical induction (Garrabrant et al. 2016): a fast Garrabrant inductor with audits.", no_args_is_help=True
)
console = Console()
SCENARIOS = ("pi", "prg", "separable")


def _build(scenario: str, days: int, seed: int, sentences: int):
    from aflab.logical_induction.deduction import prg_scenario, separable_scenario
    from aflab.logical_induction.experiments import PiAuditConfig, adversaries, pi_audit_scenario, pi_traders
    from aflab.logical_induction.traders import build_traders, enumerate_programs

    if scenario == "pi":
        cfg = PiAuditConfig(n_days=max(days, 4))
        sc = pi_audit_scenario(cfg, seed)
        return sc, pi_traders(sc, cfg), adversaries()
    if scenario == "prg":
        sc = prg_scenario(days, seed=seed)
    else:
        sc = separable_scenario(sentences, days, seed=seed)
    labels = tuple(sorted(set(sc.labels.values())))
    return sc, build_traders(enumerate_programs(labels, depth=2, include=("frequency", "constant", "floor"))), ()


@app.command()
def run(
    scenario: str = typer.Argument(..., help=f"one of {', '.join(SCENARIOS)}"),
    days: int = typer.Option(20, "--days", "-n", help="days to run (>= 1)"),
    seed: int = typer.Option(0, help="scenario seed (pi: which stretch of digits; prg: generator seed)"),
    sentences: int = typer.Option(1000, help="separable scenario: sentences priced per day"),
    maker: str = typer.Option("solver", help="'solver' (certified fixed point) or 'rational' (exhaustive)"),
    out: Path = typer.Option(None, help="directory for prices/ledger/maker Parquet tables and PNG plots"),
    checkpoint: Path = typer.Option(None, help="write the final market state here (.npz) to resume later"),
    resume: Path = typer.Option(
        None, help="continue from a checkpoint written by --checkpoint (same scenario, seed and sentences)"
    ),
):
    """Run the market day by day and print the maker's certificate and the last prices.

    Example: ``aflab li run pi --days 30 --out runs/pi --checkpoint runs/pi30.npz``, then
    ``aflab li run pi --days 60 --resume runs/pi30.npz``
    """
    if scenario not in SCENARIOS:
        _fail(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if days < 1 or days > 100_000:
        _fail(f"--days must lie in [1, 100000], got {days}")
    if sentences < 1:
        _fail(f"--sentences must be >= 1, got {sentences}")
    if seed < 0:
        _fail(f"--seed must be >= 0 (pi: which stretch of digits; prg: the generator seed), got {seed}")
    if maker not in ("solver", "rational"):
        _fail(f"--maker must be 'solver' or 'rational', got {maker!r}")
    prepare_output(out, "--out", folder=True)
    prepare_output(checkpoint, "--checkpoint", folder=False)
    from aflab.logical_induction.inductor import save_checkpoint

    sc, traders, advs = _build(scenario, days, seed, sentences)
    state = _resume_state(resume, days)
    start = state.day if state is not None else 0
    t0 = time.perf_counter()
    res, final_state = _run_with_bar(scenario, sc, traders, advs, days, maker, state)
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(final_state, checkpoint)
        console.print(f"checkpoint at day {days} written to {checkpoint}")
    wall = time.perf_counter() - t0
    mk = res.maker
    console.print(
        f"{len(traders)} traders, days {start + 1}-{days} in {wall:.2f} s "
        f"({mk.n_priced.iloc[start:].sum() / wall:,.0f} sentence-days/s); "
        f"certified {int(mk.certified.sum())}/{days} days, "
        f"max worst-case firm value {mk.max_value.max():.2e}"
    )
    last = res.prices[res.prices.day == res.prices.day.max()]
    table = Table("sentence", "label", "price", "decided")
    for row in last.head(25).itertuples():
        table.add_row(row.sentence, row.label, f"{row.price:.4f}", str(row.decided))
    console.print(table)
    if advs:
        console.print(_heldout_summary(res.ledger))
    if out is not None:
        _write_run(res, out)


def _heldout_summary(ledger) -> Table:
    """Per held-out trader (booked, not in the firm): its guaranteed gain (min over consistent worlds) on the
    last day and its least-squares slope over the last third of days -- what `non-exploitation` judges
    (:func:`.claims.gain_rates`, one run)."""
    from aflab.logical_induction.claims import gain_rates
    from aflab.logical_induction.heldout import suite_of

    adv = ledger[ledger.role == "adversary"]
    n = int(adv.day.max())
    final = adv[adv.day == n].set_index("trader").worst
    rates = gain_rates(adv.assign(market="run", seed=0), "run").sort_values("slope_last_third", ascending=False)
    table = Table(title="Held-out traders (outside the firm; the audit's bar: 0.05 a day)")
    table.add_column("held-out trader", no_wrap=True)
    table.add_column("suite")
    table.add_column(f"gain on day {n}", justify="right")
    table.add_column("gain/day, last third", justify="right")
    for row in rates.itertuples():
        table.add_row(
            row.trader, suite_of(row.trader) or "?", f"{final[row.trader]:+.2f}", f"{row.slope_last_third:+.4f}"
        )
    return table


def _resume_state(resume: Path | None, days: int):
    """The market state saved by ``--checkpoint`` (None without ``--resume``); clear errors for a bad file."""
    from aflab.logical_induction.inductor import load_checkpoint

    if resume is None:
        return None
    if not resume.exists():
        _fail(f"--resume file {resume} does not exist")
    try:
        state = load_checkpoint(resume)
    except (ValueError, KeyError, OSError) as err:
        reason = (
            "not a checkpoint archive (numpy could read it only as a pickle, which aflab never loads)"
            if "pickle" in str(err)
            else str(err)
        )
        _fail(f"cannot read checkpoint {resume}: {reason}; give a .npz written by `aflab li run --checkpoint`")
    if state.day >= days:
        _fail(f"checkpoint is at day {state.day}; --days must be larger")
    return state


def _run_with_bar(scenario: str, sc, traders, advs, days: int, maker: str, state):
    """``run_market`` to day ``days`` with a progress bar; returns the run and its final state."""
    from aflab.logical_induction.inductor import run_market

    with Progress(
        TextColumn("[bold]li run[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(scenario, total=days)
        states: list = []
        try:
            res = run_market(
                sc,
                traders,
                advs,
                n_days=days,
                maker=maker,
                resume=state,
                state_out=states,
                progress=lambda d: bar.update(task, completed=d),
            )
        except ValueError as err:
            _fail(str(err))
    return res, states[0]


def _write_run(res, out: Path) -> None:
    """The run's prices, ledger and maker tables (Parquet) and its maker and trajectory figures (PNG)."""
    import pandas as pd

    from aflab.logical_induction import plots

    out.mkdir(parents=True, exist_ok=True)
    res.prices.to_parquet(out / "prices.parquet")
    res.ledger.to_parquet(out / "ledger.parquet")
    res.maker.to_parquet(out / "maker.parquet")
    plots.maker_figure(res.maker).savefig(out / "maker.png", dpi=90)
    p = res.prices
    sample = p[p.sentence.isin(p.sentence.drop_duplicates().head(12))].assign(kind="sample")
    never = p[(p.revealed_on < 0) & (p.truth < 0)].assign(kind="never_decided")
    plots.trajectories_figure(pd.concat([sample, never])).savefig(out / "trajectories.png", dpi=90)
    console.print(f"wrote tables and plots to {out}")


@app.command()
def audit(
    preset: str = typer.Option("quick", help="'smoke', 'quick' or 'full'"),
    only: str = typer.Option("", help="substring filter on claim ids"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="worker processes (one thread each)"),
    store: Path = typer.Option(
        Path("aflab-results"), "--store", help="Result store folder (cells are cached; shared with aflab run)"
    ),
    force: bool = typer.Option(False, "--force", help="recompute cells already in the store"),
    checkpoint: Path = typer.Option(
        None,
        help="audit a saved pi run instead (a --checkpoint of `aflab li "
        "run pi` or of the long benchmark): the pi audits only",
    ),
    seed: int = typer.Option(0, help="with --checkpoint: the stretch of pi the run used (`li run pi --seed`)"),
):
    """Run every logical-induction audit claim through the runner and the result store (as `aflab run` does:
    cached cells, derived seeds, one stretch of pi per seed) and print its verdict.

    With ``--checkpoint``, the pi audits judge that run instead: each claim's table is built from the run
    by its own table function and judged by its own verdict function (one run: windowed means get
    batch-means intervals; the non-exploitation control market is computed for the same days).

    Examples: ``aflab li audit --only coherence``;
    ``aflab li run pi --days 400 --checkpoint pi400.npz && aflab li audit --checkpoint pi400.npz``
    """
    if preset not in ("smoke", "quick", "full"):
        _fail(f"--preset must be 'smoke', 'quick' or 'full', got {preset!r}")
    from aflab.core import all_claims

    claims = [c for c in all_claims("logical_induction") if only in c.id]
    if not claims:
        _fail(f"no logical_induction claim id contains {only!r}")
    table = Table("claim", "verdict", "seconds", "reason")

    def row(claim_id, label, seconds, reason):
        colour = {"supported": "green", "refuted": "red"}.get(label, "yellow")
        table.add_row(claim_id.split(".", 1)[1], f"[{colour}]{label}[/{colour}]", f"{seconds:.1f}", reason)

    if checkpoint is not None:
        from aflab.logical_induction.claims import judge_pi_run

        judged = list(judge_pi_run(*_load_pi_checkpoint(checkpoint, seed), only=only))
        if not judged:
            _fail("--checkpoint audits the pi claims only; --only selected none of them")
        for claim, v, seconds in judged:
            row(claim.id, v.label, seconds, v.reason)
        console.print(table)
        return
    from aflab.core.evaluate import run_claims
    from aflab.core.store import ResultStore, StoreError

    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = ResultStore(store)
    except StoreError as err:
        _fail(str(err))
    with st:
        jobs_ = [(c, c.make_config(preset), preset, c.n_seeds(preset)) for c in claims]
        outcomes, summary = run_claims(jobs_, st, n_jobs=jobs, force=force, progress=False, draw_figures=False)
    for o in outcomes:
        row(o.claim.id, o.label, o.compute_s, o.verdict.reason if o.verdict else (o.error or o.skipped or ""))
    console.print(table)
    console.print(f"cells: {summary.done} done, {summary.cached} cached, {summary.failed} failed (store {store})")
    if not summary.ok or any(o.error for o in outcomes):
        raise typer.Exit(1)


def _load_pi_checkpoint(path: Path, seed: int):
    """A saved pi run as the audits' ``(config, scenario, run)``; clear errors for anything else."""
    from aflab.logical_induction.experiments import PiAuditConfig, pi_audit_scenario
    from aflab.logical_induction.inductor import load_checkpoint, run_tables

    if seed < 0:
        _fail(f"--seed must be >= 0, got {seed}")
    try:
        state = load_checkpoint(path)
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"--checkpoint {path}: cannot read it ({exc})")
    run = run_tables(state)
    if state.day < 4 or not run.prices.label.str.startswith("digit=").any():
        _fail(
            f"--checkpoint {path}: not a pi run of at least 4 days (day {state.day}); write one with "
            "`aflab li run pi --days N --checkpoint FILE`"
        )
    cfg = PiAuditConfig(n_days=state.day)
    return cfg, pi_audit_scenario(cfg, seed), run


@app.command()
def parse(text: str = typer.Argument(..., help="a sentence, e.g. 'pi_digit(7) = 3 & ~rain'")):
    """Parse a sentence and print its canonical form and atoms (errors name the column).

    Example: ``aflab li parse "P_5(rain) > 0.7 -> rain"``
    """
    from aflab.logical_induction.sentences import SentenceParseError, to_text
    from aflab.logical_induction.sentences import parse as parse_sentence

    try:
        s = parse_sentence(text)
    except SentenceParseError as err:
        _fail(str(err))
    console.print(to_text(s))
    console.print("atoms: " + ", ".join(sorted(s.atoms)))
