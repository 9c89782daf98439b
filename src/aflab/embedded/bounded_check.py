"""An independent checker for BL proofs, and their certification in GL with the bounds erased.

The checker shares only the data types with the search (:mod:`aflab.embedded.bounded_search`): it
re-derives every length from a token list (Polish notation, a numeral one token per digit), re-computes
the agents' defining sentences, the diagonal unfolding and the ``box_r`` bound from their definitions
below, and verifies each node of a proof tree. The rules of BL (premises above, conclusion below; Γ a
finite set of formulas; every rule is sound for the reading "□_n φ: ⊢ φ has a BL proof of length <= n",
``X(Y)=C`` := the truth of X's definition, ``δ⟨a,p⟩`` := ``□_a δ⟨a,p⟩ → p``):

- ``ax``: ``Γ ⊢ φ`` when φ ∈ Γ, φ = ⊤, ⊥ ∈ Γ, or φ = □_n ψ with □_m ψ ∈ Γ and m <= n;
- ``imp_r``: ``Γ, φ ⊢ ψ`` / ``Γ ⊢ φ → ψ``; ``imp_l``: ``Γ ⊢ φ`` and ``Γ, ψ ⊢ χ`` / ``Γ, φ → ψ ⊢ χ``;
- ``and_r``: ``Γ ⊢ φ`` and ``Γ ⊢ ψ`` / ``Γ ⊢ φ ∧ ψ``; ``and_l``: ``Γ, φ, ψ ⊢ χ`` / ``Γ, φ ∧ ψ ⊢ χ``;
- ``def_r`` / ``def_l``: replace ``X(Y)=C`` by its definition (FairBot_k: ``□_k Y(X)=C``; DefectBot: ⊥;
  CooperateBot: ⊤) on the right / on the left -- the agents' source code is common knowledge;
- ``diag_r`` / ``diag_l``: replace ``δ⟨a,p⟩`` by ``□_a δ⟨a,p⟩ → p`` (the bounded diagonal lemma);
- ``box_r``: ``S ∪ C ⊢ φ`` (a proof of length s) / ``Γ ⊢ □_n φ``, where C ⊆ Γ are boxed hypotheses
  ``□_{a_i} γ_i``, S = {γ_i}, and ``n >= s + Σ_i (2 a_i + |⊢ □_{a_i} γ_i|) + Σ_t |H_t ⊢ φ|`` (H_t: S ∪ C
  with the t longest formulas removed): the length of the closed proof of φ built by cutting in the proofs
  of the γ_i (length <= a_i each) and their necessitations -- bounded necessitation, distribution and
  internal necessitation (Critch 2016's bounded K and 4) in one rule. With C empty it is necessitation:
  ``n >= s``;
- ``cut``: ``⊢ ψ`` and ``Γ, ψ ⊢ χ`` / ``Γ ⊢ χ`` (the lemma is proved outright).

The length of a proof is the sum over all its nodes of ``|Γ ⊢ φ| = 1 + |φ| + Σ|γ|``.

:func:`gl_certify` erases the bounds (``□_n`` to GL's □), reads ``δ⟨a,p⟩`` as its GL fixed point
``□p → p`` (de Jongh–Sambin: ``δ ↔ (□δ → p)`` has the unique solution ``□p → p``) and the cooperation atoms
as GL atoms with their definitions, and asks the GL SAT prover whether every sequent of the proof holds:
``GL ⊢ [.](definitions) → (∧Γ → φ)`` -- a check against the unbounded theory that shares no code with
the checker or the search.
"""

from __future__ import annotations

from dataclasses import dataclass

from aflab.embedded.bounded import BF, Agent, Proof

# ----------------------------------------------------------------------------------- lengths (again)


def agent_tokens(agent: Agent) -> list[str]:
    """The agent's source code as tokens: kind, the digits of a FairBot's bound, then the padding."""
    kind = {"fair": "F", "defect": "D", "cooperate": "C"}[agent.kind]
    return [kind, *(str(agent.bound) if agent.kind == "fair" else ""), *(["_"] * agent.pad)]


def tokens(f: BF) -> list[str]:
    """The formula in Polish notation, one token per symbol (a numeral: one token per digit)."""
    if f.op == "top":
        return ["⊤"]
    if f.op == "bot":
        return ["⊥"]
    if f.op in ("imp", "and"):
        return ["→" if f.op == "imp" else "∧", *tokens(f.args[0]), *tokens(f.args[1])]
    if f.op == "box":
        return ["□", *str(f.n), *tokens(f.args[0])]
    if f.op == "diag":
        return ["δ", *str(f.n), *tokens(f.args[0])]
    if f.op == "coop":
        return ["C", *agent_tokens(f.pair[0]), *agent_tokens(f.pair[1])]
    raise ProofError(f"unknown formula operator {f.op!r}")


def length(f: BF) -> int:
    return len(tokens(f))


def sequent_length(hyps, goal: BF) -> int:
    return 1 + length(goal) + sum(length(h) for h in hyps)


