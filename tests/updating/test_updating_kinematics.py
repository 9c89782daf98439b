"""Probability kinematics in exact arithmetic: the constructed counterexample (worked by hand below),
Field's commutativity, rigidity, the Diaconis-Zabell condition, conditioning as a limit case."""

from __future__ import annotations

from fractions import Fraction as Fr

import numpy as np
import pytest

from aflab.updating import kinematics as K


def frac(*xs):
    return np.array([Fr(x) for x in xs], dtype=object)


# The 2 x 2 grid: atoms (e0 f0, e0 f1, e1 f0, e1 f1), prior correlated (2/5, 1/10, 1/10, 2/5).
P = frac("2/5", "1/10", "1/10", "2/5")
E, F = K.grid_partitions(2, 2)
Q = frac("4/5", "1/5")  # experience on E
R = frac("3/4", "1/4")  # experience on F


def test_counterexample_worked_by_hand():
    # E first: p(E0) = p(E1) = 1/2, so p' = p * (8/5, 8/5, 2/5, 2/5) = (16/25, 4/25, 1/25, 4/25).
    # Then F: p'(F0) = 17/25, p'(F1) = 8/25 -> factors (3/4)/(17/25) = 75/68 and (1/4)/(8/25) = 25/32:
    # (16/25 * 75/68, 4/25 * 25/32, 1/25 * 75/68, 4/25 * 25/32) = (12/17, 1/8, 3/68, 1/8).
    ef = K.jeffrey_update(K.jeffrey_update(P, E, Q), F, R)
    assert list(ef) == list(frac("12/17", "1/8", "3/68", "1/8"))
    # F first: p(F0) = p(F1) = 1/2 -> p * (3/2, 1/2, 3/2, 1/2) = (3/5, 1/20, 3/20, 1/5); p(E0) = 13/20,
    # p(E1) = 7/20 -> factors 16/13 and 4/7: (48/65, 4/65, 3/35, 4/35).
    fe = K.jeffrey_update(K.jeffrey_update(P, F, R), E, Q)
    assert list(fe) == list(frac("48/65", "4/65", "3/35", "4/35"))
    # each order keeps the targets of its *last* update only
    assert list(K.cell_probs(ef, F)) == list(R) and list(K.cell_probs(fe, E)) == list(Q)
    assert list(K.cell_probs(ef, E)) != list(Q)
    assert not K.jeffrey_commutes_condition(P, E, Q, F, R)


def test_same_experiences_as_bayes_factors_commute_exactly():
    be, bf = K.factors_for_targets(P, E, Q), K.factors_for_targets(P, F, R)
    assert list(be) == list(frac("8/5", "2/5")) and list(bf) == list(frac("3/2", "1/2"))
    ef = K.factor_update(K.factor_update(P, E, be), F, bf)
    fe = K.factor_update(K.factor_update(P, F, bf), E, be)
    # p * (8/5 * 3/2, 8/5 * 1/2, 2/5 * 3/2, 2/5 * 1/2) = (24/25, 2/25, 3/50, 2/25) / (59/50)
    assert list(ef) == list(fe) == list(frac("48/59", "4/59", "3/59", "4/59"))


def test_one_field_update_is_the_jeffrey_update_it_encodes():
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = K.normalize(K.as_exact(rng.dirichlet(np.ones(9)) + 0.01))
        q = K.normalize(K.as_exact(rng.dirichlet(np.ones(3)) + 0.01))
        e, _ = K.grid_partitions(3, 3)
        assert list(K.factor_update(p, e, K.factors_for_targets(p, e, q))) == list(K.jeffrey_update(p, e, q))


def test_rigidity_and_targets_are_exact():
    rng = np.random.default_rng(4)
    e, _ = K.grid_partitions(3, 4)
    for _ in range(20):
        p = K.normalize(K.as_exact(rng.dirichlet(np.ones(12)) + 0.01))
        q = K.normalize(K.as_exact(rng.dirichlet(np.ones(3)) + 0.01))
        new = K.jeffrey_update(p, e, q)
        assert K.rigidity_residual(p, new, e) == 0.0
        assert list(K.cell_probs(new, e)) == list(q)
        assert K.bayes_factors(p, new, e)[0] == q[0] / K.cell_probs(p, e)[0]


def test_point_mass_targets_are_conditioning():
    new = K.jeffrey_update(P, E, frac(1, 0))
    assert list(new) == list(K.condition(P, E == 0)) == list(frac("4/5", "1/5", 0, 0))


def test_virtual_evidence_with_indicator_likelihood_is_conditioning():
    assert list(K.virtual_evidence(P, frac(0, 1, 0, 1))) == list(K.condition(P, F == 1))


def test_product_prior_commutes_and_satisfies_dz():
    a, b = frac("1/3", "2/3"), frac("1/4", "3/4")
    p = np.outer(a, b).ravel()
    ef = K.jeffrey_update(K.jeffrey_update(p, E, Q), F, R)
    fe = K.jeffrey_update(K.jeffrey_update(p, F, R), E, Q)
    assert list(ef) == list(fe)
    assert K.jeffrey_commutes_condition(p, E, Q, F, R)
    # the common result is the product of the two targets
    assert list(ef) == list(np.outer(Q, R).ravel())


def test_float_arrays_work_too():
    p = np.array([0.4, 0.1, 0.1, 0.4])
    out = K.jeffrey_update(p, E, np.array([0.8, 0.2]))
    np.testing.assert_allclose(out, [0.64, 0.16, 0.04, 0.16])


@pytest.mark.parametrize(
    "targets, message",
    [(frac("1/2"), "one value per cell"), (frac(-1, 2), "non-negative")],
)
def test_bad_targets_are_named(targets, message):
    with pytest.raises(ValueError, match=message):
        K.jeffrey_update(P, E, targets)


def test_target_on_a_null_cell_is_rejected():
    p = frac("1/2", "1/2", 0, 0)
    with pytest.raises(ValueError, match="rules out"):
        K.jeffrey_update(p, E, frac("1/2", "1/2"))
    with pytest.raises(ValueError, match="probability 0"):
        K.condition(p, E == 1)
