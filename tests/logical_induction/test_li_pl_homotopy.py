"""Merrill's PL homotopy (`pl_homotopy`) against closed forms -- the fixed point of a steep affine map, the
roots of a 1-D map found by a grid scan -- and as the maker's last resort on a case the other solvers leave
uncertified, checked over brute-force worlds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.logical_induction.pl_homotopy import freudenthal_replace, freudenthal_vertices, merrill_restart


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 8), slope=st.floats(1.0, 400.0), seed=st.integers(0, 2**31 - 1))
def test_steep_affine_firm_fixed_point_is_found_to_float_precision(n, slope, seed):
    """F(x) = -S (x - p*) with S symmetric positive definite: h(x) = clip(x + F(x)) has the unique fixed point
    p* in the open cube. Vector labels interpolate an affine map exactly, so steepness costs nothing."""
    rng = np.random.default_rng(seed)
    p_star = rng.uniform(0.05, 0.95, n)
    M = rng.normal(size=(n, n))
    S = slope * (M @ M.T / n + 0.2 * np.eye(n)) / np.linalg.norm(M @ M.T / n + 0.2 * np.eye(n), 2)

    def g(x):
        y = np.clip(x, 0, 1)
        return np.clip(y - S @ (y - p_star), 0, 1) - x

    levels = merrill_restart(g, rng.uniform(0, 1, n), stop=lambda x: np.abs(g(x)).max() < 1e-12)
    assert levels[-1].complete
    assert np.abs(levels[-1].x - p_star).max() < 1e-9


def test_boundary_fixed_point_satisfies_complementarity():
    """Targets outside the cube: the fixed point of the clip map has coordinates at 0 or 1 where the firm
    pushes outward (F_i > 0 at P_i = 1, F_i < 0 at P_i = 0) and F_i = 0 inside: checked directly."""
    rng = np.random.default_rng(3)
    n = 6
    q = np.array([-0.5, 1.4, 0.3, 0.7, 2.0, 0.5])
    M = rng.normal(size=(n, n))
    S = 50 * (M @ M.T / n + 0.5 * np.eye(n))

    def F(y):
        return -S @ (y - q)

    def g(x):
        y = np.clip(x, 0, 1)
        return np.clip(y + F(y), 0, 1) - x

    x = merrill_restart(g, np.full(n, 0.5), stop=lambda x: np.abs(g(x)).max() < 1e-12)[-1].x
    f = F(x)
    inside = (x > 1e-9) & (x < 1 - 1e-9)
    assert np.abs(f[inside]).max(initial=0) < 1e-8
    assert np.all(f[x <= 1e-9] <= 1e-8) and np.all(f[x >= 1 - 1e-9] >= -1e-8)


def test_nonmonotone_one_dimensional_map_ends_at_one_of_its_roots():
    """h(x) = 0.5 + 0.45 sin(9 x) has three fixed points; the path ends at one of them (a grid scan and
    bisection find them all independently)."""

    def h(x):
        return 0.5 + 0.45 * np.sin(9 * x)

    grid = np.linspace(0, 1, 100_001)
    sign = np.sign(h(grid) - grid)
    roots = []
    for i in np.flatnonzero(sign[:-1] != sign[1:]):
        lo, hi = grid[i], grid[i + 1]
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.sign(h(mid) - mid) == sign[i] else (lo, mid)
        roots.append((lo + hi) / 2)
    assert len(roots) == 3

    def g(x):
        return h(np.clip(x, 0, 1)) - x

    for start in (0.0, 0.31, 0.5, 0.77, 1.0):
        x = merrill_restart(g, np.array([start]), stop=lambda x: abs(g(x)[0]) < 1e-13)[-1].x[0]
        assert min(abs(x - r) for r in roots) < 1e-10


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 6), data=st.data())
def test_freudenthal_replacement_shares_a_facet_and_is_an_involution(n, data):
    base = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=n + 1, max_size=n + 1)), dtype=np.int64)
    perm = data.draw(st.permutations(list(range(n + 1))))
    i = data.draw(st.integers(0, n + 1))
    old = freudenthal_vertices(base, perm)
    b2, p2 = freudenthal_replace(base, perm, i)
    new = freudenthal_vertices(b2, p2)
    assert old[i] not in new and set(old) - {old[i]} <= set(new)  # the facet opposite vertex i is shared
    assert len(set(new)) == n + 2
    j = new.index(next(v for v in new if v not in old))
    b3, p3 = freudenthal_replace(b2, p2, j)
    assert freudenthal_vertices(b3, p3) == old


def _maker_run(case):
    """The maker's solve state for a hard case, built the way ``make_market`` builds it."""
    from aflab.logical_induction import market as M

    return M._MakerRun(
        case.pw, case.pw.decided(), case.raw_trades, case.weights, case.state, case.start, case.tolerance,
        case.pattern, None, None,
    )  # fmt: skip


