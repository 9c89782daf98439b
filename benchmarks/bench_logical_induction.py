"""Benchmark aflab's logical inductor: speed against the PyPI reference `logicalinduction`, the held-out
adversary suite on the digits-of-pi run, the always-certifying maker on random adversarial cases, scale.

1. Speed at equal days: the reference's choreographed example (one s-curve trader added per day, target
   0.1, on one sentence) -- reference exhaustive search vs aflab's ``maker="rational"`` (the same
   enumeration, the same prices) vs aflab's certified solver at 16, 20 and 24 days, and the solver for many
   more days. The ratio is measured in the same run, on medians of repeated runs (target: >= 100x from 16
   days on).
2. The held-out suite (``aflab.logical_induction.heldout``, both its suites: the second written after the
   firm froze) on the pi run with the learning firm and,
   for comparison, the original enumerated firm (`firm="enumerated"`): each held-out trader's guaranteed gain per day over
   days 160-240 (target <= 0.05), mean 1 - P of undecided theorems on day 200 (target <= 0.005), digit
   prices' distance to 1/10, CPU s per day. ``--quick``: 120 days, the last third judged.
   2b (``--only absorb``): the second suite's steep digit band added to the firm as one more program -- does
   the firm then dominate it (a gap in the grammar) or not (a failure of the market)?
3. The maker on random adversarial cases (``aflab.logical_induction.hardcases``: <= 20 sentences, <= 12
   traders, steep / saturated / binding-budget trades), each result checked against brute-force worlds:
   certified count and CPU s per case (target: all certified, <= 1 CPU s).
4. Scale: the learning firm on 1,000 digit sentences a day, 10,000 separable atoms, one linked group
   of 40 atoms (80 in full) whose worlds are too many to enumerate (lazy worlds, MaxSAT oracle; target
   <= 10 s per certified day), memory per day.
   4b (``--only backend``): the component solvers' SAT back-end, MiniSat against CaDiCaL, on the same
   workloads (identical tables; CPU s and the C memory the solvers hold).
5. ``--long``: the pi run in checkpoint/resume chunks until ``--long-days`` or ``--long-budget-s``.

Usage: python benchmarks/bench_logical_induction.py [--quick] [--cases N] [--long ...]
CPU seconds (process time) are reported next to wall seconds: the lab machine is shared with other jobs,
so only ratios measured in the same run are comparable.
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
    run = run_market(sc, traders, maker=maker)
    assert len(run.prices) == n_days  # built inside the timed call (tables build on first read), as the reference's
    return run


def median_timed(fn, repeats: int):
    """``timed`` ``repeats`` times: the last output and the median wall and CPU seconds (a 40 ms run on a
    shared machine varies by +-15% from one call to the next; the median is what a ratio should use)."""
    runs = [timed(fn) for _ in range(repeats)]
    return runs[-1][0], float(np.median([r[1] for r in runs])), float(np.median([r[2] for r in runs]))


def speed(quick: bool) -> None:
    day_counts = (10,) if quick else (16, 20, 24)
    long_days = 100 if quick else 1000
    print("## 1. Speed at equal days: the reference's choreographed example\n")
    print("medians of repeated runs: the reference 3x at the first day count, else once; aflab 7x\n")
    print("| implementation | days | wall s | CPU s | CPU ratio vs reference | prices (last 3) |")
    print("|---|---|---|---|---|---|")
    for i, days in enumerate(day_counts):
        ref, w_ref, c_ref = median_timed(lambda days=days: reference_choreograph(days), 3 if i == 0 else 1)
        print(
            f"| logicalinduction 0.1.6 (exhaustive) | {days} | {w_ref:.2f} | {c_ref:.2f} | 1.0 | "
            f"{np.round(ref[-3:], 4).tolist()} |"
        )
        for maker in ("rational", "solver") if i == 0 else ("solver",):
            run, w, c = median_timed(lambda maker=maker, days=days: aflab_choreograph(days, maker), 7)
            p = run.prices.price.to_numpy()
            print(
                f"| aflab maker={maker} | {days} | {w:.3f} | {c:.3f} | {c_ref / max(c, 1e-9):.0f}x faster | "
                f"{np.round(p[-3:], 4).tolist()} |"
            )
    run, w, c = timed(lambda: aflab_choreograph(long_days, "solver"))
    print(
        f"| aflab maker=solver | {long_days} | {w:.2f} | {c:.2f} | - | certified {int(run.maker.certified.sum())}"
        f"/{long_days} |\n"
    )


def heldout_suite_run(quick: bool) -> None:
    from aflab.core.stats import mean_ci
    from aflab.logical_induction import experiments as E
    from aflab.logical_induction.heldout import SECOND_SUITE, suite_kind

    n = 120 if quick else 240
    lo, hi = (2 * n // 3, n) if quick else (160, 240)
    theorem_day = int(n * 200 / 240)
    stretches = 2 if quick else 3
    print(f"## 2. Held-out suite on the pi run ({n} days, {stretches} stretches of pi; judged over days {lo}-{hi})\n")
    rows = {}
    for firm in ("learning", "enumerated"):
        cfg = E.PiAuditConfig(n_days=n, firm=firm)
        rates, gaps, devs, cpu, cert = {}, [], [], 0.0, 0
        for i in range(stretches):
            (sc, run), _, c = timed(lambda cfg=cfg, i=i: E.pi_run(cfg, i))
            cpu, cert = cpu + c, cert + int(run.maker.certified.sum())
            adv = run.ledger[run.ledger.role == "adversary"]
            for trader, g in adv.groupby("trader", sort=False):
                g = g[(g.day >= lo) & (g.day <= hi)]
                rates.setdefault(trader, []).append(float(np.polyfit(g.day, g.worst, 1)[0]))
            th = E.theorem_table(run)
            gaps.append(float(th[th.day == theorem_day].mean_gap.iloc[0]))
            dig = E.digit_table(run)
            devs.append(float(dig[dig.day > 0.75 * n].mean_abs_dev.mean()))
        ivs = {k: mean_ci(v) for k, v in rates.items()}
        rows[firm] = (ivs, np.mean(gaps), np.mean(devs), cpu / (n * stretches), cert, len(E.pi_traders(sc, cfg)))
    print(
        "| held-out trader | suite | kind | learning firm: gain per day (95% t over stretches) | original enumerated firm |"
    )
    print("|---|---|---|---|---|")
    for trader, iv in rows["learning"][0].items():
        o = rows["enumerated"][0][trader]
        suite = "second" if trader in SECOND_SUITE else "first"
        print(
            f"| {trader} | {suite} | {suite_kind(trader)} | {iv.estimate:.4f} [{iv.low:.3f}, {iv.high:.3f}] | "
            f"{o.estimate:.4f} [{o.low:.3f}, {o.high:.3f}] |"
        )
    L, O = rows["learning"], rows["enumerated"]
    print("\n| | learning firm | original firm | target |\n|---|---|---|---|")
    top = lambda ivs: max(v.estimate for v in ivs.values())
    print(f"| highest held-out mean gain per day, days {lo}-{hi} | {top(L[0]):.4f} | {top(O[0]):.4f} | <= 0.05 |")
    print(f"| mean 1 - P of undecided theorems, day {theorem_day} | {L[1]:.4f} | {O[1]:.4f} | <= 0.005 |")
    print(f"| mean abs(P - 0.1), undecided digits, last quarter | {L[2]:.4f} | {O[2]:.4f} | |")
    print(f"| programs in the firm | {L[5]} | {O[5]} | |")
    print(f"| CPU s per day | {L[3]:.3f} | {O[3]:.3f} | |")
    print(f"| days certified | {L[4]}/{n * stretches} | {O[4]}/{n * stretches} | all |\n")


def absorb_steep_band(quick: bool, stretches: int = 10) -> None:
    """Where does the steep digit band's gain come from? The pi run (days in the last third judged) with the
    learning firm as audited; with the same firm plus the held-out steep band as one more program, at the
    weight of a band program on the digit family and at the weight of the pooled digit learner (the firm's
    heaviest digit program); and with revival off. The held-out copy's guaranteed gain per day, t over
    stretches, every variant in this run (a diagnostic: the audits keep the firm as is)."""
    from aflab.core.stats import mean_ci
    from aflab.logical_induction import experiments as E
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import BandTrader, FrequencyTrader, revived_copies

    n, stretches = (120, 2) if quick else (240, stretches)
    name = "band(digit,0.099,0.101,steep)"
    lo = 2 * n // 3
    print(f"## 2b. Where the steep digit band's gain comes from ({n} days, {stretches} stretches, days {lo}-{n})\n")
    print("| firm | steep band's gain per day (95% t) | gain on the last day (mean) | CPU s per day |")
    print("|---|---|---|---|")

    def band_weight(firm):
        return max(t.weight for t in firm if isinstance(t, BandTrader) and t.label == "digit=*")

    def pooled_weight(firm):
        return max(t.weight for t in firm if isinstance(t, FrequencyTrader) and t.label == "digit=*")

    variants = (
        ("learning (as audited)", None, True),
        ("+ steep band at a family band program's weight", band_weight, True),
        ("+ steep band at the pooled digit learner's weight", pooled_weight, True),
        ("learning, revival off", None, False),
    )
    for label, weight, revival in variants:
        rates, finals, cpu = [], [], 0.0
        for i in range(stretches):
            cfg = E.PiAuditConfig(n_days=n, revival=revival)
            sc = E.pi_audit_scenario(cfg, i)
            firm = E.pi_traders(sc, cfg)
            if weight is not None:
                steep = BandTrader(
                    low=0.099, high=0.101, label="digit=*", slope=200.0, weight=weight(firm), name="steep"
                )
                firm = firm + [steep]
            rev = revived_copies if revival else None
            run, _, c = timed(lambda sc=sc, firm=firm, rev=rev: run_market(sc, firm, E.adversaries(), revival=rev))
            cpu += c
            g = run.ledger[(run.ledger.role == "adversary") & (run.ledger.trader == name)]
            late = g[g.day >= lo]
            rates.append(float(np.polyfit(late.day, late.worst, 1)[0]))
            finals.append(float(g.worst.iloc[-1]))
        iv = mean_ci(rates)
        print(
            f"| {label} | {iv.estimate:.4f} [{iv.low:.4f}, {iv.high:.4f}] | {np.mean(finals):.2f} | {cpu / (n * stretches):.3f} |"
        )
    print()


def maker_cases(n_cases: int) -> None:
    from aflab.logical_induction import market
    from aflab.logical_induction.hardcases import brute_force_value, make_case, solve_case

    print(f"## 3. The maker on {n_cases} random adversarial cases (checked against brute-force worlds)\n")
    times, ok, fails, fallback = [], 0, [], 0
    last_resort: list[tuple[int, bool, int]] = []  # (seed, certified, evaluations) of each PL-homotopy call
    pl_solve, seed = market._pl_homotopy_solve, -1

    def counted(*args, **kw):
        res = pl_solve(*args, **kw)
        last_resort.append((seed, res.certified, res.evaluations))
        return res

    market._pl_homotopy_solve = counted  # the fallback looks the name up at call time
    for seed in range(n_cases):
        case = make_case(seed)
        res, _, c = timed(lambda case=case: solve_case(case))
        times.append(c)
        value = brute_force_value(case, res)
        good = res.certified and value <= case.tolerance * (1 + 1e-9) + 1e-15
        ok += good
        fallback += res.evaluations > 5000
        if not good:
            fails.append((seed, value, case.tolerance))
    t = np.array(times)
    print("| cases | certified (brute force) | CPU s mean | median | p99 | max | cases over 1 CPU s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {n_cases} | {ok}/{n_cases} | {t.mean():.3f} | {np.median(t):.3f} | {np.quantile(t, 0.99):.2f} | "
        f"{t.max():.2f} | {(t > 1).sum()} |"
    )
    market._pl_homotopy_solve = pl_solve
    print(f"\nfallback used on {fallback} cases; uncertified: {fails[:10]}")
    print(
        f"PL homotopy (the last resort) ran on {len(last_resort)} cases (seed, certified, evaluations): {last_resort}\n"
    )


def scale(quick: bool) -> None:
    from aflab.logical_induction.deduction import pi_scenario, separable_scenario
    from aflab.logical_induction.inductor import run_market
    from aflab.logical_induction.traders import (
        ConstantBelief,
        FloorTrader,
        FrequencyTrader,
        Grammar,
        build_traders,
        enumerate_grammar,
    )

    print("## 4. Scale\n")
    print("| workload | sentences/day | days | CPU s | CPU s per day | certified |")
    print("|---|---|---|---|---|---|")
    window = 20 if quick else 100
    days = 3 if quick else 8
    sc = pi_scenario(days + 1, window=window, delay=2, negations=False, n_theorems=False)
    labels = tuple(sorted(set(sc.labels.values())))
    firm = build_traders(enumerate_grammar(labels, Grammar(constant_depth=2, band_depth=2, sizes=(1.0,))))
    run, _, c = timed(lambda: run_market(sc, firm, n_days=days, keep_prices=lambda s: False))
    print(
        f"| pi digit blocks (window {window}), learning firm ({len(firm)} programs) | {int(run.maker.n_priced.max()):,} | "
        f"{days} | {c:.1f} | {c / days:.2f} | {int(run.maker.certified.sum())}/{days} |"
    )
    n_sep = 2000 if quick else 10_000
    sc = separable_scenario(n_sep, 4, seed=0)
    sep = [
        FrequencyTrader(label="x", weight=0.25, name="freq"),
        ConstantBelief(p=0.3, weight=0.125, name="c3"),
        FloorTrader(weight=0.125, name="floor"),
    ]
    run, _, c = timed(lambda: run_market(sc, sep, n_days=3, keep_prices=lambda s: False))
    print(
        f"| separable atoms, 3 traders | {n_sep:,} | 3 | {c:.1f} | {c / 3:.2f} | {int(run.maker.certified.sum())}/3 |"
    )
    for n_atoms in (40,) if quick else (40, 80):
        print(_linked_group_row(n_atoms))
    print()
    memory_growth((30, 60) if quick else (100, 200, 400, 800))


def _resident_mb() -> float:
    """This process's resident set (MB) after a collection and ``malloc_trim`` (freed C memory returned):
    what ``tracemalloc`` cannot see, e.g. the SAT solvers' own allocations."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmRSS")) / 1024


