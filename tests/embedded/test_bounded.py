"""Bounded provability (BL), its search and its independent checker (Critch 2016's bounded FairBots).

References that share no code with the search: a hand derivation of the Löbian proof and of the threshold
of two identical FairBots in closed form; hand-written valid and invalid proofs; the checker's own token
count; the GL SAT prover on the erased proofs; the unbounded modal FairBot of GL."""

import pytest

from aflab.embedded.agents import match
from aflab.embedded.bounded import (
    BOT,
    TOP,
    Agent,
    box,
    conj,
    coop,
    definition,
    diag,
    digits,
    imp,
    node,
    unfold_diag,
)
from aflab.embedded.bounded_check import ProofError, check_proof, gl_certify, length
from aflab.embedded.bounded_search import BoundedProver, decide_action
from aflab.embedded.experiments_bounded import cooperation_intervals, digit_classes, eventual_threshold

E = frozenset()


def mutual(k, pa, pb, **kw):
    a, b = Agent("fair", k, pa), Agent("fair", k, pb)
    return decide_action(a, b, **kw).cooperates and decide_action(b, a, **kw).cooperates


# ----------------------------------------------------------------------------------- the hand derivation
def loeb_sizes(k: int, pad: int, a: int) -> dict:
    """Lengths of the Löbian proof of FairBot_k(FairBot_k)=C (identical programs), by hand from the
    conventions: |c| = 1 + 2 code, code = 1 + digits(k) + pad; δ = δ<a, c>."""
    code = 1 + digits(k) + pad
    c = 1 + 2 * code
    d = 1 + digits(a) + c
    bd = 1 + digits(a) + d
    bk = 1 + digits(k) + c
    inner = (1 + bd + d + c) + (1 + bd + (1 + bd + c) + c) + (1 + 2 * bd) + (1 + bd + 2 * c)
    lemma = (1 + d) + (2 + bd + c) + (1 + bd + c) + (1 + bd + bk) + inner
    rest = (1 + d + c) + (2 + bd + 2 * c) + (1 + bd) + lemma + (1 + 2 * c)
    bound = inner + 2 * a + (1 + bd) + (1 + c + d) + (1 + c)  # box_r: premise, lemmas, two cut nodes
    return {"lemma": lemma, "total": (1 + c) + lemma + rest, "box_bound": bound}


def closed_form_threshold(pad: int) -> tuple[int, int]:
    """Smallest k at which the hand-derived proof fits (a = the smallest index that holds the lemma)."""
    for k in range(1, 100_000):
        # the lemma's length depends on a only through its digits: the smallest a holding it per digit count
        fits = [max(10 ** (n - 1), loeb_sizes(k, pad, 10 ** (n - 1))["lemma"]) for n in range(1, 7)]
        a = min(x for n, x in enumerate(fits, 1) if digits(x) == n)
        s = loeb_sizes(k, pad, a)
        if s["box_bound"] <= k and s["total"] <= k:
            return k, s["total"]
    raise AssertionError("no threshold below 100000")


def hand_loeb_proof(k: int, pad: int, a: int):
    """The Löbian proof written out node by node (the search is not used)."""
    me = Agent("fair", k, pad)
    c = coop(me, me)
    d = diag(a, c)
    bd = box(a, d)
    h1 = frozenset([bd])
    inner = node(
        "diag_l",
        frozenset([bd, d]),
        c,
        (node("imp_l", frozenset([bd, imp(bd, c)]), c, (node("ax", h1, bd), node("ax", frozenset([bd, c]), c))),),
    )
    lemma = node(
        "diag_r",
        E,
        d,
        (
            node(
                "imp_r",
                E,
                imp(bd, c),
                (node("def_r", h1, c, (node("box_r", h1, box(k, c), (inner,), carried=(bd,)),)),),
            ),
        ),
    )
    nec = node("box_r", E, bd, (lemma,))
    rest = node(
        "diag_l", frozenset([d]), c, (node("imp_l", frozenset([imp(bd, c)]), c, (nec, node("ax", frozenset([c]), c))),)
    )
    return node("cut", E, c, (lemma, rest), lemma=d)


@pytest.mark.parametrize("pad", [0, 1, 2, 5])
def test_threshold_of_identical_programs_equals_the_hand_derivation(pad):
    k_star, total = closed_form_threshold(pad)
    me = Agent("fair", k_star, pad)
    below = Agent("fair", k_star - 1, pad)
    found = decide_action(me, me)
    assert found.cooperates and found.proof.size == total
    assert not decide_action(below, below).cooperates
    assert all(mutual(k, pad, pad) for k in range(k_star, k_star + 4))


