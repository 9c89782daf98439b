"""``aflab pd ...``: width sweeps and shard experiments from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Path-dependence of gradient descent vs width: parametrizations, manipulations, shards.", no_args_is_help=True
)
console = Console()


def _ints(text: str, field: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        _fail(f"--{field} must be comma-separated integers, e.g. 64,256,1024 (got {text!r})")
    if not vals or any(v < 1 for v in vals):
        _fail(f"--{field} needs at least one positive integer (got {text!r})")
    return vals


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


def _save(df, out: Path | None) -> None:
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        df.to_parquet(out)
    elif out.suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        _fail(f"--out must end in .parquet or .csv (got {out.name})")
    console.print(f"wrote {out}")


@app.command()
def sweep(
    widths: str = typer.Option("64,256,1024", help="comma-separated hidden widths"),
    params: str = typer.Option("ntk,mup", help="parametrizations: sp, sp_lr1n, ntk, mup"),
    manipulation: str = typer.Option("order", help="order | perturb | init | curriculum"),
    dataset: str = typer.Option("digits", help="digits | mnist1d | slab"),
    steps: int = typer.Option(300, min=2, help="SGD steps"),
    steps_early: int = typer.Option(100, min=1, help="early fixed step budget"),
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
    """Width sweep of paired runs: feature change, weight change, NTK distance, disagreement, LMC, CKA.

    Example: aflab pd sweep --widths 64,256,1024,4096 --params ntk,mup --manipulation init --plot sweep.png
    """
    import torch

    from aflab.path_dependence import data
    from aflab.path_dependence.experiments import MANIPULATIONS, sweep_point
    from aflab.path_dependence.parametrization import PARAMETRIZATIONS

    torch.set_num_threads(1)
    ws, ps = _ints(widths, "widths"), _names(params, "params", PARAMETRIZATIONS)
    _names(manipulation, "manipulation", MANIPULATIONS)
    _names(dataset, "dataset", data.DATASETS)
    _names(arch, "arch", ("mlp", "cnn"))
    if steps_early >= steps:
        _fail(f"--steps-early ({steps_early}) must be below --steps ({steps})")
    import pandas as pd

    rows = []
    with _progress() as prog:
        bar = prog.add_task("training", total=len(ws) * len(ps))
        for p in ps:
            for w in ws:
                prog.update(bar, description=f"{p} n={w}")
                rows += sweep_point(
                    dataset=dataset,
                    width=w,
                    parametrization=p,
                    seed=seed,
                    manipulation=manipulation,
                    n_pairs=pairs,
                    n_hidden=n_hidden,
                    base_width=base_width,
                    lr=lr,
                    steps=steps,
                    steps_early=steps_early,
                    ntk_probe=ntk_probe,
                    arch=arch,
                )
                prog.advance(bar)
    df = pd.DataFrame(rows)
    metrics = (
        df[df.budget == "final"]
        .groupby(["parametrization", "width"])[
            [
                "feature_change",
                "spectral_change_0",
                "ntk_distance",
                "tv_distance",
                "disagreement",
                "lmc_barrier",
                "cka_end",
                "cka_init",
                "test_error",
            ]
        ]
        .mean()
    )
    table = Table(title=f"final budget ({steps} steps), manipulation = {manipulation}")
    for c in (
        "param",
        "n",
        "feat chg",
        "spec chg W1",
        "NTK dist",
        "TV",
        "disagree",
        "LMC",
        "CKA",
        "CKA init",
        "test err",
    ):
        table.add_column(c, no_wrap=True)
    for (p, w), r in metrics.iterrows():
        table.add_row(p, str(w), *[f"{v:.3g}" for v in r])
    console.print(table)
    _save(df, out)
    if plot is not None:
        from aflab.path_dependence.plots import metric_vs_width

        fig = metric_vs_width(
            df[df.budget != "curve"],
            ["feature_change", "tv_distance", "disagreement"],
            f"{manipulation} pairs vs width",
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

    from aflab.path_dependence.experiments import SCHEDULES, shard_point
    from aflab.path_dependence.parametrization import PARAMETRIZATIONS

    torch.set_num_threads(1)
    ws, ps = _ints(widths, "widths"), _names(params, "params", PARAMETRIZATIONS)
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