def memory_growth(marks: tuple[int, ...]) -> None:
    """Memory held by the audits' pi run (learning firm, held-out suite) after each day in ``marks``
    (``tracemalloc``, after a collection), the growth per day between marks (bounded: flat from mark to
    mark), and the largest allocation sites at the end: what the growth is made of."""
    import tracemalloc

    from aflab.logical_induction import experiments as E
    from aflab.logical_induction.inductor import run_market

    cfg = E.PiAuditConfig(n_days=marks[-1])
    sc = E.pi_audit_scenario(cfg, 0)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state, prev = None, None
    print("| day | MB traced | KB per day since the previous mark | MB resident (whole process) |")
    print("|---|---|---|---|")
    for m in marks:
        out: list = []
        run_market(sc, E.pi_traders(sc, cfg), n_days=m, resume=state, state_out=out)
        state = out.pop()
        resident = _resident_mb()  # collects first
        held = tracemalloc.get_traced_memory()[0]
        rate = "" if prev is None else f"{(held - prev[1]) / (m - prev[0]) / 1e3:.0f}"
        print(f"| {m} | {held / 1e6:.1f} | {rate} | {resident:.0f} |")
        prev = (m, held)
    sites = tracemalloc.take_snapshot().statistics("lineno")[:6]
    print(f"\nlargest allocation sites after day {marks[-1]}:")
    for st in sites:
        frame = st.traceback[0]
        print(f"- {frame.filename.split('src/')[-1]}:{frame.lineno}: {st.size / 1e6:.1f} MB")
    print()
    holder, state = [state], None  # the callee drops the last reference
    kept_run_memory(holder, base)
    tracemalloc.stop()