def test_hand_written_loeb_proof_checks_exactly_at_the_threshold():
    k_star, total = closed_form_threshold(0)
    a = loeb_sizes(k_star, 0, 100)["lemma"]  # a 3-digit index: the lemma's own length
    assert a == 265 and k_star == 746 and total == 637
    ok = check_proof(hand_loeb_proof(k_star, 0, a), normal_form=True, max_length=k_star)
    assert ok.length == total and ok.nodes == 21
    assert gl_certify(hand_loeb_proof(k_star, 0, a))
    with pytest.raises(ProofError, match="box_r"):  # one symbol short of the bounded-Löb overhead
        check_proof(hand_loeb_proof(k_star - 1, 0, a))
    with pytest.raises(ProofError, match="box_r"):  # the index cannot hold the lemma (necessitation fails)
        check_proof(hand_loeb_proof(k_star, 0, a - 1))
    with pytest.raises(ProofError, match="diagonal"):
        check_proof(hand_loeb_proof(k_star, 0, a), diagonal=False)
    with pytest.raises(ProofError, match="exceeds the bound"):
        check_proof(hand_loeb_proof(k_star, 0, a), max_length=total - 1)


def test_checker_rejects_invalid_proofs():
    fb, db = Agent("fair", 100), Agent("defect")
    goal = coop(db, fb)
    with pytest.raises(ProofError, match="ax does not derive"):  # ⊥ is not an axiom
        check_proof(node("def_r", E, goal, (node("ax", E, BOT),)))
    with pytest.raises(ProofError, match="def_r does not derive"):  # wrong definition
        check_proof(node("def_r", E, goal, (node("ax", E, TOP),)))
    p = node("def_r", E, coop(Agent("cooperate"), fb), (node("ax", E, TOP),))
    assert check_proof(p).length == p.size
    tampered = type(p)(p.rule, p.hyps, p.goal, p.premises, size=p.size - 1)
    with pytest.raises(ProofError, match="recorded length"):
        check_proof(tampered)
    q = box(5, TOP)
    with pytest.raises(ProofError, match="carries only boxed hypotheses"):  # carried formula not in Γ
        check_proof(
            node(
                "imp_r",
                E,
                imp(TOP, box(99, TOP)),
                (node("box_r", frozenset([TOP]), box(99, TOP), (node("ax", frozenset([q, TOP]), TOP),), carried=(q,)),),
            )
        )
    with pytest.raises(ProofError, match="normal form"):
        check_proof(
            node(
                "imp_r",
                E,
                imp(TOP, TOP),
                (
                    node(
                        "cut", frozenset([TOP]), TOP, (node("ax", E, TOP), node("ax", frozenset([TOP]), TOP)), lemma=TOP
                    ),
                ),
            ),
            normal_form=True,
        )
    with pytest.raises(ProofError, match="imp_l does not derive"):
        check_proof(
            node(
                "imp_r",
                E,
                imp(imp(TOP, BOT), BOT),
                (
                    node(
                        "imp_l",
                        frozenset([imp(TOP, BOT)]),
                        BOT,
                        (node("ax", E, TOP), node("ax", frozenset([BOT]), TOP)),
                    ),
                ),
            )
        )


def test_lengths_agree_with_the_checkers_token_count():
    fb, cb = Agent("fair", 12345, 7), Agent("cooperate", 0, 3)
    c = coop(fb, cb)
    for f in (
        TOP,
        BOT,
        c,
        box(9, c),
        box(10, c),
        diag(1000, c),
        imp(c, box(3, conj(c, BOT))),
        unfold_diag(diag(77, c)),
        definition(c),
    ):
        assert f.size == length(f)
    assert c.size == 1 + (1 + 5 + 7) + (1 + 3)


# ----------------------------------------------------------------------------------- the search
def test_search_agrees_with_exhaustive_diagonal_indices():
    """The tight index policy (smallest a of each length) finds the same shortest proofs as trying every a."""
    for k, pa, pb in [(600, 0, 0), (745, 0, 0), (746, 0, 0), (900, 0, 0), (1219, 0, 1)]:
        a, b = Agent("fair", k, pa), Agent("fair", k, pb)
        tight, full = decide_action(a, b), decide_action(a, b, index_policy="exhaustive")
        assert tight.cooperates == full.cooperates
        assert (tight.proof.size if tight.proof else None) == (full.proof.size if full.proof else None)


def test_single_switch_scanned_bound_by_bound():
    res = [mutual(k, 0, 1) for k in range(1190, 1250)]
    first = res.index(True)
    assert first > 0 and all(res[first:]) and not any(res[:first])


def test_cooperation_switches_off_when_the_bound_gains_a_digit():
    """Identical FairBots with 2 padding symbols: the Löbian proof fits from k = 962 on, but at k = 1000 both
    codes grow by a digit, every sentence about them with them, and the proof no longer fits until 1072.
    Bound by bound, monotone within each digit class; the exact scan's intervals equal the dense scan's."""
    ks = range(940, 1100)
    dense = [(k, mutual(k, 2, 2)) for k in ks]
    spans = [k for (k, c), (_, c0) in zip(dense[1:], dense) if c != c0]
    assert spans == [962, 1000, 1072]
    assert cooperation_intervals(dense, 1099) == [(962, 999), (1072, 1099)]
    assert eventual_threshold(dense, 1099) == 1072
    assert digit_classes(16, 16384) == [(16, 99), (100, 999), (1000, 9999), (10000, 16384)]


