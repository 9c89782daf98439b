"""Benchmark: ensemble training throughput as a ratio to this machine's one-thread matmul throughput.

Usage: python benchmarks/bench_path_dependence_gemm_ratio.py [--quick]

Issue 13, item 9 asks for large-width training at >= 80% of the machine's one-thread matmul throughput,
measured as a ratio in one run. Printed per (members, width), one hidden layer, batch 32, d = 64, k = 10:

- ``flop/step``: the matmul FLOPs of one SGD step of the whole ensemble, ``2 E B (2 d n + 3 n k)``
  (forward ``x W1^T`` and ``h W2^T``; backward ``dW2``, ``delta1 = delta2 W2`` and ``dW1``);
- ``engine GF/s``: those FLOPs over the CPU time per step of ``train_ensemble`` (the fused engine the claims
  use for bias-free MLPs), min of 3 repeats;
- ``same-shape GF/s``: the same five batched matmuls called back to back with no update, activation or loss
  (the best any engine could do at these shapes);
- ``two-pass GF/s``: the baseline, in the same run: the same backprop (``fused_loss_and_grads``) returning the
  weight gradients and then ``W.sub_(lr * g)``, the engine's update before it accumulated the gradient into
  the weight inside the GEMM (``fused_sgd_step``);
- ``peak GF/s``: one-thread float32 ``torch.mm`` of 1024 x 1024 matrices, min of 5;
- ``engine/peak`` (the issue's ratio), ``engine/same-shape`` (the engine's own overhead) and
  ``engine/two-pass`` (the in-place update's speed-up).

CPU time of one torch thread (``time.process_time``), so other load on a shared machine matters less.
"""

from __future__ import annotations

import argparse
import time

import torch

from aflab.path_dependence.ensemble import fused_loss_and_grads, init_ensemble, train_ensemble
from aflab.path_dependence.parametrization import MLPSpec, layer_scales

B, D, K = 32, 64, 10


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def peak_gflops(size: int = 1024) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    return 2 * size**3 / _best(lambda: torch.mm(a, b), 5) / 1e9


def step_flops(members: int, width: int) -> float:
    return 2.0 * members * B * (2 * D * width + 3 * width * K)


def same_shape_seconds(members: int, width: int, reps: int) -> float:
    """The step's five batched matmuls alone, ``reps`` times."""
    x, w1 = torch.randn(members, B, D), torch.randn(members, width, D)
    w2, d2 = torch.randn(members, K, width), torch.randn(members, B, K)

    def run():
        for _ in range(reps):
            h = torch.bmm(x, w1.transpose(1, 2))
            torch.bmm(h, w2.transpose(1, 2))
            torch.bmm(d2.transpose(1, 2), h)
            d1 = torch.bmm(d2, w2)
            torch.bmm(d1.transpose(1, 2), x)

    run()
    return _best(run, 3) / reps


def two_pass_seconds(spec, p0, x, y, idx, lr: float) -> float:
    """CPU seconds per step of the two-pass update: gradients first, then ``W -= lr * mult * g``."""
    mults = {s.name: s.lr_mult for s in layer_scales(spec)}

    def run():
        params = {k: v.clone() for k, v in p0.items()}
        for t in range(idx.shape[1]):
            _, grads = fused_loss_and_grads(spec, params, x[idx[:, t]], y[idx[:, t]], "ce")
            for k, g in grads.items():
                params[k].sub_(g, alpha=lr * mults[k])

    run()
    return _best(run, 3) / idx.shape[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps and shapes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    steps = 10 if args.quick else 30
    grid = [(8, 512), (4, 4096)] if args.quick else [(8, 64), (8, 512), (8, 2048), (4, 4096), (2, 16384)]
    peak = peak_gflops()
    print(f"one-thread float32 matmul peak (1024^3 torch.mm): {peak:.1f} GFLOP/s")
    print(
        f"{'members':>7} {'width':>6} {'flop/step':>10} {'engine GF/s':>12} {'two-pass GF/s':>14} "
        f"{'same-shape GF/s':>16} {'engine/peak':>12} {'engine/same-shape':>18} {'engine/two-pass':>16}"
    )
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, D, generator=g), torch.randint(0, K, (1000,), generator=g)
    for members, width in grid:
        spec = MLPSpec(D, width, K, 1, "mup", 64)
        p0 = init_ensemble(spec, list(range(members)))
        idx = torch.randint(0, 1000, (members, steps, B), generator=g)
        train_ensemble(spec, p0, x, y, idx[:, :2], 0.1)  # warm-up
        per_step = _best(lambda: train_ensemble(spec, p0, x, y, idx, 0.1), 3) / steps
        flops = step_flops(members, width)
        engine = flops / per_step / 1e9
        shape = flops / same_shape_seconds(members, width, steps) / 1e9
        two_pass = flops / two_pass_seconds(spec, p0, x, y, idx, 0.1) / 1e9
        print(
            f"{members:>7} {width:>6} {flops:>10.2e} {engine:>12.1f} {two_pass:>14.1f} {shape:>16.1f} "
            f"{engine / peak:>11.0%} {engine / shape:>17.0%} {engine / two_pass:>15.2f}x"
        )


if __name__ == "__main__":
    main()
