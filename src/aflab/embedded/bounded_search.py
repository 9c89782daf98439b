"""Bounded proof search in BL: the shortest proof of length <= budget, or none.

A bounded FairBot runs this search (Critch 2016: FairBot_k cooperates iff it finds a proof of length <= k
that its opponent cooperates with it). The search is exhaustive over **normal-form** BL proofs:

- every rule of :data:`aflab.embedded.bounded.RULES` except ``cut`` is tried backwards at every sequent
  (``ax``; the left and right rules of ``→`` and ``∧``; unfolding a definition or a diagonal sentence on
  either side; ``box_r`` with every subset of the boxed hypotheses carried inside);
- ``cut`` only on a diagonal sentence ``δ⟨a, p⟩`` with p a cooperation atom of the match, and only at a
  sequent ``⊢ X(Y)=C`` without hypotheses (the root, or the premise of a necessitation): the Löb step, the
  only way self-reference enters a proof. Allowing it below the root matters: FairBot_16384+1 needs the
  proof "FairBot_1280 proves I cooperate" *inside* a necessitation, and with root cuts only it could not
  find it while FairBot_1280 found the mirror proof -- FairBot_1280 was exploited (full preset, first
  version). ``diagonal=False`` removes the cut: the counterfactual proof system without the bounded
  diagonal lemma.

The cost of a search is a *budget*: a node costs its sequent's length, so premises get strictly smaller
budgets and the recursion terminates. Memo: per sequent, the shortest proof once found (it is the
shortest: any shorter one would have been found under the same budget) or the largest budget under which
none exists. Every answer is the minimum over normal-form proofs, so a returned proof is a shortest one.

**Diagonal indices.** ``index_policy="exhaustive"`` tries every a from 1 to the budget (the reference,
slow: one lemma search per a). ``"tight"`` (the default) tries, for each number of digits D, the smallest
a with D digits that can hold the lemma: start at ``a = 10^(D-1)`` and set ``a`` to the length of the
shortest proof of ``⊢ δ⟨a, p⟩`` until it fits (sizes depend on a only through its digits, and a larger a
only tightens the ``box_r`` bounds in which it appears). Tests check the two give the same shortest proof
lengths on every case where the exhaustive search is affordable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from aflab.embedded.bounded import (
    BF,
    Agent,
    Hyps,
    Proof,
    box_r_overhead,
    coop,
    definition,
    diag,
    node,
    sequent_size,
    unfold_diag,
)

IndexPolicy = Literal["tight", "exhaustive"]
EMPTY: Hyps = frozenset()


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one bounded search: the shortest normal-form proof (None: no proof within budget)
    and the number of sequents expanded (a deterministic cost measure)."""

    proof: Proof | None
    expanded: int

    @property
    def found(self) -> bool:
        return self.proof is not None


