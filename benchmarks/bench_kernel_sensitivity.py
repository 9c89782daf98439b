"""How much do aflab's logical-induction numbers depend on the machine's floating-point kernels?

A cell's key (claim, config, seed, code and library versions) does not hold the machine; numpy's OpenBLAS
picks its BLAS kernel for the CPU when it loads, so two CPUs round some sums differently. This runs the same
pi stretches (the quick audits' market: 48 days, window 2, delay 3) in fresh subprocesses under two kernels
on this one machine -- the one OpenBLAS picks here, and one forced with ``OPENBLAS_CORETYPE`` (what another
CPU would pick) -- and compares every price of every day. Per stretch: *identical*, *equal within 1e-9*, or
*diverged*: the first day the prices part, the largest gap, and the maker's certificate (worst-case value,
tolerance, firm evaluations) on that day under both kernels. A run in a subprocess is also a run in a fresh
process, so "identical" covers process history too.

Measured 2026-12-07 (docs/architecture.md, "Reproducibility"): stretches 0-23, Haswell vs Sandybridge
kernels: 22 equal within 3.2e-11, 2 diverged on day 7 (both days certified, at prices up to 0.016 apart).

Usage: python benchmarks/bench_kernel_sensitivity.py [--quick] [--stretches 0-23] [--days 48]
       [--kernel Sandybridge] [--jobs 2]
``--quick``: stretches 18-22 (two of them diverge at 48 days on an AVX2 machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

EQUAL_WITHIN = 1e-9


def run_stretch(stretch: int, days: int, out: Path) -> None:
    """Worker (a fresh process): one pi stretch's prices and maker rows, written to ``out`` (two parquets)."""
    os.environ.setdefault("AFLAB_RUN_CACHE", "off")
    from threadpoolctl import threadpool_info

    from aflab.logical_induction import experiments as E

    cfg = E.PiAuditConfig(n_days=days, window=2, delay=3)
    _, run = E.pi_run(cfg, stretch)
    run.prices[["day", "sentence", "price"]].to_parquet(out / f"prices_{stretch}.parquet")
    E.maker_table(run).to_parquet(out / f"maker_{stretch}.parquet")
    kernel = next((i.get("architecture", "") for i in threadpool_info() if i.get("user_api") == "blas"), "")
    (out / "kernel.txt").write_text(str(kernel))


def _spawn(stretch: int, days: int, out: Path, kernel: str | None) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    cmd = [sys.executable, __file__, "--worker", str(stretch), "--days", str(days), "--out", str(out)]
    subprocess.run(cmd, env=env, check=True)


def compare(a: Path, b: Path, stretch: int) -> dict:
    """One stretch under both kernels: how far apart the prices are, and from which day."""
    pa, pb = (pd.read_parquet(d / f"prices_{stretch}.parquet") for d in (a, b))
    if len(pa) != len(pb) or not (pa.sentence.values == pb.sentence.values).all():
        return {"stretch": stretch, "outcome": "different sentences priced"}
    gap = np.abs(pa.price.to_numpy() - pb.price.to_numpy())
    row = {"stretch": stretch, "max_gap": float(gap.max(initial=0.0))}
    if row["max_gap"] == 0.0:
        return {**row, "outcome": "identical"}
    if row["max_gap"] <= EQUAL_WITHIN:
        return {**row, "outcome": f"equal within {EQUAL_WITHIN:g}"}
    day = int(pa.day[gap > EQUAL_WITHIN].min())
    ma, mb = (pd.read_parquet(d / f"maker_{stretch}.parquet").set_index("day").loc[day] for d in (a, b))
    return {
        **row,
        "outcome": "diverged",
        "first_day": day,
        "tolerance": float(ma.tolerance),
        "value_a": float(ma.max_value),
        "value_b": float(mb.max_value),
        "evals_a": int(ma.evaluations),
        "evals_b": int(mb.evaluations),
    }


def _stretches(text: str) -> list[int]:
    """'0-23' or '7' -> the stretches (seed indices) it names; a clear argparse error otherwise."""
    lo, _, hi = text.partition("-")
    try:
        out = list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a range like 0-23 or one stretch like 7, got {text!r}") from None
    if not out or out[0] < 0:
        raise argparse.ArgumentTypeError(f"the range {text!r} is empty or negative; give e.g. 0-23")
    return out


def _at_least(lowest: int):
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < lowest:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lowest}, got {text!r}")
        return int(text)

    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="stretches 18-22")
    ap.add_argument("--stretches", type=_stretches, default="0-23", help="stretches (seed indices), e.g. 0-23")
    ap.add_argument("--days", type=_at_least(4), default=48, help="market days (>= 4, the config's minimum)")
    ap.add_argument("--kernel", default="Sandybridge", help="the OpenBLAS kernel forced for the second run")
    ap.add_argument("--jobs", type=_at_least(1), default=2)
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        run_stretch(args.worker, args.days, args.out)
        return
    stretches = _stretches("18-22") if args.quick else args.stretches
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {"native": Path(tmp) / "native", "forced": Path(tmp) / "forced"}
        for d in dirs.values():
            d.mkdir()
        jobs = [(s, dirs["native"], None) for s in stretches] + [(s, dirs["forced"], args.kernel) for s in stretches]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda j: _spawn(j[0], args.days, j[1], j[2]), jobs))
        kernels = {k: (d / "kernel.txt").read_text() for k, d in dirs.items()}
        table = pd.DataFrame([compare(dirs["native"], dirs["forced"], s) for s in stretches])
    print(f"pi stretches {stretches[0]}-{stretches[-1]}, {args.days} days; OpenBLAS kernels: {kernels}")
    if kernels["native"] == kernels["forced"]:
        print(f"warning: OpenBLAS did not load --kernel {args.kernel!r} (unknown here?): both runs used the same one")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    counts = table.outcome.value_counts()
    print("summary: " + ", ".join(f"{n} {o}" for o, n in counts.items()) + f" (of {len(table)} stretches)")


if __name__ == "__main__":
    main()
