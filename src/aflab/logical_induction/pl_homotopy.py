"""Merrill's restart algorithm: a piecewise-linear homotopy with vector labels for a zero of ``g``.

Why: the maker needs prices with ``h(P) = clip(P + F(P), 0, 1) = P`` (then no world gains from the firm's
trade, thm. 5.1.1), for a firm ``F`` that may be steep, flat or non-monotone. Newton-type solvers can stall at
a near miss; a simplicial path with *vector* labels cannot. It follows the zero set of a piecewise-linear
(PL) homotopy between the affine map ``x0 - x`` (one zero, ``x0``) and the PL interpolation of ``g(x) = h(x) -
x``. The path is bounded -- every zero of ``(1 - t)(x0 - x) + t g(x)`` is ``(1 - t) x0 + t h(x)``, a point of
the cube -- so it must end at a zero of the PL interpolation of ``g`` (Merrill 1972; Eaves & Saigal 1972;
Allgower & Georg, *Numerical Continuation Methods*, ch. 12-13). Unlike integer labels (Kuhn's algorithm,
tried here first and too coarse for slopes of ~300), vector labels interpolate ``g`` linearly, so an affine
``g`` is solved exactly at any mesh, however steep. Restarting from each level's zero with a finer mesh
converges to a zero of ``g`` for any continuous ``g``.

The triangulation is Freudenthal's (Kuhn's K1) of ``{0, 1} x R^n`` in grid coordinates ``y = (t, z)``, with
``x = x0 + delta (z - c)`` and ``c`` the barycentre of the start face, whose PL zero is then its barycentre.
A simplex is a base vertex ``b`` (``b[0] = 0``) and a permutation ``pi`` of ``0..n``; its vertices are
``b, b + e_pi[0], b + e_pi[0] + e_pi[1], ...``. Each step is the lexicographic minimum-ratio pivot (the
LP step that keeps the barycentric weights of the completely labelled face non-negative; degeneracy
resolved lexicographically) followed by Freudenthal's replacement of the vertex that left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PLLevel:
    """One level of the restart algorithm: the PL zero ``x`` (the last point reached when ``complete`` is
    False), the mesh ``delta``, the labels of ``g`` evaluated and the pivots made."""

    x: np.ndarray
    delta: float
    complete: bool
    evaluations: int
    pivots: int


def freudenthal_vertices(base: np.ndarray, perm: list[int]) -> list[tuple[int, ...]]:
    """The ``len(perm) + 1`` vertices ``b, b + e_pi[0], ...`` of a Freudenthal simplex, as integer tuples."""
    steps = np.zeros((len(perm) + 1, len(base)), dtype=np.int64)
    steps[np.arange(1, len(perm) + 1), perm] = 1
    return [tuple(row) for row in (base + np.cumsum(steps, axis=0)).tolist()]


def freudenthal_replace(base: np.ndarray, perm: list[int], i: int) -> tuple[np.ndarray, list[int]]:
    """The simplex across the facet opposite vertex ``i`` (Allgower & Georg, table 12.1.11)."""
    base, perm = base.copy(), list(perm)
    last = len(perm)
    if i == 0:
        base[perm[0]] += 1
        perm = perm[1:] + perm[:1]
    elif i == last:
        base[perm[-1]] -= 1
        perm = perm[-1:] + perm[:-1]
    else:
        perm[i - 1], perm[i] = perm[i], perm[i - 1]
    return base, perm


def lexmin_leaving(B_inv: np.ndarray, d: np.ndarray) -> int:
    """The column that leaves the basis when a column with ``B_inv a = d`` enters: the lexicographic minimum
    of the rows ``B_inv[j] / d_j`` over ``d_j > 0`` (their first entry is the barycentric weight ``lambda_j``)."""
    cand = np.flatnonzero(d > 1e-12 * max(1.0, float(np.abs(d).max())))
    if len(cand) == 0:
        raise FloatingPointError("the PL path has no leaving vertex: a degenerate pivot lexicographic order missed")
    rows = B_inv[cand] / d[cand, None]
    best = 0
    for r in range(1, len(cand)):
        diff = rows[r] - rows[best]
        nz = np.flatnonzero(np.abs(diff) > 1e-14 * (1.0 + np.abs(rows[best])))
        if len(nz) and diff[nz[0]] < 0:
            best = r
    return int(cand[best])


def merrill_level(g: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, delta: float, max_evals: int) -> PLLevel:
    """Follow the PL homotopy from ``x0`` at mesh ``delta`` to a completely labelled face at ``t = 1`` (its
    PL zero is returned), or stop after ``max_evals`` labels of ``g`` or ``20 (n + 1)^2`` pivots in a row
    without a new one (a cycle that rounding made)."""
    n = len(x0)
    c = (n - np.arange(1, n + 1) + 1) / (n + 1)  # barycentre of the start face, grid units
    cache: dict[tuple[int, ...], np.ndarray] = {}
    evals = pivots = 0

    def point(v: tuple[int, ...]) -> np.ndarray:
        return x0 + delta * (np.asarray(v[1:], dtype=float) - c)

    def column(v: tuple[int, ...]) -> np.ndarray:
        nonlocal evals
        if v not in cache:
            # labels in grid units (divided by delta): the same path, a better-conditioned basis at fine meshes
            label = c - np.asarray(v[1:], dtype=float) if v[0] == 0 else np.asarray(g(point(v)), dtype=float) / delta
            evals += v[0]
            cache[v] = np.concatenate([[1.0], label])
        return cache[v]

    base, perm = np.zeros(n + 1, dtype=np.int64), list(range(1, n + 1)) + [0]
    verts = freudenthal_vertices(base, perm)
    face, entering = verts[: n + 1], verts[n + 1]
    B = np.column_stack([column(v) for v in face])
    B_inv = np.linalg.inv(B)
    # A path cannot revisit a simplex in exact arithmetic; in floats a broken tie can make it cycle through
    # simplices whose labels are known (cached, or at t = 0), so a level also stops after this many pivots
    # without a new label of g.
    max_stall, stall, seen = 20 * (n + 1) ** 2, 0, 0
    while evals < max_evals and stall < max_stall:
        stall, seen = (0, evals) if evals > seen else (stall + 1, seen)
        a = column(entering)
        d = B_inv @ a
        j = lexmin_leaving(B_inv, d)
        leaving, face[j], B[:, j] = face[j], entering, a
        pivots += 1
        B_inv = np.linalg.inv(B)  # afresh each pivot: product-form updates drift on steep labels
        i = verts.index(leaving)
        if i == 0 and perm[0] == 0:  # the face kept lies at t = 1: a zero of g's PL interpolation
            return PLLevel(_face_point(B_inv, face, point), delta, True, evals, pivots)
        if i == n + 1 and perm[n] == 0:
            raise FloatingPointError("the PL path came back to t = 0, which exact arithmetic rules out")
        base, perm = freudenthal_replace(base, perm, i)
        old, verts = set(verts), freudenthal_vertices(base, perm)
        entering = next(v for v in verts if v not in old)
    return PLLevel(_face_point(B_inv, face, point), delta, False, evals, pivots)


def _face_point(B_inv: np.ndarray, face: list, point: Callable) -> np.ndarray:
    lam = np.clip(B_inv[:, 0], 0.0, None)
    lam = lam / lam.sum()
    return np.sum([w * point(v) for w, v in zip(lam, face)], axis=0)


def merrill_restart(
    g: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    delta0: float = 0.25,
    shrink: float = 4.0,
    min_delta: float = 1e-14,
    max_evals: int = 20_000,
    stop: Callable[[np.ndarray], bool] | None = None,
) -> list[PLLevel]:
    """Levels at meshes ``delta0, delta0 / shrink, ...``, each started at the previous level's zero, until
    ``stop(x)`` holds at a level's zero, the mesh falls below ``min_delta``, ``max_evals`` labels are spent
    or rounding breaks a level's path (a singular face or a path back to ``t = 0``, which exact arithmetic
    rules out; that level is dropped).
    For the maker ``g(x) = clip(x' + F(x'), 0, 1) - x`` with ``x'`` = ``x`` clipped to the cube."""
    levels: list[PLLevel] = []
    x, delta, spent = np.asarray(x0, dtype=float), float(delta0), 0
    while delta >= min_delta and spent < max_evals:
        try:
            level = merrill_level(g, x, delta, max_evals - spent)
        except (FloatingPointError, np.linalg.LinAlgError):  # rounding broke the path: stop at the last zero
            break
        levels.append(level)
        spent += level.evaluations
        if not level.complete:
            break
        x = level.x
        if stop is not None and stop(x):
            break
        delta /= shrink
    return levels
