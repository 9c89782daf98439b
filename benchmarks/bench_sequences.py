"""Benchmark of issue 19's three parts (updating, evolving to extinction, policy alignment): the vectorised
simulators against per-run reference loops measured in the same run, and the time of every claim's quick
preset. The machine may be shared: read the ratios, not the absolute times.

    python benchmarks/bench_sequences.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from _timing import best_of
from aflab.core.claims import get_claim
from aflab.core.runner import plan_cells
from aflab.partial_agency import extinction as X
from aflab.updating import dynamics as D

CLAIMS = (
    "updating.jeffrey-order-vs-bayes-factors",
    "updating.merging-hard-not-soft",
    "updating.predictable-updates-exploitable",
    "updating.li-prices-martingale",
    "partial_agency.bayes-mixture-regret-bound",
    "partial_agency.evolving-to-extinction",
    "normativity.jb-rotation-preserves-choices",
    "normativity.value-learner-depends-on-rotation",
    "normativity.policy-alignment-price",
)


def bettor_reference(seed: int, eps: float, n_steps: int, step: float = 0.2, n_bins: int = 10) -> float:
    """One predictable agent and the learning bettor, scalar Python (the textbook loop)."""
    rng = np.random.default_rng(seed)
    p, sums, profit = 0.5, [0.0] * n_bins, 0.0
    for _ in range(n_steps):
        s = step * min(p, 1 - p)
        d = 1.0 if p < 0.5 else -1.0 if p > 0.5 else 0.0
        b = min(int(p * n_bins), n_bins - 1)
        stake = float(np.sign(sums[b]))
        move = s if rng.random() < (1 + eps * d) / 2 else -s
        profit += stake * move
        sums[b] += move / s
        p += move
    return profit


def mixture_reference(seed: int, eps: float, w0: float, n_steps: int) -> float:
    """One honest/manipulator mixture with self-fulfilling feedback, scalar Python."""
    rng = np.random.default_rng(seed)
    b, q = np.array([0.95, 0.05]), np.array([0.5, 0.5])
    w = np.array([1 - w0, w0])
    for _ in range(n_steps):
        m = w[0] * b + w[1] * q
        p = (1 - eps) * b + eps * m
        x = int(rng.random() >= p[0])
        w = w * np.array([b[x], q[x]])
        w = w / w.sum()
    return float(w[1])


def quick_cpu(claim_id: str) -> tuple[float, str]:
    claim = get_claim(claim_id)
    cfg = claim.make_config("quick")
    cells = plan_cells(claim, cfg, claim.n_seeds("quick"))
    t0 = time.process_time()
    table = pd.concat(
        [claim.run(cfg, c.seed, c.seed_index).assign(seed=c.seed_index) for c in cells], ignore_index=True
    )
    label = claim.verdict(cfg, table).label
    return time.process_time() - t0, label


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    args = ap.parse_args()
    runs, steps = (20, 500) if args.quick else (100, 2000)

    ref = best_of(lambda: [bettor_reference(i, 0.2, steps) for i in range(runs)], reps=1)
    vec = best_of(
        lambda: D.simulate_agent_and_bettor(np.random.default_rng(0), np.full(runs, 0.2), steps, 0.2, 10, "predictable")
    )
    print(
        f"bettor, {runs} runs x {steps} steps: reference loop {ref:.3f} s, vectorised {vec:.3f} s -> {ref / vec:.1f}x"
    )

    ref = best_of(lambda: [mixture_reference(i, 0.9, 0.9, steps) for i in range(runs)], reps=1)
    b, q = np.array([0.95, 0.05]), np.array([0.5, 0.5])
    hyp = np.broadcast_to(np.stack([b, q]), (runs, 2, 2)).copy()
    prior = np.tile([0.1, 0.9], (runs, 1))
    vec = best_of(
        lambda: X.run_mixture(
            np.random.default_rng(0), np.broadcast_to(b, (runs, 2)), hyp, prior, np.full(runs, 0.9), steps
        )
    )
    print(
        f"mixture, {runs} runs x {steps} steps: reference loop {ref:.3f} s, vectorised {vec:.3f} s -> {ref / vec:.1f}x"
    )

    total = 0.0
    for cid in CLAIMS:
        cpu, label = quick_cpu(cid)
        total += cpu
        print(f"{cid:48s} quick {cpu:6.2f} CPU-s  {label}")
    print(f"all nine quick presets: {total:.2f} CPU-s (budget for the three parts: 60 CPU-s)")


if __name__ == "__main__":
    main()
