"""A SAT-based decision procedure for GL: propositional reasoning by a CDCL solver, worlds on demand.

The formula's subformula DAG is Tseitin-encoded once (boxes and atoms are free propositional
variables). A *world* satisfying a set of formulas Γ is searched as follows (cf. the KSAT / "modal DPLL"
procedures, Giunchiglia & Sebastiani 2000, with the GL rule of Goré 1999 sec. 6):

1. ask the solver for an assignment with Γ as assumptions; none: Γ is unsatisfiable;
2. for every box ``[]a`` it sets false, a successor must satisfy
   ``{c, []c : []c set true} ∪ {[]a, ~a}`` -- the GL rule: the successor inherits the true boxes and,
   by Löb's axiom, ``[]a`` itself (so true boxes grow strictly along a branch: termination);
3. if some successor is unsatisfiable, its unsat core C (a set of inherited boxes) gives the clause
   ``OR_{[]c in C} ~[]c  |  []a``: "no world has those boxes true and ``[]a`` false". The clause is valid in
   every world of every GL model, so it is added to the one solver for good (learned once, used by
   every world and every later query), and step 1 runs again;
4. all successors satisfiable: Γ is satisfiable.

``valid(f)`` asks whether ``~f`` is satisfiable. The GL tableau (:mod:`aflab.embedded.tableau`) stays the
slow reference: the two agree on random formulas (tests) and on every certificate they both decide.
"""

from __future__ import annotations

from aflab.embedded.formula import Formula, desugar, subformulas
from aflab.embedded.tableau import TableauBudgetExceeded


class GLSat:
    """One formula's Tseitin encoding and solver; ``satisfiable(literals)`` searches a GL world."""

    def __init__(self, root: Formula, max_calls: int = 200_000):
        from pysat.solvers import Solver

        self.ids: dict[Formula, int] = {}
        self.boxes: list[tuple[int, int]] = []  # (box variable, operand literal)
        self.solver = Solver(name="g3")
        for node in subformulas(root):
            self.ids[node] = v = len(self.ids) + 1
            self._encode(node, v)
        self.max_calls, self.calls = max_calls, 0
        self.memo: dict[frozenset[int], bool] = {}
        self.cores: dict[frozenset[int], frozenset[int]] = {}  # unsat core of each unsatisfiable query

    def _encode(self, node: Formula, v: int) -> None:
        add, op = self.solver.add_clause, node.op
        if op == "top":
            add([v])
        elif op == "bot":
            add([-v])
        elif op == "not":
            a = self.ids[node.args[0]]
            add([-v, -a])
            add([v, a])
        elif op in ("and", "or"):
            a, b = (self.ids[x] for x in node.args)
            if op == "and":
                add([-v, a])
                add([-v, b])
                add([v, -a, -b])
            else:
                add([v, -a])
                add([v, -b])
                add([-v, a, b])
        elif op == "box":
            self.boxes.append((v, self.ids[node.args[0]]))

    def satisfiable(self, lits: frozenset[int]) -> bool:
        """Is there a GL world where every literal (a subformula id, negative = its negation) holds?"""
        if lits in self.memo:
            return self.memo[lits]
        while True:
            self.calls += 1
            if self.calls > self.max_calls:
                raise TableauBudgetExceeded(f"GL SAT procedure exceeded max_calls={self.max_calls}")
            if not self.solver.solve(assumptions=sorted(lits)):
                core = self.solver.get_core()
                self.cores[lits] = frozenset(lits if core is None else core)
                self.memo[lits] = False
                return False
            model = self.solver.get_model()
            true = {v for v, _ in self.boxes if model[v - 1] > 0}
            learned = False
            for v, a in self.boxes:
                if v in true:
                    continue
                inherited = [x for b, c in self.boxes if b in true for x in (b, c)]
                child = frozenset([*inherited, v, -a])
                if not self.satisfiable(child):
                    self.solver.add_clause(self._lemma(self.cores[child], true, v))
                    learned = True
                    break
            if not learned:
                self.memo[lits] = True
                return True

    def _lemma(self, used: frozenset[int], true: set[int], v: int) -> list[int]:
        """``OR ~[]c | []v`` over the true boxes whose box or operand the child's unsat core uses."""
        content = {c: b for b, c in self.boxes if b in true}
        boxes = {x for x in used if x in true} | {content[x] for x in used if x in content}
        return sorted(-b for b in boxes) + [v]


def valid(f: Formula, max_calls: int = 200_000) -> bool:
    """GL ⊢ f ? (``max_calls`` SAT calls at most, else :class:`TableauBudgetExceeded`)."""
    neg = desugar(~f)
    engine = GLSat(neg, max_calls)
    try:
        return not engine.satisfiable(frozenset([engine.ids[neg]]))
    finally:
        engine.solver.delete()
