"""CLI for the learned-model parts of waluigi: ``train`` (small transformer), ``probe`` and ``redraw`` (SmolLM2).

Mounted by the lead under ``aflab waluigi``: ``aflab waluigi train ...``, ``aflab waluigi probe ...``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from aflab.core.cli_support import fail as _fail
from aflab.core.cli_support import prepare_output

app = typer.Typer(
    help="Learned models vs the windowed Bayes reader: a trained transformer and SmolLM2.", no_args_is_help=True
)
console = Console()


def _int_list(text: str, name: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        _fail(f"--{name} must be a comma-separated list of integers, e.g. 4,16 (got {text!r})")
    if not values:
        _fail(f"--{name} needs at least one integer, e.g. 4,16")
    return values


def _save_figures(figs: dict, out: Path | None) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figs.items():
        path = out / f"waluigi_{name}.png"
        fig.savefig(path, dpi=100)
        console.print(f"wrote {path}")


def _lm_config(config_cls, threads: int, **fields):
    """The claim config from CLI options (a bad value fails naming its option); sets torch's CPU threads."""
    from pydantic import ValidationError

    try:
        cfg = config_cls(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        name = "-".join(map(str, first["loc"])).replace("_", "-")
        _fail(f"{'--' + name if name else 'options'}: {first['msg']}")
    if threads < 1:
        _fail("--threads must be >= 1")
    import torch

    torch.set_num_threads(threads)
    return cfg


def _run_on_lm(cfg, what: str, experiment):
    """Load SmolLM2-135M-Instruct (offline) and return ``experiment(lm)``; a missing model fails cleanly."""
    from aflab.waluigi import lm_probe

    try:
        with console.status("loading SmolLM2-135M-Instruct (GGUF, offline)"):
            lm = lm_probe.load_smollm2(None if cfg.device == "auto" else cfg.device)
        with console.status(f"{what} on {lm.device}"):
            return experiment(lm)
    except lm_probe.LMUnavailableError as err:
        _fail(str(err))


def _print_verdict(v) -> None:
    colour = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}[v.label]
    console.print(f"verdict: [{colour}]{v.label}[/{colour}] -- {v.reason}")


@app.command()
def train(
    h: float = typer.Option(0.1, help="waluigi hazard per step, in (0, 1]"),
    p_waluigi: float = typer.Option(0.5, help="prior weight of the waluigi, in (0, 1)"),
    context: int = typer.Option(24, help="K: training context (tokens)"),
    steps: int = typer.Option(450, help="training steps"),
    d_model: int = typer.Option(32, help="transformer width"),
    windows: str = typer.Option("4,16", help="rollout windows k <= K, comma-separated"),
    seed: int = typer.Option(0, help="seed for data, init and rollouts"),
    out: Path = typer.Option(None, help="folder to write the figures to (PNG)"),
) -> None:
    """Train a tiny transformer on the persona source and compare it with the windowed Bayes reader.

    Example: aflab waluigi train --h 0.1 --context 24 --steps 450 --windows 4,16 --out figs/
    """
    import time

    from pydantic import ValidationError

    from aflab.waluigi import claims_ml, experiments_ml

    prepare_output(out, "--out", folder=True)

    try:
        cfg = experiments_ml.TransformerWindowPlateauConfig(
            h=h,
            p_waluigi=p_waluigi,
            context=context,
            steps=steps,
            d_model=d_model,
            survival_windows=_int_list(windows, "windows"),
        )
    except ValidationError as err:
        first = err.errors()[0]
        _fail(f"{'.'.join(map(str, first['loc'])) or 'options'}: {first['msg']}")
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("training", total=cfg.steps)
        start = time.perf_counter()
        frame = experiments_ml.transformer_window_plateau_experiment(
            cfg, seed, progress=lambda s: bar.update(task, completed=s)
        )
        train_seconds = time.perf_counter() - start
    frame = frame.assign(seed=seed)
    train_row = frame[frame["kind"] == "train"].iloc[0]
    table = Table(title=f"P(revealing | k neutral tokens), trained and rolled out in {train_seconds:.1f} s")
    for col in ("k", "transformer", "Bayes eps_k", "ratio"):
        table.add_column(col, justify="right")
    for r in frame[frame["kind"] == "plateau"].itertuples():
        table.add_row(str(int(r.k)), f"{r.p_model:.5f}", f"{r.p_bayes:.5f}", f"{r.p_model / r.p_bayes:.3f}")
    console.print(table)
    for k, grp in frame[frame["kind"] == "survival"].groupby("k"):
        last, late = grp.iloc[-1], grp[grp["t"] >= k].dropna(subset=["hazard_bayes"])
        console.print(
            f"window k={int(k)}: survival at t={int(last.t)}: transformer {last.s_model:.3f}, "
            f"Bayes {last.s_bayes:.3f}; plateau hazard {late.hazard_model.mean():.5f} "
            f"vs eps_k {late.hazard_bayes.mean():.5f}"
        )
    console.print(f"KL(Bayes || transformer) = {train_row['kl']:.2e} ± {train_row['kl_se']:.1e} nats/token")
    _print_verdict(claims_ml.transformer_window_plateau_verdict(cfg, frame))
    _save_figures(claims_ml.plots_ml.transformer_window_plateau_figures(cfg, frame), out)