class BoundedProver:
    """Shortest normal-form BL proofs; one memo per prover (make one per match: the memo is keyed on
    sequents, which name the agents, so provers never share state)."""

    def __init__(
        self,
        diagonal: bool = True,
        index_policy: IndexPolicy = "tight",
        max_carried: int = 3,
        atoms: tuple[BF, ...] = (),
    ):
        if index_policy not in ("tight", "exhaustive"):
            raise ValueError(f"index_policy must be 'tight' or 'exhaustive', got {index_policy!r}")
        self.diagonal = diagonal
        self.index_policy = index_policy
        self.max_carried = max_carried
        self.atoms = atoms  # the cooperation atoms of the match: the p of the diagonal cuts
        self.best: dict[tuple[Hyps, BF], Proof] = {}
        self.none_within: dict[tuple[Hyps, BF], int] = {}
        self.expanded = 0

    # ------------------------------------------------------------------------------------- entry
    def search(self, goal: BF, budget: int) -> SearchResult:
        """The shortest normal-form proof of ``⊢ goal`` of length <= budget."""
        before, limit = self.expanded, sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4_000 + 4 * budget))  # one frame per sequent of a branch
        try:
            best = self.prove(EMPTY, goal, budget)
        finally:
            sys.setrecursionlimit(limit)
        return SearchResult(best, self.expanded - before)

    def _loeb_cut(self, goal: BF, p: BF, limit: int) -> Proof | None:
        """Cut on ``δ⟨a, p⟩`` at ``⊢ goal``: ``⊢ δ`` and ``δ ⊢ goal`` give ``⊢ goal``; the shortest over a."""
        root = sequent_size(EMPTY, goal)
        best = None
        for a in self._indices(p, limit - root):
            d = diag(a, p)
            bound = limit - root if best is None else best.size - 1 - root
            lemma = self.prove(EMPTY, d, bound - sequent_size(frozenset([d]), goal))
            if lemma is None:
                continue
            rest = self.prove(frozenset([d]), goal, bound - lemma.size)
            if rest is not None:
                cand = node("cut", EMPTY, goal, (lemma, rest), lemma=d)
                if best is None or cand.size < best.size:
                    best = cand
        return best

    def _indices(self, p: BF, budget: int) -> Iterator[int]:
        if budget <= 0:
            return
        if self.index_policy == "exhaustive":
            yield from range(1, budget + 1)
            return
        for d in range(1, len(str(budget)) + 1):
            a, hi = (1 if d == 1 else 10 ** (d - 1)), min(10**d - 1, budget)
            while a <= hi:
                lemma = self.prove(EMPTY, diag(a, p), budget)
                if lemma is None:
                    break  # a larger a of the same length only tightens the bounds a appears in
                if lemma.size <= a:
                    yield a
                    break
                a = lemma.size

    # ------------------------------------------------------------------------------------- core
    def prove(self, hyps: Hyps, goal: BF, budget: int) -> Proof | None:
        """The shortest normal-form proof of ``hyps ⊢ goal`` with length <= budget."""
        key = (hyps, goal)
        found = self.best.get(key)
        if found is not None:
            return found if found.size <= budget else None
        if self.none_within.get(key, -1) >= budget:
            return None
        here = sequent_size(hyps, goal)
        best = None
        if here <= budget:
            self.expanded += 1
            best = self._expand(hyps, goal, here, budget)
        if best is None:
            self.none_within[key] = max(budget, self.none_within.get(key, -1))
        else:
            self.best[key] = best
        return best

    def _expand(self, hyps: Hyps, goal: BF, here: int, budget: int) -> Proof | None:
        """Every rule backwards at ``hyps ⊢ goal``; the shortest result (each candidate lowers the limit)."""
        if goal in hyps or goal.op == "top" or any(h.op == "bot" for h in hyps) or _monotone_hit(hyps, goal):
            return node("ax", hyps, goal)
        acc = _Shortest(budget - here)
        self._right(hyps, goal, acc)
        self._left(hyps, goal, acc)
        if self.diagonal and not hyps and goal.op == "coop":
            for p in dict.fromkeys((goal, *self.atoms)):
                best = acc.proof
                cand = self._loeb_cut(goal, p, budget if best is None else best.size - 1)
                if cand is not None and (best is None or cand.size < best.size):
                    acc.proof = cand
        return acc.proof

    def _right(self, hyps: Hyps, goal: BF, acc: _Shortest) -> None:
        op = goal.op
        if op == "imp":
            acc.offer("imp_r", hyps, goal, self.prove(hyps | {goal.args[0]}, goal.args[1], acc.room))
        elif op == "and":
            self._two(acc, "and_r", hyps, goal, (hyps, goal.args[0]), (hyps, goal.args[1]))
        elif op == "coop":
            acc.offer("def_r", hyps, goal, self.prove(hyps, definition(goal), acc.room))
        elif op == "diag":
            acc.offer("diag_r", hyps, goal, self.prove(hyps, unfold_diag(goal), acc.room))
        elif op == "box":
            boxed = sorted((h for h in hyps if h.op == "box"), key=lambda h: (h.size, h.n, h.key))
            for r in range(min(len(boxed), self.max_carried) + 1):
                for carried in combinations(boxed, r):
                    inner = frozenset(x for c in carried for x in (c, c.args[0]))
                    limit = min(acc.room, goal.n - box_r_overhead(carried, goal.args[0]))
                    sub = self.prove(inner, goal.args[0], limit)
                    acc.offer("box_r", hyps, goal, sub, carried=carried)

    def _left(self, hyps: Hyps, goal: BF, acc: _Shortest) -> None:
        for h in sorted(hyps, key=lambda f: (f.size, f.key)):
            rest = hyps - {h}
            if h.op == "imp":
                self._two(acc, "imp_l", hyps, goal, (rest, h.args[0]), (rest | {h.args[1]}, goal))
            elif h.op == "and":
                acc.offer("and_l", hyps, goal, self.prove(rest | set(h.args), goal, acc.room))
            elif h.op == "coop":
                acc.offer("def_l", hyps, goal, self.prove(rest | {definition(h)}, goal, acc.room))
            elif h.op == "diag":
                acc.offer("diag_l", hyps, goal, self.prove(rest | {unfold_diag(h)}, goal, acc.room))

    def _two(self, acc: _Shortest, rule: str, hyps: Hyps, goal: BF, first: tuple, second: tuple) -> None:
        a = self.prove(first[0], first[1], acc.room - sequent_size(*second))
        if a is not None:
            b = self.prove(second[0], second[1], acc.room - a.size)
            if b is not None:
                acc.offer(rule, hyps, goal, a, b)


