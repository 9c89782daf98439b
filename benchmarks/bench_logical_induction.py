"""Benchmark aflab's logical inductor against the PyPI reference `logicalinduction` (same machine, same run).

1. The reference's choreographed example (one s-curve trader added per day, target 0.1, on one
   sentence): reference exhaustive search vs aflab's `maker="rational"` (same enumeration, same prices)
   vs aflab's certified solver; and aflab's solver for many more days.
2. Throughput: sentences priced per second and per day with separable traders (10,000 sentences),
   digits of pi in exclusive-exhaustive blocks (1,000 sentences), a deductive process with >= 200 atoms.

Usage: python benchmarks/bench_logical_induction.py [--quick]
CPU seconds (process time) are reported next to wall seconds: the lab machine is shared.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def reference_choreograph(n_days: int) -> list[float]:
    from logicalinduction import enumerator, formula, inductor, sentence

    d, foo = sentence.Atom("d"), sentence.Atom("foo")

    def algorithm():
        for day in enumerator.integers(start=1):
            yield {d: formula.Min(formula.Constant(1), formula.Max(formula.Constant(-1), formula.Sum(
                formula.Constant(1.0), formula.Product(formula.Constant(-10), formula.Price(d, day)))))}

    market = inductor.LogicalInductor()
    return [float(market.update(foo, algorithm())[d]) for _ in range(n_days)]


def aflab_choreograph(n_days: int, maker: str):
    from aflab.logical_induction.deduction import observation_scenario
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import ConstantBelief

    sc = observation_scenario(["foo"] * n_days, priced=[["d"]] * n_days)
    traders = [ConstantBelief(p=0.1, slope=10.0, hold=False, weight=2.0 ** -min(k + 1, 1000), start_day=k + 1,
                              name=f"t{k}") for k in range(n_days)]
    return run_market(sc, traders, maker=maker)


def throughput(name: str, sc, traders, days: int):
    from aflab.logical_induction.inductor import run_market

    run, wall, cpu = timed(lambda: run_market(sc, traders, n_days=days, keep_prices=lambda s: False))
    priced = int(run.maker.n_priced.sum())
    atoms = len(frozenset().union(*(s.atoms for day in sc.priced[:days] for s in day)))
    print(f"| {name} | {int(run.maker.n_priced.max()):,} | {atoms:,} | {days} | {wall:.2f} | {cpu:.2f} | "
          f"{priced / cpu:,.0f} | {int(run.maker.certified.sum())}/{days} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    args = ap.parse_args()
    ref_days = 8 if args.quick else 14
    long_days = 100 if args.quick else 1000

    print("## Choreographed example (reference's own)\n")
    print("| implementation | days | wall s | CPU s | CPU ratio vs reference | prices (last 3) |")
    print("|---|---|---|---|---|---|")
    ref, w_ref, c_ref = timed(lambda: reference_choreograph(ref_days))
    print(f"| logicalinduction 0.1.6 (exhaustive) | {ref_days} | {w_ref:.2f} | {c_ref:.2f} | 1.0 | "
          f"{np.round(ref[-3:], 4).tolist()} |")
    for maker in ("rational", "solver"):
        run, w, c = timed(lambda: aflab_choreograph(ref_days, maker))
        p = run.prices.price.to_numpy()
        print(f"| aflab maker={maker} | {ref_days} | {w:.2f} | {c:.2f} | {c_ref / max(c, 1e-9):.1f}x faster | "
              f"{np.round(p[-3:], 4).tolist()} |")
    run, w, c = timed(lambda: aflab_choreograph(long_days, "solver"))
    print(f"| aflab maker=solver | {long_days} | {w:.2f} | {c:.2f} | - | certified {int(run.maker.certified.sum())}"
          f"/{long_days} |")
    print("\n(the reference values past purchases at the latest price; with that patched, its prices equal "
          "aflab's rational mode exactly -- tests/logical_induction/test_li_parity.py)\n")

    from aflab.logical_induction.deduction import pi_scenario, separable_scenario
    from aflab.logical_induction.traders import BlockCoherence, ConstantBelief, FloorTrader, FrequencyTrader

    print("## Throughput\n")
    print("| scenario | sentences/day | atoms | days | wall s | CPU s | sentence-days per CPU s | certified |")
    print("|---|---|---|---|---|---|---|---|")
    n_sep = 2000 if args.quick else 10_000
    sc = separable_scenario(n_sep, 4, seed=0)
    sep_traders = [FrequencyTrader(label="x", weight=0.25, name="freq"), ConstantBelief(p=0.3, weight=0.125, name="c3"),
                   FloorTrader(weight=0.125, name="floor")]
    throughput(f"separable ({n_sep:,} independent atoms)", sc, sep_traders, 3)
    window = 20 if args.quick else 100
    sc = pi_scenario(4, window=window, delay=2, negations=False, n_theorems=False)
    pi_traders = [BlockCoherence(weight=0.25), FrequencyTrader(label="digit=3", weight=0.125, name="f3"),
                  ConstantBelief(p=0.2, weight=0.0625, name="c2"), FloorTrader(weight=0.0625, name="floor")]
    throughput(f"pi digit blocks (window {window})", sc, pi_traders, 3)


if __name__ == "__main__":
    main()
