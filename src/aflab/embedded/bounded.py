"""BL: a small proof system with *bounded* provability, for proof-length-bounded FairBots (Critch 2016).

Critch (2016), "Parametric Bounded Löb's Theorem and Robust Cooperation of Bounded Agents": ``□_k φ``
reads "φ has a proof of length at most k"; ``FairBot_k`` cooperates with an opponent iff it finds a proof
of length <= k that the opponent cooperates with it; the parametric bounded Löb theorem gives
``FairBot_k(FairBot_k) = C`` for every k above a threshold. This module is the object language; the
search is :mod:`aflab.embedded.bounded_search`, the independent checker :mod:`aflab.embedded.bounded_check`.

**Formulas** (interned :class:`BF` nodes): ``⊤``, ``⊥``, ``φ → ψ``, ``φ ∧ ψ``, ``□_n φ`` (n a decimal
numeral), the cooperation atoms ``X(Y)=C`` ("agent X cooperates with agent Y", X and Y given by their
source code) and the diagonal sentences ``δ⟨a, p⟩`` with ``δ ↔ (□_a δ → p)`` (the bounded diagonal lemma;
in PA a sentence built by Gödel's construction, here a named atom whose unfolding is that equivalence).

**Length** (:func:`length`): the number of symbols in Polish notation, a numeral n counting
``len(str(n))`` digits (Critch measures proofs in characters; this is why ``k`` enters the length of the
sentence ``FairBot_k(FairBot_k)=C`` -- the *parametric* part of the theorem):
``|⊤| = |⊥| = 1``, ``|φ → ψ| = |φ ∧ ψ| = 1 + |φ| + |ψ|``, ``|□_n φ| = 1 + digits(n) + |φ|``,
``|X(Y)=C| = 1 + code(X) + code(Y)``, ``|δ⟨a,p⟩| = 1 + digits(a) + |p|``; a sequent ``Γ ⊢ φ`` has
``1 + |φ| + Σ_{γ∈Γ} |γ|``. An agent's source code (:attr:`Agent.code`) is one symbol for its kind, the
digits of its bound and ``pad`` further symbols (the *encoding size* the threshold is measured against).

**Proofs** are trees of sequents (:class:`Proof`); the length of a proof is the sum of the lengths of
all its sequents (a tree: a lemma used twice is counted twice). The rules are listed in
:data:`RULES`; their side conditions and soundness are in the docstrings of
:mod:`aflab.embedded.bounded_check`, which re-checks every proof the search returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

AgentKind = Literal["fair", "defect", "cooperate"]

#: the rule names of BL (see bounded_check for each rule's premises and side condition)
RULES = ("ax", "imp_r", "imp_l", "and_r", "and_l", "def_r", "def_l", "diag_r", "diag_l", "box_r", "cut")


def digits(n: int) -> int:
    """Symbols of the decimal numeral n (n >= 0)."""
    if n < 0:
        raise ValueError(f"numerals are >= 0, got {n}")
    return len(str(n))


@dataclass(frozen=True, order=True)
class Agent:
    """A bounded agent's source: ``fair`` (FairBot_k: cooperate iff a proof of length <= bound that the
    opponent cooperates is found), ``defect`` (DefectBot) or ``cooperate`` (CooperateBot).

    ``pad`` adds symbols to the source code (comments, dead code): the program behaves the same, but every
    sentence that names it -- and so every proof about it -- is longer.
    """

    kind: AgentKind
    bound: int = 0
    pad: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("fair", "defect", "cooperate"):
            raise ValueError(f"Agent.kind must be fair, defect or cooperate, got {self.kind!r}")
        if self.bound < 0 or self.pad < 0:
            raise ValueError(f"Agent.bound and Agent.pad must be >= 0, got {self.bound}, {self.pad}")
        if self.kind != "fair" and self.bound:
            raise ValueError(f"only a fair agent has a proof bound, got bound={self.bound} for {self.kind}")

    @property
    def code(self) -> int:
        """Length of the source code in symbols: kind symbol + digits of the bound (FairBot) + pad."""
        return 1 + (digits(self.bound) if self.kind == "fair" else 0) + self.pad

    @property
    def name(self) -> str:
        base = {"fair": f"FairBot_{self.bound}", "defect": "DefectBot", "cooperate": "CooperateBot"}[self.kind]
        return base + (f"+{self.pad}" if self.pad else "")


# ------------------------------------------------------------------------------------------- formulas
_TABLE: dict[tuple, BF] = {}
_LOCK = threading.Lock()


class BF:
    """One interned formula of BL (equality is identity). Build with the constructors below.

    ``op`` in top, bot, imp, and, box, coop, diag; ``args`` the children (box: its operand; diag: p);
    ``n`` the box bound or the diagonal index a; ``pair`` the (X, Y) agents of a coop atom;
    ``size`` the length in symbols and ``key`` its text (computed once: a deterministic sort key that does
    not depend on what else the process built).
    """

    __slots__ = ("args", "key", "n", "op", "pair", "size")

    op: str
    args: tuple[BF, ...]
    n: int
    pair: tuple[Agent, Agent] | None
    size: int
    key: str

    def __repr__(self) -> str:
        return f"BF({self.key!r})"

    def __str__(self) -> str:
        return self.key

    def __reduce__(self):
        return (_make, (self.op, self.args, self.n, self.pair))


def _make(op: str, args: tuple = (), n: int = 0, pair: tuple | None = None) -> BF:
    key = (op, args, n, pair)
    node = _TABLE.get(key)
    if node is None:
        with _LOCK:
            node = _TABLE.get(key)
            if node is None:
                node = object.__new__(BF)
                for name, value in (("op", op), ("args", args), ("n", n), ("pair", pair)):
                    object.__setattr__(node, name, value)
                object.__setattr__(node, "size", _size(op, args, n, pair))
                object.__setattr__(node, "key", text(node))
                _TABLE[key] = node
    return node


def _size(op: str, args: tuple, n: int, pair: tuple | None) -> int:
    if op in ("top", "bot"):
        return 1
    if op in ("imp", "and"):
        return 1 + args[0].size + args[1].size
    if op in ("box", "diag"):
        return 1 + digits(n) + args[0].size
    assert pair is not None
    return 1 + pair[0].code + pair[1].code


def imp(a: BF, b: BF) -> BF:
    return _make("imp", (a, b))


def conj(a: BF, b: BF) -> BF:
    return _make("and", (a, b))


def box(n: int, a: BF) -> BF:
    """``□_n a``: a has a proof of length <= n."""
    if n < 0:
        raise ValueError(f"a proof bound is >= 0, got {n}")
    return _make("box", (a,), n)


def coop(x: Agent, y: Agent) -> BF:
    """``X(Y)=C``: agent x cooperates with agent y."""
    return _make("coop", (), 0, (x, y))


def diag(a: int, p: BF) -> BF:
    """The diagonal sentence ``δ⟨a, p⟩ ↔ (□_a δ⟨a, p⟩ → p)``."""
    if a < 0:
        raise ValueError(f"a diagonal index is >= 0, got {a}")
    return _make("diag", (p,), a)


def definition(atom: BF) -> BF:
    """The right-hand side of a cooperation atom's defining sentence (what the program computes):
    FairBot_k: ``□_k Y(X)=C``; DefectBot: ``⊥``; CooperateBot: ``⊤``."""
    if atom.op != "coop":
        raise ValueError(f"only cooperation atoms have definitions, got {text(atom)}")
    x, y = atom.pair
    if x.kind == "fair":
        return box(x.bound, coop(y, x))
    return BOT if x.kind == "defect" else TOP


def unfold_diag(d: BF) -> BF:
    """``□_a δ → p`` for ``δ = δ⟨a, p⟩``."""
    if d.op != "diag":
        raise ValueError(f"not a diagonal sentence: {text(d)}")
    return imp(box(d.n, d), d.args[0])


def text(f: BF) -> str:
    """Infix rendering (for people; the length counts Polish-notation symbols, not these characters)."""
    op = f.op
    if op == "top":
        return "⊤"
    if op == "bot":
        return "⊥"
    if op == "coop":
        return f"{f.pair[0].name}({f.pair[1].name})=C"
    if op == "box":
        return f"□{f.n} {_paren(f.args[0])}"
    if op == "diag":
        return f"δ<{f.n}, {f.args[0].key}>"
    sym = " → " if op == "imp" else " ∧ "
    return _paren(f.args[0]) + sym + _paren(f.args[1])


def _paren(f: BF) -> str:
    return f"({f.key})" if f.op in ("imp", "and") else f.key


TOP = _make("top")
BOT = _make("bot")

# ------------------------------------------------------------------------------------------- proofs
Hyps = frozenset  # frozenset[BF]


def sequent_size(hyps: Hyps, goal: BF) -> int:
    """``|Γ ⊢ φ| = 1 + |φ| + Σ|γ|``."""
    return 1 + goal.size + sum(h.size for h in hyps)


@dataclass(frozen=True, eq=False)
class Proof:
    """A proof tree node: the sequent ``hyps ⊢ goal``, the rule, its premises and the rule's data
    (``lemma``: the cut formula; ``carried``: the boxed hypotheses a ``box_r`` step takes inside).
    ``size`` is the tree's length as the search computed it (the checker recomputes it)."""

    rule: str
    hyps: Hyps
    goal: BF
    premises: tuple[Proof, ...] = ()
    lemma: BF | None = None
    carried: tuple[BF, ...] = ()
    size: int = field(default=0)

    def nodes(self) -> list[Proof]:
        """All nodes, root first (pre-order)."""
        out, stack = [], [self]
        while stack:
            p = stack.pop()
            out.append(p)
            stack.extend(reversed(p.premises))
        return out

    def rules_used(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.nodes():
            counts[p.rule] = counts.get(p.rule, 0) + 1
        return counts


def node(rule: str, hyps: Hyps, goal: BF, premises: tuple[Proof, ...] = (), **data) -> Proof:
    """A proof node with its size = its sequent's length + the premises' sizes."""
    size = sequent_size(hyps, goal) + sum(p.size for p in premises)
    return Proof(rule, hyps, goal, premises, size=size, **data)


def box_r_overhead(carried: tuple[BF, ...], goal: BF) -> int:
    """The length a ``box_r`` step adds on top of its premise's proof (everything but ``s`` in the bound).

    From a proof π (length s) of ``S ∪ C ⊢ φ`` with ``C = {□_{a_i} γ_i}`` carried and ``S = {γ_i}``, and
    proofs ρ_i of ``⊢ γ_i`` of length <= a_i (what the hypotheses □_{a_i} γ_i assert), a closed proof of
    ``⊢ φ`` is: π, the ρ_i, the necessitations ``⊢ □_{a_i} γ_i`` (node + ρ_i: ``|⊢ □_{a_i}γ_i| + a_i``), and
    one lemma cut per hypothesis of ``S ∪ C``, removing the longest first, each cut node a sequent
    ``H_t ⊢ φ``. So ``□_n φ`` is true when ``n >= s + box_r_overhead`` (bounded distribution, necessitation
    and internal necessitation in one step; the bound is the length of that closed proof).
    """
    lemmas = sum(2 * c.n + 1 + c.size for c in carried)
    hyp_sizes = sorted({h for c in carried for h in (c, c.args[0])}, key=lambda h: -h.size)
    remaining = sum(h.size for h in hyp_sizes)
    cuts = 0
    for h in hyp_sizes:
        remaining -= h.size
        cuts += 1 + goal.size + remaining
    return lemmas + cuts
