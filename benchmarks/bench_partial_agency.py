"""Benchmark: seed-vectorised learners vs a per-seed Python loop (the baseline), and Predict-O-Matic kernels.

Run:  python benchmarks/bench_partial_agency.py [--quick]
Prints wall times (best of 3) and the speed-up of the vectorised version over the loop measured in the same run.
"""

from __future__ import annotations

import argparse

import numpy as np

from _timing import best_of  # benchmarks/_timing.py (scripts run from their folder)
from aflab.partial_agency import learners as L
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.maps import location_family, make_strategic_instance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    args = ap.parse_args()
    S = 16 if args.quick else 64
    rounds = 50 if args.quick else 200
    rows = []

    loc = location_family(0.3, mu=(1.0, -0.5, 0.2))
    th = np.zeros((S, 3))

    def vec(fn):
        return lambda: fn(th, np.random.default_rng(0))

    def loop(fn):
        return lambda: [fn(th[s : s + 1], np.random.default_rng(s)) for s in range(S)]

    cases = {
        "RRM location (n=1000)": lambda t, r: L.rrm(loc, t, rounds, r, n_samples=1000),
        "RGD location (n=1000)": lambda t, r: L.rgd(loc, t, rounds, r, lr=0.3, n_samples=1000),
        "PerfGD-est location": lambda t, r: L.perfgd(loc, t, rounds, r, lr=0.3, n_samples=1000, jacobian="estimated"),
    }
    strat = make_strategic_instance(0.5, seed=7)
    ths = np.zeros((S, 3))
    cases_s = {"RRM strategic (n=500, Newton)": lambda t, r: L.rrm(strat, t, max(rounds // 5, 5), r, n_samples=500)}
    for name, fn in cases.items():
        rows.append((name, S, best_of(loop(fn)), best_of(vec(fn))))
    for name, fn in cases_s.items():
        rows.append(
            (
                name,
                S,
                best_of(lambda fn=fn: [fn(ths[s : s + 1], np.random.default_rng(s)) for s in range(S)]),
                best_of(lambda fn=fn: fn(ths, np.random.default_rng(0))),
            )
        )

    F = P.LogisticResponse(np.linspace(-1, 1, S)[:, None], 6.0)
    starts = np.broadcast_to(np.linspace(0.01, 0.99, 41), (S, 41))
    steps = 500 if args.quick else 2000
    rows.append(
        (
            "Predict-O-Matic full learner",
            S,
            best_of(
                lambda: [
                    P.run_predictor(P.LogisticResponse(float(b), 6.0), starts[0], "log", "full", steps=steps)
                    for b in np.linspace(-1, 1, S)
                ]
            ),
            best_of(lambda: P.run_predictor(F, starts, "log", "full", steps=steps)),
        )
    )

    from aflab.partial_agency import gym as G
    from aflab.partial_agency import honesty as Hn

    b = np.linspace(-1, 1, S)
    Fz = Hn.logistic_as_softmax(b, 6.0)
    p1, p2 = np.tile([[0.3, 0.7]], (S, 1)), np.tile([[0.8, 0.2]], (S, 1))
    zs_steps = 300 if args.quick else 2000
    rows.append(
        (
            "zero-sum play (2 predictors)",
            S,
            best_of(
                lambda: [
                    Hn.zero_sum_play(Hn.logistic_as_softmax(b[i : i + 1], 6.0), p1[:1], p2[:1], "log", steps=zs_steps)
                    for i in range(S)
                ]
            ),
            best_of(lambda: Hn.zero_sum_play(Fz, p1, p2, "log", steps=zs_steps)),
        )
    )
    nl = G.NonlinearLocationMap(mu=(1.0, -0.5), eps=0.6)
    gs = G.GymSettings(estimator="decoupled", n_samples=500)
    th2 = np.zeros((S, 2))
    rows.append(
        (
            "decoupled PerfGD (nonlinear map)",
            S,
            best_of(
                lambda: [G.gym_descent(nl, th2[s : s + 1], rounds, np.random.default_rng(s), gs) for s in range(S)]
            ),
            best_of(lambda: G.gym_descent(nl, th2, rounds, np.random.default_rng(0), gs)),
        )
    )

    print(f"{'case':34s} {'seeds':>5s} {'loop [s]':>10s} {'vectorised [s]':>15s} {'speed-up':>9s}")
    for name, s, t_loop, t_vec in rows:
        print(f"{name:34s} {s:5d} {t_loop:10.4f} {t_vec:15.4f} {t_loop / t_vec:8.1f}x")

    Fb = P.LogisticResponse(0.3, 8.0)
    t_fp = best_of(lambda: P.fixed_points(Fb))
    xs = np.linspace(0, 1, 2_000_001)
    t_bf = best_of(lambda: np.sum(np.diff(np.sign(Fb(xs) - xs)) != 0))
    print(
        f"\nfixed_points (4001-pt grid + brentq): {t_fp * 1e3:.2f} ms; brute-force 2e6-pt sign scan: {t_bf * 1e3:.2f} ms "
        f"(ratio {t_bf / t_fp:.1f}x)"
    )
    F3 = P.SoftmaxResponse(np.zeros(3), 6.0 * np.eye(3))
    print(f"fixed_points_simplex K=3 (resolution 60): {best_of(lambda: P.fixed_points_simplex(F3)) * 1e3:.1f} ms")
    quick_preset_cpu("partial_agency")


def quick_preset_cpu(system: str) -> None:
    """CPU seconds of every claim's quick preset (experiments of all seeds + verdict), in this process."""
    import time

    from aflab.core.claims import all_claims, load_system

    load_system(system)
    total = 0.0
    print(f"\n{'claim':58s} {'kind':6s} {'CPU s':>7s} {'verdict':>12s}")
    for claim in all_claims(system):
        cfg = claim.make_config("quick")
        t = time.process_time()
        import pandas as pd

        table = pd.concat([claim.run(cfg, s, s).assign(seed=s) for s in range(claim.n_seeds("quick"))])
        label = claim.verdict(cfg, table).label
        dt = time.process_time() - t
        total += dt
        print(f"{claim.id:58s} {claim.kind:6s} {dt:7.2f} {label:>12s}")
    print(f"quick presets of {system}: {total:.1f} CPU-s (both systems together must stay <= 120 CPU-s)")


if __name__ == "__main__":
    main()
