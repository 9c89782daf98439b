"""Kripke semantics for GL: finite transitive irreflexive models, and the linear frame.

GL is sound and complete for finite transitive irreflexive frames (Segerberg 1971; Boolos ch. 5):
``[] a`` holds at w iff ``a`` holds at every R-successor of w. Countermodels found by the tableau are
finite trees whose accessibility relation is the transitive closure of the tree edges;
:func:`check_countermodel` re-verifies them independently by evaluating bottom-up over the
subformula DAG with boolean NumPy vectors (one entry per world).

The *linear frame* has worlds 0, 1, 2, ... with ``n R m  iff  m < n``. A letterless formula's
truth value at world n depends only on n, and is constant for n >= its modal depth; that eventual
value is its truth value in the standard model of arithmetic (Boolos ch. 7, the "trace" of a
letterless sentence). :func:`linear_mask` evaluates all worlds 0..N-1 at once as bits of a Python
integer (bit n = value at world n), so a box is two integer operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from aflab.embedded.formula import Formula, desugar, modal_depth, subformulas


@dataclass(frozen=True)
class KripkeModel:
    """A finite Kripke model on a tree.

    ``parent[w]`` is w's parent (-1 for the root 0); accessibility R is the transitive closure of
    parent -> child edges, so the frame is transitive and irreflexive. ``true_atoms[w]`` lists the
    atoms true at world w (all others are false).
    """

    parent: tuple[int, ...]
    true_atoms: tuple[frozenset[str], ...]
    root: int = 0
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_worlds(self) -> int:
        return len(self.parent)

    def relation(self) -> np.ndarray:
        """Boolean matrix ``R[u, v]``: v is accessible from u (transitive closure of the tree)."""
        n = self.n_worlds
        rel = np.zeros((n, n), dtype=bool)
        for child, par in enumerate(self.parent):
            if par >= 0:
                rel[par, child] = True
        # transitive closure by repeated squaring (n is small)
        while True:
            nxt = rel | ((rel.astype(np.int32) @ rel.astype(np.int32)) > 0)
            if (nxt == rel).all():
                return rel
            rel = nxt

    def describe(self) -> str:
        lines = []
        for w in range(self.n_worlds):
            par = self.parent[w]
            arrow = "root" if par < 0 else f"child of {par}"
            lines.append(f"world {w} ({arrow}): true atoms {{{', '.join(sorted(self.true_atoms[w]))}}}")
        return "\n".join(lines)


def evaluate(model: KripkeModel, f: Formula, relation: np.ndarray | None = None) -> np.ndarray:
    """Truth value of ``f`` at every world (bool vector), by the Kripke clauses for GL."""
    rel = model.relation() if relation is None else relation
    n = model.n_worlds
    val: dict[Formula, np.ndarray] = {}
    for node in subformulas(desugar(f)):
        op = node.op
        if op == "top":
            v = np.ones(n, bool)
        elif op == "bot":
            v = np.zeros(n, bool)
        elif op == "atom":
            v = np.array([node.name in s for s in model.true_atoms], dtype=bool)
        elif op == "not":
            v = ~val[node.args[0]]
        elif op == "and":
            v = val[node.args[0]] & val[node.args[1]]
        elif op == "or":
            v = val[node.args[0]] | val[node.args[1]]
        elif op == "box":  # all successors satisfy the operand
            v = ~(rel & ~val[node.args[0]][None, :]).any(axis=1)
        else:  # pragma: no cover - desugar leaves only the ops above
            raise AssertionError(op)
        val[node] = v
    return val[desugar(f)]


def frame_problems(model: KripkeModel) -> list[str]:
    """Why ``model`` is not a finite transitive irreflexive tree (empty list when it is)."""
    problems = []
    n = model.n_worlds
    if n == 0:
        return ["model has no worlds"]
    if len(model.true_atoms) != n:
        problems.append("true_atoms must have one entry per world")
    roots = [w for w, p in enumerate(model.parent) if p < 0]
    if roots != [model.root]:
        problems.append(f"exactly one root expected (world {model.root}), found {roots}")
    if any(p >= n for p in model.parent):
        problems.append("a parent index is out of range")
        return problems
    rel = model.relation()
    if rel.diagonal().any():
        problems.append("relation is not irreflexive (the parent links contain a cycle)")
    if (((rel.astype(np.int32) @ rel.astype(np.int32)) > 0) & ~rel).any():
        problems.append("relation is not transitive")
    reach = rel[model.root].copy()
    reach[model.root] = True
    if not reach.all():
        problems.append("some worlds are not reachable from the root")
    return problems


def check_countermodel(model: KripkeModel, f: Formula) -> bool:
    """True iff ``model`` is a finite transitive irreflexive tree whose root falsifies ``f``.

    Such a model refutes GL-validity of ``f`` (soundness of GL for these frames), independently of
    how the model was found.
    """
    if frame_problems(model):
        return False
    return not bool(evaluate(model, f)[model.root])


# ---------------------------------------------------------------------------------------------
# the linear frame


def linear_mask(f: Formula, n_worlds: int, env: Mapping[str, int] | None = None) -> int:
    """Truth values of ``f`` at worlds 0..n_worlds-1 of the linear frame, as bits of an int.

    Atoms must be given in ``env`` as bitmasks (letterless formulas need none). ``[] a`` at world n
    is "a holds at every m < n": if z is the first world where a fails, the box holds exactly at
    worlds 0..z, i.e. ``mask = 2^(z+1) - 1`` -- the whole vector at once.
    """
    if n_worlds < 1:
        raise ValueError(f"n_worlds must be >= 1, got {n_worlds}")
    full = (1 << n_worlds) - 1
    env = env or {}
    val: dict[Formula, int] = {}
    for node in subformulas(desugar(f)):
        op = node.op
        if op == "top":
            v = full
        elif op == "bot":
            v = 0
        elif op == "atom":
            if node.name not in env:
                raise ValueError(
                    f"linear-frame evaluation needs a letterless formula or a value for "
                    f"atom {node.name!r} (pass env={{'{node.name}': bitmask}})"
                )
            v = env[node.name] & full
        elif op == "not":
            v = full & ~val[node.args[0]]
        elif op == "and":
            v = val[node.args[0]] & val[node.args[1]]
        elif op == "or":
            v = val[node.args[0]] | val[node.args[1]]
        else:  # box
            a = val[node.args[0]]
            first_fail = ((~a) & (a + 1)).bit_length() - 1  # index of the lowest 0 bit
            v = full & ((1 << (first_fail + 1)) - 1)
        val[node] = v
    return val[desugar(f)]


def linear_values(f: Formula, n_worlds: int | None = None) -> np.ndarray:
    """Bool vector: truth value of letterless ``f`` at worlds 0..n_worlds-1 of the linear frame."""
    n = modal_depth(f) + 2 if n_worlds is None else n_worlds
    mask = linear_mask(f, n)
    return np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)


def eventual_value(f: Formula) -> bool:
    """Truth value in the standard model: the value at any world n >= modal depth of ``f``."""
    d = modal_depth(f)
    return bool((linear_mask(f, d + 1) >> d) & 1)


def letterless_valid(f: Formula) -> bool:
    """GL-validity of a letterless formula: true at worlds 0..depth of the linear frame.

    Every rooted GL model world of height n agrees with linear world n on letterless formulas, and
    values are constant from the modal depth on, so the finite check is complete.
    """
    d = modal_depth(f)
    full = (1 << (d + 1)) - 1
    return linear_mask(f, d + 1) == full
