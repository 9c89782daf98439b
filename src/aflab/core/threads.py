"""Thread limits, in one place: every worker process and every hot loop runs BLAS and torch on one thread.

Small-net training and the systems' many small or memory-bound products were ~30x faster here with one
thread than with two (extra threads only spin on a shared 2-core machine). Environment variables such as
``OMP_NUM_THREADS`` are read once, when a BLAS library loads -- setting them after numpy is imported does
nothing in that process -- so the limit is applied with ``threadpoolctl`` on the live thread pools, and
the variables are set only for child processes.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext

_LIMITER = None


def single_thread() -> None:
    """One BLAS/OpenMP thread and one torch thread in this process from now on (idempotent).

    Called by the runner in every worker (pool initializer, Ray task, serial cell).
    """
    global _LIMITER
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        threadpool_limits = None
    if threadpool_limits is not None:
        _LIMITER = threadpool_limits(limits=1)  # applied now; kept alive so it is not garbage-collected
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)


def one_blas_thread():
    """Context: BLAS on one thread inside a hot loop, whatever the caller's process does."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
