"""Trajectory quantilizer pieces against independent references: cloning recovers the demonstrator, the
rollout sampler matches the policy, returns match a loop, and the bound is exact on the pool."""

import numpy as np
import pytest

from aflab.normativity import trajectories as T
from aflab.normativity.quantilizers import quantilize


@pytest.fixture(scope="module")
def worlds():
    return T.make_trap_worlds(5, -1.0, 3.0, np.random.default_rng(0), 6)


def test_layouts(worlds):
    from aflab.normativity.mdp import grid_distance

    d = grid_distance(5)
    assert (d[worlds.start, worlds.trap] <= d[worlds.start, worlds.goal]).all()
    assert (worlds.proxy_reward() - worlds.true_reward())[np.arange(6), worlds.trap].tolist() == [4.0] * 6


def test_behaviour_cloning_recovers_the_demonstrator_on_visited_states(worlds):
    rng = np.random.default_rng(1)
    demo = T.demonstrator_policy(worlds, 0.95, 0.5)
    s, a = T.rollout_policy(worlds, demo, 4000, 10, rng)
    pi = T.behaviour_clone(worlds, s, a, 0.01)
    start = worlds.start
    np.testing.assert_allclose(pi[np.arange(6), start], demo[np.arange(6), start], atol=0.02)


def test_returns_and_costs_match_a_loop(worlds):
    rng = np.random.default_rng(2)
    s, _ = T.rollout_policy(worlds, np.full((6, 25, 5), 0.2), 7, 9, rng)
    r = worlds.true_reward()
    got = T.returns(s, r, 0.9)
    for b in range(6):
        for i in range(7):
            assert got[b, i] == pytest.approx(sum(0.9**t * r[b, s[b, i, t + 1]] for t in range(9)))
    assert (T.trap_steps(worlds, s) == (s[..., 1:] == worlds.trap[:, None, None]).sum(-1)).all()


def test_cost_bound_is_exact_on_the_pool(worlds):
    rng = np.random.default_rng(3)
    s, _ = T.rollout_policy(worlds, np.full((6, 25, 5), 0.2), 400, 12, rng)
    proxy, cost = T.returns(s, worlds.proxy_reward(), 0.95), T.trap_steps(worlds, s)
    base = np.full(proxy.shape, 1 / 400)
    for q in (0.01, 0.1, 0.5):
        e_q = (quantilize(base, proxy, q) * cost).sum(axis=1)
        assert (e_q <= cost.mean(axis=1) / q + 1e-9).all()
