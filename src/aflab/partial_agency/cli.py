"""``aflab partial-agency ...``: simulate performative learners, diagnose maps, find Predict-O-Matic fixed points."""

from __future__ import annotations

import json

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from aflab.core.cli_support import fail as _fail

app = typer.Typer(
    help="Partial agency: performative prediction (stable vs optimal points, RRM, PerfGD) and "
    "Predict-O-Matic fixed points.\n\nExample: aflab partial-agency simulate --map location --eps 0.3",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

MAPS = ("location", "pricing", "strategic", "mixture", "game")
LEARNERS = ("rrm", "rgd", "sgd-greedy", "sgd-lazy", "perfgd", "perfgd-est", "perfgd-class", "dfo")


def _make_map(name: str, eps: float, moving_label: int | None = None):
    from aflab.partial_agency.maps import (
        MixtureMap,
        MultiLearnerGame,
        location_family,
        make_strategic_instance,
        pricing_demand,
    )

    if name not in MAPS:
        _fail(f"--map must be one of {', '.join(MAPS)}; got {name!r}")
    if not np.isfinite(eps) or eps < 0:
        _fail(f"--eps must be a finite number >= 0; got {eps}")
    if moving_label is not None and (name != "strategic" or moving_label not in (0, 1)):
        _fail(f"--moving-label must be 0 or 1 and needs --map strategic; got {moving_label} with --map {name}")
    return {
        "location": lambda: location_family(eps, mu=(1.0, -0.5)),
        "pricing": lambda: pricing_demand(eps, base_demand=(2.0, 1.0), sigma=0.5),
        "strategic": lambda: make_strategic_instance(eps, seed=7, moving_label=moving_label),
        "mixture": lambda: MixtureMap(k=eps / 0.75),
        "game": lambda: MultiLearnerGame([1.0, 0.5], [[0.5, 0.5], [0.5, 0.5]], eps),
    }[name]()


def _vec(x) -> str:
    return "None" if x is None else "[" + ", ".join(f"{v:.4f}" for v in np.atleast_1d(x)) + "]"


@app.command()
def simulate(
    map: str = typer.Option("location", help=f"distribution map: {', '.join(MAPS)}"),
    eps: float = typer.Option(0.3, help="sensitivity of the map (W1 Lipschitz constant)"),
    learner: str = typer.Option("all", help=f"one of {', '.join(LEARNERS)}, or 'all'"),
    rounds: int = typer.Option(200, min=1, help="deployments"),
    seeds: int = typer.Option(4, min=1, max=1024, help="chains, vectorised"),
    n_samples: int = typer.Option(1000, min=1, help="samples per deployment"),
    lr: float = typer.Option(0.3, min=1e-9, help="step size of the gradient learners"),
    seed: int = typer.Option(0, help="random seed"),
    moving_label: int | None = typer.Option(None, help="strategic only: just agents with this label (0/1) move"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
):
    """Run learners on a distribution map and compare their limits with theta_PS and theta_PO.

    perfgd-est models the map as a mean shift; perfgd-class estimates the Jacobian of the class-conditional
    feature means (strategic only), which is what a class-dependent response needs.

    Example: aflab partial-agency simulate --map strategic --eps 0.5 --learner all --seeds 4
    Example: aflab partial-agency simulate --map strategic --eps 0.5 --moving-label 0 --lr 1 --learner perfgd-class
    """
    from aflab.partial_agency.diagnostics import performative_summary

    names = LEARNERS if learner == "all" else (learner,)
    if any(n not in LEARNERS for n in names):
        _fail(f"--learner must be one of {', '.join(LEARNERS)} or 'all'; got {learner!r}")
    if not np.isfinite(lr):
        _fail(f"--lr must be a finite number > 0 (the gradient learners' step size); got {lr}")
    try:
        dmap = _make_map(map, eps, moving_label)
        summ = performative_summary(dmap)
    except ValueError as e:
        _fail(str(e))
    rng = np.random.default_rng(seed)
    center = summ.stable_point if summ.stable_point is not None else np.zeros(dmap.dim)
    theta0 = center + rng.standard_normal((seeds, dmap.dim))
    runs = _learner_runs(dmap, theta0, rounds, rng, lr, n_samples)
    out = _run_learners(names, runs, summ, seeds)
    if as_json:
        console.print_json(json.dumps({"map": map, "eps": eps, "summary": summ.as_dict(), "runs": out}))
        return
    _print_learner_table(map, eps, summ, out, seeds)


def _learner_runs(dmap, theta0, rounds: int, rng, lr: float, n_samples: int) -> dict:
    """Each learner of ``simulate`` as a thunk (run only when asked for), with its own budget and step size."""
    from aflab.partial_agency import learners as L

    estimated = dict(lr=lr, n_samples=n_samples, jacobian="estimated", tol=0.05)
    return {
        "rrm": lambda: L.rrm(dmap, theta0, max(rounds // 5, 10), rng, n_samples=n_samples, tol=0.05),
        "rgd": lambda: L.rgd(dmap, theta0, rounds, rng, lr=lr, n_samples=n_samples, tol=0.05),
        "sgd-greedy": lambda: L.stochastic_gd(dmap, theta0, 2 * rounds, rng, lr0=lr, batch=64),
        "sgd-lazy": lambda: L.stochastic_gd(dmap, theta0, max(rounds // 5, 10), rng, lr0=lr, batch=64, deploy_every=10),
        "perfgd": lambda: L.perfgd(dmap, theta0, rounds, rng, lr=lr, n_samples=n_samples, tol=0.05),
        "perfgd-est": lambda: L.perfgd(dmap, theta0, rounds, rng, explore=0.1, **estimated),
        "perfgd-class": lambda: L.perfgd(dmap, theta0, rounds, rng, statistic="class", explore=0.05, **estimated),
        "dfo": lambda: L.two_point_dfo(dmap, theta0, 3 * rounds, rng, lr0=0.5 * lr, n_samples=n_samples),
    }


def _run_learners(names, runs: dict, summ, seeds: int) -> list[dict]:
    """Run the learners one after another with a progress bar on stderr (one step per learner, with the
    learner's name and the elapsed time: ``--rounds 1e6`` takes minutes per learner)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    rows = []
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("learners", total=len(names))
        for name in names:
            bar.update(task, description=f"learner {name}")
            rows.append(_learner_row(name, runs[name], summ, seeds))
            bar.advance(task)
    return rows


def _learner_row(name: str, run_learner, summ, seeds: int) -> dict:
    """One learner's row: how many chains settled or diverged, the mean limit and its distances to PS and PO."""
    try:
        run = run_learner()
    except ValueError as e:  # e.g. estimated Jacobian on a non-location map
        return {"learner": name, "error": str(e)}
    lim = np.nanmean(run.limit, axis=0) if np.isfinite(run.limit).any() else None
    row = {
        "learner": run.learner,
        "settled": int(np.isin(run.status, ("converged", "settled")).sum()),
        "diverged": run.n_diverged,
        "seeds": seeds,
        "limit": None if lim is None else lim.tolist(),
    }
    for key, pt in (("dist_ps", summ.stable_point), ("dist_po", summ.optimum)):
        row[key] = None if (lim is None or pt is None) else float(np.linalg.norm(lim - pt))
    return row


def _print_learner_table(map_name: str, eps: float, summ, rows: list[dict], seeds: int) -> None:
    console.print(
        f"{map_name} eps={eps}: theta_PS={_vec(summ.stable_point)} theta_PO={_vec(summ.optimum)} "
        f"|PS-PO|={summ.distance:.4f} ({summ.status})"
    )
    t = Table("learner", "settled*", "diverged", "mean limit", "|lim-PS|", "|lim-PO|")
    for r in rows:
        if "error" in r:
            t.add_row(r["learner"], "-", "-", r["error"], "", "")
            continue
        f = lambda v: "-" if v is None else f"{v:.4f}"
        t.add_row(
            r["learner"],
            f"{r['settled']}/{seeds}",
            str(r["diverged"]),
            _vec(r["limit"]),
            f(r["dist_ps"]),
            f(r["dist_po"]),
        )
    console.print(t)
    console.print("* settled: the iterates stopped drifting (no certificate: compare |lim-PS| and |lim-PO|)")


@app.command()
def diagnose(
    map: str = typer.Option("location", help=f"distribution map: {', '.join(MAPS)}"),
    eps: float = typer.Option(0.3, help="sensitivity of the map"),
    seed: int = typer.Option(0, help="random seed of the sensitivity estimate"),
):
    """Sensitivity estimate, the RRM condition eps < gamma/beta, stable point, optimum and their gap.

    Example: aflab partial-agency diagnose --map location --eps 1.2
    """
    from aflab.partial_agency.diagnostics import (
        estimate_sensitivity,
        performative_summary,
        rrm_condition,
    )

    dmap = _make_map(map, eps)
    summ = performative_summary(dmap)
    beta = dmap.beta_bound(2.0) if map == "strategic" else dmap.beta
    true_eps = dmap.as_map().eps if map == "game" else dmap.eps  # game: W1-sensitivity of the joint map, eps |B|
    cond = rrm_condition(float(true_eps), float(dmap.gamma), float(beta))
    center = summ.stable_point if summ.stable_point is not None else np.zeros(dmap.dim)
    cols = slice(0, dmap.dim) if map == "strategic" else None
    est = estimate_sensitivity(dmap, center, np.random.default_rng(seed), columns=cols)
    console.print(
        f"map {map}: eps={true_eps:.4g} (estimated from samples: {est.eps_hat:.4g}), gamma={dmap.gamma:.4g}, "
        f"beta={beta:.4g}"
    )
    console.print(cond.message)
    console.print(
        f"theta_PS = {_vec(summ.stable_point)}\ntheta_PO = {_vec(summ.optimum)}\n"
        f"|PS - PO| = {summ.distance:.4g}, PR(PS) - PR(PO) = {summ.risk_gap:.4g}  [{summ.status}]"
    )


@app.command("fixed-points")
def fixed_points_cmd(
    slope: float = typer.Option(8.0, help="performativity: F(p) = sigmoid(bias + slope (p - 1/2))"),
    bias: float = typer.Option(0.0, help="bias of F"),
    outcomes: int = typer.Option(2, min=2, max=6, help="number of outcomes K (K > 2: softmax(bias e_1 + slope p))"),
    starts: int = typer.Option(21, min=2, max=10001, help="starting forecasts for the basins"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
):
    """All fixed points p = F(p) with stability, where myopic and full predictors end, and the scoring incentives.

    Example: aflab partial-agency fixed-points --slope 8 --bias 0.3
    """
    if not (np.isfinite(slope) and np.isfinite(bias)):
        _fail("--slope and --bias must be finite numbers")
    if outcomes > 2:
        _fixed_points_simplex(slope, bias, outcomes, starts, as_json)
    else:
        _fixed_points_binary(slope, bias, starts, as_json)


def _fixed_points_simplex(slope: float, bias: float, outcomes: int, starts: int, as_json: bool) -> None:
    """K > 2 outcomes: F(p) = softmax(bias e_1 + slope p); fixed points on a simplex grid, predictors' entropy."""
    from aflab.partial_agency import predict_o_matic as P

    b = np.zeros(outcomes)
    b[0] = bias
    F = P.SoftmaxResponse(b, slope * np.eye(outcomes))
    fps = P.fixed_points_simplex(F, resolution=40 if outcomes <= 4 else 16)
    res = {
        "fixed_points": [{"p": f.p.round(6).tolist(), "stable": f.stable, "entropy_bits": f.entropy_bits} for f in fps]
    }
    st = np.random.default_rng(0).dirichlet(np.ones(outcomes), starts)
    for mode in ("myopic", "full"):
        run = P.run_predictor_simplex(F, st, "log", mode)
        res[f"{mode}_mean_entropy_bits"] = float(P.entropy_bits_simplex(run.outcome_prob).mean())
    if as_json:
        console.print_json(json.dumps(res))
        return
    t = Table("p", "stable (damped myopic)", "entropy [bits]")
    for f in res["fixed_points"]:
        t.add_row(str(f["p"]), str(f["stable"]), f"{f['entropy_bits']:.3f}")
    console.print(t)
    console.print(
        f"mean outcome entropy (log score, {starts} random starts): myopic "
        f"{res['myopic_mean_entropy_bits']:.3f}, full {res['full_mean_entropy_bits']:.3f}"
    )


def _fixed_points_binary(slope: float, bias: float, starts: int, as_json: bool) -> None:
    """Two outcomes: every fixed point of F(p) = sigmoid(bias + slope (p - 1/2)), basins, scoring incentives."""
    from aflab.partial_agency import predict_o_matic as P

    F = P.LogisticResponse(bias, slope)
    fps = P.fixed_points(F)
    grid = np.linspace(0.01, 0.99, starts)
    res = {"fixed_points": [f.__dict__ for f in fps], "basins": {}, "incentives": {}}
    for rule in P.RULES:
        for mode in ("myopic", "full"):
            b = P.basins(F, rule, mode, starts=grid)
            res["basins"][f"{rule}/{mode}"] = {
                "final": np.round(b["final"], 5).tolist(),
                "fixed_point_index": b["fixed_point_index"].tolist(),
                "mean_entropy_bits": float(P.entropy_bits(b["outcome_prob"]).mean()),
            }
        a = P.incentive_analysis(F, rule)
        res["incentives"][rule] = {
            "optimal_report": a.optimal_report,
            "F_at_optimum": a.outcome_prob_at_optimum,
            "misreport": a.misreport,
            "score_gain_over_best_honest": a.incentive_to_misreport,
            "optimum_is_fixed_point": a.optimum_is_fixed_point,
        }
    if as_json:
        console.print_json(json.dumps(res))
        return
    t = Table("#", "p* = F(p*)", "F'(p*)", "kind", "stable (damped)", "stable (p<-F(p))", "entropy [bits]")
    for i, f in enumerate(fps):
        t.add_row(
            str(i),
            f"{f.p:.6f}",
            f"{f.slope:.4f}",
            f.kind,
            str(f.stable),
            str(f.stable_iteration),
            f"{f.entropy_bits:.4f}",
        )
    console.print(t)
    t = Table("rule/learner", "fixed point reached (per start)", "mean outcome entropy")
    for k, v in res["basins"].items():
        t.add_row(
            k, " ".join(str(i) if i >= 0 else "-" for i in v["fixed_point_index"]), f"{v['mean_entropy_bits']:.4f}"
        )
    console.print(t)
    for rule, a in res["incentives"].items():
        console.print(
            f"{rule} score: optimal report {a['optimal_report']:.5f}, F there {a['F_at_optimum']:.5f}, "
            f"misreport {a['misreport']:+.5f}, gain over best honest report {a['score_gain_over_best_honest']:.3g}"
        )


@app.command()
def claims():
    """List this system's claims with their statements.

    Example: aflab partial-agency claims
    """
    from aflab.core import all_claims

    for c in all_claims("partial_agency"):
        console.print(f"[bold]{c.id}[/]: {c.statement}")


def main(argv: list | None = None):  # pragma: no cover
    app(argv)
