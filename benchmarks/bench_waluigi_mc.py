"""Benchmark: vectorised Monte Carlo of the windowed Bayes reader vs a naive per-trajectory loop,
plus the exact solver's sizes. Single thread (the issue asks for token-steps per second per core).

    python benchmarks/bench_waluigi_mc.py [--quick]

Prints one table: token-steps/s of each Monte Carlo variant and the speed-up over the naive loop
measured in the same run, then solver wall times (binary k = 20 clean phase, Beta prior; tables;
exit-time solves).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from aflab.waluigi import montecarlo as mc
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import predictive_tables, standard_mixture


def timed(fn, *args, repeat: int = 3, **kw):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 15 s)")
    args = ap.parse_args()
    scale = 0.2 if args.quick else 1.0
    rows = []
    binary = standard_mixture(h=0.05, r=0.5, p_waluigi=0.5)
    ternary = standard_mixture(h=0.1, r=0.8, p_waluigi=0.3, g=0.05, p_repetition=0.3, rho=0.7)
    beta = standard_mixture(beta=(0.5, 2.0), r=0.8, p_waluigi=0.5, n_nodes=24)
    n_vec, n_naive, T = int(200_000 * scale), int(2_000 * scale), 600

    # baseline: the same tables, one trajectory and one step at a time
    dt, fe = timed(mc.naive_window_loop, binary, 8, n_naive, T, np.random.default_rng(0), repeat=1)
    naive_rate = fe.token_steps / dt
    rows.append(("naive loop, binary k=8 (baseline)", fe.token_steps, dt, naive_rate))
    for name, mix, k, events in (
        ("vectorised, binary k=8", binary, 8, "revealing"),
        ("vectorised, binary k=32", binary, 32, "revealing"),
        ("vectorised, Beta prior k=16", beta, 16, "revealing"),
        ("vectorised, ternary k=10 (1024 clean windows)", ternary, 10, "revealing"),
    ):
        dt, fe = timed(mc.simulate_window, mix, k, n_vec, T, np.random.default_rng(1), events=events)
        rows.append((name, fe.token_steps, dt, fe.token_steps / dt))
    dt, fe = timed(mc.simulate_unbounded, beta, int(50_000 * scale), 300, np.random.default_rng(2), repeat=1)
    rows.append(("vectorised, unbounded Bayes filter (Beta, 25 comps)", fe.token_steps, dt, fe.token_steps / dt))
    dt, ex = timed(mc.simulate_exit, binary, 10, int(5_000 * scale), 10**6, np.random.default_rng(3), repeat=1)
    rows.append(("vectorised, exit times binary k=10", ex.token_steps, dt, ex.token_steps / dt))

    print(f"{'Monte Carlo (1 thread)':55s} {'token-steps':>12s} {'seconds':>9s} {'steps/s':>13s} {'vs naive':>9s}")
    for name, steps, dt, rate in rows:
        print(f"{name:55s} {steps:12,d} {dt:9.3f} {rate:13,.0f} {rate / naive_rate:8.1f}x")

    print()
    print(f"{'exact solver':55s} {'seconds':>9s}  result")
    for k in (20, 64):
        dt, cp = timed(wc.clean_phase, beta, k, 1000, repeat=1)
        print(f"{f'clean phase, Beta prior, binary k={k}':55s} {dt:9.3f}  eps_k = {cp.hazard_floor:.4g}")
    dt, cp = timed(wc.clean_phase, ternary, 12, 1000, repeat=1)
    print(f"{'clean phase, ternary k=12 (4096 clean windows)':55s} {dt:9.3f}  S(1000) = {cp.survival[-1]:.4g}")
    dt, _ = timed(predictive_tables, binary, 20, repeat=1)
    print(f"{'predictive tables, binary k=20 (2^21 windows)':55s} {dt:9.3f}")
    for k in (10, 12) if args.quick else (10, 12, 14):
        dt, ex = timed(wc.exit_time, binary, k, method="sparse", repeat=1)
        print(f"{f'exit time sparse solve, binary k={k} ({2**k} states)':55s} {dt:9.3f}  E[exit] = {ex.mean:.6g}")


if __name__ == "__main__":
    main()