class _Shortest:
    """The shortest candidate so far at one sequent; ``room`` is what a premise may still cost."""

    def __init__(self, room: int):
        self.room = room
        self.proof: Proof | None = None

    def offer(self, rule: str, hyps: Hyps, goal: BF, *premises: Proof | None, **data) -> None:
        if any(p is None for p in premises):
            return
        cand = node(rule, hyps, goal, tuple(premises), **data)  # type: ignore[arg-type]
        if self.proof is None or cand.size < self.proof.size:
            self.proof = cand
            self.room = sum(p.size for p in premises) - 1  # a better one must have cheaper premises


def _monotone_hit(hyps: Hyps, goal: BF) -> bool:
    """``□_m φ ⊢ □_n φ`` for m <= n (a proof of length <= m is one of length <= n)."""
    if goal.op != "box":
        return False
    return any(h.op == "box" and h.args[0] is goal.args[0] and h.n <= goal.n for h in hyps)


# ------------------------------------------------------------------------------------------- matches
@dataclass(frozen=True)
class MatchDecision:
    """What ``agent`` does against ``opponent``: cooperate iff its search found a proof of length <= its
    bound that the opponent cooperates with it (DefectBot / CooperateBot: their constant action)."""

    agent: Agent
    opponent: Agent
    cooperates: bool
    proof: Proof | None
    expanded: int


def decide_action(
    agent: Agent, opponent: Agent, diagonal: bool = True, index_policy: IndexPolicy = "tight"
) -> MatchDecision:
    """Run ``agent``'s bounded search against ``opponent`` (a fresh prover: no state between matches)."""
    if agent.kind != "fair":
        return MatchDecision(agent, opponent, agent.kind == "cooperate", None, 0)
    goal = coop(opponent, agent)
    prover = BoundedProver(diagonal=diagonal, index_policy=index_policy, atoms=(goal, coop(agent, opponent)))
    result = prover.search(goal, agent.bound)
    return MatchDecision(agent, opponent, result.found, result.proof, result.expanded)


def shortest_proof(goal: BF, budget: int, **kw) -> SearchResult:
    """Convenience: a fresh prover's :meth:`BoundedProver.search`."""
    return BoundedProver(**kw).search(goal, budget)
