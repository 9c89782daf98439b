"""Benchmark: vmapped ensemble training (torch.func) vs a plain per-member autograd loop, same run.

Usage: python benchmarks/bench_path_dependence_vmap.py [--quick]

Prints, per (members, width): seconds per SGD step of the whole ensemble for the plain loop
(``train_loop_reference``: one nn.Module per member, autograd, Python loop over members), for
``train_ensemble(engine="vmap")`` (one vmapped ``functional_call`` forward over stacked params +
one reverse pass) and ``engine="fused"`` (explicit batched-matmul backprop, the default),
and the speed-up (CPU time, min of 3 repeats, so other load on the machine matters less). One torch thread, as in the claim workers.
"""

from __future__ import annotations

import argparse
import time

import torch

from aflab.path_dependence.ensemble import init_ensemble, train_ensemble, train_loop_reference
from aflab.path_dependence.parametrization import MLPSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps and widths")
    args = ap.parse_args()
    torch.set_num_threads(1)
    steps = 20 if args.quick else 60
    grid = (
        [(8, 64), (8, 512), (4, 4096)]
        if args.quick
        else [(2, 64), (8, 64), (32, 64), (8, 512), (8, 2048), (4, 4096), (2, 16384)]
    )
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, 64, generator=g), torch.randint(0, 10, (1000,), generator=g)
    print(
        f"{'members':>7} {'width':>6} {'loop s/step':>12} {'vmap s/step':>12} {'fused s/step':>13} "
        f"{'vmap/loop':>10} {'fused/loop':>11} {'max |diff|':>11}"
    )
    for members, width in grid:
        spec = MLPSpec(64, width, 10, 1, "mup", 64)
        p0 = init_ensemble(spec, list(range(members)))
        idx = torch.randint(0, 1000, (members, steps, 32), generator=g)
        for engine in ("vmap", "fused"):
            train_ensemble(spec, p0, x, y, idx[:, :2], 0.1, engine=engine)  # warm-up
        best = {"loop": float("inf"), "vmap": float("inf"), "fused": float("inf")}
        out = {}
        for _ in range(3):  # min of 3 repeats: robust to other load on the machine
            for name in best:
                t = time.process_time()
                if name == "loop":
                    out[name] = train_loop_reference(spec, p0, x, y, idx, 0.1)
                else:
                    out[name] = train_ensemble(spec, p0, x, y, idx, 0.1, engine=name).params
                best[name] = min(best[name], (time.process_time() - t) / steps)
        diff = max(float((out[a][k] - out["loop"][k]).abs().max()) for a in ("vmap", "fused") for k in out[a])
        print(
            f"{members:>7} {width:>6} {best['loop']:>12.5f} {best['vmap']:>12.5f} {best['fused']:>13.5f} "
            f"{best['loop'] / best['vmap']:>9.2f}x {best['loop'] / best['fused']:>10.2f}x {diff:>11.2e}"
        )


if __name__ == "__main__":
    main()
