"""``aflab pd ...``: width sweeps and shard experiments from the command line."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from aflab.core.cli_support import TABLE_SUFFIXES, prepare_output, write_table
from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Path-dependence of gradient descent vs width: parametrizations, manipulations, shards.", no_args_is_help=True
)
console = Console()


def _ints(text: str, field: str, most: int) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        _fail(f"--{field} must be comma-separated integers, e.g. 64,256,1024 (got {text!r})")
    if not vals or any(v < 1 for v in vals):
        _fail(f"--{field} needs at least one positive integer (got {text!r})")
    if max(vals) > most:
        _fail(f"--{field} at most {most} (a width-n layer holds n^2 weights per member; got {max(vals)})")
    return vals


#: the widest net the command line trains (16,384 is the largest any claim uses; 4x that is ~17 GB per layer)
MAX_CLI_WIDTH = 1 << 16


def _names(text: str, field: str, allowed: tuple[str, ...]) -> list[str]:
    vals = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in vals if v not in allowed]
    if not vals or bad:
        _fail(f"--{field}: unknown {bad or text!r}; choose from {', '.join(allowed)}")
    return vals


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _check_finite(**options: float) -> None:
    """Float options that must be finite (typer's ``min=`` lets inf through, and NaN past some checks)."""
    for name, value in options.items():
        if not math.isfinite(value):
            _fail(f"--{name.replace('_', '-')} must be a finite number, got {value}")


def _check_outputs(out: Path | None, plot: Path | None) -> None:
    """``--out``'s suffix and both output folders, checked before any training: a typo must not cost the run."""
    prepare_output(out, "--out", folder=False, suffixes=TABLE_SUFFIXES)
    prepare_output(plot, "--plot", folder=False)


def _save(df, out: Path | None) -> None:
    if out is None:
        return
    write_table(df, out)  # folder and suffix checked before training (_check_outputs)
    console.print(f"wrote {out}")


@app.command()
def sweep(
    widths: str = typer.Option("64,256,1024", help="comma-separated hidden widths"),
    params: str = typer.Option("ntk,mup", help="parametrizations: sp, sp_lr1n, ntk, mup"),
    manipulation: str = typer.Option(
        "order", help="comma-separated: order, perturb, init, curriculum, curriculum_control"
    ),
    dataset: str = typer.Option("digits", help="digits | mnist1d | slab"),
    steps: int = typer.Option(300, min=2, help="SGD steps (the fixed budget)"),
    stop_at_loss: float = typer.Option(0.0, min=0.0, help="also train to this full-batch train loss (0 = off)"),
    max_steps: int = typer.Option(20000, min=2, help="step cap of the converged regime"),
    loss: str = typer.Option("ce", help="ce | mse"),
    pairs: int = typer.Option(2, min=1, help="paired runs per width"),
    lr: float = typer.Option(0.5, min=1e-6, help="base learning rate (at the base width)"),
    base_width: int = typer.Option(64, min=1, help="width where all parametrizations coincide"),
    n_hidden: int = typer.Option(1, min=1, max=3, help="hidden layers (conv layers for --arch cnn)"),
    arch: str = typer.Option("mlp", help="mlp | cnn (1-D CNN, channels = width; use with mnist1d)"),
    ntk_probe: int = typer.Option(0, min=0, help="probe inputs for the NTK distance (0 = skip)"),
    seed: int = typer.Option(0, help="random seed"),
    out: Path = typer.Option(None, help="write the table to .parquet or .csv"),
    plot: Path = typer.Option(None, help="write a log-log metric-vs-width PNG"),
) -> None:
    """Width sweep of paired runs (fixed budget, and matched train loss with --stop-at-loss): TV, disagreement,
    feature change, NTK distance, LMC, CKA.

    Example: aflab pd sweep --widths 64,256,1024 --params ntk,mup --manipulation order,init --stop-at-loss 1e-3
    """
    import torch

    from aflab.path_dependence.choices import DATASETS, MANIPULATIONS, PARAMETRIZATIONS

    torch.set_num_threads(1)
    _check_finite(lr=lr, stop_at_loss=stop_at_loss)
    _check_outputs(out, plot)
    ws, ps = _ints(widths, "widths", MAX_CLI_WIDTH), _names(params, "params", PARAMETRIZATIONS)
    mans = tuple(_names(manipulation, "manipulation", MANIPULATIONS))
    _names(dataset, "dataset", DATASETS)
    _names(arch, "arch", ("mlp", "cnn"))
    _names(loss, "loss", ("ce", "mse"))
    if stop_at_loss and steps > max_steps:
        _fail(f"--steps ({steps}) must not exceed --max-steps ({max_steps})")
    import pandas as pd

    point = dict(
        dataset=dataset,
        seed=seed,
        manipulations=mans,
        n_pairs=pairs,
        n_hidden=n_hidden,
        base_width=base_width,
        lr=lr,
        steps=steps,
        loss=loss,
        stop_at_loss=stop_at_loss or None,
        max_steps=max_steps,
        ntk_probe=ntk_probe,
        arch=arch,
    )
    df = pd.DataFrame(_sweep_rows(ws, ps, point))
    _print_sweep_table(df, steps, stop_at_loss)
    _save(df, out)
    if plot is not None:
        _sweep_plot(df, plot, manipulation, stop_at_loss)


def _sweep_rows(widths: list[int], params: list[str], point: dict) -> list[dict]:
    """``sweep_point`` at every (parametrization, width), with a progress bar; ``point``: the shared settings."""
    from aflab.path_dependence.experiments import sweep_point

    rows: list[dict] = []
    with _progress() as prog:
        bar = prog.add_task("training", total=len(widths) * len(params))
        for p in params:
            for w in widths:
                prog.update(bar, description=f"{p} n={w}")
                rows += sweep_point(width=w, parametrization=p, **point)
                prog.advance(bar)
    return rows


def _print_sweep_table(df, steps: int, stop_at_loss: float) -> None:
    """Mean metrics per (regime, manipulation, parametrization, width)."""
    cols = ["step", "train_loss", "feature_change", "tv_distance", "disagreement", "lmc_barrier", "test_error"]
    metrics = df[df.regime != "curve"].groupby(["regime", "manipulation", "parametrization", "width"])[cols].mean()
    table = Table(
        title=f"paired runs: fixed budget ({steps} steps)"
        + (f" and train loss <= {stop_at_loss:g}" if stop_at_loss else "")
    )
    for c in ("regime", "pairs", "param", "n", "step", "train loss", "feat chg", "TV", "disagree", "LMC", "test err"):
        table.add_column(c, no_wrap=True)
    for (r, m, p, w), vals in metrics.iterrows():
        table.add_row(r, m, p, str(w), *[f"{v:.3g}" for v in vals])
    console.print(table)


def _sweep_plot(df, plot: Path, manipulation: str, stop_at_loss: float) -> None:
    from aflab.path_dependence.plots import metric_vs_width

    last = "converged" if stop_at_loss else "budget"
    fig = metric_vs_width(
        df[df.regime == last],
        ["feature_change", "tv_distance", "disagreement"],
        f"{manipulation} pairs vs width ({last})",
        budget=None,
    )
    fig.savefig(plot, dpi=100)
    console.print(f"wrote {plot}")


@app.command()
def shard(
    widths: str = typer.Option("64,512", help="comma-separated hidden widths"),
    params: str = typer.Option("ntk,mup", help="parametrizations: sp, sp_lr1n, ntk, mup"),
    schedules: str = typer.Option(
        "hard_only,both,hard_first,easy_first,easy_removed", help="feature schedules (hard_only is the control)"
    ),
    loss: str = typer.Option("ce", help="ce | mse | sd (spectral decoupling)"),
    task: str = typer.Option("digits", help="digits (image + easy label code) | slab (5-slab + linear)"),
    steps: int = typer.Option(400, min=4, help="SGD steps (schedule switches at steps/2)"),
    reps: int = typer.Option(1, min=1, help="members per schedule"),
    lr: float = typer.Option(0.5, min=1e-6, help="base learning rate"),
    seed: int = typer.Option(0, help="random seed"),
    out: Path = typer.Option(None, help="write the table to .parquet or .csv"),
    plot: Path = typer.Option(None, help="write a follow-rate-vs-width PNG"),
) -> None:
    """Shard experiment: digits (hard) + an easy label code; follow-rates, starvation, scavenging.

    Example: aflab pd shard --widths 64,512,2048 --params mup --loss sd --plot follow.png
    """
    import pandas as pd
    import torch

    from aflab.path_dependence.choices import PARAMETRIZATIONS, SCHEDULES
    from aflab.path_dependence.experiments import shard_point

    torch.set_num_threads(1)
    _check_finite(lr=lr)
    _check_outputs(out, plot)
    ws, ps = _ints(widths, "widths", MAX_CLI_WIDTH), _names(params, "params", PARAMETRIZATIONS)
    sc = tuple(_names(schedules, "schedules", SCHEDULES))
    _names(loss, "loss", ("ce", "mse", "sd"))
    _names(task, "task", ("digits", "slab"))
    rows = []
    with _progress() as prog:
        bar = prog.add_task("training", total=len(ws) * len(ps))
        for p in ps:
            for w in ws:
                prog.update(bar, description=f"{p} n={w}")
                rows += shard_point(
                    width=w,
                    parametrization=p,
                    seed=seed,
                    schedules=sc,
                    reps=reps,
                    lr=lr,
                    steps=steps,
                    loss=loss,
                    task=task,
                )
                prog.advance(bar)
    df = pd.DataFrame(rows)
    m = (
        df[df.budget == "final"]
        .groupby(["parametrization", "width", "schedule"])[
            ["acc", "hard_only_acc", "easy_only_acc", "follow_easy", "follow_hard", "scavenging"]
        ]
        .mean()
    )
    table = Table(title=f"shard experiment ({task}), loss = {loss}, final")
    for c in ("param", "n", "schedule", "acc", "hard-only", "easy-only", "follow easy", "follow hard", "scavenging"):
        table.add_column(c, no_wrap=True)
    for (p, w, s), r in m.iterrows():
        table.add_row(p, str(w), s, *[f"{v:.3f}" for v in r])
    console.print(table)
    _save(df, out)
    if plot is not None:
        from aflab.path_dependence.plots import follow_rate_vs_width

        follow_rate_vs_width(df, "Conflict follow-rates").savefig(plot, dpi=100)
        console.print(f"wrote {plot}")


@app.command()
def frankle(
    widths: str = typer.Option("64,256,1024", help="comma-separated hidden widths"),
    params: str = typer.Option("ntk,mup", help="parametrizations: sp, sp_lr1n, ntk, mup"),
    fractions: str = typer.Option("0,0.01,0.02,0.05,0.1,0.25", help="spawn times as fractions of training"),
    dataset: str = typer.Option("digits", help="digits | mnist1d | slab"),
    steps: int = typer.Option(1000, min=2, help="SGD steps of parent and children"),
    seeds: int = typer.Option(2, min=1, help="independent parents per (parametrization, width)"),
    lr: float = typer.Option(0.5, min=1e-6, help="base learning rate (at the base width)"),
    out: Path = typer.Option(None, help="write the table to .parquet or .csv"),
    plot: Path = typer.Option(None, help="write a barrier-vs-spawn-time PNG"),
) -> None:
    """Stability to SGD noise (Frankle et al. 2020): children spawned from a parent at k% of training, trained on
    their own batches; the onset is the first k whose test-loss barrier (parent-child line) is < 2% of the loss.

    Example: aflab pd frankle --widths 64,256,1024 --params ntk,mup --steps 1000 --plot frankle.png
    """
    import pandas as pd
    import torch

    from aflab.path_dependence.choices import DATASETS, PARAMETRIZATIONS
    from aflab.path_dependence.experiments import frankle_point

    torch.set_num_threads(1)
    _check_finite(lr=lr)
    _check_outputs(out, plot)
    ws, ps = _ints(widths, "widths", MAX_CLI_WIDTH), _names(params, "params", PARAMETRIZATIONS)
    _names(dataset, "dataset", DATASETS)
    try:
        fr = tuple(sorted(float(v) for v in fractions.split(",") if v.strip()))
    except ValueError:
        _fail(f"--fractions must be comma-separated numbers in [0, 1], e.g. 0,0.05,0.25 (got {fractions!r})")
    if not fr or any(not 0 <= f <= 1 for f in fr):
        _fail(f"--fractions must be numbers in [0, 1] (got {fractions!r})")
    rows = []
    with _progress() as prog:
        bar = prog.add_task("training", total=len(ws) * len(ps) * seeds)
        for p in ps:
            for w in ws:
                for s in range(seeds):
                    prog.update(bar, description=f"{p} n={w} seed {s}")
                    point = frankle_point(
                        dataset=dataset, width=w, parametrization=p, seed=s, fractions=fr, steps=steps, lr=lr
                    )
                    rows += [dict(r, seed=s) for r in point]
                    prog.advance(bar)
    df = pd.DataFrame(rows)
    curve = df.groupby(["parametrization", "width", "fraction"]).relative_barrier.mean().unstack()
    table = Table(title=f"relative test-loss barrier parent-child, {steps} steps (stable < 0.02)")
    for c in ("param", "n", *[f"k={f:g}" for f in curve.columns], "onset"):
        table.add_column(c, no_wrap=True)
    for (p, w), r in curve.iterrows():
        stable = [f for f, v in r.items() if v < 0.02]
        table.add_row(p, str(w), *[f"{v:.3g}" for v in r], f"{min(stable):g}" if stable else "none")
    console.print(table)
    _save(df, out)
    if plot is not None:
        from aflab.path_dependence.plots import barrier_vs_spawn

        barrier_vs_spawn(df, f"Stability to SGD noise vs spawn time ({dataset}, {steps} steps)").savefig(plot, dpi=100)
        console.print(f"wrote {plot}")
