"""Estimate the run time of every path_dependence claim at the ``full`` preset from measured pieces.

Usage: python benchmarks/bench_path_dependence_full_estimate.py [--quick]

For each claim and each width of its full preset we measure (after a warm-up, one thread)
- ``per_step``: seconds per SGD step of ``train_ensemble`` on the full run's ensemble shape
  (members = 2 x pairs, or schedules x reps for shard claims), timed over 20 steps;
- ``fixed``: one sweep/shard point with 2 steps (init + every metric at both budgets, incl. the
  NTK probe);
and extrapolate ``point = fixed + steps * per_step``, summed over parametrizations, manipulations
and seeds. Single-core time: a Ray pool of k workers divides it by about k. ``--quick`` measures
only the two largest widths of each claim and scales the rest linearly in width (a lower bound).
"""

from __future__ import annotations

import argparse
import time

import torch

from aflab.core import get_claim
from aflab.path_dependence import experiments as ex
from aflab.path_dependence.data import digits
from aflab.path_dependence.ensemble import init_ensemble, train_ensemble
from aflab.path_dependence.parametrization import MLPSpec


def _time(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


SHARD_CLAIMS = ("shard", "hedge", "survives", "sd-reduces")


def _schedules(cfg) -> tuple[str, ...]:
    return cfg.schedules if hasattr(cfg, "schedules") else ("hard_only", cfg.schedule)


def point_fn(claim_id: str, cfg, width: int, steps: int):
    if any(k in claim_id for k in SHARD_CLAIMS):
        return lambda: ex.shard_point(
            width=width,
            parametrization="mup",
            seed=0,
            schedules=_schedules(cfg),
            reps=cfg.reps,
            steps=steps,
            base_width=cfg.base_width,
            task=getattr(cfg, "task", "digits"),
        )
    n_train = min(len(digits().y), int(cfg.data_per_width * width)) if getattr(cfg, "data_per_width", 0) else None
    return lambda: ex.sweep_point(
        dataset="digits",
        width=width,
        parametrization="mup",
        seed=0,
        n_pairs=getattr(cfg, "n_pairs", 1),
        steps=steps,
        n_train=n_train,
        ntk_probe=getattr(cfg, "ntk_probe", 0),
        base_width=cfg.base_width,
    )


def laziness_fn(cfg, arch: str, width: int, steps: int):
    if arch == "cnn":
        return lambda: ex.laziness_point(
            dataset="mnist1d",
            arch="cnn",
            width=width,
            parametrization="mup",
            seed=0,
            members=cfg.cnn_members,
            n_hidden=cfg.cnn_n_hidden,
            steps=steps,
            base_width=cfg.cnn_widths[0],
            ntk_probe=cfg.ntk_probe,
        )
    return lambda: ex.laziness_point(
        dataset=cfg.dataset,
        width=width,
        parametrization="mup",
        seed=0,
        members=cfg.members,
        n_hidden=cfg.n_hidden,
        steps=steps,
        base_width=cfg.base_width,
        ntk_probe=cfg.ntk_probe,
    )


def laziness_estimate(cfg, reps: int, quick: bool) -> float:
    """Laziness points (MLP and CNN): ``fixed`` = a 2-step point, per step = (12-step - 2-step) / 10."""
    total = 0.0
    for arch, widths, steps in (("mlp", cfg.widths, cfg.steps), ("cnn", cfg.cnn_widths, cfg.cnn_steps)):
        measured = widths[-2:] if quick else widths
        per_width = {}
        for w in measured:
            laziness_fn(cfg, arch, w, 2)()  # warm-up
            fixed = _time(laziness_fn(cfg, arch, w, 2))
            per_step = max(0.0, (_time(laziness_fn(cfg, arch, w, 12)) - fixed) / 10)
            per_width[w] = fixed + steps * per_step
            print(
                f"{'laziness-theory (' + arch + ')':<42} {w:>6} {fixed:>8.2f} {per_step:>8.4f} {steps:>6} "
                f"{per_width[w]:>8.1f}",
                flush=True,
            )
        for w in widths:  # --quick: linear-in-width extrapolation (a lower bound for the CNN's n^2 convs)
            per_width.setdefault(w, per_width[max(per_width)] * w / max(per_width))
        total += reps * sum(per_width.values())
    return total


def per_step_seconds(claim_id: str, cfg, width: int, n_steps: int = 20) -> float:
    shard = any(k in claim_id for k in SHARD_CLAIMS)
    members = cfg.reps * len(_schedules(cfg)) if shard else 2 * getattr(cfg, "n_pairs", 1)
    d_in = 74 if shard else 64
    spec = MLPSpec(d_in, width, 10, cfg.n_hidden, "mup", cfg.base_width)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, d_in, generator=g), torch.randint(0, 10, (1000,), generator=g)
    p0 = init_ensemble(spec, list(range(members)))
    idx = torch.randint(0, 1000, (members, n_steps, cfg.batch), generator=g)
    mask = torch.ones(members, n_steps, d_in) if shard else None
    train_ensemble(spec, p0, x, y, idx[:, :2], 0.1, input_mask=None if mask is None else mask[:, :2])
    return _time(lambda: train_ensemble(spec, p0, x, y, idx, 0.1, input_mask=mask)) / n_steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="substring of the claim ids to estimate")
    args = ap.parse_args()
    torch.set_num_threads(1)
    digits()
    total = 0.0
    print(f"{'claim':<42} {'width':>6} {'fixed s':>8} {'s/step':>8} {'steps':>6} {'point s':>8}")
    for cid in [
        "laziness-theory",
        "d1-vanishes-with-width",
        "d2-data-scaling-preserves",
        "d3-large-nets-hedge",
        "t1-first-shard-starves",
        "t2-early-shard-survives",
        "sd-reduces-starvation",
    ]:
        if args.only not in cid:
            continue
        claim = get_claim(f"path_dependence.{cid}")
        cfg = claim.make_config("full")
        reps = (
            len(cfg.parametrizations)
            * len(getattr(cfg, "manipulations", getattr(cfg, "losses", ("-",))))
            * claim.n_seeds("full")
        )
        if "laziness" in cid:
            claim_s = laziness_estimate(cfg, len(cfg.parametrizations) * claim.n_seeds("full"), args.quick)
            total += claim_s
            print(f"  -> {claim.id}: {claim_s / 3600:.2f} core-hours")
            continue
        widths = cfg.widths[-2:] if args.quick else cfg.widths
        per_width = {}
        for w in widths:
            steps = cfg.steps
            if getattr(cfg, "epochs", 0):
                n_train = min(len(digits().y), int(cfg.data_per_width * w))
                steps = max(2, int(cfg.epochs * n_train / cfg.batch))
            point_fn(claim.id, cfg, w, 2)()  # warm-up (allocations, lazy imports)
            fixed = _time(point_fn(claim.id, cfg, w, 2))
            per_step = per_step_seconds(claim.id, cfg, w)
            point = fixed + steps * per_step
            print(f"{claim.id:<42} {w:>6} {fixed:>8.2f} {per_step:>8.4f} {steps:>6} {point:>8.1f}", flush=True)
            per_width[w] = point
        if args.quick:  # linear-in-width extrapolation to the unmeasured widths
            w_big = max(per_width)
            for w in cfg.widths:
                per_width.setdefault(w, per_width[w_big] * w / w_big)
        claim_s = reps * sum(per_width.values())
        total += claim_s
        print(f"  -> {claim.id}: {reps} x sum over widths = {claim_s / 3600:.2f} core-hours")
    print(f"TOTAL full preset: {total / 3600:.2f} core-hours (~{total / 3600 / 2:.2f} h on 2 cores via Ray)")


if __name__ == "__main__":
    main()
