"""Seeded random formulas, modal systems and modal agents (for property tests, claims, benchmarks).

Everything is drawn from an explicit ``numpy.random.Generator``; the same seed gives the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aflab.embedded.agents import ModalAgent
from aflab.embedded.formula import BOT, TOP, And, Atom, Box, Dia, Formula, Iff, Implies, Not, Or


def random_formula(
    rng: np.random.Generator, atoms: Sequence[str], depth: int, max_level: int = 0, modal_weight: float = 0.35
) -> Formula:
    """A random formula over ``atoms`` (and T, F) of nesting depth <= ``depth``."""
    if depth <= 0 or rng.random() < 0.2:
        pool = len(atoms) + 2
        k = int(rng.integers(pool))
        return TOP if k == len(atoms) else BOT if k == len(atoms) + 1 else Atom(atoms[k])
    r = rng.random()
    if r < modal_weight:
        level = int(rng.integers(max_level + 1)) if max_level else 0
        sub = random_formula(rng, atoms, depth - 1, max_level, modal_weight)
        return Box(sub, level) if rng.random() < 0.7 else Dia(sub, level)
    if r < modal_weight + 0.15:
        return Not(random_formula(rng, atoms, depth - 1, max_level, modal_weight))
    a = random_formula(rng, atoms, depth - 1, max_level, modal_weight)
    b = random_formula(rng, atoms, depth - 1, max_level, modal_weight)
    return (And, Or, Implies, Iff)[int(rng.integers(4))](a, b)


def random_modalized(rng: np.random.Generator, atoms: Sequence[str], depth: int, max_level: int = 0) -> Formula:
    """A random formula in which every atom occurrence is under a box: a boolean combination of
    boxed random formulas."""

    def modal_leaf() -> Formula:
        level = int(rng.integers(max_level + 1)) if max_level else 0
        sub = random_formula(rng, atoms, max(depth - 1, 0), max_level)
        return Box(sub, level) if rng.random() < 0.7 else Dia(sub, level)

    def build(d: int) -> Formula:
        if d <= 0 or rng.random() < 0.35:
            return modal_leaf() if rng.random() < 0.85 else (TOP if rng.random() < 0.5 else BOT)
        r = rng.random()
        if r < 0.2:
            return Not(build(d - 1))
        return (And, Or, Implies, Iff)[int(rng.integers(4))](build(d - 1), build(d - 1))

    return build(2)


def random_system(rng: np.random.Generator, n_vars: int, depth: int = 2, max_level: int = 0) -> dict[str, Formula]:
    """``n_vars`` equations ``x_i <-> A_i`` with every A_i modalized in all the x's."""
    names = [f"x{i}" for i in range(n_vars)]
    return {n: random_modalized(rng, names, depth, max_level) for n in names}


def random_agent(
    rng: np.random.Generator, name: str, references: Sequence[str] = (), depth: int = 2, max_level: int = 1
) -> ModalAgent:
    """A random modal agent over them, me and them(X) for X in ``references``."""
    atoms = ["them", "them", "me"] + [f"them({r})" for r in references]
    return ModalAgent(name, random_modalized(rng, atoms, depth, max_level))