def kept_run_memory(holder: list, base: int) -> None:
    """What a finished run costs to keep (``experiments.pi_run`` caches 64): its tables built, the market
    gone, against the same run still holding its market state -- what every kept run held until the
    builders captured the state (2026-12-07). In one process on one run: ``tracemalloc`` (Python and NumPy
    allocations) and the resident set (:func:`_resident_mb`)."""
    import tracemalloc

    from aflab.logical_induction.inductor import run_tables

    state = holder.pop()
    run = run_tables(state)
    n_rows = sum(len(t) for t in (run.prices, run.ledger, run.maker, run.resolved))
    traced_with, rss_with = (tracemalloc.get_traced_memory()[0] - base) / 1e6, _resident_mb()
    del state
    traced_alone, rss_alone = (tracemalloc.get_traced_memory()[0] - base) / 1e6, _resident_mb()
    print(
        f"a kept run ({n_rows:,} table rows) with its market state (as before 2026-12-07) / without: "
        f"{traced_with:.1f} / {traced_alone:.1f} MB traced, resident set {rss_with:.0f} / {rss_alone:.0f} MB "
        f"(the state: {traced_with - traced_alone:.1f} MB traced, {rss_with - rss_alone:.0f} MB resident)\n"
    )


def backend_comparison(quick: bool) -> None:
    """The component solvers' SAT back-end, MiniSat (before 2026-12-07) against CaDiCaL (now), in one
    process on the same workloads: the tables must be identical; CPU s and the C memory the live solvers
    hold (resident set freed by deleting them, after ``malloc_trim``; ``tracemalloc`` cannot see it)."""

    import pandas as pd

    from aflab.logical_induction import experiments as E
    from aflab.logical_induction import worlds
    from aflab.logical_induction.claims import PI_QUICK
    from aflab.logical_induction.deduction import linked_group_scenario
    from aflab.logical_induction.inductor import run_market

    def one(solver: str, scenario, traders, adversaries):
        worlds.SAT_SOLVER, out = solver, []
        run, _, cpu = timed(lambda: run_market(scenario, traders, adversaries, state_out=out))
        kb = out.pop().kb
        before = _resident_mb()
        for root in list(kb._solvers):
            kb._drop_solver(root)
        tables = (run.prices, run.ledger, run.maker.drop(columns="seconds"))
        return cpu, before - _resident_mb(), len(kb._clauses), tables

    cfg = E.PiAuditConfig(**{**PI_QUICK, "n_days": 60 if quick else 240})
    pi = E.pi_audit_scenario(cfg, 0)
    workloads = {
        f"pi audit run, {cfg.n_days} days (firm + held-out suite)": (pi, E.pi_traders(pi, cfg), E.adversaries()),
        "one linked group of 40 atoms (lazy worlds), 4 days": (linked_group_scenario(40, 4), _linked_traders(), ()),
    }
    print("## 4b. SAT back-end of the component solvers\n")
    print(
        "| workload | components | CPU s MiniSat | CPU s CaDiCaL | ratio | solver memory MiniSat | CaDiCaL | tables |"
    )
    print("|---|---|---|---|---|---|---|---|")
    default = worlds.SAT_SOLVER
    try:
        for label, (sc, traders, adv) in workloads.items():
            cpu_m, mem_m, n_comp, t_m = one("minisat22", sc, traders, adv)
            cpu_c, mem_c, _, t_c = one("cadical153", sc, traders, adv)
            for a, b in zip(t_m, t_c):
                pd.testing.assert_frame_equal(a, b)
            print(
                f"| {label} | {n_comp} | {cpu_m:.1f} | {cpu_c:.1f} | {cpu_c / cpu_m:.2f} | {mem_m:.0f} MB | "
                f"{mem_c:.1f} MB | identical |"
            )
    finally:
        worlds.SAT_SOLVER = default
    print()


