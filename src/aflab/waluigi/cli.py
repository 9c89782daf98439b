"""``aflab waluigi ...``: closed forms, the exact window-chain solver and Monte Carlo of bounded-context personas.

Commands: ``theory``, ``solve``, ``simulate``, ``hazard``, ``exit``, ``split`` (this module) and
``train``, ``probe`` (the learned-model commands of :mod:`aflab.waluigi.cli_ml`, mounted here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from aflab.core.cli_support import fail as _fail
from aflab.core.cli_support import prepare_output

app = typer.Typer(
    help="Bounded-context personas (the Waluigi effect): closed forms, exact window-chain "
    "solver, Monte Carlo, and learned models.",
    no_args_is_help=True,
)
console = Console()


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        _fail(f"--{name} must be comma-separated integers, e.g. 4,8,16; got {text!r}")
    if not values:
        _fail(f"--{name} needs at least one integer, e.g. 4,8,16")
    return values


def _prompt(evidence: str | None, mode: str, length: int):
    """A SystemPrompt from '--prompt-evidence L,W' (log-likelihoods for luigi, waluigi), or None."""
    from aflab.waluigi.model import SystemPrompt

    if not evidence:
        return None
    try:
        values = tuple(float(x) for x in evidence.split(","))
    except ValueError:
        _fail(f"--prompt-evidence must be comma-separated log-likelihoods, e.g. 0,-1; got {evidence!r}")
    try:
        return SystemPrompt(values, mode, length)
    except ValueError as err:
        _fail(str(err))


def _mixture(
    h: float,
    r: float,
    p_waluigi: float,
    delta: float,
    beta: str | None,
    n_nodes: int = 40,
    g: float | None = None,
    p_repetition: float = 0.0,
    rho: float = 1.0,
    prompt=None,
    reveal_at_defection: bool = False,
):
    from aflab.waluigi.model import standard_mixture

    ab = None
    if beta:
        try:
            a, b = (float(x) for x in beta.split(","))
        except ValueError:
            _fail(f"--beta must be 'a,b' with two positive numbers, e.g. 0.5,2; got {beta!r}")
        ab = (a, b)
    try:
        return standard_mixture(
            h=h,
            r=r,
            p_waluigi=p_waluigi,
            delta=delta,
            beta=ab,
            n_nodes=n_nodes,
            g=g,
            p_repetition=p_repetition,
            rho=rho,
            prompt=prompt,
            r_defect=1.0 if reveal_at_defection else None,
        )
    except ValueError as err:
        _fail(str(err))


H = typer.Option(0.05, help="waluigi defection hazard per step, in (0, 1]")
R = typer.Option(1.0, help="P(revealing token) per step after defection, in [0, 1]")
PW = typer.Option(0.5, help="prior weight of the waluigi (the rest is the luigi)")
DELTA = typer.Option(0.0, help="P(revealing token) of the luigi (and the masked waluigi)")
BETA = typer.Option(None, help="Beta(a,b) prior over hazards instead of one type, e.g. 0.5,2")
PE = typer.Option(None, help="system prompt as evidence: log P(prompt | luigi), log P(prompt | waluigi), e.g. 0,-1")
PM = typer.Option("pinned", help="prompt mode: pinned (always seen) or sliding (leaves the window)")
PL = typer.Option(0, help="prompt length in tokens (sliding: seen while t + length <= k)")
RD = typer.Option(
    False, help="the comment's three-state waluigi: revealed at the moment it defects, then w.p. r per token"
)


def _save(fig, path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        console.print(f"figure written to {path}")


@app.command()
def theory(
    h: float = H,
    r: float = R,
    p_waluigi: float = PW,
    delta: float = DELTA,
    beta: str = BETA,
    prompt_evidence: str = PE,
    prompt_mode: str = PM,
    prompt_length: int = PL,
    reveal_at_defection: bool = RD,
    ks: str = typer.Option("1,4,8,16,32", help="windows, comma-separated"),
    t_max: int = typer.Option(200, help="horizon for the survival column"),
) -> None:
    """Closed forms: P(ever), hazard floor eps_k, E[T], S(t_max), exit time, per window.

    Example: aflab waluigi theory --h 0.05 --p-waluigi 0.5 --ks 4,8,16
    """
    from aflab.waluigi import theory as th

    k_list = _ints(ks, "ks")
    nodes = max(40, t_max // 2 + 1, max(k_list) // 2 + 1)  # Beta quadrature exact up to 2n - 2 tokens
    mix = _mixture(
        h,
        r,
        p_waluigi,
        delta,
        beta,
        nodes,
        prompt=_prompt(prompt_evidence, prompt_mode, prompt_length),
        reveal_at_defection=reveal_at_defection,
    )
    try:
        console.print(
            f"unbounded memory: P(ever transition) = {th.p_ever_unbounded(mix):.6g}, "
            f"E[T] = {th.expected_time_unbounded(mix):.6g}, "
            f"S({t_max}) = {th.survival_unbounded(mix, [t_max])[0]:.6g}"
        )
        table = Table("k", "eps_k floor", "E[T_k]", f"S_k({t_max})", "log-odds", "exit time")
        try:
            rr = th.shared_reveal_rate(mix)
        except ValueError:
            rr = None
        for k in k_list:
            ex = "n/a" if rr is None else f"{float(th.exit_time_mean(rr, k)):.6g}"
            table.add_row(
                str(k),
                f"{th.hazard_floor(mix, k):.6g}",
                f"{th.expected_time_window(mix, k):.6g}",
                f"{th.survival_window(mix, [t_max], k)[0]:.6g}",
                f"{th.log_odds_trajectory(mix, [k], k=k)[0]:.4f}",
                ex,
            )
    except ValueError as err:
        _fail(str(err))
    console.print(table)


@app.command()
def solve(
    h: float = H,
    r: float = R,
    p_waluigi: float = PW,
    delta: float = DELTA,
    beta: str = BETA,
    prompt_evidence: str = PE,
    prompt_mode: str = PM,
    prompt_length: int = PL,
    reveal_at_defection: bool = RD,
    k: int = typer.Option(8, help="window in tokens (binary: the clean phase is instant up to k in the hundreds)"),
    t_max: int = typer.Option(500, help="horizon of the survival curve"),
    exits: bool = typer.Option(
        True, help="also solve the exit time and occupancy (V^k windows, matrix-free up to 2^21)"
    ),
) -> None:
    """Exact order-k window-chain solver: survival, hazard floor, mean time, exit time, occupancy.

    Example: aflab waluigi solve --h 0.1 --r 0.5 --k 10
    """
    from aflab.waluigi import window_chain as wc

    nodes = max(40, k // 2 + 1)  # Beta quadrature exact up to 2n - 2 tokens
    mix = _mixture(
        h,
        r,
        p_waluigi,
        delta,
        beta,
        nodes,
        prompt=_prompt(prompt_evidence, prompt_mode, prompt_length),
        reveal_at_defection=reveal_at_defection,
    )
    try:
        cp = wc.clean_phase(mix, k, t_max)
        console.print(
            f"k = {k}: hazard floor 1 - rho(Q) = {cp.hazard_floor:.6g}, E[T] = {cp.mean_time:.6g}, "
            f"S({t_max}) = {cp.survival[-1]:.6g}, P(ever) = {cp.split['revealing']:.6g}"
        )
        if exits and mix.alphabet.size**k <= wc.SHIFT_MAX:
            ex = wc.exit_time(mix, k)
            console.print(f"mean exit time from the waluigi class = {ex.mean:.6g}")
            if np.isfinite(ex.mean):
                occ = wc.stationary_occupancy(mix, k)
                console.print("stationary occupancy: " + ", ".join(f"{c} {v:.4f}" for c, v in occ.items()))
    except ValueError as err:
        _fail(str(err))


@app.command()
def simulate(
    h: float = H,
    r: float = R,
    p_waluigi: float = PW,
    delta: float = DELTA,
    beta: str = BETA,
    prompt_evidence: str = PE,
    prompt_mode: str = PM,
    prompt_length: int = PL,
    reveal_at_defection: bool = RD,
    k: int = typer.Option(8, help="window in tokens; 0 = unbounded memory"),
    n_traj: int = typer.Option(20_000, help="trajectories"),
    t_max: int = typer.Option(500, help="tokens per trajectory"),
    seed: int = typer.Option(0, help="random seed"),
    plot: Path = typer.Option(None, help="write a survival figure (PNG) here"),
) -> None:
    """Monte Carlo of self-conditioned generation; Kaplan-Meier survival vs the closed form.

    Example: aflab waluigi simulate --k 16 --n-traj 50000 --plot survival.png
    """
    import time

    from aflab.core.plots import new_figure
    from aflab.waluigi import montecarlo as mc
    from aflab.waluigi import theory as th

    if k < 0:
        _fail("--k must be >= 0 (0 = unbounded memory)")
    nodes = max(40, (t_max if k == 0 else k) // 2 + 1)  # Beta quadrature exact up to 2n - 2 tokens
    mix = _mixture(
        h,
        r,
        p_waluigi,
        delta,
        beta,
        nodes,
        prompt=_prompt(prompt_evidence, prompt_mode, prompt_length),
        reveal_at_defection=reveal_at_defection,
    )
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    try:
        fe = (
            mc.simulate_unbounded(mix, n_traj, t_max, rng) if k == 0 else mc.simulate_window(mix, k, n_traj, t_max, rng)
        )
        S = (
            th.survival_unbounded(mix, np.arange(t_max + 1))
            if k == 0
            else th.survival_window(mix, np.arange(t_max + 1), k)
        )
    except ValueError as err:
        _fail(str(err))
    dt = time.perf_counter() - start
    km = mc.kaplan_meier(fe.time, fe.observed, t_max)
    table = Table("t", "S Monte Carlo", "95% band", "S closed form", "z")
    for t in np.unique(np.linspace(0, t_max, 9).astype(int)):
        z = (km.survival[t] - S[t]) / km.stderr[t] if km.stderr[t] > 0 else 0.0
        table.add_row(
            str(t), f"{km.survival[t]:.5f}", f"[{km.lower[t]:.5f}, {km.upper[t]:.5f}]", f"{S[t]:.5f}", f"{z:+.2f}"
        )
    console.print(table)
    console.print(f"{fe.token_steps:,} token-steps in {dt:.2f} s ({fe.token_steps / dt:,.0f}/s)")
    if plot is not None:
        fig, ax = new_figure()
        ax.fill_between(km.t, km.lower, km.upper, alpha=0.3, lw=0, label="Kaplan-Meier 95% band")
        ax.plot(km.t, km.survival, label="Monte Carlo")
        ax.plot(km.t, S, "k--", lw=1, label="closed form")
        ax.set(
            xlabel="t", ylabel="P(no revealing token yet)", title="unbounded memory" if k == 0 else f"window k = {k}"
        )
        ax.legend(fontsize=8)
        _save(fig, plot)


@app.command()
def hazard(
    h: float = typer.Option(0.1, help="hazard of the single type"),
    beta: str = typer.Option("0.5,2", help="Beta(a,b) prior of the spread population"),
    p_waluigi: float = PW,
    ks: str = typer.Option("8,11,16,23,32,45,64,91,128", help="windows for the fit"),
    plot: Path = typer.Option(None, help="write hazard-vs-k (log-y and log-log) PNG here"),
) -> None:
    """Hazard floor vs k by the exact solver: exponential (one type) vs power law (Beta spread), with fits.

    Example: aflab waluigi hazard --h 0.1 --beta 0.5,2 --plot hazard.png
    """
    from aflab.core.plots import new_figure
    from aflab.waluigi import theory as th
    from aflab.waluigi import window_chain as wc

    k_list = np.array(_ints(ks, "ks"))
    if k_list.min() < 1 or len(k_list) < 3:
        _fail("--ks needs at least 3 windows, all >= 1")
    mixes = {
        "single": _mixture(h, 1.0, p_waluigi, 0.0, None),
        "beta": _mixture(h, 1.0, p_waluigi, 0.0, beta, n_nodes=max(24, int(k_list.max()) // 2 + 2)),
    }
    eps = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("solving", total=2 * len(k_list))
        for name, mix in mixes.items():
            vals = []
            for k in k_list:
                vals.append(wc.clean_phase(mix, int(k), 0).hazard_floor)
                progress.advance(task)
            eps[name] = np.array(vals)
    table = Table("prior", "exp slope /token", "R2 exp", "power exponent", "R2 power", "better fit")
    for name, e in eps.items():
        f = th.fit_exponential_and_power(k_list, e)
        best = "exponential" if f["exponential"].r2 > f["power"].r2 else "power law"
        table.add_row(
            name,
            f"{f['exponential'].slope:.4f}",
            f"{f['exponential'].r2:.5f}",
            f"{f['power'].slope:.3f}",
            f"{f['power'].r2:.5f}",
            best,
        )
    console.print(table)
    a = float(beta.split(",")[0])
    console.print(f"asymptotes: log(1-h) = {np.log1p(-h):.4f} per token; -(a+1) = {-(a + 1):.2f}")
    if plot is not None:
        fig, axes = new_figure(ncols=2)
        for ax, logx in zip(axes, (False, True)):
            for name, e in eps.items():
                ax.plot(k_list, e, "o-", label=name)
            ax.set_yscale("log")
            if logx:
                ax.set_xscale("log")
            ax.set(xlabel="k", ylabel="eps_k")
            ax.legend(fontsize=8)
        _save(fig, plot)


@app.command("exit")
def exit_cmd(
    h: float = H,
    r: float = typer.Option(0.5, help="P(revealing token) after defection, in (0, 1)"),
    p_waluigi: float = PW,
    ks: str = typer.Option("1,2,4,6,8,10", help="windows (solver: 2^k states)"),
    n_traj: int = typer.Option(2000, help="MC trajectories per window"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Exit time from the waluigi class: Monte Carlo vs exact solver vs (1 - q^k)/(r q^k).

    Example: aflab waluigi exit --r 0.5 --ks 2,4,8
    """
    from aflab.waluigi import montecarlo as mc
    from aflab.waluigi import theory as th
    from aflab.waluigi import window_chain as wc

    mix = _mixture(h, r, p_waluigi, 0.0, None)
    rng = np.random.default_rng(seed)
    table = Table("k", "MC mean", "MC s.e.", "solver", "closed form")
    with Progress(console=console, transient=True) as progress:
        k_list = _ints(ks, "ks")
        task = progress.add_task("simulating exits", total=len(k_list))
        for k in k_list:
            try:
                ex = mc.simulate_exit(mix, k, n_traj, 10**7, rng)
                sol = wc.exit_time(mix, k)
            except ValueError as err:
                _fail(str(err))
            table.add_row(
                str(k),
                f"{ex.time.mean():.5g}",
                f"{ex.time.std() / np.sqrt(n_traj):.3g}",
                f"{sol.mean:.6g}",
                f"{float(th.exit_time_mean(r, k)):.6g}",
            )
            progress.advance(task)
    console.print(table)


