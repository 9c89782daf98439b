"""Explicit fixed points of modalized formulas: the de Jongh–Sambin construction.

If every occurrence of p in A(p) is under a box, there is a formula H (without p, with the other
atoms of A as parameters) such that GL ⊢ H <-> A(H), and it is unique: GL ⊢ [.](p <-> A(p)) ->
(p <-> H), where [.]x = x & []x (de Jongh, Sambin 1976; Boolos, *The Logic of Provability*, ch. 8).

Construction (Boolos ch. 8, the de Jongh–Sambin algorithm). Write A(p) = B([]D_1(p), ..., []D_n(p))
where the []D_i(p) are the distinct maximal boxed subformulas that contain p, and B(q_1..q_n) has no
p. If n = 0, H = A. Otherwise, for each i let A_i(p) = B(..., T in place i, ...) -- it has n-1 such
boxes -- with fixed point H_i (by recursion), and

    H = B([]D_1(H_1), ..., []D_n(H_n)).

For n = 1 this is Sambin's H = B([]D(B(T))). Both equations are verified by the tableau in
:func:`verify_fixed_point`, so a wrong construction cannot pass silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from aflab.embedded.formula import (
    TOP,
    Atom,
    Formula,
    Iff,
    Implies,
    atoms,
    desugar,
    is_modalized_in,
    replace_nodes,
    simplify,
    strong_box,
    substitute,
)
from aflab.embedded.tableau import is_valid


@dataclass(frozen=True)
class FixedPoint:
    """``formula`` = A(p), ``var`` = p, ``solution`` = H; ``verified``: GL ⊢ H <-> A(H) and uniqueness."""

    formula: Formula
    var: str
    solution: Formula
    equation_valid: bool | None = None
    unique_valid: bool | None = None


def _maximal_boxes_with(f: Formula, var: str) -> list[Formula]:
    """Distinct maximal boxed subformulas of ``f`` containing atom ``var`` (outermost first)."""
    found: list[Formula] = []
    seen: set[Formula] = set()
    stack = [f]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.op == "box":
            if var in atoms(node) and node not in found:
                found.append(node)
            continue
        stack.extend(reversed(node.args))
    return found


def _dJS(f: Formula, var: str) -> Formula:
    boxes = _maximal_boxes_with(f, var)
    if not boxes:
        return f
    solutions = []
    for _i, target in enumerate(boxes):
        a_i = simplify(replace_nodes(f, {target: TOP}))
        solutions.append(_dJS(a_i, var))
    mapping = {b: substitute(b, {var: h}) for b, h in zip(boxes, solutions)}
    return simplify(replace_nodes(f, mapping))


def fixed_point(f: Formula, var: str = "p") -> Formula:
    """The de Jongh–Sambin fixed point H of ``f`` in ``var`` (``f`` must be modalized in ``var``)."""
    if not isinstance(var, str) or not var:
        raise ValueError(f"var must be the name of an atom, got {var!r}")
    if not is_modalized_in(f, [var]):
        raise ValueError(
            f"formula is not modalized in {var!r}: every occurrence of {var} must be "
            f"under [] or <> (e.g. '[] {var}' rather than '{var}'); got {f}"
        )
    return simplify(_dJS(simplify(desugar(f)), var))


def fixed_point_equation(f: Formula, var: str, h: Formula) -> Formula:
    """``H <-> A(H)``: GL-valid iff H is a fixed point."""
    return Iff(h, substitute(f, {var: h}))


def uniqueness_formula(f: Formula, var: str, h: Formula) -> Formula:
    """``[.](p <-> A(p)) -> (p <-> H)``: GL-valid iff every fixed point is equivalent to H."""
    p = Atom(var)
    return Implies(strong_box(Iff(p, f)), Iff(p, h))


def solve_fixed_point(f: Formula, var: str = "p", verify: bool = True) -> FixedPoint:
    """Compute H and (by default) check both the equation and uniqueness with the GL tableau."""
    h = fixed_point(f, var)
    if not verify:
        return FixedPoint(f, var, h)
    return FixedPoint(f, var, h, is_valid(fixed_point_equation(f, var, h)), is_valid(uniqueness_formula(f, var, h)))
