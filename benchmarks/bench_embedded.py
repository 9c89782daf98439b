"""Benchmark: GL validity (formulas/second) and modal-agent tournaments (matches/second).

    python benchmarks/bench_embedded.py [--quick]

Baselines measured in the same run:
- validity: the tableau vs the linear-frame bitmask evaluator on the same letterless formulas;
- tournaments: the vectorised round robin (one compiled system per row block) vs playing each match
  separately (one system per pair), and the cost of certifying every outcome with the tableau;
- decision problems: certified rows per second, and the tableau's per-root search order
  (``local_order``) vs the global creation order of interned formulas on the same certificates,
  built in a warm process (after other problems), as in ``aflab report``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from aflab.embedded.agents import builtin_agents, match
from aflab.embedded.formula import Box, Implies, desugar
from aflab.embedded.kripke import letterless_valid
from aflab.embedded.problems import PD_PROBLEMS, PROBLEMS, problem_system, run_problem
from aflab.embedded.randomgen import random_agent, random_formula
from aflab.embedded.solver import confirmation_formula, solve_linear
from aflab.embedded.tableau import _Search, is_valid, local_order
from aflab.embedded.tournament import round_robin


def rate(fn, items) -> tuple[float, float]:
    t = time.perf_counter()
    for x in items:
        fn(x)
    el = time.perf_counter() - t
    return len(items) / el, el


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    args = ap.parse_args()
    n_f = 200 if args.quick else 2000
    n_agents = 40 if args.quick else 150
    rng = np.random.default_rng(0)
    rows = []

    forms = [random_formula(rng, ["p", "q", "r"], depth=6, max_level=1) for _ in range(n_f)]
    r, el = rate(is_valid, forms)
    rows.append(("validity: random formulas, 3 atoms, depth 6 (tableau)", f"{r:,.0f} formulas/s", f"{el:.2f}s", ""))
    lob = [Implies(Box(Implies(Box(a), a)), Box(a)) for a in forms[: n_f // 2]]
    r, el = rate(is_valid, lob)
    rows.append(("validity: Löb instances [](A->[]...)->[]A (tableau)", f"{r:,.0f} formulas/s", f"{el:.2f}s", ""))
    letterless = [random_formula(rng, [], depth=6, max_level=2) for _ in range(n_f)]
    r_tab, el_tab = rate(is_valid, letterless)
    r_lin, el_lin = rate(letterless_valid, letterless)
    rows.append(("validity: letterless depth 6 (tableau)", f"{r_tab:,.0f} formulas/s", f"{el_tab:.2f}s", "1.0x"))
    rows.append(
        (
            "validity: letterless depth 6 (linear frame)",
            f"{r_lin:,.0f} formulas/s",
            f"{el_lin:.2f}s",
            f"{r_lin / r_tab:.1f}x vs tableau",
        )
    )

    lib = dict(builtin_agents())
    for i in range(n_agents - len(lib)):
        a = random_agent(rng, f"R{i}", ("DefectBot", "CooperateBot", "FairBot"), depth=2)
        lib[a.name] = a
    names = list(lib)
    n_matches = len(names) ** 2
    t = time.perf_counter()
    round_robin(names, lib)
    el_rr = time.perf_counter() - t
    pairs = [(a, b) for a in names[:20] for b in names]
    r_pair, el_pair = rate(lambda ab: match(ab[0], ab[1], lib, cross_check=False), pairs)
    r_rr = n_matches / el_rr
    rows.append(
        (
            f"tournament: {len(names)} agents, vectorised round robin",
            f"{r_rr:,.0f} matches/s",
            f"{el_rr:.2f}s",
            f"{r_rr / r_pair:.1f}x vs per-match",
        )
    )
    rows.append(("tournament: one system per match (baseline)", f"{r_pair:,.0f} matches/s", f"{el_pair:.2f}s", "1.0x"))
    small = names[:12]
    t = time.perf_counter()
    round_robin(small, lib, cross_check=True)
    el_cc = time.perf_counter() - t
    rows.append(
        (
            f"tournament: {len(small)} agents + tableau certificate per match",
            f"{len(small) ** 2 / el_cc:,.0f} matches/s",
            f"{el_cc:.2f}s",
            "",
        )
    )

    # decision problems: the whole table, and the tableau's search order on its certificates
    t = time.perf_counter()
    n_rows = 0
    for p in [*PROBLEMS, *PD_PROBLEMS]:
        for a in ("udt_plain", "udt_chicken", "naive", "naive_chicken"):
            run_problem(p, a, cross_check=True)
            n_rows += 1
    el_dp = time.perf_counter() - t
    rows.append(
        (
            f"decision problems: {n_rows} certified rows (4 agents x {n_rows // 4} problems)",
            f"{n_rows / el_dp:,.1f} rows/s",
            f"{el_dp:.2f}s",
            "",
        )
    )
    cases = [
        ("pd_prudentbot", "udt_plain"),
        ("pd_prudentbot", "udt_chicken"),
        ("twin_pd", "naive_chicken"),
        ("twin_pd", "naive"),
    ] + ([] if args.quick else [("pd_prudentbot", "naive"), ("twin_pd", "udt")])
    certs = []
    for p, a in cases:  # built after everything above: a "warm" process, as in `aflab report`
        system = problem_system(PROBLEMS.get(p) or PD_PROBLEMS[p], a)
        sol = solve_linear(system)
        checked = [v for v in system.variables if v.startswith(("A=", "U="))]
        rank = max(sol.rank_of(v) for v in checked)
        certs.append(desugar(confirmation_formula(system, {v: sol.value(v) for v in checked}, True, rank)))
    for label, local in (("per-root post-order (local_order)", True), ("global creation order (uid)", False)):
        t = time.perf_counter()
        for f in certs:
            _Search(20_000_000, local_order(f) if local else {}).solve(frozenset(), frozenset((f,)))
        el = time.perf_counter() - t
        rows.append(
            (
                f"tableau order, {len(certs)} decision-problem certificates: {label}",
                f"{len(certs) / el:,.2f} certificates/s",
                f"{el:.2f}s",
                "",
            )
        )
    rows[-2] = rows[-2][:3] + (f"{el / (float(rows[-2][2][:-1]) or 1e-9):.1f}x vs uid order",)

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'rate':>22}  {'time':>8}  ratio")
    for name, rt, el, ratio in rows:
        print(f"{name:<{width}}  {rt:>22}  {el:>8}  {ratio}")


if __name__ == "__main__":
    main()