def test_exact_intervals_from_sparse_probes():
    # class tops/bottoms and a switch per class, read by monotonicity within each class
    probes = [
        (99, False),
        (100, False),
        (961, False),
        (962, True),
        (999, True),
        (1000, False),
        (1071, False),
        (1072, True),
        (9999, True),
    ]
    assert cooperation_intervals(probes, 9999) == [(962, 999), (1072, 9999)]
    assert cooperation_intervals([(99, False), (100, True), (999, True), (1000, True), (9999, True)], 9999) == [
        (100, 9999)
    ]
    assert eventual_threshold([(99, True), (999, False)], 999) == -1


def test_found_proofs_recheck_and_hold_in_gl():
    for a, b in [
        (Agent("fair", 800), Agent("fair", 800)),
        (Agent("fair", 3000, 3), Agent("fair", 2000, 7)),
        (Agent("fair", 40), Agent("cooperate", 0, 2)),
    ]:
        d = decide_action(a, b)
        assert d.cooperates
        assert check_proof(d.proof, normal_form=True, max_length=a.bound).length == d.proof.size
        assert gl_certify(d.proof)


def test_gl_certify_rejects_a_false_sequent():
    fb, db = Agent("fair", 100), Agent("defect")
    bogus = node("def_r", E, coop(db, fb), (node("ax", E, BOT),))  # not a BL proof, and false in GL
    assert not gl_certify(bogus)


def test_without_the_diagonal_lemma_fairbots_never_cooperate():
    """Without δ, BL's theorems hold in a K4 model with a reflexive point where every FairBot defects
    (c ↔ □c has the solution c = false there), so no proof exists; the search must find none."""
    for k in (100, 746, 1000, 5000, 20000):
        for pa, pb in ((0, 0), (0, 1), (3, 9)):
            assert not mutual(k, pa, pb, diagonal=False)
            assert not decide_action(Agent("fair", k, pa), Agent("fair", k, pb), diagonal=False).cooperates
    assert decide_action(Agent("fair", 50), Agent("cooperate"), diagonal=False).cooperates


def test_defectbot_never_and_cooperatebot_from_the_sequent_length():
    for k in (10, 100, 1000, 10_000, 100_000):
        for pad in (0, 4):
            assert not decide_action(Agent("fair", k, pad), Agent("defect", 0, pad)).cooperates
    for pad in (0, 5):
        for k in (5, 9, 10, 11, 20, 100):
            fb, cb = Agent("fair", k, pad), Agent("cooperate", 0, 1)
            need = (1 + coop(cb, fb).size) + 2  # ⊢ CooperateBot(me)=C, then ⊢ ⊤
            assert decide_action(fb, cb).cooperates == (k >= need)


def test_large_bounds_act_like_the_unbounded_gl_fairbot():
    k = 100_000
    for opponent, name in (
        (Agent("fair", k, 1), "FairBot"),
        (Agent("defect"), "DefectBot"),
        (Agent("cooperate"), "CooperateBot"),
    ):
        gl = match("FairBot", name, cross_check=False)
        me = Agent("fair", k)
        assert decide_action(me, opponent).cooperates == gl.a_cooperates
        assert decide_action(opponent, me).cooperates == gl.b_cooperates


def test_the_larger_bound_finds_the_smaller_ones_proof_under_a_necessitation():
    """Regression: with diagonal cuts at the root only, FairBot_1280 proved FairBot_16384+1 cooperates (the
    outer box is the large bound) but not the other way round, and was exploited. The mirror proof needs a
    Löb cut at ``⊢ FairBot_16384+1(FairBot_1280)=C`` below a necessitation of the small bound."""
    small, large = Agent("fair", 1280), Agent("fair", 16384, 1)
    assert decide_action(small, large).cooperates
    d = decide_action(large, small)
    assert d.cooperates
    cuts = [q for q in d.proof.nodes() if q.rule == "cut"]
    assert cuts and any(q is not d.proof for q in cuts)  # a cut below the root
    check_proof(d.proof, normal_form=True, max_length=large.bound)


def test_different_bounds_never_give_one_sided_outcomes():
    ks = (700, 1100, 1250, 1500, 3000, 16384)
    for k in ks:
        for m in ks:
            a, b = Agent("fair", k), Agent("fair", m, 1)
            assert decide_action(a, b).cooperates == decide_action(b, a).cooperates
    assert mutual(1500, 0, 1) and not mutual(1100, 0, 1)


def test_memo_is_per_prover_and_search_is_repeatable():
    a = Agent("fair", 900, 0)
    p1, p2 = BoundedProver(), BoundedProver()
    r1 = p1.search(coop(a, a), 900)
    p2.search(coop(Agent("fair", 5000, 3), a), 5000)  # unrelated work first
    r2 = p2.search(coop(a, a), 900)
    assert r1.proof.size == r2.proof.size


def test_bad_agents_are_rejected_with_the_field_named():
    with pytest.raises(ValueError, match=r"Agent\.kind"):
        Agent("tit-for-tat")
    with pytest.raises(ValueError, match="proof bound"):
        Agent("defect", 5)
    with pytest.raises(ValueError, match="index_policy"):
        BoundedProver(index_policy="all")