def _linked_traders() -> list:
    """Five simple traders for the linked-group workloads (every sentence traded)."""
    from aflab.logical_induction.traders import ConjunctionCoherence, ConstantBelief, FloorTrader, NegationCoherence

    return [
        ConstantBelief(p=0.3, weight=0.25, name="c3"),
        ConstantBelief(p=0.8, weight=0.25, name="c8"),
        NegationCoherence(weight=0.25),
        ConjunctionCoherence(weight=0.25),
        FloorTrader(weight=0.25),
    ]


def _linked_group_row(n_atoms: int, days: int = 4) -> str:
    """A table row: one linked group of ``n_atoms`` atoms whose sentences are all traded
    (:func:`.deduction.linked_group_scenario`, Fibonacci(n + 2) worlds: the worlds back-end answers it
    by the MaxSAT oracle, not enumeration), five simple traders; CPU s per certified day."""
    from aflab.logical_induction.deduction import linked_group_scenario
    from aflab.logical_induction.inductor import run_market

    sc = linked_group_scenario(n_atoms, days)
    run, _, c = timed(lambda: run_market(sc, _linked_traders(), keep_prices=lambda s: False))
    return (
        f"| one linked group of {n_atoms} atoms (lazy worlds, MaxSAT oracle), 5 traders | {len(sc.priced[0]):,} | "
        f"{days} | {c:.1f} | {c / days:.2f} | {int(run.maker.certified.sum())}/{days} |"
    )


