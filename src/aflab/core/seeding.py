"""One seeding helper for all of aflab.

A cell's seed is derived from (base seed, claim id, config hash, seed index) with SHA-256, so the
result of a cell does not depend on which worker ran it or in which order.
"""

from __future__ import annotations

import hashlib
import random
import sys

import numpy as np

from aflab.core.threads import single_thread  # noqa: F401  (re-exported: one place for thread limits)


def derive_seed(*parts: object) -> int:
    """A 63-bit integer seed from any parts (stable across processes and Python versions)."""
    blob = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") >> 1


def cell_seed(base_seed: int, claim_id: str, config_hash: str, seed_index: int) -> int:
    return derive_seed(base_seed, claim_id, config_hash, seed_index)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python ``random``, NumPy's legacy global state and torch (if imported); return a Generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
    return np.random.default_rng(seed)
