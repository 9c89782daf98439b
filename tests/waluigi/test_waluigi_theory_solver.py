"""Closed forms vs independent references (direct sums, the reader itself), and the exact solver vs both,
across a grid of (h, r, prior, k, prompt)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import (
    DiscreteHazardPrior,
    Luigi,
    PersonaMixture,
    SystemPrompt,
    WaluigiPopulation,
    bayes_predictive,
    posterior,
    standard_mixture,
)


def make_mixture(prior: str, h: float, r: float, prompt: str = "none", delta: float = 0.0) -> PersonaMixture:
    sp = {
        "none": None,
        "pinned": SystemPrompt((0.0, -1.0), "pinned"),
        "sliding0": SystemPrompt((0.0, -1.0), "sliding", 0),
        "sliding2": SystemPrompt((0.5, -0.5), "sliding", 2),
    }[prompt]
    if prior == "single":
        return standard_mixture(h=h, r=r, p_waluigi=0.4, delta=delta, prompt=sp)
    if prior == "beta":
        return standard_mixture(beta=(h * 10, 3.0), r=r, p_waluigi=0.4, delta=delta, prompt=sp, n_nodes=24)
    pop = WaluigiPopulation(DiscreteHazardPrior((h, h / 5, min(1.0, 3 * h)), (0.5, 0.3, 0.2)), r=r, delta=delta)
    return PersonaMixture((Luigi(delta), pop), (0.6, 0.4), prompt=sp)


GRID = [
    (prior, h, r, k, prompt)
    for (prior, h, r), k, prompt in itertools.product(
        [
            ("single", 0.05, 1.0),
            ("single", 0.3, 0.4),
            ("beta", 0.08, 0.7),
            ("discrete", 0.1, 1.0),
            ("discrete", 0.2, 0.3),
        ],
        [1, 3, 8],
        ["none", "pinned", "sliding0", "sliding2"],
    )
    if prompt == "none" or k == 3
]


def _direct_clean_prob(h, qm, qp, t):
    """P(no event in t tokens) for one type, by the explicit sum over the defection step."""
    total = ((1 - h) * qm) ** t
    for d in range(1, t + 1):
        total += ((1 - h) * qm) ** (d - 1) * h * qp ** (t - d + 1)
    return total


@pytest.mark.parametrize("h, r, delta", [(0.05, 1.0, 0.0), (0.3, 0.4, 0.0), (0.2, 0.7, 0.05), (1.0, 0.5, 0.1)])
def test_unbounded_survival_vs_direct_sum(h, r, delta):
    mix = standard_mixture(h=h, r=r, p_waluigi=0.4, delta=delta)
    t = np.arange(0, 40)
    direct = 0.6 * (1 - delta) ** t + 0.4 * np.array([_direct_clean_prob(h, 1 - delta, 1 - r, int(s)) for s in t])
    np.testing.assert_allclose(th.survival_unbounded(mix, t), direct, rtol=1e-10)
    # the hazard is the reader's own predictive on a clean window
    for s in (1, 5, 20):
        assert th.hazard_unbounded(mix, [s])[0] == pytest.approx(bayes_predictive(mix, np.zeros(s, int))[1], rel=1e-10)
    if delta == 0:
        assert th.p_ever_unbounded(mix) == pytest.approx(0.4)
    else:
        assert th.p_ever_unbounded(mix) == 1.0
        tt = np.arange(6000)
        assert th.expected_time_unbounded(mix) == pytest.approx(th.survival_unbounded(mix, tt).sum(), rel=1e-6)


@pytest.mark.parametrize("prior, h, r, k, prompt", GRID)
def test_window_closed_forms_vs_reader_and_solver(prior, h, r, k, prompt):
    mix = make_mixture(prior, h, r, prompt)
    T = 60
    # reference 1: product of the reader's own predictive along the clean trajectory
    haz = []
    for t in range(T):
        j = min(t, k)
        win = np.zeros(j, int) if j else np.full(1, -1)
        view = mix.prompt is None or mix.prompt.in_view(t, k)
        haz.append(bayes_predictive(mix, win, include_prompt=view)[1])
    S_ref = np.concatenate([[1.0], np.cumprod(1 - np.array(haz))])
    S_th = th.survival_window(mix, np.arange(T + 1), k)
    np.testing.assert_allclose(S_th, S_ref, rtol=1e-9)
    # reference 2: the exact solver (forward iteration + linear solves + Perron root)
    cp = wc.clean_phase(mix, k, T)
    np.testing.assert_allclose(cp.survival, S_th, rtol=1e-9, atol=1e-15)
    assert cp.hazard_floor == pytest.approx(th.hazard_floor(mix, k), rel=1e-9)
    assert cp.mean_time == pytest.approx(th.expected_time_window(mix, k), rel=1e-8)
    assert cp.split["revealing"] == pytest.approx(1.0, abs=1e-9)  # the window makes it certain
    assert th.hazard_floor(mix, k) > 0


@pytest.mark.parametrize("prior", ["single", "beta", "discrete"])
@pytest.mark.parametrize("k", [1, 4, 12])
def test_log_odds_trajectory_vs_forward_posterior(prior, k):
    mix = make_mixture(prior, 0.1, 0.6)
    t = np.array([0, 1, 3, 7, 12, 20, 30])
    full, win = th.log_odds_trajectory(mix, t), th.log_odds_trajectory(mix, t, k=k)
    for s, lf, lw in zip(t, full, win):
        for value, length in ((lf, s), (lw, min(s, k))):
            post = posterior(mix, np.zeros(length, int) if length else np.full(1, -1))
            assert value == pytest.approx(np.log(post[1] / post[0]), rel=1e-9, abs=1e-12)
    assert np.all(np.diff(full) < 0) and np.all(win[t >= k] == win[t >= k][0])


@pytest.mark.parametrize("k", [1, 2, 6, 20, 64])
def test_hazard_floor_special_closed_forms(k):
    for h in (0.02, 0.3):
        mix = standard_mixture(h=h, r=1.0, p_waluigi=0.3)
        assert th.hazard_floor(mix, k) == pytest.approx(float(th.hazard_floor_single(h, 0.3, k)), rel=1e-10)
    # the Beta-function formula (continuous prior) vs the Gauss-Jacobi reader (exact for k <= 2n-2)
    mix = standard_mixture(beta=(0.5, 2.0), r=1.0, p_waluigi=0.3, n_nodes=40)
    assert th.hazard_floor(mix, k) == pytest.approx(float(th.hazard_floor_beta(0.5, 2.0, 0.3, k)), rel=1e-8)


def test_asymptotic_slopes():
    k = np.array([20_000.0, 40_000.0])
    eb = th.hazard_floor_beta(0.7, 2.0, 0.5, k)
    assert np.diff(np.log(eb))[0] / np.diff(np.log(k))[0] == pytest.approx(-1.7, rel=1e-3)
    es = th.hazard_floor_single(0.1, 0.5, np.array([200.0, 201.0]))
    assert np.diff(np.log(es))[0] == pytest.approx(np.log(0.9), rel=1e-6)


@pytest.mark.parametrize("r", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("k", [1, 2, 5, 8])
@pytest.mark.parametrize("prior", ["single", "beta"])
def test_exit_time_solver_vs_closed_form(r, k, prior):
    mix = make_mixture(prior, 0.1, r)
    ex = wc.exit_time(mix, k, t_max=40)
    assert ex.mean == pytest.approx(float(th.exit_time_mean(r, k)), rel=1e-8)
    np.testing.assert_allclose(ex.pmf, th.exit_time_pmf(r, k, 40), atol=1e-12)
    occ = wc.stationary_occupancy(mix, k)
    assert occ["revealing"] == pytest.approx(th.waluigi_occupancy(mix, k), rel=1e-7)


@pytest.mark.parametrize("r, k", [(0.3, 3), (0.6, 5)])
def test_exit_time_moments_vs_pmf(r, k):
    pmf = th.exit_time_pmf(r, k, 20_000)
    t = np.arange(pmf.size)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (t * pmf).sum() == pytest.approx(float(th.exit_time_mean(r, k)), rel=1e-8)
    var = (t**2 * pmf).sum() - (t * pmf).sum() ** 2
    assert var == pytest.approx(float(th.exit_time_var(r, k)), rel=1e-6)


def test_exactly_absorbing_and_outside_the_closed_form():
    assert wc.exit_time(standard_mixture(h=0.2, r=1.0), 4).mean == float("inf")
    slips = standard_mixture(h=0.2, r=0.5, delta=0.05)  # the luigi also emits revealing tokens
    with pytest.raises(ValueError, match="delta = 0"):
        th.shared_reveal_rate(slips)
    ex = wc.exit_time(slips, 4)
    assert np.isfinite(ex.mean) and ex.mean < float(th.exit_time_mean(0.5, 4))


SPLIT_GRID = [(0.1, 0.05, 1.0, 1.0), (0.2, 0.2, 0.7, 0.5), (0.05, 0.3, 1.0, 0.8)]


@pytest.mark.parametrize("h, g, r, rho", SPLIT_GRID)
@pytest.mark.parametrize("k", [1, 3, 9])
def test_competing_split_solver_vs_closed_form(h, g, r, rho, k):
    mix = standard_mixture(h=h, r=r, p_waluigi=0.3, g=g, p_repetition=0.3, rho=rho)
    cp = wc.clean_phase(mix, k, 100, events="departure")
    split = th.departure_split_window(mix, k)
    inc = th.departure_incidence_window(mix, k, 100)
    for c in ("revealing", "collapse"):
        assert cp.split[c] == pytest.approx(split[c], rel=1e-9)
        np.testing.assert_allclose(cp.incidence[c], inc[c], atol=1e-12)
    assert split["revealing"] + split["collapse"] == pytest.approx(1.0)
    lim = th.departure_split_unbounded(mix)
    assert lim["revealing"] == pytest.approx(0.3) and lim["collapse"] == pytest.approx(0.3)
    inc_u = th.departure_incidence_unbounded(mix, 5000)
    assert inc_u["revealing"][-1] == pytest.approx(0.3, abs=1e-9)


def test_revealing_events_with_collapse_need_the_solver():
    mix = standard_mixture(h=0.1, r=1.0, p_waluigi=0.3, g=0.05, p_repetition=0.3)
    with pytest.raises(ValueError, match="repetition"):
        th.hazard_floor(mix, 4)
    cp = wc.clean_phase(mix, 6, 50, events="revealing")
    assert cp.mean_time == float("inf")  # collapsed windows never reveal
    assert cp.split["revealing"] == pytest.approx(th.departure_split_window(mix, 6)["revealing"], rel=1e-9)


def test_binary_k20_and_beyond():
    mix = standard_mixture(beta=(0.5, 2.0), r=0.8, p_waluigi=0.5, n_nodes=40)
    for k in (20, 60):
        cp = wc.clean_phase(mix, k, 200)
        np.testing.assert_allclose(cp.survival, th.survival_window(mix, np.arange(201), k), rtol=1e-9)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: th.hazard_floor(m, 0),
        lambda m: th.survival_window(m, [3], 0),
        lambda m: wc.clean_phase(m, 0),
        lambda m: wc.exit_time(m, -2),
        lambda m: th.log_odds_trajectory(m, [1], k=0),
    ],
)
def test_bad_k(fn):
    with pytest.raises(ValueError, match="k must be"):
        fn(standard_mixture())


@settings(max_examples=25, deadline=None)
@given(
    h=st.floats(0.01, 1.0),
    r=st.floats(0.05, 1.0),
    pw=st.floats(0.05, 0.95),
    delta=st.floats(0.0, 0.3),
    k=st.integers(1, 12),
    ev=st.floats(-3, 3),
    mode=st.sampled_from(["none", "pinned", "sliding"]),
    length=st.integers(0, 4),
)
def test_solver_equals_closed_form_for_random_parameters(h, r, pw, delta, k, ev, mode, length):
    prompt = None if mode == "none" else SystemPrompt((0.0, ev), mode, length)
    mix = standard_mixture(h=h, r=r, p_waluigi=pw, delta=delta, prompt=prompt)
    cp = wc.clean_phase(mix, k, 40)
    np.testing.assert_allclose(cp.survival, th.survival_window(mix, np.arange(41), k), rtol=1e-8, atol=1e-14)
    assert cp.hazard_floor == pytest.approx(th.hazard_floor(mix, k), rel=1e-8, abs=1e-15)
