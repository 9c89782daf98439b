"""Benchmark aflab's logical inductor against the PyPI reference `logicalinduction` (same machine, same run).

1. The reference's choreographed example (one s-curve trader added per day, target 0.1, on one
   sentence): reference exhaustive search vs aflab's `maker="rational"` (same enumeration, same prices)
   vs aflab's certified solver; and aflab's solver for many more days.
2. Throughput: sentences priced per second and per day with separable traders (10,000 sentences),
   digits of pi in exclusive-exhaustive blocks (1,000 sentences), a deductive process with >= 200 atoms.

3. Before/after of the round-2 speed-ups on the choreograph, in the same run: the "round-1 paths"
   baseline calls every trader every day (each wrapped in an opaque proxy, so no program sharing),
   propagates the dependency pattern with sparse products and re-evaluates the whole expression
   graph in every k-section (no forward-cone evaluation). Same prices, checked.
4. ``--long``: the digits-of-pi run with the trader enumeration on (the audits' scenario and firm),
   in chunks (checkpoint/resume) until ``--long-days`` or ``--long-budget-s`` CPU seconds, with the
   day rate, an extrapolation to 10,000 days and the audit numbers on the days reached.

Usage: python benchmarks/bench_logical_induction.py [--quick] [--long [--long-days N] [--long-budget-s S]]
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
            yield {
                d: formula.Min(
                    formula.Constant(1),
                    formula.Max(
                        formula.Constant(-1),
                        formula.Sum(
                            formula.Constant(1.0), formula.Product(formula.Constant(-10), formula.Price(d, day))
                        ),
                    ),
                )
            }

    market = inductor.LogicalInductor()
    return [float(market.update(foo, algorithm())[d]) for _ in range(n_days)]


def aflab_choreograph(n_days: int, maker: str):
    from aflab.logical_induction.deduction import observation_scenario
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import ConstantBelief

    sc = observation_scenario(["foo"] * n_days, priced=[["d"]] * n_days)
    traders = [
        ConstantBelief(p=0.1, slope=10.0, hold=False, weight=2.0 ** -min(k + 1, 1000), start_day=k + 1, name=f"t{k}")
        for k in range(n_days)
    ]
    return run_market(sc, traders, maker=maker)


class _Opaque:
    """Hides a trader's type so the day loop cannot share its calls (the round-1 per-trader path)."""

    def __init__(self, t):
        self.t, self.name, self.weight, self.start_day = t, t.name, t.weight, t.start_day

    def trade(self, ctx):
        return self.t.trade(ctx)


def round1_paths(fn):
    """Run ``fn`` with the round-1 code paths: no program sharing (the caller wraps traders in
    ``_Opaque``), sparse dependency propagation, whole-graph evaluation in every k-section."""
    from aflab.logical_induction import expressions, market

    cells, at = market.DENSE_PATTERN_CELLS, expressions.ExpressionGraph.evaluate_at
    market.DENSE_PATTERN_CELLS = 0
    expressions.ExpressionGraph.evaluate_at = lambda self, p, ids, base=None, vary=None: self.evaluate_all(
        np.atleast_2d(p)
    )[:, ids]
    try:
        return fn()
    finally:
        market.DENSE_PATTERN_CELLS, expressions.ExpressionGraph.evaluate_at = cells, at


def before_after(days: int, pi_days: int) -> None:
    from aflab.logical_induction.deduction import observation_scenario, pi_scenario
    from aflab.logical_induction.experiments import PiAuditConfig, adversaries, pi_traders
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import ConstantBelief

    print("## Round-2 speed-ups, same run (identical prices required)\n")
    print("| workload | days | round-1 paths CPU s | now CPU s | speed-up | prices identical |")
    print("|---|---|---|---|---|---|")
    sc = observation_scenario(["foo"] * days, priced=[["d"]] * days)
    trs = [
        ConstantBelief(p=0.1, slope=10.0, hold=False, weight=2.0 ** -min(k + 1, 1000), start_day=k + 1, name=f"t{k}")
        for k in range(days)
    ]
    old, _, c_old = timed(lambda: round1_paths(lambda: run_market(sc, [_Opaque(t) for t in trs])))
    new, _, c_new = timed(lambda: run_market(sc, trs))
    same = np.array_equal(old.prices.price.to_numpy(), new.prices.price.to_numpy())
    print(
        f"| choreograph (one trader enters per day) | {days} | {c_old:.2f} | {c_new:.2f} | "
        f"{c_old / max(c_new, 1e-9):.1f}x | {same} |"
    )
    cfg = PiAuditConfig(n_days=pi_days)
    sc = pi_scenario(pi_days, window=cfg.window, delay=cfg.delay, far_block=True)
    trs = pi_traders(sc, cfg)
    old, _, c_old = timed(lambda: round1_paths(lambda: run_market(sc, [_Opaque(t) for t in trs], adversaries())))
    new, _, c_new = timed(lambda: run_market(sc, trs, adversaries()))
    same = np.array_equal(old.prices.price.to_numpy(), new.prices.price.to_numpy())
    print(
        f"| pi audits' run (enumeration, {len(trs)} programs) | {pi_days} | {c_old:.2f} | {c_new:.2f} | "
        f"{c_old / max(c_new, 1e-9):.1f}x | {same} |\n"
    )


