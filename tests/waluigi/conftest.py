"""Shared fixtures of the waluigi tests."""

from __future__ import annotations

import pytest

from aflab.waluigi import lm_probe


@pytest.fixture(scope="session")
def lm():
    """SmolLM2-135M-Instruct on the CPU, one thread (as the runner's workers); skips where it is absent."""
    ok, why = lm_probe.lm_available()
    if not ok:
        pytest.skip(f"SmolLM2 unavailable: {why}")
    import torch

    torch.set_num_threads(1)  # more threads spin on a busy 2-core machine
    return lm_probe.load_smollm2("cpu")