# ----------------------------------------------------------------------------------- semantics (again)


def defining_sentence_rhs(atom: BF) -> BF:
    """What program X outputs against Y, as a sentence (read from X's kind and bound)."""
    from aflab.embedded.bounded import BOT, TOP, box, coop

    me, them = atom.pair
    if me.kind == "defect":
        return BOT
    if me.kind == "cooperate":
        return TOP
    return box(me.bound, coop(them, me))


def diagonal_rhs(d: BF) -> BF:
    from aflab.embedded.bounded import box, imp

    return imp(box(d.n, d), d.args[0])


def box_r_bound(premise_length: int, carried: tuple[BF, ...], goal: BF) -> int:
    """The least n with ``Γ ⊢ □_n goal`` derivable by ``box_r`` from a premise proof of that length."""
    total = premise_length
    for c in carried:
        total += 2 * c.n + (1 + length(c))  # the proof of γ (<= a) and its necessitation (node + <= a)
    hyps = {}
    for c in carried:
        hyps[c] = length(c)
        hyps[c.args[0]] = length(c.args[0])
    remaining = sorted(hyps.values(), reverse=True)
    for i in range(len(remaining)):
        total += 1 + length(goal) + sum(remaining[i + 1 :])
    return total


# ----------------------------------------------------------------------------------- the checker