@app.command()
def split(
    h: float = typer.Option(0.1, help="waluigi hazard"),
    g: float = typer.Option(0.05, help="repetition hazard"),
    p_waluigi: float = typer.Option(0.3, help="waluigi prior weight"),
    p_repetition: float = typer.Option(0.3, help="repetition prior weight"),
    ks: str = typer.Option("1,2,4,8,16,32", help="windows"),
    n_traj: int = typer.Option(10_000, help="MC trajectories per window"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Competing absorbing classes: who wins the first departure, waluigi or mode collapse, per window.

    Example: aflab waluigi split --h 0.1 --g 0.05 --ks 1,4,16,64
    """
    from aflab.waluigi import montecarlo as mc
    from aflab.waluigi import theory as th
    from aflab.waluigi import window_chain as wc

    mix = _mixture(h, 1.0, p_waluigi, 0.0, None, g=g, p_repetition=p_repetition)
    rng = np.random.default_rng(seed)
    lim = th.departure_split_unbounded(mix)
    console.print(
        f"unbounded memory: waluigi {lim['revealing']:.4f}, collapse {lim['collapse']:.4f}, never {lim['never']:.4f}"
    )
    table = Table("k", "P(waluigi) MC", "closed form", "solver", "P(collapse) MC", "closed form")
    for k in _ints(ks, "ks"):
        try:
            fe = mc.simulate_window(mix, k, n_traj, 20_000, rng, events="departure")
            th_split = th.departure_split_window(mix, k)
            sv = wc.clean_phase(mix, k, 0, events="departure").split
        except ValueError as err:
            _fail(str(err))
        table.add_row(
            str(k),
            f"{np.mean(fe.event_class == 0):.4f}",
            f"{th_split['revealing']:.4f}",
            f"{sv['revealing']:.4f}",
            f"{np.mean(fe.event_class == 1):.4f}",
            f"{th_split['collapse']:.4f}",
        )
    console.print(table)


MY_CLAIMS = (
    "unbounded-never-certain",
    "window-inevitable",
    "hazard-vs-k",
    "approx-absorbing",
    "competing-classes",
    "three-state-persona",
)


@app.command()
def figures(
    claim: str = typer.Argument("window-inevitable", help=f"one of: {', '.join(MY_CLAIMS)}, or 'all'"),
    preset: str = typer.Option("quick", help="smoke, quick or full"),
    seeds: int = typer.Option(0, help="seeds to run (0 = the preset's); each seed is derived by the runner"),
    seed: int = typer.Option(0, help="base seed (the runner derives every cell's seed from it)"),
    jobs: int = typer.Option(1, help="worker processes (one thread each)"),
    store: Path = typer.Option(
        Path("aflab-results"), "--store", help="Result store folder (cells are cached; shared with aflab run)"
    ),
    out: Path = typer.Option(Path("waluigi_figures"), help="output directory for the PNGs"),
) -> None:
    """Run theory checks through the runner and result store, print each verdict and write its figures.

    Example: aflab waluigi figures hazard-vs-k --out figs
    """
    from aflab.core import get_claim
    from aflab.core.claims import ConfigError
    from aflab.core.evaluate import run_claims
    from aflab.core.store import ResultStore, StoreError

    names = MY_CLAIMS if claim == "all" else (claim,)
    if any(n not in MY_CLAIMS for n in names):
        _fail(f"unknown claim {claim!r}; choose one of: {', '.join(MY_CLAIMS)}, all")
    if seeds < 0 or jobs < 1:
        _fail("--seeds must be >= 0 and --jobs >= 1")
    job_list = []
    for name in names:
        c = get_claim(f"waluigi.{name}")
        if preset not in c.presets:
            _fail(f"--preset must be one of {', '.join(c.presets)}; got {preset!r}")
        try:
            job_list.append((c, c.make_config(preset), preset, seeds or c.n_seeds(preset)))
        except ConfigError as err:
            _fail(str(err))
    prepare_output(out, "--out", folder=True)
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        with ResultStore(store) as st:
            outcomes, _ = run_claims(job_list, st, n_jobs=jobs, base_seed=seed, progress=False)
    except StoreError as err:
        _fail(str(err))
    for o in outcomes:
        if o.verdict is None:
            _fail(f"{o.claim.id}: {o.error or o.skipped}", 1)
        console.print(f"[bold]{o.claim.id}[/bold]: {o.verdict.label} -- {escape(o.verdict.reason[:400])}")
        for fig_name, fig in o.figures.items():
            path = out / f"waluigi_{fig_name}.png"
            fig.savefig(path, dpi=90)
            console.print(f"  {path}")


# the learned-model commands (train, probe) live in cli_ml.py; mount them here so the lead's single
# `aflab waluigi` mount exposes every command
try:
    from aflab.waluigi import cli_ml as _cli_ml
except ModuleNotFoundError as _err:  # pragma: no cover - only while cli_ml is absent
    if _err.name != "aflab.waluigi.cli_ml":
        raise
else:
    app.registered_commands.extend(_cli_ml.app.registered_commands)
