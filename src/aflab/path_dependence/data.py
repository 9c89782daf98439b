"""Offline datasets: scikit-learn digits, MNIST-1D (generated, never downloaded), slab data, shard tasks.

Nothing here touches the network: ``load_digits`` ships with scikit-learn and
``mnist1d.data.make_dataset`` synthesises MNIST-1D from its templates (``get_dataset`` would
download, so we never call it). ``make_dataset`` reseeds NumPy's *global* RNG; we save and restore
that state so a caller's randomness is not disturbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from aflab.path_dependence.choices import DATASETS, SHARD_TASKS, DatasetName

__all__ = ["DATASETS", "SHARD_TASKS", "DatasetName"]


@dataclass(frozen=True)
class Dataset:
    """Standardised float32 inputs and int64 labels, split into train and test."""

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    name: str

    @property
    def d_in(self) -> int:
        return int(self.x.shape[1])


def _standardise(x: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0) + 1e-2 * x.std()
    return (x - mu) / sd, (x_test - mu) / sd


def _to_dataset(x, y, xt, yt, k, name) -> Dataset:
    x, xt = _standardise(np.asarray(x, np.float64), np.asarray(xt, np.float64))
    return Dataset(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(y, dtype=torch.long),
        torch.tensor(xt, dtype=torch.float32),
        torch.tensor(yt, dtype=torch.long),
        k,
        name,
    )


@lru_cache(maxsize=4)
def digits(n_test: int = 497, split_seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), a fixed random train/test split."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    order = np.random.default_rng(split_seed).permutation(len(raw.target))
    test, train = order[:n_test], order[n_test:]
    return _to_dataset(raw.data[train], raw.target[train], raw.data[test], raw.target[test], 10, "digits")


@lru_cache(maxsize=4)
def mnist1d(num_samples: int = 4000, seed: int = 42) -> Dataset:
    """MNIST-1D (Greydanus 2020) generated offline with ``mnist1d.data.make_dataset`` (80/20 split)."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = int(num_samples), int(seed)
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    return _to_dataset(d["x"], d["y"], d["x_test"], d["y_test"], 10, "mnist1d")


@lru_cache(maxsize=4)
def slab(n: int, n_test: int, seed: int, n_slabs: int = 5, d_noise: int = 8) -> Dataset:
    """Simplicity-bias slab data (Shah et al. 2020, "The Pitfalls of Simplicity Bias", Sec. 3).

    Binary labels. Coordinate 0 is a linear 2-slab (sign of x0 = label): easy. Coordinate 1 is a
    ``n_slabs``-slab: x1 lies in one of ``n_slabs`` alternating bands, the band parity is the label,
    so it is fully predictive but not linearly decodable. Then ``d_noise`` Gaussian noise columns and
    a constant-1 column (the bias input of the bias-free nets; not standardised).
    """
    rng = np.random.default_rng(seed)

    def draw(m):
        y = rng.integers(0, 2, m)
        x0 = (2 * y - 1) * rng.uniform(0.1, 1.0, m)
        bands = np.linspace(-1, 1, n_slabs + 1)
        band = np.array([rng.choice(np.arange(n_slabs)[np.arange(n_slabs) % 2 == yi]) for yi in y])
        x1 = rng.uniform(bands[band] + 0.02, bands[band + 1] - 0.02)
        return np.column_stack([x0, x1, rng.normal(0, 1, (m, d_noise))]), y

    x, y = draw(n)
    xt, yt = draw(n_test)
    d = _to_dataset(x, y, xt, yt, 2, "slab")
    # A constant-1 last column: our MLPs are bias-free, and relu(w . x) of x1 alone can only kink at
    # x1 = 0, so without it the 5-slab is not representable at all (not merely hard to learn).
    return Dataset(
        torch.cat([d.x, torch.ones(len(d.y), 1)], 1),
        d.y,
        torch.cat([d.x_test, torch.ones(len(d.y_test), 1)], 1),
        d.y_test,
        2,
        "slab",
    )


def load(name: str, **kw) -> Dataset:
    if name == "digits":
        return digits(**kw)
    if name == "mnist1d":
        return mnist1d(**kw)
    if name == "slab":
        return slab(kw.get("n", 2000), kw.get("n_test", 1000), kw.get("seed", 0))
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


@dataclass(frozen=True)
class ShardTask:
    """Two redundant predictive features: a hard block (columns ``hard``) and an easy block.

    The easy block is a noisy one-hot code of the label (linearly decodable, large margin); the
    hard block is the digits image. ``x_conflict`` pairs each test image with the easy code of a
    *different* label ``y_conflict``, so a prediction says which feature the net follows.
    """

    data: Dataset
    hard: slice
    easy: slice
    x_conflict: torch.Tensor
    y_conflict: torch.Tensor

    def mask(self, hard: bool, easy: bool) -> torch.Tensor:
        m = torch.ones(self.data.d_in)  # columns in neither block (the slab's constant) stay visible
        m[self.hard] = float(hard)
        m[self.easy] = float(easy)
        return m


def shard_task(seed: int, easy_scale: float = 1.0, easy_noise: float = 0.5) -> ShardTask:
    """Digits (hard, 64 dims) + a 10-dim easy block ``easy_scale * (onehot(y) - 0.1) * sqrt(10) + noise``."""
    base = digits()
    g = torch.Generator().manual_seed(int(seed))

    def code(y):
        oh = torch.nn.functional.one_hot(y, 10).float() - 0.1
        return easy_scale * (oh * 10**0.5 + easy_noise * torch.randn(len(y), 10, generator=g))

    y_conf = (base.y_test + torch.randint(1, 10, base.y_test.shape, generator=g)) % 10
    x = torch.cat([base.x, code(base.y)], 1)
    xt = torch.cat([base.x_test, code(base.y_test)], 1)
    xc = torch.cat([base.x_test, code(y_conf)], 1)
    d = Dataset(x, base.y, xt, base.y_test, 10, "digits+easy")
    return ShardTask(d, slice(0, 64), slice(64, 74), xc, y_conf)


def slab_shard_task(seed: int, n: int = 2000, n_test: int = 1000) -> ShardTask:
    """Slab data as a shard task: easy = the linear coordinate x0, hard = the 5-slab x1 (+ noise dims).

    The hard feature is not linearly decodable (at init or ever), the easy one is. The constant
    column (last) belongs to neither block and is never masked. Conflict inputs flip the sign of
    x0, so the easy feature votes for the other label.
    """
    d = slab(n, n_test, seed)
    xc = d.x_test.clone()
    xc[:, 0] = -xc[:, 0]
    return ShardTask(d, slice(1, d.d_in - 1), slice(0, 1), xc, 1 - d.y_test)


def load_shard_task(name: str, seed: int) -> ShardTask:
    if name == "digits":
        return shard_task(seed)
    if name == "slab":
        return slab_shard_task(seed)
    raise ValueError(f"shard task must be one of {SHARD_TASKS}, got {name!r}")
