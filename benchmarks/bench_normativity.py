"""Benchmark of the normativity system: vectorised kernels vs per-run baselines measured in the same run,
and the wall time of every claim at the quick preset.

    python benchmarks/bench_normativity.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from aflab.normativity.crmdp import make_crmdps, report_means
from aflab.normativity.levels import fit_feedback_model
from aflab.normativity.mdp import grid_next_state, q_learning
from aflab.normativity.quantilizers import best_of_n, quantilize


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def naive_quantilize(p, u, q):
    """Per-row reference: unique utility levels, walk from the top (the textbook algorithm)."""
    out = np.zeros_like(p)
    for row in range(p.shape[0]):
        remaining = q
        for level in np.unique(u[row])[::-1]:
            idx = u[row] == level
            mass = p[row, idx].sum()
            take = min(mass, remaining)
            if mass > 0:
                out[row, idx] = p[row, idx] * take / mass / q
            remaining -= take
            if remaining <= 0:
                break
    return out


def main(quick: bool) -> None:
    rng = np.random.default_rng(0)
    rows = []
    b, k = (64, 2000) if quick else (256, 10_000)
    p = rng.dirichlet(np.ones(k), size=b)
    u = rng.integers(0, k // 4, size=(b, k)).astype(float)
    t_vec, got = timed(lambda: quantilize(p, u, 0.05))
    t_ref, want = timed(lambda: naive_quantilize(p, u, 0.05), repeat=1)
    assert np.allclose(got, want)
    rows.append(("quantilize exact, batch", f"{b}x{k}", t_vec, "per-row unique/walk loop", t_ref))

    n = 64
    t_exact, probs = timed(lambda: best_of_n(p[:1], u[:1], n))
    draws = 20_000 if quick else 200_000

    def mc():
        idx = rng.choice(k, size=(draws, n), p=p[0])
        return np.bincount(idx[np.arange(draws), u[0][idx].argmax(axis=1)], minlength=k) / draws

    t_mc, freq = timed(mc, repeat=1)
    rows.append(
        (
            f"best-of-{n} exact distribution",
            f"1x{k}",
            t_exact,
            f"Monte Carlo {draws} draws (L1 err {np.abs(freq - probs[0]).sum():.3f})",
            t_mc,
        )
    )

    side, batch, steps = 5, (32 if quick else 128), (1000 if quick else 4000)
    nxt = grid_next_state(side)
    reward = rng.random((batch, side * side))
    kw = dict(steps=steps, gamma=0.9, lr=0.2, epsilon=0.2, episode_len=40, q_init=10.0)
    t_batch, _ = timed(lambda: q_learning(nxt, reward, 0.1, rng=np.random.default_rng(1), **kw), repeat=1)
    t_loop, _ = timed(
        lambda: [q_learning(nxt, reward[i : i + 1], 0.1, rng=np.random.default_rng(i), **kw) for i in range(batch)],
        repeat=1,
    )
    rows.append((f"Q-learning, {batch} MDPs x {steps} steps", f"S={side * side}", t_batch, "loop over MDPs", t_loop))

    mdps = make_crmdps(side, 0.4, 6, 0.05, rng, batch)
    reports = report_means(mdps, 0.1, 4, rng)
    t_em, _ = timed(lambda: fit_feedback_model(reports))
    t_em_loop, _ = timed(lambda: [fit_feedback_model(reports[i : i + 1]) for i in range(batch)], repeat=1)
    rows.append((f"feedback-model EM, {batch} problems", "K=J=25", t_em, "loop over problems", t_em_loop))

    table = pd.DataFrame(rows, columns=["kernel", "size", "seconds", "baseline", "baseline_seconds"])
    table["speedup"] = table.baseline_seconds / table.seconds
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))

    from aflab.core.claims import all_claims, load_system

    load_system("normativity")
    total = 0.0
    claim_rows = []
    for claim in all_claims("normativity"):
        cfg = claim.make_config("quick")
        t = time.process_time()
        table = pd.concat([claim.run(cfg, s, s).assign(seed=s) for s in range(claim.n_seeds("quick"))])
        verdict = claim.verdict(cfg, table)
        dt = time.process_time() - t
        total += dt
        claim_rows.append((claim.id, claim.n_seeds("quick"), dt, claim.quick_budget_s, verdict.label))
    print()
    print(
        pd.DataFrame(claim_rows, columns=["claim", "seeds", "cpu_seconds", "budget_s", "verdict"]).to_string(
            index=False, float_format=lambda x: f"{x:.3g}"
        )
    )
    print(f"quick presets of normativity: {total:.1f} CPU-s (both systems together must stay <= 120 CPU-s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    main(parser.parse_args().quick)
