"""Benchmark: sampled-outcome Predict-O-Matic learners and class-statistic PerfGD, vectorised vs a per-chain loop.

Run:  python benchmarks/bench_partial_agency_sampled.py [--quick]
Baseline = the same function called once per chain in a Python loop, measured in the same run (best of 3).
"""

from __future__ import annotations

import argparse

import numpy as np

from _timing import best_of  # benchmarks/_timing.py (scripts run from their folder)
from aflab.partial_agency import learners as L
from aflab.partial_agency.maps import make_strategic_instance
from aflab.partial_agency.predict_o_matic import SoftmaxResponse
from aflab.partial_agency.predict_o_matic_sampled import run_sampled_predictor
from aflab.partial_agency.predict_o_matic_sampled_simplex import run_sampled_predictor_simplex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    args = ap.parse_args()
    M = 16 if args.quick else 64
    rounds = 500 if args.quick else 2000
    bias = np.linspace(-1, 1, M)
    starts = np.linspace(0.05, 0.95, M)
    cases = {
        f"sampled {mode} ({est})": (
            lambda b, s, r, mode=mode, est=est: run_sampled_predictor(b, 6.0, s, "log", mode, rounds, r, estimator=est)
        )
        for mode, est in (("myopic", "logistic"), ("full", "logistic"), ("full", "local-linear"))
    }
    bias3 = np.stack([bias, -0.5 * bias, np.zeros(M)], 1)  # K = 3 worlds softmax(b + 5 p)
    starts3 = np.stack([starts, (1 - starts) / 2, (1 - starts) / 2], 1)
    for mode in ("myopic", "full"):
        cases[f"sampled K=3 {mode}"] = lambda b, s, r, mode=mode: run_sampled_predictor_simplex(
            SoftmaxResponse(bias3[np.searchsorted(bias, b)], 5.0 * np.eye(3)),
            starts3[np.searchsorted(starts, s)],
            "log",
            mode,
            rounds,
            r,
        )
    print(f"{'case':<34}{'chains':>7}{'loop s':>9}{'vector s':>10}{'speed-up':>10}")
    for name, fn in cases.items():
        t_loop = best_of(
            lambda fn=fn: [fn(bias[i : i + 1], starts[i : i + 1], np.random.default_rng(i)) for i in range(M)]
        )
        t_vec = best_of(lambda fn=fn: fn(bias, starts, np.random.default_rng(0)))
        print(f"{name:<34}{M:>7}{t_loop:>9.3f}{t_vec:>10.3f}{t_loop / t_vec:>9.1f}x")
    s = make_strategic_instance(0.5, seed=7, moving_label=0)
    S, R = (8, 60) if args.quick else (32, 200)
    th = np.zeros((S, 3))
    for stat in ("pooled", "class"):

        def run(t, r, stat=stat):
            return L.perfgd(s, t, R, r, lr=1.0, n_samples=1000, jacobian="estimated", statistic=stat, explore=0.05)

        t_loop = best_of(lambda: [run(th[i : i + 1], np.random.default_rng(i)) for i in range(S)])
        t_vec = best_of(lambda: run(th, np.random.default_rng(0)))
        print(f"{'PerfGD-est strategic (' + stat + ')':<34}{S:>7}{t_loop:>9.3f}{t_vec:>10.3f}{t_loop / t_vec:>9.1f}x")


if __name__ == "__main__":
    main()
