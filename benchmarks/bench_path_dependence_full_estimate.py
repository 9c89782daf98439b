"""Estimate the CPU cost of every path_dependence claim at the ``full`` preset from measured pieces.

Usage: python benchmarks/bench_path_dependence_full_estimate.py [--quick] [--only SUBSTRING]

Measured here (one thread, CPU time, the machine shared with other work):

- ``per_step(width, members)``: seconds per training step of the claim's ensemble shape (``train_ensemble``,
  the engine the claim uses: fused SGD, Adam, or the linearized model), over 10 steps after a warm-up;
- ``steps_to(p, width, L)``: steps until a pair's full-batch train loss first reaches L, for digits at the
  base LR: measured at L = 1e-2 and 1e-3 for widths <= 1024 (<= 256 with --quick), then extrapolated as a
  power law in L to the preset's target (CE loss falls roughly like 1/steps near convergence) and as a
  power law in width beyond the measured widths; capped at the preset's ``max_steps``.

Cost of a cell = sum over its widths of ``steps * per_step`` (+ 1 full-batch evaluation per ``eval_every``
steps, measured the same way). It is an extrapolation, not a completed run: the printed table says which
numbers are measured. Ray (``aflab report --full --ray auto``) divides the wall time by the workers.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from aflab.core import get_claim
from aflab.path_dependence.data import digits
from aflab.path_dependence.ensemble import Optimizer, StopRule, full_batch_loss, init_ensemble, train_ensemble
from aflab.path_dependence.parametrization import MLPSpec


def _cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


_STEP_CACHE: dict = {}


def per_step(width: int, members: int, n_hidden: int = 1, kind: str = "net", d_in: int = 64) -> float:
    """CPU seconds per step of an ensemble of ``members`` nets (kind: net | lin | adam)."""
    key = (width, members, n_hidden, kind, d_in)
    if key not in _STEP_CACHE:
        g = torch.Generator().manual_seed(0)
        x, y = torch.randn(1300, d_in, generator=g), torch.randint(0, 10, (1300,), generator=g)
        spec = MLPSpec(d_in, width, 10, n_hidden, "mup", 64)
        p0 = init_ensemble(spec, list(range(members)))
        idx = torch.randint(0, 1300, (members, 12, 32), generator=g)
        kw = {"linearize_at": p0} if kind == "lin" else {"optimizer": Optimizer("adam")} if kind == "adam" else {}
        train_ensemble(spec, p0, x, y, idx[:, :2], 0.01, **kw)
        _STEP_CACHE[key] = _cpu(lambda: train_ensemble(spec, p0, x, y, idx[:, 2:], 0.01, **kw)) / 10
    return _STEP_CACHE[key]


def eval_cost(width: int, members: int, n_rows: int = 1300) -> float:
    spec = MLPSpec(64, width, 10, 1, "mup", 64)
    p = init_ensemble(spec, list(range(members)))
    x, y = torch.randn(n_rows, 64), torch.randint(0, 10, (n_rows,))
    return _cpu(lambda: full_batch_loss(spec, p, x, y))


_CONV: dict = {}


def measured_steps(p: str, width: int, target: float) -> int:
    """Steps until one order pair reaches ``target`` on digits (lr 0.5, batch 32); cap 40,000."""
    key = (p, width, target)
    if key not in _CONV:
        d = digits()
        spec = MLPSpec(64, width, 10, 1, p, 64)
        idx = torch.randint(0, len(d.y), (2, 40_000, 32), generator=torch.Generator().manual_seed(1))
        res = train_ensemble(
            spec, init_ensemble(spec, [1, 1]), d.x, d.y, idx, 0.5, stop=StopRule(target, torch.arange(len(d.y)), 50)
        )
        hit = res.hit_step
        _CONV[key] = int(hit.max()) if (hit >= 0).all() else 40_000
    return _CONV[key]


def steps_to(p: str, width: int, target: float, cap: int, measured_widths) -> int:
    """Extrapolated steps to ``target``: power law in the target (from 1e-2 and 1e-3), in width beyond the data."""
    ws = [w for w in measured_widths if w <= width] or [min(measured_widths)]
    fits = []
    for w in ws[-2:] if len(ws) > 1 else ws:
        s2, s3 = measured_steps(p, w, 1e-2), measured_steps(p, w, 1e-3)
        alpha = math.log(max(s3, 1) / max(s2, 1)) / math.log(10)  # steps ~ L^-alpha
        fits.append((w, s3 * (1e-3 / target) ** alpha))
    if width <= fits[-1][0] or len(fits) < 2:
        est = fits[-1][1]
    else:
        (w1, a1), (w2, a2) = fits
        beta = math.log(a2 / a1) / math.log(w2 / w1) if a1 > 0 and w2 != w1 else 0.0
        est = a2 * (width / w2) ** beta
    return int(min(cap, max(est, 1)))


def path_cells(cfg, seeds: int, widths_measured) -> float:
    """D1 / D2: every (parametrization, width, data size) ensemble, to convergence (or the budget)."""
    members = 2 * cfg.n_pairs * len(cfg.manipulations)
    sizes = max(1, len({*cfg.data_sizes}) + (1 if cfg.data_per_width else 0))
    total = 0.0
    for p in cfg.parametrizations:
        for w in cfg.widths:
            steps = max(cfg.steps, steps_to(p, w, cfg.stop_at_loss, cfg.max_steps, widths_measured))
            total += sizes * (
                steps * per_step(w, members, cfg.n_hidden) + steps / cfg.eval_every * eval_cost(w, members)
            )
    return seeds * total


def shard_cells(cfg, seeds: int, widths_measured) -> float:
    members = cfg.reps * len(getattr(cfg, "schedules", ("hard_only", "x")))
    losses = len(getattr(cfg, "losses", ("ce",)))
    total = 0.0
    for p in cfg.parametrizations:
        for w in cfg.widths:
            steps = cfg.steps
            if getattr(cfg, "stop_at_loss", 0):
                steps = max(steps, steps_to(p, w, cfg.stop_at_loss, cfg.max_steps, widths_measured))
            total += losses * steps * per_step(w, members, cfg.n_hidden, d_in=74)
    return seeds * total


def lin_cells(cfg, seeds: int, widths_measured) -> float:
    total = 0.0
    for p in cfg.parametrizations:
        for w in cfg.widths:
            steps = max(cfg.steps, steps_to(p, w, cfg.stop_at_loss, cfg.max_steps, widths_measured) * 2)
            total += steps * (per_step(w, 2 * cfg.n_pairs) + per_step(w, 2 * cfg.n_pairs, kind="lin"))
    return seeds * total


def lazy_cells(cfg, seeds: int, widths_measured) -> float:
    total = sum(cfg.steps * per_step(w, cfg.members, cfg.n_hidden) + 2.0 for w in cfg.widths)
    return seeds * len(cfg.parametrizations) * total  # + a few s of metrics per point; the CNN part is extra


def transfer_cells(cfg, seeds: int, widths_measured) -> float:
    n_params = 1 + (cfg.contrast is not None)
    total = sum(cfg.steps * per_step(w, len(cfg.log2_lrs), cfg.n_hidden, kind=cfg.optimizer) for w in cfg.widths)
    return seeds * n_params * total


ESTIMATORS = {
    "laziness-theory": lazy_cells,
    "d1-vanishes-with-width": path_cells,
    "d2-data-scaling-preserves": path_cells,
    "d3-large-nets-hedge": shard_cells,
    "t1-first-shard-starves": shard_cells,
    "t2-early-shard-survives": shard_cells,
    "sd-reduces-starvation": shard_cells,
    "linearization-gap": lin_cells,
    "lr-transfer": transfer_cells,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="measure convergence at widths <= 256 only")
    ap.add_argument("--only", default="", help="substring of the claim ids to estimate")
    args = ap.parse_args()
    torch.set_num_threads(1)

    measured = (64, 256) if args.quick else (64, 256, 1024)
    print("machine shared with other work; CPU seconds of one thread. Steps to the target (measured):")
    for p in ("ntk", "mup", "sp_lr1n", "sp"):
        print(
            f"  {p:8s} "
            + "  ".join(f"n={w}: {measured_steps(p, w, 1e-2)}/{measured_steps(p, w, 1e-3)}" for w in measured)
        )
    grand = 0.0
    for cid, fn in ESTIMATORS.items():
        if args.only not in cid:
            continue
        claim = get_claim(f"path_dependence.{cid}")
        cfg = claim.make_config("full")
        seconds = fn(cfg, claim.n_seeds("full"), measured)
        grand += seconds
        print(f"{claim.id:<45} {seconds / 3600:8.2f} core-hours")
    print(
        f"TOTAL full preset: {grand / 3600:.1f} core-hours (~{grand / 3600 / 2:.1f} h on 2 cores, "
        f"~{grand / 3600 / 16:.1f} h on 16 Ray workers)"
    )
    print(
        "per-step table (s): " + ", ".join(f"{k[0]}x{k[1]}{k[3][0]}: {v:.4f}" for k, v in sorted(_STEP_CACHE.items()))
    )


if __name__ == "__main__":
    main()
