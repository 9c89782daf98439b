"""Monte Carlo of self-conditioned generation vs the closed forms, within 3 standard errors, on a grid."""

from __future__ import annotations

import numpy as np
import pytest

from aflab.waluigi import montecarlo as mc
from aflab.waluigi import theory as th
from aflab.waluigi import window_chain as wc
from aflab.waluigi.model import (
    DiscreteHazardPrior,
    Luigi,
    PersonaMixture,
    SystemPrompt,
    WaluigiPopulation,
    standard_mixture,
)


def make_mixture(prior: str, h: float, r: float, prompt: str = "none") -> PersonaMixture:
    """The grid's mixtures (same family as test_waluigi_theory_solver.py)."""
    sp = {
        "none": None,
        "pinned": SystemPrompt((0.0, -1.0), "pinned"),
        "sliding0": SystemPrompt((0.0, -1.0), "sliding", 0),
        "sliding2": SystemPrompt((0.5, -0.5), "sliding", 2),
    }[prompt]
    if prior == "single":
        return standard_mixture(h=h, r=r, p_waluigi=0.4, prompt=sp)
    if prior == "beta":
        return standard_mixture(beta=(h * 10, 3.0), r=r, p_waluigi=0.4, prompt=sp, n_nodes=24)
    pop = WaluigiPopulation(DiscreteHazardPrior((h, h / 5, min(1.0, 3 * h)), (0.5, 0.3, 0.2)), r=r)
    return PersonaMixture((Luigi(), pop), (0.6, 0.4), prompt=sp)


Z = 3.0


def _checkpoints(S: np.ndarray) -> list[int]:
    """Times where the survival is at 0.8, 0.5, 0.2, 0.05 of its range (read off the theory curve)."""
    out = []
    for level in (0.8, 0.5, 0.2, 0.05):
        idx = int(np.argmax(level >= S))
        if S[idx] <= level and idx > 0:
            out.append(idx)
    return sorted(set(out))


MC_GRID = [
    ("single", 0.05, 1.0, 4, "none"),
    ("single", 0.3, 0.4, 8, "none"),
    ("beta", 0.08, 0.7, 6, "none"),
    ("discrete", 0.1, 1.0, 3, "none"),
    ("discrete", 0.2, 0.3, 10, "none"),
    ("single", 0.1, 0.5, 5, "pinned"),
    ("single", 0.1, 0.5, 5, "sliding0"),
    ("beta", 0.05, 1.0, 16, "sliding2"),
]


@pytest.mark.parametrize("prior, h, r, k, prompt", MC_GRID)
def test_window_mc_survival_and_floor_vs_closed_form(prior, h, r, k, prompt):
    mix = make_mixture(prior, h, r, prompt)
    T = 600
    fe = mc.simulate_window(mix, k, 6000, T, np.random.default_rng(MC_GRID.index((prior, h, r, k, prompt))))
    km = mc.kaplan_meier(fe.time, fe.observed, T)
    S = th.survival_window(mix, np.arange(T + 1), k)
    S_solver = wc.clean_phase(mix, k, T).survival
    for t in _checkpoints(S):
        for ref in (S[t], S_solver[t]):  # MC vs the closed form and vs the exact solver
            assert abs(km.survival[t] - ref) <= Z * np.sqrt(ref * (1 - ref) / 6000), t
    lam, _, exposure = mc.constant_hazard(fe.time, fe.observed, k + 1, T)
    eps = th.hazard_floor(mix, k)
    assert exposure > 0 and abs(lam - eps) <= Z * np.sqrt(eps * (1 - eps) / exposure)


@pytest.mark.parametrize(
    "prior, h, r", [("single", 0.05, 1.0), ("single", 0.3, 0.4), ("beta", 0.08, 0.7), ("discrete", 0.1, 1.0)]
)
@pytest.mark.filterwarnings("ignore::aflab.waluigi.model.QuadratureWarning")  # MC and closed form share the nodes
def test_unbounded_mc_vs_closed_form(prior, h, r):
    mix = make_mixture(prior, h, r)
    T = 150
    fe = mc.simulate_unbounded(mix, 6000, T, np.random.default_rng(3))
    km = mc.kaplan_meier(fe.time, fe.observed, T)
    S = th.survival_unbounded(mix, np.arange(T + 1))
    for t in (5, 20, 60, T):
        assert abs(km.survival[t] - S[t]) <= Z * np.sqrt(S[t] * (1 - S[t]) / 6000), t
    assert th.p_ever_unbounded(mix) == pytest.approx(0.4)


