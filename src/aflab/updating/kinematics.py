"""Probability kinematics on a finite frame: Jeffrey updates, Field's Bayes-factor updates, virtual evidence.

A *frame* is a finite set of atoms ``0 .. n-1``; a belief is a vector ``p`` of atom probabilities; a
*partition* is an integer vector ``cell[atom]`` naming the cell ``E_i`` each atom lies in. Every function
works on NumPy float arrays and, unchanged, on NumPy ``object`` arrays of :class:`fractions.Fraction`
(exact rational arithmetic: the identities below then hold with equality, not to rounding).

Updates (Jeffrey 1965, *The Logic of Decision*, ch. 11; Field 1978, "A note on Jeffrey conditionalization";
Pearl 1988, ch. 2.2.2 "virtual evidence"):

- conditioning on ``A``: ``p'(w) = p(w) 1[w in A] / p(A)``;
- Jeffrey update to target cell probabilities ``q``: ``p'(w) = p(w) q_i / p(E_i)`` for ``w in E_i`` -- it
  sets ``p'(E_i) = q_i`` and is *rigid*: ``p'(A | E_i) = p(A | E_i)`` for every ``A``;
- Field update by Bayes factors ``beta``: ``p'(w) = p(w) beta_i / sum_j p(E_j) beta_j`` -- the input is
  the likelihood ratio of the experience, not the posterior, so it does not depend on the prior;
- virtual evidence with per-atom likelihoods ``L``: ``p'(w) = p(w) L(w) / sum p L`` (Field's update is the
  case ``L`` constant on cells).

Jeffrey updates given as targets do not commute in general; the same experiences given as Bayes factors
always do (Field 1978; Wagner 2002, "Probability kinematics and commutativity", Phil. Sci. 69). Two
Jeffrey updates commute exactly when each leaves the other's partition probabilities unchanged
(Diaconis & Zabell 1982, "Updating subjective probability", JASA 77, the commutativity theorem), which
:func:`jeffrey_commutes_condition` tests.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def as_exact(x, max_denominator: int = 1000) -> np.ndarray:
    """Float array -> object array of Fractions (each entry rounded to ``max_denominator``)."""
    arr = np.asarray(x, dtype=float)
    return np.array([Fraction(float(v)).limit_denominator(max_denominator) for v in arr.ravel()], dtype=object).reshape(
        arr.shape
    )


def normalize(p: np.ndarray) -> np.ndarray:
    """``p / sum(p)`` (exact for Fractions)."""
    return p / p.sum()


def cell_probs(p: np.ndarray, cell: np.ndarray, n_cells: int | None = None) -> np.ndarray:
    """``p(E_i) = sum_{w in E_i} p(w)`` for ``i = 0 .. n_cells-1`` (a loop over cells, exact for Fractions)."""
    k = int(cell.max()) + 1 if n_cells is None else n_cells
    return np.array([p[cell == i].sum() for i in range(k)], dtype=p.dtype)


def check_partition(p: np.ndarray, cell: np.ndarray, values: np.ndarray, what: str) -> None:
    """Raise a ValueError naming the problem when ``values`` does not fit the partition ``cell`` of ``p``."""
    if p.shape != cell.shape:
        raise ValueError(f"partition has {cell.size} atoms but the belief has {p.size}")
    if len(values) != int(cell.max()) + 1:
        raise ValueError(f"{what} needs one value per cell ({int(cell.max()) + 1}), got {len(values)}")
    if any(v < 0 for v in values):
        raise ValueError(f"{what} must be non-negative")


def condition(p: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Bayesian conditioning on the event ``event`` (a boolean mask over atoms)."""
    mass = p[event].sum()
    if mass == 0:
        raise ValueError("cannot condition on an event of probability 0")
    return np.where(event, p, 0 * p) / mass


def jeffrey_update(p: np.ndarray, cell: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Jeffrey's rule: ``p'(w) = p(w) q_i / p(E_i)`` for ``w in E_i``; ``targets`` sum to 1.

    A cell of prior probability 0 cannot receive positive target mass (Jeffrey's rule is undefined there).
    """
    targets = np.asarray(targets, dtype=p.dtype)
    check_partition(p, cell, targets, "targets")
    prior = cell_probs(p, cell, len(targets))
    if any(q > 0 and m == 0 for q, m in zip(targets, prior)):
        raise ValueError("a target gives positive probability to a cell the prior rules out")
    ratio = np.array([q / m if m != 0 else 0 * q for q, m in zip(targets, prior)], dtype=p.dtype)
    return p * ratio[cell]


def factor_update(p: np.ndarray, cell: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Field's rule: ``p'(w) = p(w) beta_i / sum_j p(E_j) beta_j`` (Bayes factors ``beta`` up to scale)."""
    factors = np.asarray(factors, dtype=p.dtype)
    check_partition(p, cell, factors, "factors")
    return normalize(p * factors[cell])


def virtual_evidence(p: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Pearl's virtual evidence: ``p'(w) proportional to p(w) L(w)`` for a per-atom likelihood ``L >= 0``."""
    return normalize(p * np.asarray(likelihood, dtype=p.dtype))


def bayes_factors(p: np.ndarray, p_new: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """The Bayes factors of the move ``p -> p_new`` on the partition: ``beta_i = p_new(E_i) / p(E_i)``
    (defined up to a common scale; ratios ``beta_i / beta_j`` are the odds ratios Field's input consists of)."""
    before, after = cell_probs(p, cell), cell_probs(p_new, cell)
    return np.array([a / b for a, b in zip(after, before)], dtype=p.dtype)


def factors_for_targets(p: np.ndarray, cell: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The Bayes factors that take ``p`` to the Jeffrey targets: ``beta_i = q_i / p(E_i)``."""
    prior = cell_probs(p, cell, len(targets))
    return np.array([q / m for q, m in zip(targets, prior)], dtype=p.dtype)


def rigidity_residual(p: np.ndarray, p_new: np.ndarray, cell: np.ndarray) -> float:
    """``max_{w, i} |p_new(w | E_i) - p(w | E_i)|``: zero for a Jeffrey update (rigidity)."""
    before, after = cell_probs(p, cell), cell_probs(p_new, cell)
    worst = 0 * p[0]
    for w in range(p.size):
        i = cell[w]
        if before[i] != 0 and after[i] != 0:
            worst = max(worst, abs(p_new[w] / after[i] - p[w] / before[i]))
    return float(worst)


def jeffrey_commutes_condition(p: np.ndarray, e: np.ndarray, q: np.ndarray, f: np.ndarray, r: np.ndarray) -> bool:
    """Diaconis-Zabell: the Jeffrey updates (E, q) and (F, r) commute iff the update on F leaves ``p(E)``
    unchanged and the update on E leaves ``p(F)`` unchanged (exact comparison for Fractions)."""
    pe, pf = cell_probs(p, e), cell_probs(p, f)
    after_f, after_e = jeffrey_update(p, f, r), jeffrey_update(p, e, q)
    return bool(np.all(cell_probs(after_f, e) == pe) and np.all(cell_probs(after_e, f) == pf))


def grid_partitions(n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Two partitions of an ``n_rows x n_cols`` grid of atoms (atom ``w = row * n_cols + col``): by row (E)
    and by column (F) -- the frame of two questions whose answers the experiences bear on."""
    w = np.arange(n_rows * n_cols)
    return w // n_cols, w % n_cols


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b|`` as a float (computed exactly first for Fractions)."""
    return float(max(abs(x - y) for x, y in zip(a.ravel(), b.ravel())))
