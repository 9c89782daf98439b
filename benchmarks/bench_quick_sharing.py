"""What two quick-report savings buy, each against its baseline in the same run (run by hand).

    python benchmarks/bench_quick_sharing.py [--quick] [--stretches N] [--jobs 2] [--skip-pool]

1. **Shared pi runs.** The eight pi audits (maker, digits, coherence, provability, calibration,
   non-dogmatism, convergence, non-exploitation) are separate claims over the same stretches of pi; in a
   report or a stability run their cells land in different worker processes. Their quick cells (each claim's
   quick seeds, or ``--stretches N`` each) run through the report's own runner (``core.runner.run_cells``,
   ``--jobs`` workers, fresh store) twice: with ``AFLAB_RUN_CACHE=off`` (each cell computes its run, the
   in-process cache aside) and with a fresh run-cache folder (a stretch's tables are computed once and read
   back by every other audit: ``experiments.shared_pi_run``). Printed: CPU-s of cells (the sum of the cells'
   own times), wall time, the ratio; and whether every cell's table is identical in the two runs (it must be:
   sharing changes the cost, never the result).
2. **Token drawing.** ``waluigi.model.draw_tokens`` (a ``searchsorted`` per distinct emission row) against
   the gathered comparison it replaced (every token compared with its own row, ``(u >= cdf).sum()``), on the
   shapes training draws every step; the tokens must be identical.

Measured 2026-12-07 on a 2-core AMD EPYC (AVX2), ``--quick`` (2 stretches an audit, 16 cells): 98.2 CPU-s of
cells not shared, 82.6 shared (1.19x; 53.5 -> 47.5 s wall), every table identical -- with 2 stretches most
sharing already happens inside a worker. At full quick size the report's logical-induction cells went 406 ->
313 s and the 10-set stability run 7,061 -> 3,287 s (docs/logical_induction.md). draw_tokens: 1.78 ms against
5.31 for 256 documents x 256 tokens (2.98x), equal for 128 x 24, 3.59x for 64 x 1,000; identical tokens.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of

PI_AUDITS = (
    "market-maker-certified",
    "pi-digit-frequencies",
    "limit-coherence",
    "provability-induction",
    "calibration",
    "non-dogmatism",
    "convergence",
    "non-exploitation",
)


def _cells(stretches: int | None):
    from aflab.core.claims import get_claim
    from aflab.core.runner import plan_cells

    cells = []
    for name in PI_AUDITS:
        claim = get_claim(f"logical_induction.{name}")
        n = stretches if stretches else claim.seeds["quick"]
        cells += plan_cells(claim, claim.make_config("quick"), n)
    return cells


def _pool_run(cells, jobs: int, run_cache: str) -> tuple[float, float, dict]:
    """Run ``cells`` in a fresh store with ``$AFLAB_RUN_CACHE=run_cache``; (cell CPU-s, wall s, tables)."""
    from aflab.core.runner import run_cells
    from aflab.core.store import ResultStore

    os.environ["AFLAB_RUN_CACHE"] = run_cache  # the spawned workers inherit it
    with tempfile.TemporaryDirectory() as root:
        store = ResultStore(Path(root) / "store")
        t = time.perf_counter()
        summary = run_cells(cells, store, jobs=jobs, progress=False, description="pi audits")
        wall = time.perf_counter() - t
        if summary.failed:
            raise SystemExit(f"{summary.failed} cells failed: {summary.failures[:1]}")
        tables, cpu = {}, 0.0
        for spec in cells:
            [(_, _, table, elapsed)] = store.cell_tables(spec.claim, spec.config_hash, spec.code_version, [spec.seed])
            tables[(spec.claim, spec.seed)] = table
            cpu += elapsed
    return cpu, wall, tables


def bench_shared_runs(stretches: int | None, jobs: int) -> None:
    cells = _cells(stretches)
    print(f"1. pi audits: {len(cells)} cells ({len(PI_AUDITS)} claims), {jobs} workers, fresh store each")
    cpu_off, wall_off, off = _pool_run(cells, jobs, "off")
    with tempfile.TemporaryDirectory() as cache:
        cpu_on, wall_on, on = _pool_run(cells, jobs, cache)
        files = len(list(Path(cache).iterdir()))
    same = all(off[k].equals(on[k]) for k in off)
    print(f"   not shared (AFLAB_RUN_CACHE=off): {cpu_off:7.1f} CPU-s of cells, {wall_off:6.1f} s wall")
    print(f"   shared ({files} table files):      {cpu_on:7.1f} CPU-s of cells, {wall_on:6.1f} s wall")
    print(f"   ratio (not shared / shared): cells {cpu_off / cpu_on:.2f}x, wall {wall_off / wall_on:.2f}x")
    print(f"   every cell's table identical: {same}")
    if not same:
        raise SystemExit("sharing changed a table")


def _gathered(u: np.ndarray, cdfs: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The baseline: each token compared with its own gathered cumulative row."""
    length = u.shape[1]
    step = np.arange(1, length + 1)[None, :]
    cdf = np.where((step >= d[:, None])[:, :, None], cdfs[1][:, None, :], cdfs[0][:, None, :])
    cdf = np.where((step == d[:, None])[:, :, None], cdfs[2][:, None, :], cdf)
    return np.minimum((u[:, :, None] >= cdf[:, :, :-1]).sum(axis=2), cdfs.shape[2] - 1)


def bench_draw_tokens() -> None:
    from aflab.waluigi.model import draw_tokens

    print("2. draw_tokens vs the gathered comparison (best of 20, one process)")
    rng = np.random.default_rng(0)
    # (documents, tokens, alphabet, personas): transformer-beyond-context's batch, window-plateau's, a wide one
    for n, length, V, personas in ((256, 256, 3, 2), (128, 24, 3, 2), (64, 1000, 6, 5)):
        rows = np.cumsum(rng.dirichlet(np.ones(V), size=(3, personas)), axis=2)
        cdfs = rows[:, rng.integers(0, personas, n), :]
        d = np.where(rng.random(n) < 0.3, np.iinfo(np.int64).max, rng.integers(1, length + 3, n))
        u = rng.random((n, length))
        same = bool((draw_tokens(u, cdfs, d) == _gathered(u, cdfs, d)).all())
        base = best_of(lambda: _gathered(u, cdfs, d), 20)
        new = best_of(lambda: draw_tokens(u, cdfs, d), 20)
        print(
            f"   {n:4d} docs x {length:4d} tokens, V={V}: gathered {base * 1e3:6.2f} ms, "
            f"draw_tokens {new * 1e3:6.2f} ms, {base / new:.2f}x; identical {same}"
        )
        if not same:
            raise SystemExit("draw_tokens differs from the baseline")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 stretches per audit (~2 min instead of ~8)")
    ap.add_argument("--stretches", type=_positive, default=None, help="stretches per audit (default: quick seeds)")
    ap.add_argument("--jobs", type=_positive, default=2, help="worker processes, as in the report (default 2)")
    ap.add_argument("--skip-pool", action="store_true", help="only the token-drawing comparison")
    args = ap.parse_args()
    from aflab.core.threads import single_thread

    single_thread()
    bench_draw_tokens()
    if not args.skip_pool:
        bench_shared_runs(2 if args.quick and args.stretches is None else args.stretches, args.jobs)


if __name__ == "__main__":
    main()
