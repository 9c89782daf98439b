"""``aflab updating ...``: Jeffrey vs Field updates in exact arithmetic, two agents merging (or not), a bettor
against a predictable agent, and the martingale residual of a logical-induction price table."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Radical probabilism: Jeffrey and Field updates, merging, predictable updates, LI prices.",
    no_args_is_help=True,
)
console = Console()


def _fractions(text: str, name: str) -> np.ndarray:
    """Parse '2/5,1/10,0.25' as exact Fractions (parsed by fractions.Fraction, never evaluated)."""
    try:
        vals = [Fraction(x.strip()) for x in text.split(",") if x.strip()]
    except (ValueError, ZeroDivisionError):
        _fail(f"--{name} must be comma-separated numbers or fractions, e.g. 2/5,1/10,0.5; got {text!r}")
    if not vals or any(v < 0 for v in vals):
        _fail(f"--{name} needs non-negative numbers, got {text!r}")
    return np.array(vals, dtype=object)


def _simplex(text: str, name: str, size: int) -> np.ndarray:
    vals = _fractions(text, name)
    if len(vals) != size:
        _fail(f"--{name} needs {size} values, got {len(vals)}")
    if sum(vals) != 1:
        _fail(f"--{name} must sum to 1 exactly, got {sum(vals)}; e.g. 1/3,1/3,1/3")
    return vals


def _fmt(x: Fraction) -> str:
    return f"{x} (~{float(x):.4f})" if x.denominator != 1 else str(x)


@app.command()
def jeffrey(
    prior: str = typer.Option("2/5,1/10,1/10,2/5", help="atom probabilities of the rows x cols grid, row by row"),
    rows: int = typer.Option(2, help="cells of partition E (grid rows)"),
    cols: int = typer.Option(2, help="cells of partition F (grid columns)"),
    e_targets: str = typer.Option("4/5,1/5", help="Jeffrey targets on E (sum to 1)"),
    f_targets: str = typer.Option("3/4,1/4", help="Jeffrey targets on F (sum to 1)"),
) -> None:
    """Two experiences in both orders: as Jeffrey targets (order dependent) and as Bayes factors (commute).

    Example: aflab updating jeffrey --prior 2/5,1/10,1/10,2/5 --e-targets 4/5,1/5 --f-targets 3/4,1/4
    """
    from aflab.updating import kinematics as K

    if rows < 2 or cols < 2:
        _fail("--rows and --cols must be >= 2")
    p = _simplex(prior, "prior", rows * cols)
    q, r = _simplex(e_targets, "e-targets", rows), _simplex(f_targets, "f-targets", cols)
    e, f = K.grid_partitions(rows, cols)
    try:
        j_ef = K.jeffrey_update(K.jeffrey_update(p, e, q), f, r)
        j_fe = K.jeffrey_update(K.jeffrey_update(p, f, r), e, q)
    except ValueError as err:
        _fail(str(err))
    be, bf = K.factors_for_targets(p, e, q), K.factors_for_targets(p, f, r)
    f_ef = K.factor_update(K.factor_update(p, e, be), f, bf)
    f_fe = K.factor_update(K.factor_update(p, f, bf), e, be)
    table = Table("atom (E, F)", "prior", "Jeffrey E,F", "Jeffrey F,E", "Field E,F", "Field F,E")
    for w in range(p.size):
        table.add_row(f"({e[w]}, {f[w]})", *(_fmt(x[w]) for x in (p, j_ef, j_fe, f_ef, f_fe)))
    console.print(table)
    console.print(
        f"Jeffrey orders agree: {bool(np.all(j_ef == j_fe))} (Diaconis-Zabell condition: "
        f"{K.jeffrey_commutes_condition(p, e, q, f, r)}); Field orders agree: {bool(np.all(f_ef == f_fe))}; "
        f"Bayes factors E: {', '.join(map(str, be))}; F: {', '.join(map(str, bf))}"
    )


@app.command()
def merge(
    prior_a: float = typer.Option(0.8, help="agent A's P(theta = 0.3)"),
    prior_b: float = typer.Option(0.1, help="agent B's P(theta = 0.3)"),
    glimpse: float = typer.Option(0.8, help="the alternating glimpses q, 1 - q (in (0.5, 1))"),
    days: int = typer.Option(200, help="days of glimpses"),
) -> None:
    """Two agents, theta in {0.3, 0.7}, the constructed alternating stream: hard shifts merge, soft do not.

    Example: aflab updating merge --prior-a 0.8 --prior-b 0.1 --days 200
    """
    from aflab.updating import merging as M

    if not (0 < prior_a < 1 and 0 < prior_b < 1):
        _fail("--prior-a and --prior-b must lie in (0, 1)")
    if not 0.5 < glimpse < 1:
        _fail("--glimpse must lie in (0.5, 1)")
    if days < 2:
        _fail("--days must be >= 2")
    theta = np.array([0.3, 0.7])
    priors = np.array([[prior_a, 1 - prior_a], [prior_b, 1 - prior_b]])
    stream = M.alternating_glimpses(glimpse, days)[:, None]
    table = Table("day", "hard |m_A - m_B|", "soft |m_A - m_B|")
    runs = {mode: M.predictive(theta, M.run_agents(theta, priors, stream, mode)) for mode in (M.HARD, M.SOFT)}
    for d in sorted({0, 1, 2, 10, days // 2, days}):
        table.add_row(str(d), *(f"{abs(runs[m][d, 0] - runs[m][d, 1]):.3e}" for m in (M.HARD, M.SOFT)))
    console.print(table)


@app.command()
def bet(
    eps: float = typer.Option(0.1, help="predictable drift per step, as a share of the step (in [0, 1])"),
    steps: int = typer.Option(2000, help="days of trading"),
    runs: int = typer.Option(100, help="independent agents"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """A past-prices bettor against a predictable agent and against a martingale agent.

    Example: aflab updating bet --eps 0.1 --steps 2000
    """
    from aflab.updating import dynamics as D

    if not 0 <= eps <= 1:
        _fail(f"--eps must lie in [0, 1], got {eps}")
    if steps < 1 or runs < 1:
        _fail("--steps and --runs must be >= 1")
    rng = np.random.default_rng(seed)
    table = Table("agent", "learner profit / sum s", "oracle profit / sum s", "theory (oracle)")
    for mode in (D.PREDICTABLE, D.MARTINGALE):
        out = D.simulate_agent_and_bettor(rng, np.full(runs, eps), steps, 0.2, 10, mode)
        vol = out["volatility"].sum()
        theory = eps if mode == D.PREDICTABLE else 0.0
        table.add_row(mode, f"{out['learner'].sum() / vol:+.4f}", f"{out['oracle'].sum() / vol:+.4f}", f"{theory:+.4f}")
    console.print(table)


@app.command("li-residual")
def li_residual(
    prices: Path = typer.Option(None, help="Parquet price table (default: the shipped LI table)"),
    stretches: int = typer.Option(3, help="how many stretches (market runs) to read, from stretch 0"),
    bins: int = typer.Option(8, help="equal-count price bins"),
) -> None:
    """The martingale residual E[P_t+1 - P_t | P_t] of a logical-induction price table, per era of days.

    Example: aflab updating li-residual --stretches 5
    """
    import pandas as pd

    from aflab.updating import dynamics as D
    from aflab.updating import li_prices as L

    path = prices if prices is not None else L.shipped_path()
    if path is None:
        _fail("no price table installed; pass --prices FILE or run python benchmarks/make_li_prices.py")
    if stretches < 1 or bins < 1:
        _fail("--stretches and --bins must be >= 1")
    try:
        table = L.read_prices(path, list(range(stretches)))
    except ValueError as err:
        _fail(str(err))
    if table.empty:
        _fail(f"{path} holds no stretch in 0..{stretches - 1}")
    pairs = D.pairs_of_days(table)
    edges = [1, 10, 30, 80, int(table["day"].max()) + 1]
    out = Table("days", "pairs", "RMS drift", "noise floor", "RMS move", "drift / move")
    for lo, hi in itertools.pairwise(edges):
        era = pairs[(pairs["day"] >= lo) & (pairs["day"] < hi)]
        r = D.martingale_residual(era["price"].to_numpy(), era["move"].to_numpy(), bins)
        out.add_row(
            f"{lo}-{hi - 1}",
            str(int(r["n"])),
            *(f"{r[k]:.2e}" for k in ("rms_drift", "noise_floor", "rms_move")),
            f"{r['rms_drift'] / r['rms_move']:.3f}" if pd.notna(r["rms_move"]) else "-",
        )
    console.print(out)
    console.print(f"source: {L.provenance(path) or path}")
