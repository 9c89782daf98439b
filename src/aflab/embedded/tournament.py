"""Round-robin tournaments between modal agents and replicator dynamics over the population.

A round robin plays every ordered pair (including self-play) once. Each agent's formula is compiled
once into a template circuit (:func:`compile_template`); the whole round robin is solved by stamping
every template out for all opponents with index arithmetic and running all matches world by world on
the linear frame together (:func:`solve_all_pairs`): no per-match Python. (:func:`solve_matches`, the
earlier per-block method that closes over the referenced pairs in Python, is kept as the benchmark's
baseline.) ``cross_check=True`` certifies each outcome with the GL SAT procedure under budgets.

Replicator dynamics (Taylor & Jonker 1978; Hofbauer & Sigmund 1998, ch. 7) on the payoff matrix P
(P[i, j] = payoff of type i against type j):

    dx_i/dt = x_i ((P x)_i - x . P x),

integrated with explicit Euler steps and renormalisation, for a batch of initial populations at
once (rows of X; one matrix product per step).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aflab.embedded.agents import _REF_RE, ModalAgent, Payoffs, combat_system, coop_var
from aflab.embedded.formula import desugar, subformulas
from aflab.embedded.glsat import valid
from aflab.embedded.solver import _Circuit, _run_circuit, confirmation_formula
from aflab.embedded.tableau import TableauBudgetExceeded


@dataclass(frozen=True)
class AgentTemplate:
    """An agent's desugared formula compiled once, to be stamped out for every opponent.

    Modal agents are modalized, so their atoms (references to matches) occur only under boxes.
    Within a world the *outer* nodes (not under a box) need only box values; the *inner* nodes
    (box operands) need the matches' values of this world. Layers: outer first, inner after.
    """

    size: int
    root: int
    ops: tuple[tuple[int, int, str, np.ndarray, np.ndarray, np.ndarray], ...]  # (phase, layer, op, out, a, b)
    boxes: np.ndarray
    box_args: np.ndarray
    tops: np.ndarray
    atom_nodes: np.ndarray
    atom_refs: tuple[tuple[str, str | None], ...]  # (them|me, target or None)
    n_outer_layers: int


def compile_template(agent: ModalAgent) -> AgentTemplate:
    f = desugar(agent.formula)
    nodes = subformulas(f)
    ids = {n: k for k, n in enumerate(nodes)}
    # nodes reachable from the root without entering a box
    outer, stack = set(), [f]
    while stack:
        g = stack.pop()
        if g in outer:
            continue
        outer.add(g)
        if g.op != "box":
            stack.extend(g.args)
    out_depth: dict = {}
    in_depth: dict = {}
    for g in nodes:  # children first
        src = g.op in ("box", "top", "bot")
        if g in outer:
            out_depth[g] = -1 if src else 1 + max((out_depth[c] for c in g.args), default=-1)
        if g.op == "atom":
            in_depth[g] = 0
        else:
            in_depth[g] = -1 if src else 1 + max((in_depth[c] for c in g.args), default=-1)
    n_outer = 1 + max(out_depth.values(), default=-1)
    groups: dict[tuple[int, int, str], list[tuple[int, int, int]]] = {}
    for g in nodes:
        if g.op in ("box", "top", "bot"):
            continue
        k = ids[g]
        op = "alias" if g.op == "atom" else g.op
        row = (k, ids[g.args[0]] if g.args else k, ids[g.args[-1]] if g.args else k)
        if g in outer:
            groups.setdefault((0, out_depth[g], op), []).append(row)
        else:
            groups.setdefault((1, in_depth[g], op), []).append(row)
    ops = tuple(
        (phase, layer, op, *(np.asarray(col, dtype=np.int64) for col in zip(*rows)))
        for (phase, layer, op), rows in sorted(groups.items())
    )
    atoms_ = [g for g in nodes if g.op == "atom"]
    return AgentTemplate(
        size=len(nodes),
        root=ids[f],
        ops=ops,
        boxes=np.asarray([ids[g] for g in nodes if g.op == "box"], dtype=np.int64),
        box_args=np.asarray([ids[g.args[0]] for g in nodes if g.op == "box"], dtype=np.int64),
        tops=np.asarray([ids[g] for g in nodes if g.op == "top"], dtype=np.int64),
        atom_nodes=np.asarray([ids[g] for g in atoms_], dtype=np.int64),
        atom_refs=tuple(_REF_RE.match(g.name).groups() for g in atoms_),
        n_outer_layers=n_outer,
    )


def _pair_closure(pairs: Sequence[tuple[str, str]], library: Mapping[str, ModalAgent]) -> list[tuple[str, str]]:
    """Every (agent, opponent) match that the given matches refer to, transitively."""
    refs = {n: a.references() for n, a in library.items()}
    seen: dict[tuple[str, str], None] = {}
    stack = [q for a, b in pairs for q in ((a, b), (b, a))]
    while stack:
        a, b = stack.pop()
        if (a, b) in seen:
            continue
        if a not in library:
            raise ValueError(f"unknown agent {a!r}; known agents: {', '.join(sorted(library))}")
        seen[(a, b)] = None
        stack.extend([(b, a)] + [(b, x) for x in refs[a]] + [(a, x) for x in refs[a]])
    return list(seen)


def solve_matches(
    pairs: Sequence[tuple[str, str]], library: Mapping[str, ModalAgent], templates: dict | None = None
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Vectorised linear-frame solution of many matches at once.

    Each agent's template is stamped out for all its matches with index arithmetic (no per-pair
    formula building). Returns the closure's match list and the history array (worlds, matches).
    """
    templates = {} if templates is None else templates
    closure = _pair_closure(pairs, library)
    index = {q: k for k, q in enumerate(closure)}
    by_agent: dict[str, list[int]] = {}
    for k, (a, _) in enumerate(closure):
        by_agent.setdefault(a, []).append(k)
    for a in by_agent:
        if a not in templates:
            templates[a] = compile_template(library[a])
    sizes = np.asarray([templates[a].size for a, _ in closure], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    roots = offsets + np.asarray([templates[a].root for a, _ in closure], dtype=np.int64)
    groups: dict[tuple[int, str], list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    boxes, box_args, tops = [], [], []
    # all outer layers of every template run before any inner layer (inner nodes read match values)
    n_outer = max(templates[a].n_outer_layers for a in by_agent)
    for a, ks in by_agent.items():
        t = templates[a]
        off = offsets[ks][:, None]
        boxes.append((off + t.boxes[None, :]).ravel())
        box_args.append((off + t.box_args[None, :]).ravel())
        tops.append((off + t.tops[None, :]).ravel())
        alias_src = None
        if len(t.atom_nodes):
            src = np.empty((len(ks), len(t.atom_nodes)), dtype=np.int64)
            for r, k in enumerate(ks):
                me, opp = closure[k]
                for c, (who, target) in enumerate(t.atom_refs):
                    ref = (opp, target or me) if who == "them" else (me, target or opp)
                    src[r, c] = roots[index[ref]]
            alias_src = {int(n): src[:, c] for c, n in enumerate(t.atom_nodes)}
        for phase, layer, op, out, x, y in t.ops:
            layer = layer if phase == 0 else n_outer + layer
            o = (off + out[None, :]).ravel()
            if op == "alias":
                xs = np.stack([alias_src[int(n)] for n in out], axis=1).ravel()
                groups.setdefault((layer, op), []).append((o, xs, xs))
            else:
                groups.setdefault((layer, op), []).append((o, (off + x[None, :]).ravel(), (off + y[None, :]).ravel()))
    layers: dict[int, list] = {}
    for (layer, op), parts in sorted(groups.items()):
        layers.setdefault(layer, []).append((op, *(np.concatenate(c) for c in zip(*parts))))
    circuit = _Circuit(
        int(sizes.sum()),
        roots,
        np.concatenate(tops),
        np.concatenate(boxes),
        np.concatenate(box_args),
        tuple(tuple(v) for _, v in sorted(layers.items())),
    )
    history, _ = _run_circuit(circuit, max_worlds=len(circuit.box_nodes) + 2)
    return closure, history


def reference_closure(names: Sequence[str], library: Mapping[str, ModalAgent]) -> list[str]:
    """``names`` (in order, first) followed by every agent they refer to (``them(X)``, ``me(X)``), transitively."""
    out = list(dict.fromkeys(names))
    seen, k = set(out), 0
    while k < len(out):
        a = out[k]
        if a not in library:
            raise ValueError(f"unknown agent {a!r}; known agents: {', '.join(sorted(library)[:12])}...")
        for x in sorted(library[a].references() - seen):
            seen.add(x)
            out.append(x)
        k += 1
    return out


def solve_all_pairs(
    agents: Sequence[str], library: Mapping[str, ModalAgent], templates: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of ``agents`` (closed under references) solved at once on the linear frame.

    Agent a's template is stamped out for all m opponents with one broadcast per operator group: node t of
    match (a, b) sits at ``base[a] + b * size[a] + t``, so a reference ``them(X)`` in (a, b) is the root of
    match (b, X) at ``base[b] + X * size[b] + root[b]`` -- index arithmetic on arrays over b, no per-match
    Python. Returns ``history`` (worlds x m x m; ``[w, a, b]`` = a cooperates with b at world w) and the
    agent order (``agents`` must already be closed: see :func:`reference_closure`).
    """
    templates = {} if templates is None else templates
    m = len(agents)
    pos = {a: i for i, a in enumerate(agents)}
    tpl = [templates.setdefault(a, compile_template(library[a])) for a in agents]
    size = np.asarray([t.size for t in tpl], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(size * m)[:-1]]).astype(np.int64)
    rootpos = np.asarray([t.root for t in tpl], dtype=np.int64)
    opp = np.arange(m, dtype=np.int64)
    n_outer = max(t.n_outer_layers for t in tpl)
    groups: dict[tuple[int, str], list] = {}
    boxes, box_args, tops = [], [], []
    for a, t in enumerate(tpl):
        # where node t of match (a, b) lives, for every b; an atom is read straight from the root of the
        # match it names (no copy node): them -> (b, X or a), me -> (a, X or b)
        where = base[a] + opp[:, None] * size[a] + np.arange(size[a])[None, :]
        for node, (who, target) in zip(t.atom_nodes, t.atom_refs):
            x = pos[target] if target else None
            if who == "them":
                where[:, node] = base + (a if x is None else x) * size + rootpos
            else:
                where[:, node] = base[a] + (opp if x is None else np.full(m, x)) * size[a] + rootpos[a]
        boxes.append(where[:, t.boxes].ravel())
        box_args.append(where[:, t.box_args].ravel())
        tops.append(where[:, t.tops].ravel())
        for phase, layer, op, out, x, y in t.ops:
            if op == "alias":
                continue
            key = (layer if phase == 0 else n_outer + layer, op)
            groups.setdefault(key, []).append((where[:, out].ravel(), where[:, x].ravel(), where[:, y].ravel()))
    layers: dict[int, list] = {}
    for (layer, op), parts in sorted(groups.items()):
        layers.setdefault(layer, []).append((op, *(np.concatenate(c) for c in zip(*parts))))
    roots = (base[:, None] + opp[None, :] * size[:, None] + rootpos[:, None]).ravel()
    circuit = _Circuit(
        int((size * m).sum()),
        roots,
        np.concatenate(tops),
        np.concatenate(boxes),
        np.concatenate(box_args),
        tuple(tuple(v) for _, v in sorted(layers.items())),
    )
    history, _ = _run_circuit(circuit, max_worlds=len(circuit.box_nodes) + 2)
    return history.reshape(-1, m, m)


#: codes of ``TournamentResult.certificates``
NOT_RUN, UNCHECKED, REFUTED, CERTIFIED = -2, -1, 0, 1
CERTIFICATE_NAMES = {NOT_RUN: "not run", UNCHECKED: "unchecked", REFUTED: "disagrees", CERTIFIED: "agrees"}


@dataclass(frozen=True)
class TournamentResult:
    """``cooperates[i, j]``: agent i cooperates with agent j; ``payoff[i, j]``: i's payoff vs j;
    ``certificates[i, j]``: the tableau's verdict on that outcome (CERTIFIED, REFUTED, UNCHECKED: over the
    per-match budget or the time budget, NOT_RUN)."""

    names: tuple[str, ...]
    cooperates: np.ndarray
    payoff: np.ndarray
    ranks: np.ndarray
    certificates: np.ndarray | None = None

    def certificate_counts(self) -> dict[str, int]:
        """How many outcomes the tableau certified, refuted, left unchecked, or did not run on."""
        c = np.full(self.cooperates.shape, NOT_RUN) if self.certificates is None else self.certificates
        return {name: int((c == code).sum()) for code, name in CERTIFICATE_NAMES.items()}

    @property
    def mean_payoff(self) -> np.ndarray:
        """Average payoff of each agent over all opponents (self-play included)."""
        return self.payoff.mean(axis=1)

    def table(self):
        import pandas as pd

        rows = []
        n = len(self.names)
        for i in range(n):
            for j in range(n):
                rows.append(
                    {
                        "agent": self.names[i],
                        "opponent": self.names[j],
                        "cooperates": bool(self.cooperates[i, j]),
                        "payoff": float(self.payoff[i, j]),
                        "rank": int(self.ranks[i, j]),
                        "tableau": CERTIFICATE_NAMES[int(self.certificates[i, j])]
                        if self.certificates is not None
                        else "not run",
                    }
                )
        return pd.DataFrame(rows)


def payoff_matrix(coop: np.ndarray, payoffs: Payoffs) -> np.ndarray:
    """Vectorised PD payoffs: P[i, j] from coop[i, j] (mine) and coop[j, i] (theirs)."""
    mine, theirs = coop, coop.T
    return np.where(
        mine, np.where(theirs, payoffs.reward, payoffs.sucker), np.where(theirs, payoffs.temptation, payoffs.punishment)
    ).astype(float)


def round_robin(
    names: Sequence[str],
    library: Mapping[str, ModalAgent],
    payoffs: Payoffs = Payoffs(),
    progress: bool = False,
    cross_check: bool = False,
    max_sequents: int = 20_000,
    time_budget_s: float | None = None,
) -> TournamentResult:
    """Play every ordered pair of ``names``: all pairs solved at once by :func:`solve_all_pairs`.

    ``cross_check`` certifies each outcome with the GL tableau (an independent procedure) under a budget
    of ``max_sequents`` per match and, optionally, ``time_budget_s`` CPU-seconds for all certificates:
    a match over either budget is counted UNCHECKED, a certificate that refutes the vectorised solver
    REFUTED -- never an exception, and the outcomes are kept whatever the certificates say.
    """
    names = tuple(names)
    if not names:
        raise ValueError("names: a tournament needs at least one agent")
    if len(set(names)) != len(names):
        raise ValueError("names: an agent is entered twice")
    n = len(names)
    coop = np.zeros((n, n), dtype=bool)
    ranks = np.zeros((n, n), dtype=np.int64)
    certs = np.full((n, n), UNCHECKED if cross_check else NOT_RUN, dtype=np.int8)
    bar = task = None
    if progress and cross_check:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(f"round robin of {n} agents" + (" (certifying)" if cross_check else ""), total=n)
    deadline = None if time_budget_s is None else time.process_time() + time_budget_s
    agents = reference_closure(names, library)
    hist = solve_all_pairs(agents, library)[:, :n, :n]  # the entrants come first in the closure
    coop[:] = hist[-1]
    changed = hist != hist[-1][None]
    ranks[:] = np.where(changed.any(axis=0), hist.shape[0] - np.argmax(changed[::-1], axis=0), 0)
    try:
        for i in range(n):
            if cross_check:
                certs[i] = _certify_row(names, i, coop[i], ranks[i], library, max_sequents, deadline)
            if bar is not None:
                bar.update(task, advance=1)
    finally:
        if bar is not None:
            bar.stop()
    return TournamentResult(names, coop, payoff_matrix(coop, payoffs), ranks, certs if cross_check else None)


def _certify_row(names, i, coop_row, rank_row, library, max_sequents: int, deadline: float | None) -> np.ndarray:
    """Tableau certificates of row i's outcomes (each on the closure of its own match)."""
    out = np.full(len(names), UNCHECKED, dtype=np.int8)
    for j in range(len(names)):
        if deadline is not None and time.process_time() >= deadline:
            break
        system = combat_system([(names[i], names[j])], library)
        v = coop_var(names[i], names[j])
        try:
            ok = valid(confirmation_formula(system, v, bool(coop_row[j]), int(rank_row[j])), max_calls=max_sequents)
        except TableauBudgetExceeded:
            continue
        out[j] = CERTIFIED if ok else REFUTED
    return out


def replicator(payoff: np.ndarray, x0: np.ndarray, steps: int = 2000, dt: float = 0.01) -> np.ndarray:
    """Replicator trajectories: array (steps + 1, batch, n) from initial shares x0 (batch, n) or (n,)."""
    P = np.asarray(payoff, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"payoff must be a square matrix, got shape {P.shape}")
    X = np.atleast_2d(np.asarray(x0, dtype=float)).copy()
    if X.shape[1] != P.shape[0]:
        raise ValueError(f"x0 must have {P.shape[0]} shares per row, got {X.shape[1]}")
    if (X < 0).any() or not np.allclose(X.sum(axis=1), 1.0):
        raise ValueError("x0 rows must be non-negative shares summing to 1")
    if steps < 0 or dt <= 0:
        raise ValueError(f"steps must be >= 0 and dt > 0, got steps={steps}, dt={dt}")
    out = np.empty((steps + 1,) + X.shape)
    out[0] = X
    for t in range(steps):
        fit = X @ P.T  # (batch, n): (P x)_i
        mean = (fit * X).sum(axis=1, keepdims=True)  # x . P x
        X = np.clip(X + dt * X * (fit - mean), 0.0, None)
        X /= X.sum(axis=1, keepdims=True)
        out[t + 1] = X
    return out
