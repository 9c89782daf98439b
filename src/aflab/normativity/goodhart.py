"""Goodhart bench: a proxy that tracks the true reward in the bulk but is wrong in the tail.

An *action pool* of K actions is drawn per seed; the base distribution is uniform on the pool, so
both the quantilizer (exact, :func:`quantilize`) and best-of-n (exact, :func:`best_of_n`) are
computed without Monte Carlo error given the pool. True value ``V ~ N(0, 1)``; proxy ``U`` is

- ``gaussian``:  U = V + sigma * N(0, 1). The error is light-tailed, E[V | U] = U / (1 + sigma^2)
  rises with U, so harder optimisation keeps helping (regressional Goodhart only): the control.
- ``heavy``:     U = V + sigma * t_nu. For heavy-tailed error and light-tailed V, E[V | U] -> 0 as
  U -> inf: the extreme proxy values are error (Kwa, Thomas, Garriga-Alonso 2024, "Catastrophic
  Goodhart").
- ``corrupted``: gaussian proxy, except a fraction ``eps`` of actions (the corrupted region) has
  proxy U + jump and true value -harm: a region the proxy gets badly wrong (Everitt et al. 2017's
  corrupt states, as actions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.normativity.quantilizers import expectation, expectations_many, quantilize

SHAPES = ("gaussian", "heavy", "corrupted")


@dataclass(frozen=True)
class GoodhartParams:
    """Parameters of the proxy-error shapes (see module docstring)."""

    noise_sd: float = 1.0
    tail_df: float = 1.5
    corrupt_frac: float = 0.002
    corrupt_jump: float = 8.0
    corrupt_harm: float = 3.0


@dataclass(frozen=True)
class ActionPool:
    """K actions with true value, proxy value and a corrupted-region flag (batch axis first)."""

    true: np.ndarray
    proxy: np.ndarray
    corrupt: np.ndarray


def draw_pool(
    shape: str, n_actions: int, params: GoodhartParams, rng: np.random.Generator, batch: int = 1
) -> ActionPool:
    """Draw ``batch`` independent pools of ``n_actions`` actions of the given proxy shape."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")
    size = (batch, n_actions)
    v = rng.standard_normal(size)
    corrupt = np.zeros(size, dtype=bool)
    if shape == "heavy":
        u = v + params.noise_sd * rng.standard_t(params.tail_df, size)
    else:
        u = v + params.noise_sd * rng.standard_normal(size)
    if shape == "corrupted":
        corrupt = rng.random(size) < params.corrupt_frac
        u = np.where(corrupt, u + params.corrupt_jump, u)
        v = np.where(corrupt, -params.corrupt_harm, v)
    return ActionPool(v, u, corrupt)


def q_grid(n_actions: int, n_points: int) -> np.ndarray:
    """Log-spaced q from 1/K (the argmax) to 1 (the base distribution)."""
    return np.unique(np.geomspace(1.0 / n_actions, 1.0, n_points))


def _curves(pool: ActionPool, key: str, knobs) -> dict[str, np.ndarray]:
    b, k = pool.true.shape
    values = {"true": pool.true, "proxy": pool.proxy, "corrupt": pool.corrupt}
    kw = {"qs": knobs} if key == "q" else {"ns": knobs}
    res = expectations_many(np.full((b, k), 1.0 / k), pool.proxy, values, **kw)
    ordered = [res[(key, float(x) if key == "q" else int(x))] for x in knobs]
    return {name: np.array([r[name] for r in ordered]) for name in values}


def quantilizer_curves(pool: ActionPool, qs: np.ndarray) -> dict[str, np.ndarray]:
    """E_q[true], E_q[proxy], P_q(corrupt) for each q (shape (len(qs), batch)), exact given the pool."""
    return _curves(pool, "q", qs)


def best_of_n_curves(pool: ActionPool, ns: np.ndarray) -> dict[str, np.ndarray]:
    """E[true], E[proxy], P(corrupt) of best-of-n on the pool for each n, exact given the pool."""
    return _curves(pool, "n", ns)


def argmax_true(pool: ActionPool) -> np.ndarray:
    """True value of the proxy-argmax action (ties averaged): the q -> 1/K end of the curve."""
    b, k = pool.true.shape
    probs = quantilize(np.full((b, k), 1.0 / k), pool.proxy, 1.0 / k)
    return expectation(probs, pool.true)
