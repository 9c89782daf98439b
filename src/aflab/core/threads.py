"""Thread limits shared by the systems."""

from __future__ import annotations

from contextlib import nullcontext


def one_blas_thread():
    """Context: BLAS on one thread. The systems' hot loops do many small or memory-bound products, where
    extra BLAS threads only spin (and double the CPU time) on a shared 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
