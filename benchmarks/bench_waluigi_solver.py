"""Benchmark: exit-time and occupancy solves of the window chain, matrix-free shift operator vs the
explicit sparse solver (the reference), both measured in the same run. Single BLAS thread.

    python benchmarks/bench_waluigi_solver.py [--quick]

For each binary k: wall time of ``exit_time`` + ``stationary_occupancy`` with ``method="sparse"``
(CSR matrix; SuperLU up to 2^14 windows, scipy GMRES to 2^16, refused above) and ``method="shift"``
(reshape/einsum operator, Neumann-preconditioned CGS2-GMRES), the ratio, and the largest relative
difference of the two answers; then the shift solver alone up to k = 20 (2^20 windows), with the
closed form (1 - q^k)/(r q^k) where it exists. Cases: one waluigi type (delta = 0, closed form), and a
luigi that slips (delta = 0.05: no closed form, the chain does not lump).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import standard_mixture


def solve(mix, k, method):
    t = time.perf_counter()
    ex = wc.exit_time(mix, k, method=method)
    occ = wc.stationary_occupancy(mix, k, method=method)
    return time.perf_counter() - t, ex.mean, occ["revealing"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 20 s)")
    args = ap.parse_args()
    cases = {
        "one type h=0.1 r=0.5": (standard_mixture(h=0.1, r=0.5, p_waluigi=0.5), 0.5),
        "slipping luigi delta=0.05": (standard_mixture(h=0.2, r=0.5, p_waluigi=0.5, delta=0.05), None),
    }
    both = (10, 12, 14) if args.quick else (10, 12, 14, 16)
    shift_only = (16, 18) if args.quick else (18, 20)
    print(
        f"{'case':28s} {'k':>3s} {'windows':>9s} {'sparse s':>9s} {'shift s':>8s} {'speed-up':>9s} "
        f"{'max rel diff':>12s} {'E[exit]':>12s} {'closed form':>12s} {'occupancy':>10s}"
    )
    for name, (mix, r) in cases.items():
        for k in both + shift_only:
            ds, ms, os_ = solve(mix, k, "sparse") if k in both else (float("nan"), float("nan"), float("nan"))
            dt, mf, of = solve(mix, k, "shift")
            diff = max(abs(mf - ms) / ms, abs(of - os_) / os_) if k in both else float("nan")
            cf = f"{float(th.exit_time_mean(r, k)):12.6g}" if r is not None else f"{'-':>12s}"
            sd = f"{ds:9.3f}" if k in both else f"{'-':>9s}"
            su = f"{ds / dt:8.1f}x" if k in both else f"{'-':>9s}"
            print(f"{name:28s} {k:3d} {2**k:9d} {sd} {dt:8.3f} {su} {diff:12.1e} {mf:12.6g} {cf} {of:10.6f}")


if __name__ == "__main__":
    main()