@pytest.mark.parametrize("r, k", [(0.3, 2), (0.5, 5), (0.6, 6)])
def test_exit_mc_vs_closed_form(r, k):
    mix = standard_mixture(h=0.2, r=r, p_waluigi=0.5)
    ex = mc.simulate_exit(mix, k, 1500, 10**6, np.random.default_rng(k))
    assert ex.observed.all()
    mean, sd = float(th.exit_time_mean(r, k)), float(np.sqrt(th.exit_time_var(r, k)))
    assert abs(ex.time.mean() - mean) <= Z * sd / np.sqrt(1500)


@pytest.mark.parametrize("k", [1, 4, 12, 0])
def test_split_mc_vs_closed_form(k):
    mix = standard_mixture(h=0.1, r=1.0, p_waluigi=0.3, g=0.05, p_repetition=0.3)
    rng = np.random.default_rng(11 + k)
    if k:
        fe = mc.simulate_window(mix, k, 8000, 2000, rng, events="departure")
        inc = th.departure_incidence_window(mix, k, 2000)
    else:
        fe = mc.simulate_unbounded(mix, 8000, 300, rng, events="departure")
        inc = th.departure_incidence_unbounded(mix, 300)
    for code, cls in ((0, "revealing"), (1, "collapse")):
        p = inc[cls][-1]
        assert abs(np.mean(fe.event_class == code) - p) <= Z * np.sqrt(p * (1 - p) / 8000)


def test_ternary_revealing_survival_mc_vs_solver():
    """Collapse tokens are evidence: no closed form, so the solver is the reference."""
    mix = standard_mixture(h=0.1, r=0.8, p_waluigi=0.3, g=0.05, p_repetition=0.3, rho=0.7)
    fe = mc.simulate_window(mix, 5, 8000, 300, np.random.default_rng(5))
    km = mc.kaplan_meier(fe.time, fe.observed, 300)
    S = wc.clean_phase(mix, 5, 300).survival
    for t in (10, 40, 120, 300):
        assert abs(km.survival[t] - S[t]) <= Z * np.sqrt(S[t] * (1 - S[t]) / 8000)


def test_naive_loop_matches_vectorised_law():
    mix = standard_mixture(h=0.2, r=0.6, p_waluigi=0.5)
    fn = mc.naive_window_loop(mix, 3, 1500, 200, np.random.default_rng(1))
    S = th.survival_window(mix, np.arange(201), 3)
    km = mc.kaplan_meier(fn.time, fn.observed, 200)
    for t in (2, 5, 15, 40):
        assert abs(km.survival[t] - S[t]) <= Z * np.sqrt(S[t] * (1 - S[t]) / 1500)


def test_kaplan_meier_reduces_to_empirical_without_censoring():
    rng = np.random.default_rng(0)
    T = rng.geometric(0.1, size=2000) - 1
    km = mc.kaplan_meier(T, np.ones_like(T, bool), 40)
    emp = np.array([(t <= T).mean() for t in range(41)])
    np.testing.assert_allclose(km.survival, emp, atol=1e-12)
    binom_se = np.sqrt(emp * (1 - emp) / 2000)
    np.testing.assert_allclose(km.stderr, binom_se, rtol=1e-6, atol=1e-12)  # Greenwood = binomial here
    assert np.all(km.lower <= km.survival + 1e-12) and np.all(km.upper >= km.survival - 1e-12)


def test_kaplan_meier_with_censoring_is_unbiased():
    rng = np.random.default_rng(2)
    T = rng.geometric(0.05, size=20_000) - 1
    C = rng.integers(0, 80, size=T.size)
    time, obs = np.minimum(T, C), T <= C
    km = mc.kaplan_meier(time, obs, 60)
    for t in (10, 30, 50):
        assert abs(km.survival[t] - 0.95**t) <= Z * km.stderr[t]


def test_bad_sizes_raise():
    mix = standard_mixture()
    with pytest.raises(ValueError, match="n_traj"):
        mc.simulate_window(mix, 3, 0, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="k must be"):
        mc.simulate_window(mix, 0, 10, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="events"):
        mc.simulate_unbounded(mix, 10, 10, np.random.default_rng(0), events="other")
    with pytest.raises(ValueError, match="never entered"):
        mc.simulate_exit(
            standard_mixture(h=1e-9, p_waluigi=1e-6, r=0.5), 12, 5, 10, np.random.default_rng(0), entry_budget=20
        )
