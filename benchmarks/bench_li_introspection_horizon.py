"""Benchmark: the introspection audit against the market's horizon and the thresholds priced a day -- the
error on each side and the CPU cost of one stretch, so the quick preset's choice (16 days, three thresholds)
can be re-checked. Single BLAS thread; the shared run cache is switched off, so every row computes its run.

    python benchmarks/bench_li_introspection_horizon.py [--quick] [--stretches N] [--days D ...] [--thresholds SET]

For each (days, thresholds): the introspection verdict's per-side errors over the second half (the judged
statistic), the false side over the second quarter (the budget reading), the self-trust estimate (the same
runs), and the mean process CPU seconds per stretch. The baseline row is the quick preset itself; the other
rows print their CPU cost as a ratio to it. --quick runs 8 and 16 days with both threshold sets over one
stretch (3.5 min on an idle core, most of it five thresholds); the default adds 24 days and 3 stretches
(~25 CPU-min, most of it five thresholds at 24 days).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["AFLAB_RUN_CACHE"] = "off"  # each row pays for its own run

import argparse
import time

import pandas as pd

import aflab.cli  # noqa: F401  (registers every system's claims)
from aflab.core import get_claim
from aflab.logical_induction import experiments as E

THREE = (0.05, 0.2, 0.5)
FIVE = (0.05, 0.1, 0.2, 0.35, 0.5)


def measure(days: int, thresholds: tuple[float, ...], stretches: int) -> dict:
    """One row: the introspection and self-trust verdicts of ``stretches`` runs and their CPU per stretch."""
    intro = get_claim("logical_induction.introspection")
    trust = get_claim("logical_induction.self-trust")
    cfg = intro.make_config("quick", {"n_days": days, "thresholds": thresholds})
    tables, cpu = [], []
    for s in range(stretches):
        E.introspection_run.cache_clear()
        t0 = time.process_time()
        tables.append(E.introspection_tables(cfg, s))
        cpu.append(time.process_time() - t0)
    ti = pd.concat([t["introspection"].assign(seed=s) for s, t in enumerate(tables)], ignore_index=True)
    ts = pd.concat([t["self_trust"].assign(seed=s) for s, t in enumerate(tables)], ignore_index=True)
    v, w = intro.verdict(cfg, ti), trust.verdict(cfg, ts)
    n = v.numbers
    return {
        "days": days,
        "thresholds": len(thresholds),
        "stretches": stretches,
        "verdict": v.label,
        "false_side": n["mean_abs_error_below"],
        "true_side": n["mean_abs_error_above"],
        "false_second_quarter": n["mean_abs_error_below_second_quarter"],
        "self_trust": w.decisions[0].interval.estimate,
        "cpu_s_per_stretch": sum(cpu) / len(cpu),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="8 and 16 days, one stretch (3.5 CPU-min)")
    ap.add_argument("--stretches", type=int, default=None, help="stretches per row (default 1 quick, 3 full)")
    ap.add_argument(
        "--days", type=int, nargs="+", default=None, help="horizons to measure (default 8 16 quick, 8 16 24 full)"
    )
    ap.add_argument(
        "--thresholds",
        choices=("three", "five", "both"),
        default="both",
        help="threshold sets: three (0.05, 0.2, 0.5: the quick preset's), five (0.05 ... 0.5), or both",
    )
    args = ap.parse_args()
    if args.stretches is not None and args.stretches < 1:
        ap.error(f"--stretches must be a positive number of stretches of pi, got {args.stretches}")
    if args.days is not None and min(args.days) < 4:
        ap.error(f"--days must be >= 4 (the introspection config's minimum), got {min(args.days)}")
    stretches = args.stretches or (1 if args.quick else 3)
    days = args.days or ((8, 16) if args.quick else (8, 16, 24))
    sets = {"three": (THREE,), "five": (FIVE,), "both": (THREE, FIVE)}[args.thresholds]
    base = measure(16, THREE, stretches)  # the quick preset's horizon and thresholds: the baseline
    rows = [base] + [measure(d, th, stretches) for d in days for th in sets if (d, th) != (16, THREE)]
    out = pd.DataFrame(rows).sort_values(["thresholds", "days"])
    out["cpu_ratio_to_quick"] = out.cpu_s_per_stretch / base["cpu_s_per_stretch"]
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print(out.to_string(index=False))


if __name__ == "__main__":
    main()