def long_pi_run(
    max_days: int, budget_s: float, chunk: int, checkpoint: str | None = None, figure: str | None = None
) -> None:
    """The audits' pi scenario and learning firm, run in checkpoint/resume chunks until max_days or
    budget_s CPU s; per chunk: cost, certification, digit prices and the held-out suite's gains."""
    from aflab.logical_induction.experiments import PiAuditConfig, adversaries, pi_audit_scenario, pi_traders
    from aflab.logical_induction.inductor import run_market

    cfg = PiAuditConfig(n_days=min(max(max_days, 8), 10_000))
    sc, _, c_build = timed(lambda: pi_audit_scenario(cfg, 0))
    trs = pi_traders(sc, cfg)
    print(f"## 5. Long digits-of-pi run (learning firm: {len(trs)} programs; held-out suite booked)\n")
    print(f"scenario of {max_days:,} days built in {c_build:.1f} CPU s; budget {budget_s:.0f} CPU s\n")
    print(
        "| days | CPU s (total) | CPU s/day (chunk) | certified | digit mean abs(P - 0.1) (chunk) | max held-out gain |"
    )
    print("|---|---|---|---|---|---|")
    state, day, cpu, run, rate = None, 0, 0.0, None, float("nan")
    while day < max_days and cpu < budget_s:
        out: list = []
        end = min(day + chunk, max_days)
        run, _, c = timed(
            lambda end=end, state=state, out=out: run_market(
                sc, trs, adversaries(), n_days=end, resume=state, state_out=out
            )
        )
        state, rate, start = out[0], c / (end - day), day
        day, cpu = end, cpu + c
        p = run.prices[run.prices.day > start]
        dig = p[p.label.str.startswith("digit=") & (p.decided < 0)]
        led = run.ledger[(run.ledger.role == "adversary") & (run.ledger.day == day)]
        print(
            f"| {day:,} | {cpu:.1f} | {rate:.3f} | {int(run.maker.certified.sum())}/{day} | "
            f"{float((dig.price - 0.1).abs().mean()):.4f} | {float(led.worst.max()):.3f} |",
            flush=True,
        )
    print(f"\nreached {day:,} days in {cpu:.0f} CPU s; last chunk {rate:.3f} CPU s/day")
    if checkpoint:
        from aflab.logical_induction.inductor import save_checkpoint

        save_checkpoint(state, checkpoint)
        print(f"final state saved to {checkpoint}")
    audit_long_run(cfg.model_copy(update={"n_days": day}), sc, run)
    if figure:
        from aflab.core.plots import figure_png
        from aflab.logical_induction.plots import long_run_figure

        with open(figure, "wb") as fh:
            fh.write(figure_png(long_run_figure(run), dpi=110))
        print(f"figure written to {figure}")


