"""Agents on MDPs whose optimal policies are known in closed form; the feedback learner; tampering."""

import numpy as np
import pytest

from aflab.normativity import crmdp, tamper
from aflab.normativity.goodhart import GoodhartParams, argmax_true, draw_pool
from aflab.normativity.levels import FeedbackPriors, fit_feedback_model, recursive_quantilized_utility
from aflab.normativity.mdp import grid_distance, grid_next_state, long_run_true_reward, q_learning, value_iteration


@pytest.mark.parametrize("side,gamma", [(3, 0.5), (4, 0.9), (5, 0.95)])
def test_value_iteration_matches_closed_form_single_goal(side, gamma):
    """Reward 1 on entering goal g (staying counts): V(s) = gamma^(d(s,g) - 1) / (1 - gamma), V(g) = 1/(1-gamma)."""
    s = side * side
    rng = np.random.default_rng(side)
    goals = rng.integers(0, s, size=4)
    reward = (np.arange(s)[None] == goals[:, None]).astype(float)
    v, q = value_iteration(grid_next_state(side), reward, gamma)
    d = grid_distance(side)[goals]  # (4, S)
    want = np.where(d == 0, 1.0, gamma ** np.maximum(d - 1, 0)) / (1 - gamma)
    np.testing.assert_allclose(v, want, rtol=1e-8)
    # optimal actions reduce the distance to the goal (or stay on it)
    nxt = grid_next_state(side)
    step = nxt[np.arange(s), q[0].argmax(axis=1)]
    assert np.all(d[0, step] == np.maximum(d[0] - 1, 0))


def test_q_learning_finds_the_known_optimum_on_a_clean_grid():
    rng = np.random.default_rng(0)
    side, b = 3, 16
    nxt = grid_next_state(side)
    reward = rng.random((b, side * side))
    q = q_learning(nxt, reward, 0.0, steps=12000, gamma=0.8, lr=0.5, epsilon=0.5, episode_len=20, q_init=5.0, rng=rng)
    _, q_star = value_iteration(nxt, reward, 0.8)
    np.testing.assert_allclose(q, q_star, atol=0.05)
    # the greedy policy of the learned Q settles where the optimal (value-iteration) policy settles
    got = long_run_true_reward(nxt, q, reward, np.random.default_rng(9), burn_in=6, horizon=6)
    want = long_run_true_reward(nxt, q_star, reward, np.random.default_rng(9), burn_in=6, horizon=6)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_crmdp_agents_uncorrupted_and_corrupted():
    rng = np.random.default_rng(3)
    settings = crmdp.AgentSettings(q_steps=3000)
    clean = crmdp.run_agents(crmdp.make_crmdps(4, 0.0, 5, 0.02, rng, 24), settings, rng)
    for agent in ("decoupled", "levels_max"):
        assert np.mean(clean["optimum"] - clean[agent]) < 0.03
    # with all channels honest the quantilizer's regret is that of a uniform draw from the top q
    bad = crmdp.make_crmdps(4, 0.25, 5, 0.02, rng, 24)
    out = crmdp.run_agents(bad, settings, rng)
    own = crmdp.observed_own_reward(bad)
    # corrupt states look best (report 1) to the own-state channel; plain RL settles in one
    assert np.all(own[bad.corrupt] == 1.0)
    assert np.mean(out["optimum"] - out["q_learning"]) > 0.2
    assert np.mean(out["optimum"] - out["decoupled"]) < 0.1
    assert np.nanmean(out["weight_corrupt"]) < 0.2 < 0.8 < np.nanmean(out["weight_honest"])
    with pytest.raises(ValueError, match="corruption"):
        crmdp.make_crmdps(4, 1.5, 3, 0.0, rng, 2)


def test_colluding_corruption_breaks_the_median_first():
    rng = np.random.default_rng(5)
    settings = crmdp.AgentSettings(q_steps=200)
    mdps = crmdp.make_crmdps(5, 0.4, 6, 0.05, rng, 48, collusion=True)
    # colluders: truthful (plus own bias) about honest states, 1 about corrupt ones
    k, j = np.nonzero(mdps.corrupt[0][:, None] & ~mdps.corrupt[0][None, :])
    np.testing.assert_allclose(mdps.lies[0, k, j], mdps.true_reward[0, j] + mdps.source_bias[0, k])
    assert np.all(mdps.lies[0][np.ix_(mdps.corrupt[0], mdps.corrupt[0])] == 1.0)
    out = crmdp.run_agents(mdps, settings, rng)
    indep = crmdp.run_agents(crmdp.make_crmdps(5, 0.4, 6, 0.05, rng, 48), settings, rng)
    regret = {name: np.mean(o["optimum"] - o["decoupled"]) for name, o in (("coll", out), ("indep", indep))}
    assert regret["coll"] > regret["indep"] + 0.1