def long_pi_run(max_days: int, budget_s: float, chunk: int, checkpoint: str | None = None) -> None:
    """The audits' pi scenario and enumerated firm, run in checkpoint/resume chunks until max_days or
    budget_s CPU s; per chunk: cost, certification, pi-digit prices and the held-out adversaries' gains."""
    from aflab.logical_induction.deduction import pi_scenario
    from aflab.logical_induction.experiments import IN_CLASS_ADVERSARIES, PiAuditConfig, adversaries, pi_traders
    from aflab.logical_induction.inductor import run_market

    cfg = PiAuditConfig(n_days=min(max(max_days, 8), 10_000))
    sc, _, c_build = timed(lambda: pi_scenario(max_days, window=cfg.window, delay=cfg.delay, far_block=True))
    trs = pi_traders(sc, cfg)
    print(f"## Long digits-of-pi run (enumeration on: {len(trs)} programs, 4 held-out adversaries)\n")
    print(f"scenario of {max_days:,} days built in {c_build:.1f} CPU s; budget {budget_s:.0f} CPU s\n")
    print(
        "| days | CPU s (total) | wall s (total) | CPU s/day (chunk) | certified | max value/tol (chunk) | "
        "digit mean abs(P - 0.1) (chunk) | block gap (chunk) | in-class adversary gain | out-of-class gain |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    state, day, cpu, wall, run, rate = None, 0, 0.0, 0.0, None, float("nan")
    while day < max_days and cpu < budget_s:
        out: list = []
        end = min(day + chunk, max_days)
        run, w, c = timed(
            lambda end=end, state=state, out=out: run_market(
                sc, trs, adversaries(), n_days=end, resume=state, state_out=out
            )
        )
        state, rate, start = out[0], c / (end - day), day
        day, cpu, wall = end, cpu + c, wall + w
        mk = run.maker[run.maker.day > start]
        p = run.prices[run.prices.day > start]
        dig = p[p.label.str.startswith("digit=") & (p.decided < 0)]
        sums = dig[dig.revealed_on >= 0].assign(place=lambda d: d.sentence.str.extract(r"pi_digit\((\d+)\)")[0])
        gap = (sums.groupby(["day", "place"]).price.agg(["sum", "size"]).query("size == 10")["sum"] - 1).abs().max()
        led = run.ledger[(run.ledger.role == "adversary") & (run.ledger.day == day)]
        inc = led[led.trader.isin(IN_CLASS_ADVERSARIES)].worst.max()
        outc = led[~led.trader.isin(IN_CLASS_ADVERSARIES)].worst.max()
        print(
            f"| {day:,} | {cpu:.1f} | {wall:.1f} | {rate:.3f} | {int(run.maker.certified.sum())}/{day} | "
            f"{float((mk.max_value / mk.tolerance).max()):.2g} | {float((dig.price - 0.1).abs().mean()):.4f} | "
            f"{float(gap):.4f} | {float(inc):.3f} | {float(outc):.3f} |",
            flush=True,
        )
    bad = run.maker[~run.maker.certified.astype(bool)].day
    print(f"\nreached {day:,} days in {cpu:.0f} CPU s ({wall:.0f} wall s); last chunk {rate:.3f} CPU s/day")
    print(f"uncertified days: {len(bad)}" + (f" (first {int(bad.min())}, last {int(bad.max())})" if len(bad) else ""))
    if checkpoint:
        from aflab.logical_induction.inductor import save_checkpoint

        save_checkpoint(state, checkpoint)
        print(f"final state saved to {checkpoint}")
    audit_long_run(cfg.model_copy(update={"n_days": day}), sc, run)


def long_run_plot(checkpoint: str, out: str) -> None:
    """Figure of a long run saved with ``--long-checkpoint`` (cost, digit prices, adversaries)."""
    from aflab.core.plots import figure_png
    from aflab.logical_induction.experiments import IN_CLASS_ADVERSARIES
    from aflab.logical_induction.inductor import load_checkpoint, run_tables
    from aflab.logical_induction.plots import long_run_figure

    run = run_tables(load_checkpoint(checkpoint))
    with open(out, "wb") as fh:
        fh.write(figure_png(long_run_figure(run, IN_CLASS_ADVERSARIES), dpi=110))
    print(f"wrote {out} ({len(run.maker):,} days)")


def audit_long_run(cfg, sc, run) -> None:
    """The registered pi audits (the claims' own table and verdict functions) on the long run."""
    from aflab.logical_induction.claims import judge_pi_run

    print(f"\n### The audits on this {cfg.n_days:,}-day run (claims' own verdict functions)\n")
    print("| claim | verdict | deciding numbers |\n|---|---|---|")
    for claim, v, c in judge_pi_run(cfg, sc, run):
        print(f"| {claim.id} | {v.label} | {v.reason} ({c:.0f} CPU s) |", flush=True)


def throughput(name: str, sc, traders, days: int):
    from aflab.logical_induction.inductor import run_market

    run, wall, cpu = timed(lambda: run_market(sc, traders, n_days=days, keep_prices=lambda s: False))
    priced = int(run.maker.n_priced.sum())
    atoms = len(frozenset().union(*(s.atoms for day in sc.priced[:days] for s in day)))
    print(
        f"| {name} | {int(run.maker.n_priced.max()):,} | {atoms:,} | {days} | {wall:.2f} | {cpu:.2f} | "
        f"{priced / cpu:,.0f} | {int(run.maker.certified.sum())}/{days} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--long", action="store_true", help="only the long digits-of-pi run (minutes)")
    ap.add_argument("--long-days", type=int, default=10_000, help="days of the long run (default 10,000)")
    ap.add_argument("--long-budget-s", type=float, default=240.0, help="CPU-second budget of the long run")
    ap.add_argument("--long-chunk", type=int, default=100, help="days per checkpoint chunk of the long run")
    ap.add_argument("--long-checkpoint", default=None, help="save the long run's final state to this .npz")
    ap.add_argument("--figure-from", default=None, help="plot a saved long run (a --long-checkpoint file) and exit")
    ap.add_argument("--figure-out", default="docs/img/logical_induction_long.png", help="where --figure-from writes")
    args = ap.parse_args()
    if args.long_days < 1 or args.long_budget_s <= 0 or args.long_chunk < 1:
        raise SystemExit("--long-days and --long-chunk must be >= 1 and --long-budget-s > 0")
    if args.figure_from:
        long_run_plot(args.figure_from, args.figure_out)
        return
    if args.long:
        long_pi_run(args.long_days, args.long_budget_s, args.long_chunk, args.long_checkpoint)
        return
    ref_days = 8 if args.quick else 14
    long_days = 100 if args.quick else 1000

    print("## Choreographed example (reference's own)\n")
    print("| implementation | days | wall s | CPU s | CPU ratio vs reference | prices (last 3) |")
    print("|---|---|---|---|---|---|")
    ref, w_ref, c_ref = timed(lambda: reference_choreograph(ref_days))
    print(
        f"| logicalinduction 0.1.6 (exhaustive) | {ref_days} | {w_ref:.2f} | {c_ref:.2f} | 1.0 | "
        f"{np.round(ref[-3:], 4).tolist()} |"
    )
    for maker in ("rational", "solver"):
        run, w, c = timed(lambda: aflab_choreograph(ref_days, maker))
        p = run.prices.price.to_numpy()
        print(
            f"| aflab maker={maker} | {ref_days} | {w:.2f} | {c:.2f} | {c_ref / max(c, 1e-9):.1f}x faster | "
            f"{np.round(p[-3:], 4).tolist()} |"
        )
    run, w, c = timed(lambda: aflab_choreograph(long_days, "solver"))
    print(
        f"| aflab maker=solver | {long_days} | {w:.2f} | {c:.2f} | - | certified {int(run.maker.certified.sum())}"
        f"/{long_days} |"
    )
    print(
        "\n(the reference values past purchases at the latest price; with that patched, its prices equal "
        "aflab's rational mode exactly -- tests/logical_induction/test_li_parity.py)\n"
    )
    before_after(200 if args.quick else long_days, 12 if args.quick else 24)

    from aflab.logical_induction.deduction import pi_scenario, separable_scenario
    from aflab.logical_induction.traders import BlockCoherence, ConstantBelief, FloorTrader, FrequencyTrader

    print("## Throughput\n")
    print("| scenario | sentences/day | atoms | days | wall s | CPU s | sentence-days per CPU s | certified |")
    print("|---|---|---|---|---|---|---|---|")
    n_sep = 2000 if args.quick else 10_000
    sc = separable_scenario(n_sep, 4, seed=0)
    sep_traders = [
        FrequencyTrader(label="x", weight=0.25, name="freq"),
        ConstantBelief(p=0.3, weight=0.125, name="c3"),
        FloorTrader(weight=0.125, name="floor"),
    ]
    throughput(f"separable ({n_sep:,} independent atoms)", sc, sep_traders, 3)
    window = 20 if args.quick else 100
    sc = pi_scenario(4, window=window, delay=2, negations=False, n_theorems=False)
    pi_traders = [
        BlockCoherence(weight=0.25),
        FrequencyTrader(label="digit=3", weight=0.125, name="f3"),
        ConstantBelief(p=0.2, weight=0.0625, name="c2"),
        FloorTrader(weight=0.0625, name="floor"),
    ]
    throughput(f"pi digit blocks (window {window})", sc, pi_traders, 3)


if __name__ == "__main__":
    main()
