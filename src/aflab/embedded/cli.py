"""``aflab embedded ...``: GL validity, fixed points, modal combat, tournaments, decision problems."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from aflab.core.cli_support import TABLE_SUFFIXES, prepare_output, write_table
from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Embedded agency: provability logic GL, modal agents, tournaments, decision problems.", no_args_is_help=True
)
console = Console()


def _parse(text: str, field: str = "FORMULA"):
    from aflab.embedded.parse import parse

    try:
        return parse(text)
    except ValueError as err:
        _fail(f"{field}: {err}")


@app.command()
def valid(
    formula: str = typer.Argument(..., help="GL formula, e.g. '[] ([] p -> p) -> [] p'"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON object instead of text"),
) -> None:
    """Decide GL-validity; print a checked countermodel (finite transitive irreflexive tree) if not valid.

    Example: aflab embedded valid "[] p -> p"
    """
    from aflab.embedded.formula import is_letterless, to_text
    from aflab.embedded.kripke import check_countermodel, eventual_value, linear_values
    from aflab.embedded.tableau import decide

    f = _parse(formula)
    d = decide(f)
    out = {"formula": to_text(f), "valid": d.valid, "sequents_explored": d.sequents_explored}
    if d.countermodel is not None:
        m = d.countermodel
        out["countermodel"] = {
            "parent": list(m.parent),
            "true_atoms": [sorted(s) for s in m.true_atoms],
            "checked": check_countermodel(m, f),
        }
    if is_letterless(f):
        out["linear_frame"] = [bool(x) for x in linear_values(f)]
        out["true_in_standard_model"] = eventual_value(f)
    if as_json:
        print(json.dumps(out))
        return
    console.print(f"{out['formula']}  is  " + ("[green]GL-valid[/green]" if d.valid else "[red]not GL-valid[/red]"))
    if d.countermodel is not None:
        console.print(
            "countermodel (root 0 falsifies it; R = transitive closure of the tree edges), "
            f"re-checked: {out['countermodel']['checked']}"
        )
        console.print(d.countermodel.describe(), highlight=False, markup=False)
    if "linear_frame" in out:
        vals = "".join("1" if x else "0" for x in out["linear_frame"])
        console.print(f"linear frame worlds 0..{len(vals) - 1}: {vals}; true in N: {out['true_in_standard_model']}")


@app.command()
def fixpoint(
    formula: str = typer.Argument(..., help="formula modalized in VAR, e.g. '~[] p'"),
    var: str = typer.Option("p", "--var", help="the fixed-point variable"),
) -> None:
    """de Jongh–Sambin fixed point H with GL ⊢ H <-> A(H), verified (equation and uniqueness) by the tableau.

    Example: aflab embedded fixpoint "~[] p"     (the Gödel sentence: H = ~[] F)
    """
    from aflab.embedded.fixpoint import solve_fixed_point
    from aflab.embedded.formula import is_letterless
    from aflab.embedded.kripke import eventual_value

    f = _parse(formula)
    try:
        r = solve_fixed_point(f, var)
    except ValueError as err:
        _fail(str(err))
    console.print(f"A({var}) = {f}", highlight=False, markup=False)
    console.print(f"H     = {r.solution}", highlight=False, markup=False)
    console.print(
        f"GL ⊢ H <-> A(H): {r.equation_valid};  uniqueness GL ⊢ [.]({var} <-> A) -> ({var} <-> H): {r.unique_valid}",
        highlight=False,
    )
    if is_letterless(r.solution):
        console.print(f"H is letterless; true in the standard model: {eventual_value(r.solution)}")


def _library(file: Path | None):
    from aflab.embedded.agents import builtin_agents, load_agent_file

    if file is None:
        return None, dict(builtin_agents())
    try:
        return load_agent_file(str(file))
    except ValueError as err:
        _fail(str(err))


@app.command()
def match(
    a: str = typer.Argument(..., help="row agent, e.g. FairBot"),
    b: str = typer.Argument(..., help="column agent, e.g. PrudentBot"),
    file: Path = typer.Option(None, "--file", help="agent file (*.agents) with extra agents"),
    check: bool = typer.Option(True, "--check/--no-check", help="certify the outcome with the GL tableau"),
) -> None:
    """Modal combat in the one-shot Prisoner's Dilemma: who cooperates, and the payoffs.

    Example: aflab embedded match PrudentBot CooperateBot
    """
    from aflab.embedded.agents import match as play

    parsed, lib = _library(file)
    from aflab.embedded.agents import Payoffs

    payoffs = parsed.payoffs if parsed else Payoffs()
    try:
        r = play(a, b, lib, payoffs, cross_check=check)
    except ValueError as err:
        _fail(str(err))
    act = lambda c: "[green]C[/green]" if c else "[red]D[/red]"
    console.print(
        f"{a} {act(r.a_cooperates)}  vs  {b} {act(r.b_cooperates)}   payoffs {r.payoff_a:g} / "
        f"{r.payoff_b:g}   (stable from world {r.rank}; tableau certifies: {r.tableau_agrees})"
    )


@app.command()
def agents(file: Path = typer.Option(None, "--file", help="agent file to list instead of the built-ins")) -> None:
    """List the agents (built-in, or those of an agent file) with their formulas.

    Example: aflab embedded agents
    """
    parsed, lib = _library(file)
    names = parsed.entrants if parsed else list(lib)
    table = Table("agent", "cooperates iff")
    for n in names:
        table.add_row(n, str(lib[n].formula))
    console.print(table)


@app.command()
def tournament(
    file: Path = typer.Argument(..., help="agent file; entrants = its agents plus 'use' lines"),
    generations: int = typer.Option(3000, help="replicator steps (dt = 0.01); 0 to skip"),
    check: bool = typer.Option(False, "--check", help="certify every outcome with the GL tableau"),
    budget: int = typer.Option(20_000, "--budget", help="tableau sequents per match before 'unchecked'"),
    time_budget: float = typer.Option(
        None, "--time-budget", help="CPU-seconds for all certificates (rest 'unchecked')"
    ),
    out: Path = typer.Option(None, "--out", help="write the outcome table (.csv or .parquet)"),
) -> None:
    """Round robin of every entrant against every entrant, payoffs, and replicator dynamics.

    Example: aflab embedded tournament src/aflab/embedded/agent_files/tournament_small.agents
    """
    from aflab.embedded.tournament import replicator, round_robin

    if generations < 0:
        _fail("--generations must be >= 0")
    if budget < 1:
        _fail(f"--budget must be >= 1, got {budget}")
    if time_budget is not None and not time_budget >= 0:  # NaN fails this test too
        _fail(f"--time-budget must be a number >= 0 (inf: no limit), got {time_budget}")
    prepare_output(out, "--out", folder=False, suffixes=TABLE_SUFFIXES)
    parsed, lib = _library(file)
    if not parsed.entrants:
        _fail(f"{file}: no entrants; define agents or add a line 'use FairBot, DefectBot'")
    try:
        res = round_robin(
            parsed.entrants,
            lib,
            parsed.payoffs,
            progress=True,
            cross_check=check,
            max_sequents=budget,
            time_budget_s=time_budget,
        )
    except ValueError as err:
        _fail(str(err))
    names = res.names
    table = Table("agent \\ opponent", *names, "mean payoff")
    for i, n in enumerate(names):
        cells = [("C" if res.cooperates[i, j] else "D") + f" {res.payoff[i, j]:g}" for j in range(len(names))]
        table.add_row(n, *cells, f"{res.mean_payoff[i]:.3f}")
    console.print(table)
    if generations:
        traj = replicator(res.payoff, np.full(len(names), 1 / len(names)), steps=generations)[-1, 0]
        order = np.argsort(-traj)
        console.print(
            "replicator shares after t = %g: " % (generations * 0.01)
            + ", ".join(f"{names[k]} {traj[k]:.3f}" for k in order)
        )
    if check:
        c = res.certificate_counts()
        console.print(
            f"GL certificates: {c['agrees']} certified, {c['unchecked']} unchecked (over --budget / "
            f"--time-budget), {c['disagrees']} refuted, of {len(names) ** 2} matches"
        )
    if out is not None:
        write_table(res.table(), out)
        console.print(f"wrote {out}")


@app.command()
def problem(
    name: str = typer.Argument(
        ...,
        help="five_and_ten | newcomb | twin_pd | transparent_newcomb | "
        "xor_blackmail | troll_bridge | parfit | all | pd_defectbot | "
        "pd_cooperatebot | pd_fairbot | pd_prudentbot | pd_all",
    ),
    agent: str = typer.Option("all", "--agent", help="udt | udt_plain | naive | udt_chicken | naive_chicken | all"),
    check: bool = typer.Option(True, "--check/--no-check", help="certify with the GL tableau"),
) -> None:
    """Run agents in an embedded decision problem: action, outcome, proofs about untaken actions.

    Example: aflab embedded problem xor_blackmail --agent udt_chicken
    (pd_NAME: the Prisoner's Dilemma against a modal bot; naive agents vs PrudentBot take minutes.)
    """
    from aflab.embedded.problems import AGENT_TITLES, AGENTS, PD_PROBLEMS, PROBLEMS, run_problem

    problems = {"all": list(PROBLEMS), "pd_all": list(PD_PROBLEMS)}.get(name, [name])
    agents_ = list(AGENTS) if agent == "all" else [agent]
    for p in problems:
        if p not in PROBLEMS and p not in PD_PROBLEMS:
            _fail(f"unknown problem {p!r}; choose one of: {', '.join([*PROBLEMS, *PD_PROBLEMS])}, all, pd_all")
    for a in agents_:
        if a not in AGENTS:
            _fail(f"--agent: unknown agent {a!r}; choose one of: {', '.join(AGENTS)}, all")
    table = Table("problem", "agent", "action", "outcome", "proved about untaken actions", "spurious", "tableau")
    for p in problems:
        for a in agents_:
            r = run_problem(p, a, cross_check=check)
            table.add_row(
                p,
                AGENT_TITLES[a],
                r.action,
                r.outcome,
                "; ".join(r.proved) or "-",
                "; ".join(r.spurious) or "-",
                str(r.tableau_agrees),
            )
    console.print(table)


@app.command()
def run(
    file: Path = typer.Argument(..., help="modal-agents file (.ua files are read in the reference's dialect)"),
    fmt: str = typer.Option("table", "--format", help="table (readable) | reference (the Haskell ModalCombat's lines)"),
    check: bool = typer.Option(False, "--check", help="certify every result with the GL tableau"),
    budget: int = typer.Option(200_000, "--budget", help="tableau sequents per command before 'unchecked'"),
) -> None:
    """Run every play / combat / compete command of a modal-agents file, in the file's order.

    Example: aflab embedded run src/aflab/embedded/modal_files/problems.modal --check
    """
    from aflab.embedded.modalfile import reference_lines, run_file

    if fmt not in ("table", "reference"):
        _fail(f"--format must be 'table' or 'reference', got {fmt!r}")
    if budget < 1:
        _fail(f"--budget must be >= 1, got {budget}")
    try:
        results = run_file(file, check=check, max_sequents=budget)
    except ValueError as err:
        _fail(str(err).splitlines()[0])
    if fmt == "reference":
        print(reference_lines(results), end="")
        return
    table = Table("line", "command", "players", "result", "stable from", "tableau")
    for r in results:
        players = " vs ".join(c.show() for c in r.command.calls)
        table.add_row(
            str(r.command.line),
            r.command.op,
            players,
            ", ".join(f"{k}={v}" for k, v in r.players),
            str(r.rank),
            r.certificate,
        )
    console.print(table)
    if check:
        counts = {k: sum(r.certificate == k for r in results) for k in ("agrees", "unchecked", "disagrees")}
        console.print(
            f"tableau: {counts['agrees']} certified, {counts['unchecked']} unchecked (over --budget), "
            f"{counts['disagrees']} refuted"
        )