class ProofError(ValueError):
    """A proof that is not a BL proof: the node's path (premise indices from the root) and why."""

    def __init__(self, message: str, path: tuple[int, ...] = ()):
        super().__init__(f"at node {list(path)}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class CheckedProof:
    """A verified proof: its length recomputed by the checker, its node count and conclusion."""

    length: int
    nodes: int
    goal: BF


def check_proof(
    proof: Proof, *, diagonal: bool = True, normal_form: bool = False, max_length: int | None = None
) -> CheckedProof:
    """Verify every node of ``proof``; return its recomputed length (raise :class:`ProofError`).

    ``diagonal=False``: the proof system without the diagonal lemma (no ``diag_*`` rule, no cut on a
    diagonal sentence). ``normal_form``: the search's normal form (cuts only on diagonal sentences, at
    sequents ``⊢ X(Y)=C`` without hypotheses). ``max_length``: the proof must fit a FairBot's bound.
    """
    if proof.hyps:
        raise ProofError("a proof of a FairBot's goal has no hypotheses at the root")
    total, count = _check(proof, (), diagonal, normal_form)
    if max_length is not None and total > max_length:
        raise ProofError(f"proof length {total} exceeds the bound {max_length}")
    return CheckedProof(total, count, proof.goal)


def _check(p: Proof, path: tuple[int, ...], diagonal: bool, normal_form: bool) -> tuple[int, int]:
    lengths, count = [], 1
    for i, q in enumerate(p.premises):
        n, c = _check(q, (*path, i), diagonal, normal_form)
        lengths.append(n)
        count += c
    _check_rule(p, path, lengths, diagonal, normal_form)
    total = sequent_length(p.hyps, p.goal) + sum(lengths)
    if p.size != total:
        raise ProofError(f"recorded length {p.size} but the tree's length is {total}", path)
    return total, count


def _premise_shapes(p: Proof) -> list[tuple[frozenset, BF]]:
    return [(q.hyps, q.goal) for q in p.premises]


def _check_rule(p: Proof, path, lengths: list[int], diagonal: bool, normal_form: bool) -> None:
    rule, hyps, goal, shapes = p.rule, p.hyps, p.goal, _premise_shapes(p)
    if rule not in _RULE_SHAPES:
        raise ProofError(f"unknown rule {rule!r}", path)
    if rule.startswith("diag") and not diagonal:
        raise ProofError("the diagonal lemma is not in this proof system", path)
    if rule == "cut":
        _check_cut(p, path, diagonal, normal_form)
    elif rule == "box_r":
        _check_box_r(p, path, lengths)
    elif not any(shapes == want for want in _RULE_SHAPES[rule](hyps, goal)):
        raise ProofError(f"{rule} does not derive {_show(hyps, goal)} from {[_show(*s) for s in shapes]}", path)


def _check_cut(p: Proof, path, diagonal: bool, normal_form: bool) -> None:
    lemma = p.lemma
    if lemma is None or _premise_shapes(p) != [(frozenset(), lemma), (p.hyps | {lemma}, p.goal)]:
        raise ProofError("cut needs premises ⊢ lemma and Γ, lemma ⊢ goal", path)
    if lemma.op == "diag" and not diagonal:
        raise ProofError("cut on a diagonal sentence without the diagonal lemma", path)
    if normal_form and (p.hyps or p.goal.op != "coop" or lemma.op != "diag"):
        raise ProofError("normal form: cuts only on diagonal sentences, at ⊢ X(Y)=C without hypotheses", path)


def _check_box_r(p: Proof, path, lengths: list[int]) -> None:
    goal, carried = p.goal, p.carried
    if goal.op != "box":
        raise ProofError("box_r concludes a boxed formula", path)
    if any(c not in p.hyps or c.op != "box" for c in carried):
        raise ProofError("box_r carries only boxed hypotheses of its conclusion", path)
    inner = frozenset(x for c in carried for x in (c, c.args[0]))
    if _premise_shapes(p) != [(inner, goal.args[0])]:
        raise ProofError(f"box_r premise must be {_show(inner, goal.args[0])}", path)
    need = box_r_bound(lengths[0], carried, goal.args[0])
    if goal.n < need:
        raise ProofError(f"box_r: □_{goal.n} needs a bound of at least {need}", path)


def _axiom(hyps, goal) -> bool:
    if goal in hyps or goal.op == "top" or any(h.op == "bot" for h in hyps):
        return True
    return goal.op == "box" and any(h.op == "box" and h.args[0] is goal.args[0] and h.n <= goal.n for h in hyps)


def _shapes_ax(hyps, goal):
    return [[]] if _axiom(hyps, goal) else []


def _shapes_right(hyps, goal):
    if goal.op == "imp":
        return {"imp_r": [[(hyps | {goal.args[0]}, goal.args[1])]]}
    if goal.op == "and":
        return {"and_r": [[(hyps, goal.args[0]), (hyps, goal.args[1])]]}
    if goal.op == "coop":
        return {"def_r": [[(hyps, defining_sentence_rhs(goal))]]}
    if goal.op == "diag":
        return {"diag_r": [[(hyps, diagonal_rhs(goal))]]}
    return {}


def _shapes_left(hyps, goal, rule):
    out = []
    for h in hyps:
        rest = hyps - {h}
        if rule == "imp_l" and h.op == "imp":
            out.append([(rest, h.args[0]), (rest | {h.args[1]}, goal)])
        elif rule == "and_l" and h.op == "and":
            out.append([(rest | set(h.args), goal)])
        elif rule == "def_l" and h.op == "coop":
            out.append([(rest | {defining_sentence_rhs(h)}, goal)])
        elif rule == "diag_l" and h.op == "diag":
            out.append([(rest | {diagonal_rhs(h)}, goal)])
    return out


_RULE_SHAPES = {
    "ax": _shapes_ax,
    **{r: (lambda h, g, r=r: _shapes_right(h, g).get(r, [])) for r in ("imp_r", "and_r", "def_r", "diag_r")},
    **{r: (lambda h, g, r=r: _shapes_left(h, g, r)) for r in ("imp_l", "and_l", "def_l", "diag_l")},
    "box_r": lambda h, g: [],
    "cut": lambda h, g: [],
}


def _show(hyps, goal) -> str:
    from aflab.embedded.bounded import text

    return ", ".join(sorted(text(h) for h in hyps)) + " ⊢ " + text(goal)


# ----------------------------------------------------------------------------------- GL certification


def gl_formula(f: BF):
    """The bounds erased: ``□_n`` -> □, ``δ⟨a,p⟩`` -> ``□p → p``, ``X(Y)=C`` -> the GL atom ``X|Y``."""
    from aflab.embedded import formula as gl

    if f.op == "top":
        return gl.TOP
    if f.op == "bot":
        return gl.BOT
    if f.op == "imp":
        return gl.Implies(gl_formula(f.args[0]), gl_formula(f.args[1]))
    if f.op == "and":
        return gl.And(gl_formula(f.args[0]), gl_formula(f.args[1]))
    if f.op == "box":
        return gl.Box(gl_formula(f.args[0]))
    if f.op == "diag":
        p = gl_formula(f.args[0])
        return gl.Implies(gl.Box(p), p)
    return gl.Atom(f"{f.pair[0].name}|{f.pair[1].name}")


def _definitions(atoms: set[BF]):
    from aflab.embedded import formula as gl

    seen, todo, eqs = set(), list(atoms), []
    while todo:
        a = todo.pop()
        if a in seen:
            continue
        seen.add(a)
        rhs = defining_sentence_rhs(a)
        eqs.append(gl.Iff(gl_formula(a), gl_formula(rhs)))
        todo.extend(_coop_atoms(rhs))
    return gl.And(*sorted(eqs, key=str))


def _coop_atoms(f: BF) -> set[BF]:
    if f.op == "coop":
        return {f}
    return set().union(*(_coop_atoms(x) for x in f.args)) if f.args else set()


def gl_certify(proof: Proof) -> bool:
    """Does every sequent of the proof hold in GL with the bounds erased (and the definitions under [.])?"""
    from aflab.embedded import formula as gl
    from aflab.embedded.glsat import valid

    seqs = {(q.hyps, q.goal) for q in proof.nodes()}
    atoms = set().union(*(_coop_atoms(f) for hyps, goal in seqs for f in (*hyps, goal)))
    defs = gl.strong_box(_definitions(atoms))
    for hyps, goal in sorted(seqs, key=lambda s: _show(*s)):
        body = gl.Implies(gl.And(*sorted((gl_formula(h) for h in hyps), key=str)), gl_formula(goal))
        if not valid(gl.Implies(defs, body)):
            return False
    return True
