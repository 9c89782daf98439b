"""PC(D_n) by incremental SAT with independent components == brute-force 2^atoms enumeration."""

import numpy as np
import pytest

from aflab.logical_induction.sentences import atom, conj, disj, exactly_one, iff, implies, neg
from aflab.logical_induction.worlds import KnowledgeBase, brute_force_worlds


def random_sentence(rng, atoms, depth):
    if depth == 0 or rng.random() < 0.3:
        a = atoms[rng.integers(len(atoms))]
        return neg(a) if rng.random() < 0.3 else a
    op = rng.integers(5)
    x, y = random_sentence(rng, atoms, depth - 1), random_sentence(rng, atoms, depth - 1)
    return [neg(x), conj(x, y), disj(x, y), implies(x, y), iff(x, y)][op]


def rows(a):
    return {tuple(r) for r in np.asarray(a).astype(int)}


@pytest.mark.parametrize("seed", range(25))
def test_solver_worlds_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    atoms = [atom(f"w{seed}_{i}") for i in range(7)]
    kb = KnowledgeBase()
    facts = []
    queries = [random_sentence(rng, atoms, 3) for _ in range(6)]
    for _step in range(4):
        f = random_sentence(rng, atoms, 2)
        if len(brute_force_worlds(facts + [f], [])) == 0:
            continue  # keep D consistent
        facts.append(f)
        kb.add_fact(f)
        pw = kb.project(queries)
        full = pw.full_worlds()
        assert rows(full) == rows(brute_force_worlds(facts, queries))
        truth = pw.decided()
        ref = brute_force_worlds(facts, queries)
        for j, q in enumerate(queries):
            col = ref[:, j]
            want = 1 if col.min() == 1 else (0 if col.max() == 0 else -1)
            assert truth[j] == want
            assert (kb.truth(q) if kb.truth(q) is not None else -1) == want
        coef = rng.normal(size=len(queries))
        assert np.isclose(pw.max_linear(coef), (ref @ coef).max())
        assert np.isclose(pw.min_linear(coef), (ref @ coef).min())


def test_components_split_and_blocks():
    kb = KnowledgeBase()
    block = [atom(f"blk(1)={d}") for d in range(10)]
    for ax in exactly_one(block):
        kb.add_fact(ax)
    others = [atom(f"free({i})") for i in range(200)]
    pw = kb.project(block + others)
    assert pw.n_components == 201
    assert pw.rows.shape[0] == 10 + 2 * 200  # not 10 * 2^200
    assert np.isclose(pw.n_worlds_log2(), np.log2(10) + 200)
    kb.add_fact(block[3])
    assert list(kb.project(block).decided()) == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_inconsistent_facts_raise():
    kb = KnowledgeBase()
    kb.add_fact(atom("q"))
    with pytest.raises(ValueError, match="inconsistent"):
        kb.add_fact(neg(atom("q")))