def test_feedback_model_discounts_the_unreliable_source_and_learns_meta_accuracy():
    rng = np.random.default_rng(7)
    b, k, j = 64, 8, 30
    r = rng.random((b, 1, j))
    bias = 0.1 * rng.standard_normal((b, k, 1))
    bad = np.zeros((b, k, 1), dtype=bool)
    bad[:, :3] = True  # three of eight sources report garbage
    y = np.where(bad, rng.random((b, k, j)), r + bias + 0.05 * rng.standard_normal((b, k, j)))
    fit = fit_feedback_model(y)
    assert fit.source_good[:, :3].max() < 0.05 and fit.source_good[:, 3:].min() > 0.95
    err_fit = np.abs(fit.reward_mean - r[:, 0]).mean()
    err_naive = np.abs(y.mean(axis=1) - r[:, 0]).mean()
    assert err_fit < 0.5 * err_naive
    # biases of good sources are recovered relative to each other (the level-1 prior pins the offset)
    b_hat = fit.source_bias[:, 3:] - fit.source_bias[:, 3:].mean(axis=1, keepdims=True)
    b_true = bias[:, 3:, 0] - bias[:, 3:, 0].mean(axis=1, keepdims=True)
    assert np.abs(b_hat - b_true).mean() < 0.03
    # level 3: the meta-source's accuracy is graded against what level 2 infers; with level 2 right,
    # that is the Beta(2, 2) posterior mean (correct labels + 2) / (k + 4)
    labels = np.where(rng.random((b, k)) < 0.8, ~bad[..., 0], bad[..., 0]).astype(int)
    fit_meta = fit_feedback_model(y, labels)
    correct = (labels == ~bad[..., 0]).sum(axis=1)
    np.testing.assert_allclose(fit_meta.meta_accuracy, (correct + 2) / (k + 4), atol=0.02)
    util = recursive_quantilized_utility(y, fit, 0.5, 16, rng, FeedbackPriors())
    assert np.abs(util - r[:, 0]).mean() < 0.5 * err_naive
    with pytest.raises(ValueError, match="reports must have shape"):
        fit_feedback_model(y[0])


def test_goodhart_pools():
    rng = np.random.default_rng(0)
    pool = draw_pool("corrupted", 5000, GoodhartParams(corrupt_frac=0.01), rng, batch=4)
    # the corrupted region has the largest proxy: the argmax lands in it, true value -harm
    np.testing.assert_allclose(argmax_true(pool), -GoodhartParams().corrupt_harm)
    with pytest.raises(ValueError, match="shape"):
        draw_pool("nope", 10, GoodhartParams(), rng)


def test_tamper_values_match_closed_forms():
    """Layouts with d(start, box) <= d(start, goal): the box maximiser's optimum is to tamper directly,
    V = gamma^(d_sb - 1) r_t / (1 - gamma); the observation-utility value is gamma^(d_sg - 1) / (1 - gamma)."""
    rng = np.random.default_rng(2)
    g = 0.9
    worlds = tamper.make_worlds(5, 3.0, rng, 200)
    d = grid_distance(5)
    d_sb, d_sg = d[worlds.start, worlds.box], d[worlds.start, worlds.goal]
    nxt = worlds.next_state()
    rows = np.arange(200)
    v_box = tamper.batched_value_iteration(nxt, worlds.box_output(), g)[rows, worlds.start].max(axis=1)
    v_ou = tamper.batched_value_iteration(nxt, worlds.true_utility(), g)[rows, worlds.start].max(axis=1)
    np.testing.assert_allclose(v_ou, g ** (d_sg - 1) / (1 - g), rtol=1e-8)
    sel = d_sb <= d_sg
    assert sel.sum() > 10
    np.testing.assert_allclose(v_box[sel], g ** (d_sb[sel] - 1) * 3.0 / (1 - g), rtol=1e-8)
    # the box is never on a shortest start-goal path
    assert np.all(d_sb + d[worlds.box, worlds.goal] > d_sg)


def test_tamper_agents_without_noise():
    rng = np.random.default_rng(4)
    worlds = tamper.make_worlds(4, 5.0, rng, 32)
    settings = tamper.TamperSettings(slip=0.0, glitch=0.0, q_steps=3000)
    out = tamper.run_tamper_agents(worlds, settings, rng)
    # r_t = 5 > gamma^-(max detour) on a 4x4 grid: the planner always tampers; OU/current never do
    assert out["box_planner"][0].all()
    assert not out["ou_planner"][0].any() and not out["current_reward"][0].any()
    # with no slips and glitches the OU planner's true return is the optimum exactly
    np.testing.assert_allclose(out["ou_planner"][1], out["optimum"][1], rtol=1e-9)
    with pytest.raises(ValueError, match="tamper_reward"):
        tamper.make_worlds(4, 0.5, rng, 2)
