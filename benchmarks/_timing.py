"""Timing helpers shared by the benchmarks (run them as scripts: `python benchmarks/bench_x.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], reps: int = 3) -> float:
    """Minimum wall time of ``reps`` calls of ``fn`` (the least-disturbed run), in seconds."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