def audit_long_run(cfg, sc, run) -> None:
    """The registered pi audits (the claims' own table and verdict functions) on the long run."""
    from aflab.logical_induction.claims import judge_pi_run

    print(f"\n### The audits on this {cfg.n_days:,}-day run (claims' own verdict functions)\n")
    print("| claim | verdict | deciding numbers |\n|---|---|---|")
    for claim, v, c in judge_pi_run(cfg, sc, run):
        print(f"| {claim.id} | {v.label} | {v.reason} ({c:.0f} CPU s) |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    ap.add_argument("--cases", type=int, default=None, help="random maker cases (default 1,000; quick 100)")
    ap.add_argument(
        "--only",
        default="",
        help="run only sections whose name contains this (speed, heldout, absorb, maker, scale, backend)",
    )
    ap.add_argument("--absorb-stretches", type=int, default=10, help="stretches per variant in section 2b (default 10)")
    ap.add_argument("--long", action="store_true", help="only the long digits-of-pi run (minutes)")
    ap.add_argument("--long-days", type=int, default=10_000, help="days of the long run (default 10,000)")
    ap.add_argument("--long-budget-s", type=float, default=240.0, help="CPU-second budget of the long run")
    ap.add_argument("--long-chunk", type=int, default=100, help="days per checkpoint chunk of the long run")
    ap.add_argument("--long-checkpoint", default=None, help="save the long run's final state to this .npz")
    ap.add_argument("--long-figure", default=None, help="write the long run's figure (PNG) here")
    args = ap.parse_args()
    if args.long_days < 1 or args.long_budget_s <= 0 or args.long_chunk < 1:
        raise SystemExit("--long-days and --long-chunk must be >= 1 and --long-budget-s > 0")
    if args.absorb_stretches < 2:
        raise SystemExit("--absorb-stretches must be >= 2 (a t-interval needs two stretches)")
    if args.long:
        long_pi_run(args.long_days, args.long_budget_s, args.long_chunk, args.long_checkpoint, args.long_figure)
        return
    print("(shared 2-core machine: compare only numbers measured in the same run)\n")
    sections = {
        "speed": lambda: speed(args.quick),
        "heldout": lambda: heldout_suite_run(args.quick),
        "absorb": lambda: absorb_steep_band(args.quick, args.absorb_stretches),
        "maker": lambda: maker_cases(args.cases or (100 if args.quick else 1000)),
        "scale": lambda: scale(args.quick),
        "backend": lambda: backend_comparison(args.quick),
    }
    for name, fn in sections.items():
        if args.only in name:
            fn()


if __name__ == "__main__":
    main()
