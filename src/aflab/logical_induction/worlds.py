"""PC(D_n): the propositional worlds consistent with what the deductive process has revealed.

Garrabrant et al. 2016, def. 3.4: ``PC(D_n)`` is the set of worlds (truth assignments to all
sentences) propositionally consistent with ``D_n``. The market needs three things from it:

- *is phi decided?* (true / false in every consistent world) -- one SAT call with an assumption;
- *min / max over consistent worlds of a linear function* ``sum_phi c_phi W(phi)`` -- the value of a
  trader's holdings (sec. 5.2, 5.4); it is separable over independent components;
- the consistent worlds *projected* on the sentences being traded, per component (for certified checks).

:class:`KnowledgeBase` keeps an incremental SAT encoding (Tseitin, python-sat) split into independent
components by a union-find over atoms: a sentence joins the components of all its atoms, and each
component has its own solver, so ten thousand unrelated atoms are ten thousand 2-world problems, not
one 2^10000 problem. Brute-force enumeration of 2^atoms lives only in :func:`brute_force_worlds`,
the tested reference.

*Large linked groups.* A component whose projected worlds exceed :data:`MAX_WORLDS_PER_COMPONENT`
(a linked group of 15+ atoms whose sentences are all traded) is not enumerated: it becomes *lazy*
(:class:`LazyComponent`). Its rows are a small working set of consistent worlds -- for every traded
sentence one world where it is true and one where it is false, when such exist, so
:meth:`ProjectedWorlds.decided` stays exact -- and every linear maximisation over it is answered by an
exact oracle, weighted MaxSAT over the component's Tseitin clauses (:func:`max_linear_maxsat`, RC2):
``max_W sum_j c_j W(s_j)`` with one soft unit clause per sentence literal. The maker's certificate
``max_W F.(W - P)`` and the budgets' worst cases are therefore exact over all of PC(D_n), as for
enumerated components; the budgets' Dinkelbach iterations start from the working set and continue with
the oracle until it confirms (column generation, :func:`.market.budget_factors`).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from pysat.examples.rc2 import RC2
from pysat.formula import WCNF
from pysat.solvers import Solver

from aflab.logical_induction.sentences import (
    AND,
    ATOM,
    CONST,
    IFF,
    IMPLIES,
    NOT,
    OR,
    TRUE,
    Sentence,
    evaluate_many,
)

#: enumerate a component's projected worlds only up to this many; beyond it the component is lazy
#: (MaxSAT oracle, see module doc)
MAX_WORLDS_PER_COMPONENT = 1 << 14

#: at most this many component solvers stay alive (least recently used ones are deleted and rebuilt
#: from the component's clauses when needed again), and at most this many components keep cached
#: projected worlds: memory stays bounded however many components the deductive process creates
MAX_LIVE_SOLVERS = 512
MAX_CACHED_COMPONENTS = 1024

#: the component solvers' python-sat back-end. CaDiCaL, not MiniSat: the runs compared gave bit-identical
#: tables (the benchmark's workloads; 48-day pi runs on stretches 30-39) at about the same CPU (24.3 vs 23.7 s
#: on the 240-day audit run), but a MiniSat instance that has served a few enumerations holds ~1.4 MB of C
#: memory (~5 KB for CaDiCaL), so 512 live solvers took ~0.5-0.7 GB of a pi run's resident set that
#: ``tracemalloc`` never saw (``benchmarks/bench_logical_induction.py --only backend``). Solve paths without
#: the oracle can differ in length: the oracle-less mutation test pins MiniSat (test_li_worlds_lazy.py)
SAT_SOLVER = "cadical153"

#: a lazy component's oracle remembers this many (coefficients -> maximising world) answers: the maker
#: asks for the same linear maxima many times while it solves one day
ORACLE_MEMO = 4096


def max_linear_maxsat(clauses: list[list[int]], lits: list[int], coef: np.ndarray) -> np.ndarray:
    """A world maximising ``sum_j coef[j] [lits[j] true]`` subject to the hard ``clauses``: the 0/1 row.

    Weighted MaxSAT (RC2, exact): one soft unit clause per nonzero coefficient, ``[lit]`` for
    ``c > 0`` and ``[-lit]`` for ``c < 0``, weight ``|c|``; the cost of falsified soft clauses is
    ``sum_{c>0} c - max``. Weights are scaled to integers with 52 bits of relative precision, so the
    world is optimal up to ``len(coef) * max|c| * 2^-52`` (float round-off); callers evaluate
    ``coef . row`` in float themselves. ``clauses`` must be satisfiable.
    """
    coef = np.asarray(coef, dtype=float)
    big = float(np.abs(coef).max(initial=0.0))
    wcnf = WCNF()
    for c in clauses:
        wcnf.append(list(c))
    if big > 0:
        scale = 2.0**52 / big
        for lit, c in zip(lits, coef.tolist()):
            w = round(abs(c) * scale)
            if w:
                wcnf.append([lit if c > 0 else -lit], weight=w)
    with RC2(wcnf) as rc2:
        model = rc2.compute()
    if model is None:
        raise ValueError("max_linear_maxsat: the hard clauses are unsatisfiable")
    true = {v for v in model if v > 0}
    return np.array([(abs(v) in true) == (v > 0) for v in lits], dtype=float)


@dataclass(frozen=True)
class LazyComponent:
    """A component too large to enumerate (see module doc): component index ``c``, its sentences'
    columns ``cols`` and ``oracle(coef) -> row``, an exact maximiser of ``coef . W`` over its consistent
    worlds projected on those columns (:func:`max_linear_maxsat`, memoised)."""

    c: int
    cols: np.ndarray
    oracle: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ProjectedWorlds:
    """Consistent worlds restricted to ``sentences``, one block of rows per independent component.

    ``rows[r, j]`` (a sparse CSR matrix) is the truth (0/1) of ``sentences[j]`` in world-row ``r``
    (zero outside the row's component); ``starts[c]`` is the first row of component ``c`` (rows are grouped by component), and
    ``component[j]`` is the component of sentence ``j``. A full consistent world is one row from every
    component, so ``max_W c . W = sum_c max_{r in c} rows[r] . c``.
    """

    sentences: tuple[Sentence, ...]
    rows: sp.csr_matrix  # (R, N) float 0/1
    starts: np.ndarray  # (C,) int, first row of each component
    component: np.ndarray  # (N,) int
    lazy: tuple[LazyComponent, ...] = field(default=())  # components answered by an exact oracle

    @property
    def n_components(self) -> int:
        return len(self.starts)

    def segment_max(self, scores: np.ndarray) -> np.ndarray:
        """Per-component max of ``scores`` (R,) or (R, B) -> (C,) or (C, B)."""
        return np.maximum.reduceat(scores, self.starts, axis=0)

    def max_linear(self, coef: np.ndarray) -> np.ndarray:
        """``max_W sum_j coef[j] W(s_j)`` over consistent worlds; coef (N,) or (N, B) -> scalar or (B,)."""
        if len(self.sentences) == 0:
            return np.zeros(coef.shape[1:]) if coef.ndim > 1 else np.float64(0.0)
        seg = self.segment_max(np.asarray(self.rows @ coef))
        if self.lazy:  # the working set's maximum is only a lower bound: ask the oracle
            seg = seg.astype(float).copy()
            for lz in self.lazy:
                sub = coef[lz.cols]
                if sub.ndim == 1:
                    seg[lz.c] = sub @ lz.oracle(sub)
                else:
                    seg[lz.c] = [sub[:, b] @ lz.oracle(sub[:, b]) for b in range(sub.shape[1])]
        return seg.sum(axis=0)

    def argmax_world(self, coef: np.ndarray) -> np.ndarray:
        """A consistent world (N,) maximising ``coef . W`` (exact on lazy components too)."""
        coef = np.asarray(coef, dtype=float)
        if len(self.sentences) == 0:
            return np.zeros(0)
        best = self.argmax_rows(np.asarray(self.rows @ coef)[:, None])[:, 0]
        W = np.asarray(self.rows[best].sum(axis=0)).ravel()
        for lz in self.lazy:  # a lazy component's rows only touch its own columns: overwrite them
            W[lz.cols] = lz.oracle(coef[lz.cols])
        return W

    def min_linear(self, coef: np.ndarray) -> np.ndarray:
        return -self.max_linear(-coef)

    def argmax_rows(self, scores: np.ndarray) -> np.ndarray:
        """For (R, B) scores, the first maximising row of each component: (C, B) row indices."""
        seg = self.segment_max(scores)
        R = self.rows.shape[0]
        counts = np.diff(np.append(self.starts, R))
        full = np.repeat(seg, counts, axis=0)
        rowidx = np.broadcast_to(np.arange(R)[:, None], scores.shape)
        cand = np.where(scores >= full, rowidx, R)
        return np.minimum.reduceat(cand, self.starts, axis=0)

    def n_worlds_log2(self) -> float:
        """log2 of the number of consistent worlds (a lower bound when some component is lazy: its
        working set is counted)."""
        counts = np.diff(np.append(self.starts, self.rows.shape[0]))
        return float(np.log2(counts).sum())

    def decided(self) -> np.ndarray:
        """Per sentence: 1 if true in every consistent world, 0 if false in every one, -1 if undecided."""
        counts = np.diff(np.append(self.starts, self.rows.shape[0]))
        n_true = np.asarray(self.rows.sum(axis=0)).ravel()
        n_rows = counts[self.component] if len(self.component) else np.zeros(0)
        return np.where(n_true >= n_rows, 1, np.where(n_true <= 0, 0, -1))

    def full_worlds(self, limit: int = 1 << 16) -> np.ndarray:
        """Every consistent world on ``sentences`` (product of components); only for small cases."""
        if self.lazy:
            raise ValueError("full_worlds: a lazy component's worlds are not enumerated")
        counts = np.diff(np.append(self.starts, self.rows.shape[0]))
        if np.prod(counts.astype(float)) > limit:
            raise ValueError(f"{np.prod(counts.astype(float)):.3g} worlds exceed the limit {limit}")
        out = np.zeros((1, len(self.sentences)))
        for c, start in enumerate(self.starts):
            block = self.rows[start : start + counts[c]].toarray()
            out = (out[:, None, :] + block[None, :, :]).reshape(-1, len(self.sentences))
        return out


class KnowledgeBase:
    """Incremental SAT back-end for PC(D_n), split into independent components (see module doc).

    ``force_lazy=True`` answers every (non-constant) component by the MaxSAT oracle instead of
    enumeration (tests compare both on small cases); by default a component is lazy only once its
    projected worlds exceed :data:`MAX_WORLDS_PER_COMPONENT`.
    """

    def __init__(self, solver_name: str | None = None, force_lazy: bool = False):
        self.solver_name = solver_name or SAT_SOLVER
        self.force_lazy = force_lazy
        self._lazy_roots: set[str] = set()  # components that overflowed enumeration once: lazy from then on
        self._parent: dict[str, str] = {}  # union-find over atom names
        self._clauses: dict[str, list[list[int]]] = {}  # root -> clauses
        self._has_facts: dict[str, bool] = {}
        self._version: dict[str, int] = {}
        # root -> the component's live solver, which numbers its variables LOCALLY (1..n): a SAT solver's
        # solve / get_model cost grows with the solver's variable count, so a component solver must
        # not see the global numbering (which grows with every sentence ever registered)
        self._solvers: OrderedDict[str, _ComponentSolver] = OrderedDict()
        self._var: dict[int, int] = {}  # sentence uid -> global SAT literal
        self._atom_var: dict[str, int] = {}
        self._next_var = 1
        # root -> (version, {sentence uids: projected worlds}); only the current version is kept
        self._cache: OrderedDict[str, tuple[int, dict]] = OrderedDict()
        self.facts: list[Sentence] = []
        self._true_var = self._new_var()

    # -- union-find -----------------------------------------------------------------------------
    def _find(self, a: str) -> str:
        root = a
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[a] != root:
            self._parent[a], a = root, self._parent[a]
        return root

    def _add_atom(self, name: str) -> None:
        if name not in self._parent:
            self._parent[name] = name
            self._clauses[name] = []
            self._has_facts[name] = False
            self._version[name] = 0

    def _union(self, names) -> str | None:
        roots = sorted({self._find(n) for n in names})
        if not roots:
            return None
        keep = max(roots, key=lambda r: len(self._clauses[r]))
        for r in roots:
            if r == keep:
                continue
            self._parent[r] = keep
            self._clauses[keep].extend(self._clauses.pop(r))
            self._has_facts[keep] |= self._has_facts.pop(r)
            self._version[keep] += self._version.pop(r) + 1
            self._drop_solver(r)
            self._cache.pop(r, None)
            if r in self._lazy_roots:
                self._lazy_roots.discard(r)
                self._lazy_roots.add(keep)
        if len(roots) > 1:
            self._drop_solver(keep)
        return keep

    def _drop_solver(self, root: str) -> None:
        cs = self._solvers.pop(root, None)
        if cs is not None:
            cs.solver.delete()

    def _new_var(self) -> int:
        v = self._next_var
        self._next_var += 1
        return v

    # -- Tseitin encoding --------------------------------------------------------------------------
    def _encode(self, s: Sentence, root: str | None) -> int:
        v = self._var.get(s.uid)
        if v is not None:
            return v
        if s.kind == CONST:
            v = self._true_var if s is TRUE else -self._true_var
            self._var[s.uid] = v
            return v
        if s.kind == ATOM:
            v = self._atom_var.get(s.name)
            if v is None:
                v = self._atom_var[s.name] = self._new_var()
            self._var[s.uid] = v
            return v
        kids = [self._encode(a, root) for a in s.args]
        if s.kind == NOT:
            self._var[s.uid] = -kids[0]
            return -kids[0]
        v = self._new_var()
        cl: list[list[int]] = []
        if s.kind == AND:
            cl += [[-v, k] for k in kids] + [[v] + [-k for k in kids]]
        elif s.kind == OR:
            cl += [[v, -k] for k in kids] + [[-v] + list(kids)]
        elif s.kind == IMPLIES:
            a, b = kids
            cl += [[-v, -a, b], [v, a], [v, -b]]
        elif s.kind == IFF:
            a, b = kids
            cl += [[-v, -a, b], [-v, a, -b], [v, a, b], [v, -a, -b]]
        self._clauses[root].extend(cl)
        cs = self._solvers.get(root)
        if cs is not None:
            for c in cl:
                cs.add_clause(c)
        self._var[s.uid] = v
        return v

    def register(self, s: Sentence) -> str | None:
        """Make ``s`` known to the back-end (joins its atoms' components); returns its component root."""
        for a in s.atoms:
            self._add_atom(a)
        root = self._union(s.atoms)
        if root is not None:
            self._encode(s, root)
        return root

    def component_of(self, s: Sentence) -> str | None:
        return self.register(s)

    # -- facts -------------------------------------------------------------------------------------
    def add_fact(self, s: Sentence) -> None:
        """Add a revealed sentence to D (it is now true in every consistent world)."""
        root = self.register(s)
        self.facts.append(s)
        if root is None:  # constant
            if s is not TRUE:
                raise ValueError(f"deductive process revealed a false constant: {s}")
            return
        v = self._var[s.uid]
        self._clauses[root].append([v])
        self._has_facts[root] = True
        self._version[root] += 1
        self._cache.pop(root, None)
        cs = self._solvers.get(root)
        if cs is not None:
            cs.add_clause([v])
        if not self._solver(root).solver.solve():
            raise ValueError(f"deductive process became inconsistent after revealing {s}")

    def _solver(self, root: str) -> _ComponentSolver:
        cs = self._solvers.get(root)
        if cs is None:
            cs = _ComponentSolver(self.solver_name, self._clauses[root] + [[self._true_var]])
            self._solvers[root] = cs
            while len(self._solvers) > MAX_LIVE_SOLVERS:
                _, old = self._solvers.popitem(last=False)
                old.solver.delete()
        else:
            self._solvers.move_to_end(root)
        return cs

    def truth(self, s: Sentence) -> int | None:
        """1 if D_n proves s propositionally, 0 if it refutes it, None if undecided."""
        root = self.register(s)
        if root is None:
            return 1 if s is TRUE else 0
        cs = self._solver(root)
        v = cs.lit(self._var[s.uid])
        can_true = cs.solver.solve(assumptions=[v])
        can_false = cs.solver.solve(assumptions=[-v])
        if can_true and can_false:
            return None
        return 1 if can_true else 0

    # -- projected worlds -------------------------------------------------------------------------
    def project(self, sentences) -> ProjectedWorlds:
        """Consistent worlds on ``sentences``, per independent component (cached per KB version)."""
        sentences = tuple(sentences)
        roots = [self.register(s) for s in sentences]
        roots = [self._find(r) if r is not None else "" for r in roots]  # registration may merge
        order = sorted(range(len(sentences)), key=lambda j: roots[j])
        groups: dict[str, list[int]] = {}
        for j in order:
            groups.setdefault(roots[j], []).append(j)
        ri, ci, starts, comp = [], [], [], np.zeros(len(sentences), dtype=np.int64)
        nrows, lazy = 0, []
        for c, (root, idx) in enumerate(groups.items()):
            w = self._component_worlds(root, [sentences[j] for j in idx])
            if isinstance(w, tuple):  # lazy: (working set, oracle)
                w, oracle = w
                lazy.append(LazyComponent(c, np.asarray(idx, dtype=np.int64), oracle))
            r, k = np.nonzero(w)
            ri.append(r + nrows)
            ci.append(np.asarray(idx, dtype=np.int64)[k])
            starts.append(nrows)
            nrows += len(w)
            comp[idx] = c
        r = np.concatenate(ri) if ri else np.zeros(0, dtype=np.int64)
        cc = np.concatenate(ci) if ci else np.zeros(0, dtype=np.int64)
        rows = sp.csr_matrix((np.ones(len(r)), (r, cc)), shape=(nrows, len(sentences)))
        return ProjectedWorlds(sentences, rows, np.asarray(starts, dtype=np.int64), comp, tuple(lazy))

    def _component_worlds(self, root: str, sub: list[Sentence]):
        """The component's projected worlds (enumerated), or ``(working set, oracle)`` when it is lazy;
        cached per component version."""
        if root == "":  # constants only
            return np.array([[1.0 if s is TRUE else 0.0 for s in sub]])
        version, key = self._version[root], tuple(s.uid for s in sub)
        entry = self._cache.get(root)
        if entry is None or entry[0] != version:  # stale versions are dropped, not kept forever
            entry = self._cache[root] = (version, {})
        else:
            self._cache.move_to_end(root)
        hit = entry[1].get(key)
        if hit is not None:
            return hit
        atoms = sorted(frozenset().union(*(s.atoms for s in sub)))
        if self.force_lazy or root in self._lazy_roots:
            w = self._lazy_worlds(root, sub)
        elif not self._has_facts[root] and len(atoms) <= 10:
            # no facts: every assignment of the atoms is consistent (no search needed)
            grid = np.array(list(itertools.product((False, True), repeat=len(atoms))), dtype=bool)
            cols = {a: grid[:, i] for i, a in enumerate(atoms)}
            memo: dict = {}
            w = np.stack([evaluate_many(s, cols, memo) for s in sub], axis=1).astype(float)
            w = np.unique(w, axis=0)
        else:
            w = self._enumerate_sat(root, sub)
            if w is None:  # too many worlds: lazy from now on
                self._lazy_roots.add(root)
                w = self._lazy_worlds(root, sub)
        entry[1][key] = w
        while len(self._cache) > MAX_CACHED_COMPONENTS:
            self._cache.popitem(last=False)
        return w

    def _enumerate_sat(self, root: str, sub: list[Sentence]) -> np.ndarray:
        cs = self._solver(root)
        sol = cs.solver
        lits = [cs.lit(self._var[s.uid]) for s in sub]  # local literals
        idx = np.array([abs(v) - 1 for v in lits], dtype=np.int64)
        pos = np.array([v > 0 for v in lits], dtype=bool)
        act = cs.new_local()  # local activation literal for temporary blocking clauses
        out = []
        while sol.solve(assumptions=[act]):
            model = sol.get_model()
            # only the needed literals: model[v - 1] is local variable v (missing: unassigned, False)
            if len(model) > int(idx.max(initial=-1)):
                val = np.take(model, idx) > 0
            else:
                val = np.array([model[i] > 0 if i < len(model) else False for i in idx], dtype=bool)
            row = val == pos
            out.append(row)
            if len(out) > MAX_WORLDS_PER_COMPONENT:
                break
            sol.add_clause([-act] + [(-v if r else v) for v, r in zip(lits, row.tolist())])
        sol.add_clause([-act])
        cs.dead += 1
        if cs.dead > max(64, cs.n_vars - cs.dead):  # mostly retired activation variables: rebuild lean
            self._drop_solver(root)
        if len(out) > MAX_WORLDS_PER_COMPONENT:
            return None
        return np.array(out, dtype=float).reshape(-1, len(sub))

    def _lazy_worlds(self, root: str, sub: list[Sentence]) -> tuple[np.ndarray, Callable]:
        """A lazy component (module doc): the working set -- for each sentence of ``sub`` a consistent
        world where it is true and one where it is false, if any (2 SAT calls per sentence, so
        ``decided`` stays exact) -- and the exact MaxSAT oracle over the component's clauses."""
        cs = self._solver(root)
        lits = [cs.lit(self._var[s.uid]) for s in sub]
        rows = []
        for v in lits:
            for a in (v, -v):
                if cs.solver.solve(assumptions=[a]):
                    true = {x for x in cs.solver.get_model() if x > 0}
                    rows.append([(abs(u) in true) == (u > 0) for u in lits])
        w = np.unique(np.array(rows, dtype=float).reshape(-1, len(sub)), axis=0)
        clauses = [cs.clause(c) for c in self._clauses[root]] + [[cs.lit(self._true_var)]]
        return w, _memoised_oracle(clauses, lits)


def _memoised_oracle(clauses: list[list[int]], lits: list[int]) -> Callable[[np.ndarray], np.ndarray]:
    """``coef -> max_linear_maxsat(clauses, lits, coef)``, remembering the last :data:`ORACLE_MEMO` answers."""
    memo: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def oracle(coef: np.ndarray) -> np.ndarray:
        coef = np.ascontiguousarray(coef, dtype=float)
        key = coef.tobytes()
        row = memo.get(key)
        if row is None:
            row = memo[key] = max_linear_maxsat(clauses, lits, coef)
            while len(memo) > ORACLE_MEMO:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        return row

    return oracle


class _ComponentSolver:
    """One component's SAT solver with its own local variable numbering ``1..n_vars`` (global variable
    ids are mapped on the way in; the map grows only with the component's own variables)."""

    __slots__ = ("dead", "local", "n_vars", "solver")

    def __init__(self, solver_name: str, clauses: list[list[int]]):
        self.local: dict[int, int] = {}
        self.n_vars = 0
        self.dead = 0  # activation variables retired by enumerations (fixed false)
        for g in sorted({abs(x) for c in clauses for x in c}):  # keep the global variables' order
            self.lit(g)
        self.solver = Solver(name=solver_name, bootstrap_with=[self.clause(c) for c in clauses])

    def lit(self, g: int) -> int:
        """The local literal of global literal ``g`` (a new local variable the first time)."""
        v = self.local.get(abs(g))
        if v is None:
            self.n_vars += 1
            v = self.local[abs(g)] = self.n_vars
        return v if g > 0 else -v

    def clause(self, c) -> list[int]:
        return [self.lit(g) for g in c]

    def add_clause(self, c) -> None:
        self.solver.add_clause(self.clause(c))

    def new_local(self) -> int:
        """A fresh local variable that no global variable maps to."""
        self.n_vars += 1
        return self.n_vars


def brute_force_worlds(facts, sentences) -> np.ndarray:
    """Reference: enumerate all 2^atoms assignments, keep those satisfying ``facts``, project, dedupe."""
    facts, sentences = list(facts), list(sentences)
    atoms = sorted(frozenset().union(*(s.atoms for s in facts + sentences)) if facts + sentences else ())
    if len(atoms) > 20:
        raise ValueError(f"brute force over {len(atoms)} atoms is too large (limit 20)")
    grid = np.array(list(itertools.product((False, True), repeat=len(atoms))), dtype=bool).reshape(-1, len(atoms))
    cols = {a: grid[:, i] for i, a in enumerate(atoms)}
    memo: dict = {}
    ok = np.ones(len(grid), dtype=bool)
    for f in facts:
        ok &= evaluate_many(f, cols, memo) if atoms else np.array([f is TRUE])
    if not sentences:
        return np.zeros((int(ok.any()), 0))
    w = np.stack([evaluate_many(s, cols, memo) if atoms else np.array([s is TRUE]) for s in sentences], axis=1)
    return np.unique(w[ok].astype(float), axis=0)
