"""``aflab normativity ...``: quantilize a distribution, run the Goodhart bench, the CRMDP sweep,
the tampering gridworld."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Normativity: quantilizers, Goodhart bench, corrupted feedback, reward tampering.", no_args_is_help=True
)
console = Console()


def _floats(text: str, name: str) -> np.ndarray:
    try:
        return np.array([float(x) for x in text.split(",") if x.strip()], dtype=float)
    except ValueError:
        _fail(f"--{name} must be comma-separated numbers, e.g. 0.2,0.3,0.5; got {text!r}")


@app.command()
def quantilize(
    probs: str = typer.Option(None, help="base probabilities, comma-separated (sum to 1)"),
    utility: str = typer.Option(None, help="utilities, comma-separated, same length"),
    q: float = typer.Option(0.1, help="top fraction of base mass to keep, in (0, 1]"),
    file: Path = typer.Option(None, help='JSON file {"probs": [...], "utility": [...]} instead of the two lists'),
    cost: str = typer.Option(None, help="optional non-negative costs: prints E_q[c] vs the bound E_base[c]/q"),
) -> None:
    """Exact q-quantilizer of a discrete distribution (ties and the fractional boundary handled).

    Example: aflab normativity quantilize --probs 0.1,0.2,0.3,0.4 --utility 1,2,2,0 --q 0.6
    """
    from aflab.normativity.quantilizers import expectation
    from aflab.normativity.quantilizers import quantilize as quant

    if not 0 < q <= 1:  # NaN fails this test too
        _fail(f"--q must lie in (0, 1] (the top fraction of base mass kept); got {q}")
    if file is not None:
        try:
            data = json.loads(Path(file).read_text())
            p, u = np.asarray(data["probs"], dtype=float), np.asarray(data["utility"], dtype=float)
        except (OSError, ValueError, KeyError, TypeError) as err:
            _fail(f"--file must be readable JSON with numeric lists 'probs' and 'utility' ({err})")
    elif probs is None or utility is None:
        _fail("give --probs and --utility (or --file)")
    else:
        p, u = _floats(probs, "probs"), _floats(utility, "utility")
    try:
        qp = quant(p, u, q)
    except ValueError as err:
        _fail(str(err))
    table = Table("action", "base p", "utility", "quantilizer Q", "Q / p")
    for i, (pi, ui, qi) in enumerate(zip(p, u, qp)):
        table.add_row(str(i), f"{pi:.6g}", f"{ui:.6g}", f"{qi:.6g}", f"{qi / pi:.4g}" if pi > 0 else "-")
    console.print(table)
    console.print(
        escape(
            f"E_base[u] = {expectation(p, u):.6g}, E_q[u] = {expectation(qp, u):.6g}, max Q/p = "
            f"{np.max(np.divide(qp, p, out=np.zeros_like(qp), where=p > 0)):.6g} (bound 1/q = {1 / q:.6g})"
        )
    )
    if cost is not None:
        c = _floats(cost, "cost")
        if c.shape != p.shape or np.any(c < 0):
            _fail("--cost must be non-negative and as long as --probs")
        console.print(escape(f"E_q[c] = {expectation(qp, c):.6g} <= E_base[c]/q = {expectation(p, c) / q:.6g}"))


@app.command()
def goodhart(
    shape: str = typer.Option("heavy", help="proxy error: gaussian | heavy | corrupted"),
    pool_size: int = typer.Option(10_000, help="actions per pool"),
    pools: int = typer.Option(16, help="independent pools to average"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """True and proxy value of the quantilizer vs q, and of best-of-n vs n, on one proxy shape.

    Example: aflab normativity goodhart --shape heavy --pool-size 20000 --pools 16
    """
    from aflab.normativity import goodhart as gh

    if shape not in gh.SHAPES:
        _fail(f"--shape must be one of {', '.join(gh.SHAPES)}; got {shape!r}")
    if not 10 <= pool_size <= 10**7 or pools < 1:  # 10^7 draws x 16 columns of float64 is 1.3 GB
        _fail("--pool-size must lie in [10, 10000000] and --pools be >= 1")
    rng = np.random.default_rng(seed)
    pool = gh.draw_pool(shape, pool_size, gh.GoodhartParams(), rng, batch=pools)
    qs = gh.q_grid(pool_size, 12)
    cq = gh.quantilizer_curves(pool, qs)
    table = Table("q", escape("E_q[true]"), escape("E_q[proxy]"), "P(corrupt)", title=f"quantilizer, shape={shape}")
    for i, q in enumerate(qs):
        table.add_row(
            f"{q:.2e}", f"{cq['true'][i].mean():.3f}", f"{cq['proxy'][i].mean():.3f}", f"{cq['corrupt'][i].mean():.4f}"
        )
    console.print(table)
    ns = 2 ** np.arange(0, int(np.log2(pool_size)) + 1, 2)
    cn = gh.best_of_n_curves(pool, ns)
    table = Table("n", escape("E[true]"), escape("E[proxy]"), title="best of n")
    for i, n in enumerate(ns):
        table.add_row(str(n), f"{cn['true'][i].mean():.3f}", f"{cn['proxy'][i].mean():.3f}")
    console.print(table)


@app.command()
def crmdp(
    corruption: str = typer.Option("0,0.1,0.3,0.5", help="fractions of corrupt states, comma-separated"),
    side: int = typer.Option(5, help="grid side"),
    mdps: int = typer.Option(32, help="MDPs per corruption level"),
    collusion: bool = typer.Option(
        False, help="corrupt sources collude (truthful on honest states, promote each other)"
    ),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Regret of plain Q-learning, quantilizer, decoupled and level-aware agents vs corruption.

    Example: aflab normativity crmdp --corruption 0,0.2,0.4 --mdps 64
    """
    from rich.progress import track

    from aflab.normativity import crmdp as cr

    rhos = _floats(corruption, "corruption")
    if np.any((rhos < 0) | (rhos > 1)) or side < 3 or mdps < 2:
        _fail("--corruption values must lie in [0, 1], --side >= 3, --mdps >= 2")
    rng = np.random.default_rng(seed)
    table = Table("corruption", *cr.AGENTS, "P(good) corrupt src", title="mean regret")
    for rho in track(rhos, description="corruption levels"):
        out = cr.run_agents(
            cr.make_crmdps(side, float(rho), min(6, side * side - 1), 0.05, rng, mdps, collusion=collusion),
            cr.AgentSettings(),
            rng,
        )
        wc = out["weight_corrupt"]
        table.add_row(
            f"{rho:.2f}",
            *[f"{np.mean(out['optimum'] - out[a]):.3f}" for a in cr.AGENTS],
            f"{np.nanmean(wc):.2f}" if np.isfinite(wc).any() else "-",
        )
    console.print(table)


@app.command()
def tamper(
    worlds: int = typer.Option(64, help="random layouts"),
    tamper_reward: float = typer.Option(3.0, help="tampered box output (> 1)"),
    glitch: float = typer.Option(0.01, help="per-step probability the environment corrupts the box"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Tampering rate and true utility of reward-box maximisers vs observation-utility and current-reward agents.

    Example: aflab normativity tamper --worlds 128 --tamper-reward 3
    """
    from aflab.normativity import tamper as tp

    if worlds < 1 or not 1 < tamper_reward < np.inf or not 0 <= glitch <= 1:  # NaN fails the range tests
        _fail("--worlds must be >= 1, --tamper-reward a finite number > 1, --glitch in [0, 1]")
    rng = np.random.default_rng(seed)
    with console.status("planning and learning..."):
        out = tp.run_tamper_agents(tp.make_worlds(5, tamper_reward, rng, worlds), tp.TamperSettings(glitch=glitch), rng)
    opt = out["optimum"][1].mean()
    table = Table("agent", "tampering rate", "true return / optimum")
    for agent in tp.AGENTS:
        t, r = out[agent]
        table.add_row(agent, f"{t.mean():.3f}", f"{r.mean() / opt:.3f}")
    console.print(table)
