"""GL decision procedure: a signed tableau with the Gödel–Löb modal rule, plus countermodels.

A *sequent* is a pair of formula sets (T, F): formulas required true / false at one world. The
propositional rules saturate it: ``T a&b`` / ``F a|b`` add both parts; disjunctive ``T a|b`` /
``F a&b`` wait while unit propagation (three-valued evaluation over the formula DAG) can settle
them, and otherwise the search splits on an undecided atom or box inside them (an analytic cut:
``T x`` | ``F x``). A branch closes when some formula is both true and false, or ``T F`` / ``F T``
appears. A saturated open branch is a world; for every ``F [] a`` in it the GL rule
(the tableau form of GLR, Sambin & Valentini 1982; Goré 1999, sec. 6)

    T-boxes {[] c}   F [] a        ==>     child:  T c, T [] c  (for every T [] c),  T [] a,  F a

creates a successor world. The child's ``T [] a`` is Löb's axiom at work: it makes the set of true
boxes strictly grow along every branch, which bounds the depth by the number of box subformulas --
the termination argument. As the standard loop check we also close any child whose sequent already
occurs on its own ancestor path (a loop would need an infinite ascending R-chain, which GL frames
-- conversely well-founded -- do not have), and we memoise sequents (same sets, same answer).

An open tableau yields a countermodel: the tree of saturated worlds, with R the transitive closure
of the tree edges (finite, transitive, irreflexive) and an atom true exactly where ``T atom``
appears. :func:`aflab.embedded.kripke.check_countermodel` re-checks it by direct evaluation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

from aflab.embedded.formula import Formula, Implies, desugar
from aflab.embedded.kripke import KripkeModel, check_countermodel


@dataclass(frozen=True)
class WorldTree:
    """A satisfying tree: atoms true at this world and the successor subtrees (may share nodes)."""

    true_atoms: frozenset[str]
    children: tuple[WorldTree, ...]


@dataclass(frozen=True)
class Decision:
    """Result of :func:`decide`: ``valid``, and for a non-theorem a checked countermodel."""

    formula: Formula
    valid: bool
    countermodel: KripkeModel | None
    sequents_explored: int


_MISSING = object()


def SORT_KEY(f: Formula) -> int:
    """Global search order: creation order of the interned formulas (used where no root is known)."""
    return f.uid


def local_order(root: Formula) -> dict[Formula, int]:
    """Search order of one run: post-order (children first, left to right) over the root's DAG.

    This is the creation order the formula would have in a fresh process (creation order was
    measured to be the best of uid/reverse-uid/modal-depth/size orders on the decision-problem
    certificates), but it depends on the root alone, so a search costs the same whatever was built
    before it: with the global creation order one certificate took 19x longer once unrelated
    formulas had been interned first (benchmarks/bench_embedded.py measures both orders).
    """
    order: dict[Formula, int] = {}

    def visit(g: Formula) -> None:  # recursive: ~2x faster than an explicit stack here
        for c in g.args:
            if c not in order:
                visit(c)
        order[g] = len(order)

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        visit(root)
    finally:
        sys.setrecursionlimit(old)
    return order


CHILD_KEY = SORT_KEY


class TableauBudgetExceeded(RuntimeError):
    """The tableau explored more sequents than allowed (``max_sequents``)."""


class _Order(dict):
    """A search order: formula -> position; a formula not listed goes after all listed ones."""

    def __missing__(self, f: Formula) -> int:
        return (1 << 40) + f.uid


class _Search:
    """One tableau run (memo table and statistics are per run)."""

    def __init__(self, max_sequents: int, order: dict[Formula, int] | None = None):
        # search order: position in ``order``; formulas outside it after, by creation (uid)
        self.key = _Order(order or {}).__getitem__
        self.memo: dict[tuple[frozenset, frozenset], WorldTree | None] = {}
        self.path: set[tuple[frozenset, frozenset]] = set()
        self.max_sequents = max_sequents
        self.work = 0  # saturated branches examined (the budget counts these plus sequents)

    @staticmethod
    def value(f: Formula, T: set, F: set, memo: dict) -> bool | None:
        """Truth value of ``f`` forced by the literals decided so far (None: still open).

        Three-valued (Kleene) evaluation over the DAG, used for unit propagation and to pick
        splitting points. Undecided results are memoised for one propagation pass; decided ones are
        recorded in T / F themselves (they stay decided as the branch grows, and a later opposite
        assertion of f is then a clash, as it should be).
        """
        got = memo.get(f, _MISSING)
        if got is not _MISSING:
            return got
        if f in T:
            return True
        if f in F:
            return False
        op = f.op
        if op == "atom" or op == "box":
            memo[f] = None
            return None
        if op == "top":
            return True
        if op == "bot":
            return False
        if op == "not":
            v = _Search.value(f.args[0], T, F, memo)
            out = None if v is None else not v
        else:
            a = _Search.value(f.args[0], T, F, memo)
            if op == "and" and a is False:
                out = False
            elif op == "or" and a is True:
                out = True
            else:
                b = _Search.value(f.args[1], T, F, memo)
                if op == "and":
                    out = False if b is False else (True if (a and b) else None)
                else:
                    out = True if b is True else (False if (a is False and b is False) else None)
        if out is None:
            memo[f] = None
        elif out:
            T.add(f)
        else:
            F.add(f)
        return out

    @staticmethod
    def open_leaf(f: Formula, T: set, F: set, memo: dict) -> Formula | None:
        """An undecided atom or box inside ``f`` whose value would help decide ``f``."""
        stack = [f]
        seen = set()
        atom = None
        while stack:
            g = stack.pop()
            if g in seen or _Search.value(g, T, F, memo) is not None:
                continue
            seen.add(g)
            if g.op == "box":  # boxes first: atoms usually follow from them by propagation
                return g
            if g.op == "atom":
                atom = atom or g
                continue
            stack.extend(reversed(g.args))
        return atom

    def saturations(self, T0: frozenset, F0: frozenset) -> Iterator[tuple[set, set]]:
        """All open saturated branches of (T0, F0), depth first (iterative: no recursion).

        Non-branching rules run first; disjunctive formulas wait in ``betas``; unit propagation
        (:meth:`value`) settles what it can, and otherwise the search splits on an undecided atom or
        box inside the first open disjunction (T leaf | F leaf).
        """
        # deterministic order (this run's order, see local_order): same input, same search
        key = self.key
        init = [(True, f) for f in sorted(T0, key=key)] + [(False, f) for f in sorted(F0, key=key)]
        stack: list[tuple[set, set, list, list]] = [(set(), set(), init, [])]
        while stack:
            T, F, todo, betas = stack.pop()
            closed = False
            while True:
                while todo:
                    sign, f = todo.pop()
                    own, other = (T, F) if sign else (F, T)
                    if f in own:
                        continue
                    if f in other:
                        closed = True
                        break
                    op = f.op
                    if op == "top" or op == "bot":
                        if (op == "top") != sign:
                            closed = True
                            break
                        continue
                    own.add(f)
                    if op == "not":
                        todo.append((not sign, f.args[0]))
                    elif op == "and" or op == "or":
                        if (op == "and") == sign:  # T a&b or F a|b: both parts, same sign
                            todo.append((sign, f.args[0]))
                            todo.append((sign, f.args[1]))
                        else:
                            betas.append((sign, f))
                    # atoms and boxes stay as they are
                if closed:
                    break
                # unit propagation over the waiting disjunctions
                pending = []
                memo: dict = {}
                for sign, f in betas:
                    # f itself is recorded as asserted; decide it from its two parts
                    a, b = f.args
                    va, vb = self.value(a, T, F, memo), self.value(b, T, F, memo)
                    if va is sign or vb is sign:  # one part already has the required value
                        continue
                    if va is (not sign) and vb is (not sign):
                        closed = True
                        break
                    if va is (not sign):
                        todo.append((sign, b))
                    elif vb is (not sign):
                        todo.append((sign, a))
                    else:
                        pending.append((sign, f))
                if closed:
                    break
                betas = pending
                if todo:
                    continue
                if not betas:
                    break
                # split on an undecided atom/box of the first open disjunction (analytic cut on a
                # subformula: both values are tried, so no model is lost)
                leaf = None
                for part in betas[0][1].args:
                    leaf = leaf or self.open_leaf(part, T, F, memo)
                if leaf is None:  # pragma: no cover - an open formula always has an open leaf
                    sign, f = betas[0]
                    todo = [(sign, f.args[0])]
                    continue
                stack.append((set(T), set(F), [(False, leaf)], list(betas)))
                todo = [(True, leaf)]
            if closed:
                continue
            yield T, F

    def solve(self, T0: frozenset, F0: frozenset) -> WorldTree | None:
        key = (T0, F0)
        if key in self.memo:
            return self.memo[key]
        if key in self.path:  # loop check: an ascending cycle has no GL model
            return None
        if len(self.memo) + self.work >= self.max_sequents:
            raise TableauBudgetExceeded(
                f"GL tableau exceeded max_sequents={self.max_sequents} "
                "(sequents + saturated branches); pass a larger "
                "max_sequents or a smaller formula"
            )
        self.path.add(key)
        result = None
        for T, F in self.saturations(T0, F0):
            self.work += 1
            true_boxes = [f for f in T if f.op == "box"]
            inherited = frozenset(x for b in true_boxes for x in (b, b.args[0]))
            keys = [
                (inherited | {fb}, frozenset((fb.args[0],)))
                for fb in sorted((g for g in F if g.op == "box"), key=self.key)
            ]
            # a child already known to be unsatisfiable closes this branch at once
            if any(k in self.memo and self.memo[k] is None for k in keys):
                continue
            children = []
            for ck in keys:
                child = self.solve(*ck)
                if child is None:
                    break
                children.append(child)
            else:
                result = WorldTree(frozenset(f.name for f in T if f.op == "atom"), tuple(children))
                break
        self.path.discard(key)
        self.memo[key] = result
        return result


def _unfold(tree: WorldTree) -> KripkeModel:
    parent: list[int] = []
    atoms: list[frozenset[str]] = []
    stack = [(tree, -1)]
    while stack:
        node, par = stack.pop()
        me = len(parent)
        parent.append(par)
        atoms.append(node.true_atoms)
        for child in reversed(node.children):
            stack.append((child, me))
    return KripkeModel(tuple(parent), tuple(atoms))


def _run(T0: frozenset, F0: frozenset, max_sequents: int) -> tuple[WorldTree | None, int]:
    (root,) = T0 | F0
    search = _Search(max_sequents, local_order(root))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        return search.solve(T0, F0), len(search.memo)
    finally:
        sys.setrecursionlimit(old)


def decide(f: Formula, max_sequents: int = 2_000_000) -> Decision:
    """Decide GL-validity of ``f``; a non-theorem comes with a countermodel that is re-checked."""
    tree, explored = _run(frozenset(), frozenset((desugar(f),)), max_sequents)
    if tree is None:
        return Decision(f, True, None, explored)
    model = _unfold(tree)
    if not check_countermodel(model, f):  # pragma: no cover - would be a bug in the tableau
        raise AssertionError(f"tableau produced a model that does not refute {f}")
    return Decision(f, False, model, explored)


def is_valid(f: Formula) -> bool:
    """GL ⊢ f ?"""
    return decide(f).valid


def satisfying_model(f: Formula, max_sequents: int = 2_000_000) -> KripkeModel | None:
    """A finite transitive irreflexive tree model whose root satisfies ``f``, or None."""
    tree, _ = _run(frozenset((desugar(f),)), frozenset(), max_sequents)
    return None if tree is None else _unfold(tree)


def equivalent(a: Formula, b: Formula) -> bool:
    """GL ⊢ a <-> b (two validity checks)."""
    return is_valid(Implies(a, b)) and is_valid(Implies(b, a))