def test_last_resort_certifies_seed_294_from_the_solvers_best_point():
    """Seed 294 (an exclusive block of 4 atoms, 2 negations, 12 traders, two binding budgets, slope ~300 at
    the best point) was left at a worst-case value of 1.6e-5 against 2^-23 by every other step on one
    machine. The PL homotopy alone, from that best point, reaches a certified day, checked over brute-force
    worlds with the multipliers recomputed."""
    from aflab.logical_induction import market as M
    from aflab.logical_induction.hardcases import brute_force_value, make_case, solve_case

    case = make_case(294)
    best = solve_case(case, fallback=False)
    run = _maker_run(case)
    res = M._pl_homotopy_solve(run, best.prices, M.PL_MAX_EVALS)
    assert res.certified
    assert brute_force_value(case, res) <= case.tolerance * (1 + 1e-9) + 1e-15
    assert res.evaluations < M.PL_MAX_EVALS


@pytest.mark.parametrize("seed", [0, 2, 13])
def test_last_resort_alone_certifies_random_cases_from_one_half(seed):
    """Global convergence in practice: from 1/2, with no other solver before it, the homotopy certifies
    random adversarial days (these need 8-19 levels: tolerances down to 2^-40)."""
    from aflab.logical_induction import market as M
    from aflab.logical_induction.hardcases import brute_force_value, make_case

    case = make_case(seed)
    run = _maker_run(case)
    start = np.where(run.und, 0.5, case.pw.decided()).astype(float)
    res = M._pl_homotopy_solve(run, start, M.PL_MAX_EVALS)
    assert res.certified
    assert brute_force_value(case, res) <= case.tolerance * (1 + 1e-9) + 1e-15


def test_a_path_that_rounding_makes_cycle_stops_instead_of_looping():
    """Seed 53 from 1/2: at mesh 3.9e-3 a broken lexicographic tie sent the path round simplices whose labels
    it already had (233,672 pivots on 1,659 labels, and no bound before the check). A level now stops after
    20 (n + 1)^2 pivots without a new label, so the whole search ends within a few thousand pivots."""
    from aflab.logical_induction import pl_homotopy as PL
    from aflab.logical_induction.hardcases import make_case

    case = make_case(53)
    run = _maker_run(case)
    und = np.flatnonzero(run.und)
    start = np.where(run.und, 0.5, case.pw.decided()).astype(float)

    def g(x):
        P = start.copy()
        P[und] = np.clip(x, 0, 1)
        F = run.exact_firm(P)[0]
        return np.clip(P[und] + F[und], 0, 1) - x

    levels = PL.merrill_restart(g, start[und], max_evals=60_000)
    n = len(und)
    assert all(lv.pivots <= lv.evaluations * 4 + 20 * (n + 1) ** 2 + 1 for lv in levels)
    assert sum(lv.pivots for lv in levels) < 50_000