@app.command()
def probe(
    n_max_turns: int = typer.Option(32, help="most persona-consistent turns (grid 0, 1, 2, 4, ...)"),
    windows: str = typer.Option("64", help="truncation windows k in tokens, comma-separated"),
    n_probes: int = typer.Option(3, help="held-out probe questions per context"),
    inject_turns: int = typer.Option(16, help="turns in the injection experiment (0 = skip)"),
    seed: int = typer.Option(0, help="seed: which questions make up the history and the probes"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    sample: int = typer.Option(0, help="also sample this many replies (small scale: ~100 tokens/s on CPU)"),
    threads: int = typer.Option(1, help="torch CPU threads (1 is fastest on a shared machine)"),
    persona: str = typer.Option("lowercase", help="persona constraint: lowercase | banned-word (never 'sure')"),
    out: Path = typer.Option(None, help="folder to write the figures to (PNG)"),
) -> None:
    """Teacher-forced probe of SmolLM2-135M-Instruct's persona (lowercase or banned word): full context vs last k tokens.

    Example: aflab waluigi probe --n-max-turns 32 --windows 64,128 --n-probes 4 --persona banned-word --out figs/
    """
    from aflab.waluigi import claims_ml, experiments_ml, lm_probe

    prepare_output(out, "--out", folder=True)
    cfg = _lm_config(
        experiments_ml.LmWindowPlateauConfig,
        threads,
        n_max_turns=n_max_turns,
        windows=_int_list(windows, "windows"),
        n_probes=n_probes,
        inject_turns=inject_turns,
        device=device,
        persona=persona,
    )
    lm, frame = _run_on_lm(cfg, "scoring", lambda lm: (lm, lm_probe.run_probe(lm, cfg.spec(), seed).assign(seed=seed)))
    curves = lm_probe.decay_curves(frame)
    table = Table(title="log P(violating) - log P(consistent) in nats, mean ± se over probes")
    keys = sorted({(c, int(k)) for c, k in zip(curves["condition"], curves["k"])}, key=lambda t: (t[1], t[0]))
    table.add_column("n turns", justify="right")
    table.add_column("tokens", justify="right")
    for cond, k in keys:
        table.add_column("full" if cond == "full" else f"{cond} k={k}", justify="right")
    for n, grp in curves.groupby("n"):
        cells = {
            (c, int(k)): f"{m:+.2f} ± {s:.2f}" for c, k, m, s in zip(grp["condition"], grp["k"], grp["mean"], grp["se"])
        }
        table.add_row(str(n), f"{grp['history_tokens'].iloc[0]:.0f}", *(cells.get(key, "") for key in keys))
    console.print(table)
    eff = lm_probe.injection_effects(frame)
    if len(eff):
        console.print("injection (one capitalised turn m turns back), shift of log-odds in nats:")
        for (cond, k), grp in eff.groupby(["condition", "k"]):
            console.print(
                f"  {cond}{'' if cond == 'full' else f' k={k}'}: "
                + ", ".join(f"m={m}: {e:+.2f}" for m, e in zip(grp["m"], grp["effect"]))
            )
    _print_verdict(claims_ml.lm_window_plateau_verdict(cfg, frame))
    if sample:
        for window in (0, min(cfg.windows)):
            s = lm_probe.sampled_violations(
                lm, min(cfg.n_max_turns, 16), sample, seed, window=window, persona=cfg.persona
            )
            console.print(
                f"sampled replies after {s['n_turns'].iloc[0]} turns, "
                f"{'full context' if not window else f'window {window}'}: "
                f"{int(s['violates'].sum())}/{len(s)} break the persona"
            )
    _save_figures(claims_ml.plots_ml.lm_window_plateau_figures(cfg, frame), out)


@app.command()
def redraw(
    n_conversations: int = typer.Option(10, help="conversations (each measured at every turn)"),
    n_turns: int = typer.Option(6, help="sampled turns per conversation"),
    draws: int = typer.Option(4, help="replies drawn per turn from the same history (m >= 2)"),
    window: int = typer.Option(0, help="reader: 0 = full context, k >= 16 = the last k tokens (whole turns)"),
    n_seed_turns: int = typer.Option(4, help="teacher-forced persona-consistent turns after the prompt"),
    late_from: int = typer.Option(3, help="first turn of the 'late' region"),
    seed: int = typer.Option(0, help="seed: question order and the uniforms of every draw"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    threads: int = typer.Option(1, help="torch CPU threads (1 is fastest on a shared machine)"),
    persona: str = typer.Option("lowercase", help="persona constraint: lowercase | banned-word (never 'sure')"),
    keep_broken: bool = typer.Option(False, help="the counterfactual: continue with a broken draw"),
    out: Path = typer.Option(None, help="folder to write the figure to (PNG)"),
) -> None:
    """SmolLM2's per-turn break hazard with every turn redrawn m times (no survivor selection).

    Each conversation continues with its first in-persona draw (all m broke: the canonical answer, a
    'forced' turn), so early and late turns are measured on the same conversations; the verdict is
    waluigi.lm-hazard-decay's (late / early hazard below 0.75). ~0.2 CPU-s a draw on this class of CPU.

    Example: aflab waluigi redraw --n-conversations 20 --n-turns 8 --draws 4 --out figs/
    """
    from aflab.waluigi import claims_ml, experiments_ml, lm_resampling

    prepare_output(out, "--out", folder=True)
    cfg = _lm_config(
        experiments_ml.LmHazardDecayConfig,
        threads,
        n_conversations=n_conversations,
        n_turns=n_turns,
        draws=draws,
        window=window,
        n_seed_turns=n_seed_turns,
        late_from=late_from,
        device=device,
        persona=persona,
        keep_broken=keep_broken,
    )
    what = f"sampling {n_conversations * n_turns * draws} replies"
    frame = _run_on_lm(cfg, what, lambda lm: lm_resampling.run_redraws(lm, cfg.spec(), seed).assign(seed=seed))
    table = Table(title=f"break hazard per turn ({'full context' if not window else f'window {window}'})")
    for col in ("turn", "draws", "breaks", "hazard", "forced turns", "first-token mass"):
        table.add_column(col, justify="right")
    for r in lm_resampling.turn_hazards(frame).itertuples():
        table.add_row(str(r.turn), str(r.draws), str(r.breaks), f"{r.hazard:.3f}", str(r.forced), f"{r.p_first:.4f}")
    console.print(table)
    _print_verdict(claims_ml.lm_hazard_decay_verdict(cfg, frame))
    _save_figures(claims_ml.plots_ml.lm_hazard_decay_figures(cfg, frame), out)
