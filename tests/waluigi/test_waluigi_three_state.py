"""The comment's three-state persona: luigi; waluigi hidden; waluigi revealed at the moment it defects,
then revealing each later token with probability r (``Waluigi(h, r, r_defect=1)``).

References independent of model.py: an explicit three-state hidden Markov forward pass (states hidden /
defecting / defected, a transition matrix and an emission matrix), and the window chain built from it
as a dense 2^k x 2^k matrix whose stationary law is solved directly.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from aflab.waluigi import montecarlo as mc
from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import Luigi, PersonaMixture, TokenAlphabet, Waluigi, bayes_predictive, sample_documents


def comment_mixture(h=0.5, r=0.3, w=0.5, delta=0.0) -> PersonaMixture:
    return PersonaMixture((Luigi(delta), Waluigi(h, r, delta, r_defect=1.0)), (1 - w, w), TokenAlphabet(2))


def hmm_seq_prob(seq, h, r, delta, r_defect) -> float:
    """P(seq) for the waluigi: states hidden (H), defecting now (D), defected (P); transition before emission."""
    T = np.array([[1 - h, h, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    E = np.array([[1 - delta, delta], [1 - r_defect, r_defect], [1 - r, r]])
    alpha = np.array([1.0, 0.0, 0.0])
    for x in seq:
        alpha = (alpha @ T) * E[:, x]
    return float(alpha.sum())


def brute_predictive(mix: PersonaMixture, window) -> np.ndarray:
    (lu, wa), (w_l, w_w) = mix.personas, mix.weights
    joint = []
    for x in (0, 1):
        seq = [*window, x]
        p_l = float(np.prod([lu.delta if t else 1 - lu.delta for t in seq]))
        joint.append(w_l * p_l + w_w * hmm_seq_prob(seq, wa.h, wa.r, wa.delta, wa.r_defect))
    joint = np.array(joint)
    if joint.sum() == 0:  # an impossible window: the reader answers as for the empty window (documented)
        return brute_predictive(mix, [])
    return joint / joint.sum()


def brute_occupancy(mix: PersonaMixture, k: int) -> float:
    """Stationary fraction of windows holding a revealing token: dense chain, direct linear solve."""
    windows = list(itertools.product((0, 1), repeat=k))
    n = len(windows)
    P = np.zeros((n, n))
    for i, win in enumerate(windows):
        pred = brute_predictive(mix, list(win))
        for x in (0, 1):
            P[i, (i * 2 + x) % n] += pred[x]
    A = (np.eye(n) - P).T
    A[0] = 1.0
    b = np.zeros(n)
    b[0] = 1.0
    pi = np.linalg.solve(A, b)
    return float(sum(p for p, win in zip(pi, windows) if any(win)))


@pytest.mark.parametrize("r", [0.0, 0.3, 0.8])
@pytest.mark.parametrize("delta", [0.0, 0.05])
def test_reader_equals_the_three_state_hmm(r, delta):
    mix = comment_mixture(h=0.3, r=r, w=0.4, delta=delta)
    for length in range(0, 6):
        for win in itertools.product((0, 1), repeat=length):
            got = bayes_predictive(mix, np.array([win]) if length else np.full((1, 1), -1))[0]
            np.testing.assert_allclose(got, brute_predictive(mix, list(win)), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("r", [0.3, 0.7])
def test_occupancy_solver_and_renewal_formula_vs_brute_force_chain(k, r):
    mix = comment_mixture(h=0.5, r=r)
    ref = brute_occupancy(mix, k)
    assert wc.stationary_occupancy(mix, k, method="sparse")["revealing"] == pytest.approx(ref, abs=1e-10)
    assert wc.stationary_occupancy(mix, k, method="shift")["revealing"] == pytest.approx(ref, abs=1e-10)
    assert th.waluigi_occupancy(mix, k) == pytest.approx(ref, abs=1e-10)


def test_the_comments_toy_numbers():
    """h = 1/2, k = 10, r = 0.3, prior 1/2: the floor of the comment's model is w h (1-h)^k / (1 - w + w (1-h)^k)
    = 4.9e-4 whatever r is (a clean window means 'not yet defected'); aflab's silent-defection waluigi gives
    0.0138 (a clean window may hide a defected waluigi that has not revealed itself)."""
    q = 0.5**10
    closed = 0.5 * 0.5 * q / (0.5 + 0.5 * q)
    for r in (0.0, 0.3, 0.9):
        mix = comment_mixture(h=0.5, r=r)
        assert th.hazard_floor(mix, 10) == pytest.approx(closed, rel=1e-12)
        assert wc.clean_phase(mix, 10, 0).hazard_floor == pytest.approx(closed, rel=1e-9)
    assert round(closed, 5) == 0.00049
    silent = PersonaMixture((Luigi(), Waluigi(0.5, 0.3)), (0.5, 0.5))
    assert round(th.hazard_floor(silent, 10), 4) == 0.0138
    assert th.hazard_floor(silent, 10) == pytest.approx(wc.clean_phase(silent, 10, 0).hazard_floor, rel=1e-9)


def test_monte_carlo_of_the_three_state_persona_matches_the_closed_forms():
    mix = comment_mixture(h=0.2, r=0.3)
    rng = np.random.default_rng(4)
    fe = mc.simulate_unbounded(mix, 20_000, 60, rng)
    km = mc.kaplan_meier(fe.time, fe.observed, 60)
    S = th.survival_unbounded(mix, np.arange(61))
    assert np.all(np.abs(km.survival - S) <= 4 * km.stderr + 1e-12)
    for k in (2, 4):
        fe = mc.simulate_window(mix, k, 20_000, 400, rng)
        lam, se, _ = mc.constant_hazard(fe.time, fe.observed, k, 400)
        assert abs(lam - th.hazard_floor(mix, k)) <= 4 * se
        ex = mc.simulate_exit(mix, k, 3000, 10**6, rng)
        se_ex = ex.time.std() / np.sqrt(ex.time.size)
        assert abs(ex.time.mean() - th.exit_time_mean(0.3, k)) <= 4 * se_ex
        assert wc.exit_time(mix, k).mean == pytest.approx(float(th.exit_time_mean(0.3, k)), rel=1e-9)


def test_documents_reveal_at_the_defection_step():
    """r = 0, r_defect = 1: a waluigi document holds exactly one revealing token, at its defection step."""
    mix = comment_mixture(h=0.2, r=0.0, w=1.0 - 1e-12)
    docs, who, _ = sample_documents(mix, 4000, 30, np.random.default_rng(1), return_personas=True)
    wal = docs[who == 1]
    counts = wal.sum(axis=1)
    assert set(np.unique(counts)) <= {0, 1}
    first = np.argmax(wal[counts == 1], axis=1) + 1  # defection step D ~ Geometric(h)
    assert abs(first.mean() - 1 / 0.2) < 4 * np.sqrt(0.8 / 0.04 / first.size)
    table = pd.Series(counts).value_counts(normalize=True)
    assert table.get(0, 0.0) == pytest.approx(0.8**30, abs=0.01)


def test_bad_reveal_at_defection_is_a_clear_error():
    with pytest.raises(ValueError, match="r_defect"):
        Waluigi(0.2, 0.3, r_defect=1.5)
