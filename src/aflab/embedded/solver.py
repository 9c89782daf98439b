"""Solving finite systems of modal equations  p_i <-> A_i(p_1, ..., p_k)  on the linear frame.

Modal agents that refer to each other give such a system (Barasz et al. 2014, sec. 3: "the outcome of
a modal combat is the solution of a system of modal fixed-point equations"). If every dependency of
one variable on another that is *not* under a box is acyclic, the system has a unique letterless
solution (de Jongh–Sambin / Bernardi–Smoryński for systems: substitute the unboxed dependencies and
the system becomes fully modalized), and its truth value in the standard model is what the agents
actually do.

Two independent procedures:

1. :func:`solve_linear` -- vectorised evaluation on the linear frame 0 < 1 < 2 < ...: at world n every
   ``[] a`` is "a held at all worlds m < n", so worlds are computed one after another from box
   accumulators. The whole system is compiled once into layers of NumPy index arrays (one gather +
   one elementwise op per layer and operator), so a round-robin of thousands of pairs is one loop
   over worlds. Box accumulators only ever switch from true to false, so once a world changes none of
   them, every later world is identical: the values have *stabilised* (after at most #boxes + 1
   worlds), and the stable values are the standard-model truth values.
2. :func:`tableau_confirms` -- the GL tableau proves, with no reference to the linear frame,
   ``[.](AND_i (p_i <-> A_i)) & ~[]^d F -> (p_j or ~p_j)``. By uniqueness of the solution s this is
   valid iff s_j has that value at every world of height >= d, i.e. iff the claimed value is the
   standard-model value and d a correct stabilisation rank. It is a certificate check: a wrong value
   or a wrong rank from the linear solver makes the formula invalid (the tableau then has a
   countermodel).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from aflab.embedded.formula import (
    BOT,
    And,
    Atom,
    Formula,
    Iff,
    Implies,
    Not,
    atoms,
    box_power,
    desugar,
    strong_box,
    subformulas,
)
from aflab.embedded.tableau import TableauBudgetExceeded, decide

_OPS = ("not", "and", "or", "alias")


@dataclass(frozen=True)
class ModalSystem:
    """Equations ``var <-> formula``; every atom must be one of the vars (a closed system)."""

    equations: tuple[tuple[str, Formula], ...]

    @staticmethod
    def of(eqs: Mapping[str, Formula] | Iterable[tuple[str, Formula]]) -> ModalSystem:
        items = tuple(eqs.items()) if isinstance(eqs, Mapping) else tuple(eqs)
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("equations: a variable is defined twice")
        return ModalSystem(items)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.equations)

    def as_dict(self) -> dict[str, Formula]:
        return dict(self.equations)

    def closure(self, roots: Iterable[str]) -> ModalSystem:
        """The sub-system of the equations the given variables depend on (transitively)."""
        defs = self.as_dict()
        keep, stack = set(), list(roots)
        while stack:
            v = stack.pop()
            if v in keep:
                continue
            if v not in defs:
                raise ValueError(f"unknown variable {v!r}")
            keep.add(v)
            stack.extend(atoms(defs[v]) - keep)
        return ModalSystem(tuple((n, f) for n, f in self.equations if n in keep))


@dataclass(frozen=True)
class LinearSolution:
    """Per-variable truth values on the linear frame; ``history[n, i]`` = var i at world n."""

    variables: tuple[str, ...]
    history: np.ndarray
    stable_rank: int

    @property
    def values(self) -> dict[str, bool]:
        """Standard-model truth value of every variable (the stabilised values)."""
        return {v: bool(x) for v, x in zip(self.variables, self.history[-1])}

    def value(self, var: str) -> bool:
        return bool(self.history[-1, self.variables.index(var)])

    def rank_of(self, var: str) -> int:
        """First world from which ``var`` keeps its final value (its letterless solution's rank)."""
        col = self.history[:, self.variables.index(var)]
        changed = np.flatnonzero(col != col[-1])
        return int(changed[-1]) + 1 if len(changed) else 0


@dataclass(frozen=True)
class _Circuit:
    n_nodes: int
    var_nodes: np.ndarray  # node id of each variable's atom
    consts_true: np.ndarray  # node ids that are constant T
    box_nodes: np.ndarray  # node ids of boxes
    box_args: np.ndarray  # node ids of their operands
    layers: tuple[tuple[tuple[str, np.ndarray, np.ndarray, np.ndarray], ...], ...]


def _layer_depths(nodes: list[Formula], deps: list[tuple[int, ...]]) -> np.ndarray:
    """Depth of each node in the within-world dependency graph (iterative DFS); ValueError naming the
    variables of an unboxed cycle (a non-modalized system)."""
    depth = np.full(len(nodes), -1, dtype=np.int64)
    state = np.zeros(len(nodes), dtype=np.int8)  # 0 new, 1 on stack, 2 done
    for start in range(len(nodes)):
        if state[start] == 2:
            continue
        stack = [(start, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
            ds = deps[node]
            if i < len(ds):
                stack.append((node, i + 1))
                child = ds[i]
                if state[child] == 1:
                    cyc = [nodes[n].name for n, _ in stack if nodes[n].op == "atom"]
                    raise ValueError(
                        f"system is not modalized: variables {cyc} depend on each other "
                        "without a box in between; put the reference under [] (e.g. "
                        "'[] them' instead of 'them')"
                    )
                if state[child] == 0:
                    stack.append((child, 0))
                continue
            depth[node] = 1 + max((depth[c] for c in ds), default=-1)
            state[node] = 2
    return depth


def compile_system(system: ModalSystem) -> _Circuit:
    """Number the desugared subformula DAG and sort non-box nodes into dependency layers.

    Raises ValueError naming the variables of an unboxed cycle (a non-modalized system).
    """
    defs = {v: desugar(f) for v, f in system.equations}
    ids: dict[Formula, int] = {}
    for v in defs:
        ids.setdefault(Atom(v), len(ids))
    for f in defs.values():
        for node in subformulas(f):
            if node not in ids:
                ids[node] = len(ids)
            if node.op == "atom" and node.name not in defs:
                raise ValueError(
                    f"atom {node.name!r} is used but never defined; every atom of a "
                    f"modal system must have an equation (known: {sorted(defs)[:8]}...)"
                )
    nodes = list(ids)
    # within-world dependencies (boxes and constants are sources)
    deps: list[tuple[int, ...]] = []
    for node in nodes:
        if node.op == "atom":
            deps.append((ids[defs[node.name]],))
        elif node.op in ("not", "and", "or"):
            deps.append(tuple(ids[a] for a in node.args))
        else:
            deps.append(())
    depth = _layer_depths(nodes, deps)
    by_layer: dict[int, dict[str, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
    consts_true, box_nodes, box_args = [], [], []
    for node, k in ids.items():
        op = node.op
        if op == "top":
            consts_true.append(k)
        elif op == "box":
            box_nodes.append(k)
            box_args.append(ids[node.args[0]])
        elif op == "atom":
            src = ids[defs[node.name]]
            by_layer[int(depth[k])]["alias"].append((k, src, src))
        elif op == "not":
            a = ids[node.args[0]]
            by_layer[int(depth[k])]["not"].append((k, a, a))
        elif op in ("and", "or"):
            by_layer[int(depth[k])][op].append((k, ids[node.args[0]], ids[node.args[1]]))
    layers = []
    for lvl in sorted(by_layer):
        groups = []
        for op, rows in by_layer[lvl].items():
            arr = np.asarray(rows, dtype=np.int64)
            groups.append((op, arr[:, 0], arr[:, 1], arr[:, 2]))
        layers.append(tuple(groups))
    var_nodes = np.asarray([ids[Atom(v)] for v in defs], dtype=np.int64)
    return _Circuit(
        len(nodes),
        var_nodes,
        np.asarray(consts_true, dtype=np.int64),
        np.asarray(box_nodes, dtype=np.int64),
        np.asarray(box_args, dtype=np.int64),
        tuple(layers),
    )


def _run_circuit(c: _Circuit, max_worlds: int, base_boxes: bool = True) -> tuple[np.ndarray, int]:
    vals = np.zeros(c.n_nodes, dtype=bool)
    vals[c.consts_true] = True
    # at world 0 every box is vacuously true (no world below: GL frames are well founded, which is
    # where Löb's theorem comes from); ``base_boxes=False`` is a deliberately broken frame
    acc = np.full(len(c.box_nodes), base_boxes, dtype=bool)
    history = []
    for world in range(max_worlds):
        vals[c.box_nodes] = acc
        for groups in c.layers:
            for op, out, a, b in groups:
                if op == "alias":
                    vals[out] = vals[a]
                elif op == "not":
                    vals[out] = ~vals[a]
                elif op == "and":
                    vals[out] = vals[a] & vals[b]
                else:
                    vals[out] = vals[a] | vals[b]
        history.append(vals[c.var_nodes].copy())
        new_acc = acc & vals[c.box_args]
        if (new_acc == acc).all():
            return np.asarray(history), world
        acc = new_acc
    raise RuntimeError(f"no stabilisation within {max_worlds} worlds")  # pragma: no cover


def solve_linear(system: ModalSystem, base_boxes: bool = True) -> LinearSolution:
    """Evaluate the system world by world on the linear frame until the boxes stop changing.

    ``base_boxes=False`` is a counterfactual, not GL: every box starts *false* at the bottom world
    ("no proof is ever found"), which removes the Löbian step and gives the least fixed point.
    """
    circuit = compile_system(system)
    history, rank = _run_circuit(circuit, max_worlds=len(circuit.box_nodes) + 2, base_boxes=base_boxes)
    return LinearSolution(system.variables, history, rank)


def confirmation_formula(
    system: ModalSystem, var: str | Mapping[str, bool], value: bool = True, rank: int = 0
) -> Formula:
    """``[.](AND (p_i <-> A_i)) & ~[]^rank F -> goal`` over the closure of the goal's variables.

    ``goal`` is ``p_var`` (or ``~p_var`` when ``value`` is False); pass a mapping ``{var: value}`` as
    ``var`` to confirm several values at once (the goal is then the conjunction of the literals).
    """
    claimed = dict(var) if isinstance(var, Mapping) else {var: value}
    sub = system.closure(claimed)
    eqs = And(*(Iff(Atom(v), f) for v, f in sub.equations))
    goal = And(*(Atom(v) if val else Not(Atom(v)) for v, val in claimed.items()))
    hyp = strong_box(eqs)
    if rank > 0:
        hyp = And(hyp, Not(box_power(BOT, rank)))
    return Implies(hyp, goal)


def tableau_confirms(
    system: ModalSystem,
    var: str | Mapping[str, bool],
    value: bool = True,
    rank: int = 0,
    max_sequents: int = 2_000_000,
    prover: str = "tableau",
) -> bool:
    """GL check of the linear solver's answer (independent of the linear frame code): ``prover`` is the
    tableau (:mod:`aflab.embedded.tableau`, the slow reference) or ``sat`` (:mod:`aflab.embedded.glsat`,
    whose budget ``max_sequents`` counts SAT calls)."""
    f = confirmation_formula(system, var, value, rank)
    if prover == "sat":
        from aflab.embedded.glsat import valid

        return valid(f, max_calls=max_sequents)
    if prover != "tableau":
        raise ValueError(f"prover must be 'sat' or 'tableau', got {prover!r}")
    return decide(f, max_sequents=max_sequents).valid


def cross_check(
    system: ModalSystem,
    solution: LinearSolution,
    variables: Iterable[str],
    max_sequents: int | None = None,
    prover: str = "sat",
) -> bool | None:
    """Certify the solver's standard-model values of ``variables`` with one GL proof.

    Returns True (certified), False (the prover refutes the solver), or None when ``max_sequents`` is
    given and the prover needs more than that (GL validity is PSPACE-complete, so some systems are out of
    reach of any budget). ``prover``: ``sat`` (default, :mod:`aflab.embedded.glsat`) or ``tableau``.
    """
    variables = list(variables)
    claimed = {v: solution.value(v) for v in variables}
    rank = max((solution.rank_of(v) for v in variables), default=0)
    try:
        return tableau_confirms(
            system, claimed, True, rank, 2_000_000 if max_sequents is None else max_sequents, prover
        )
    except TableauBudgetExceeded:
        if max_sequents is None:
            raise
        return None
