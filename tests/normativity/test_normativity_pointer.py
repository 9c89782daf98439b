"""The learned stable pointer: evidence accounting against closed forms, the tampering threshold against its
definition, and the agents' qualitative behaviour (Everitt et al. 2021 secs. 3-5)."""

import numpy as np
import pytest

from aflab.normativity import pointer


@pytest.fixture(scope="module")
def worlds():
    return pointer.make_pointer_worlds(5, 3.0, np.random.default_rng(0), 96)


def test_layouts_keep_both_boxes_off_the_shortest_paths(worlds):
    from aflab.normativity.mdp import grid_distance

    d = grid_distance(5)
    cells = np.stack([worlds.start, worlds.goal, worlds.box, worlds.delusion], 1)
    assert all(len(set(row)) == 4 for row in cells)
    for other in (worlds.box, worlds.delusion):
        assert (d[worlds.start, other] + d[other, worlds.goal] > d[worlds.start, worlds.goal]).all()


def test_no_inspection_leaves_the_prior_untouched(worlds):
    settings = pointer.PointerSettings()
    lo, n = pointer.pointer_log_odds(worlds, 0.3, 0.0, settings, np.random.default_rng(1))
    np.testing.assert_allclose(lo, np.log(0.3 / 0.7))
    assert (n == 0).all()


def test_evidence_count_matches_its_closed_form():
    """E[inspected corrupted steps] = kappa * episodes * sum_k (H - k) g (1 - g)^(k - 1) (Geometric onset)."""
    w = pointer.make_pointer_worlds(5, 3.0, np.random.default_rng(2), 4000)
    s = pointer.PointerSettings(glitch=0.02, horizon=30, train_episodes=10)
    _, n = pointer.pointer_log_odds(w, 0.5, 0.2, s, np.random.default_rng(3))
    k = np.arange(1, s.horizon + 1)
    expected = 0.2 * s.train_episodes * np.sum((s.horizon - k) * s.glitch * (1 - s.glitch) ** (k - 1))
    assert abs(n.mean() - expected) < 4 * n.std(ddof=1) / np.sqrt(n.size)


def test_each_contradicting_report_multiplies_the_odds_by_the_likelihood_ratio():
    w = pointer.make_pointer_worlds(5, 3.0, np.random.default_rng(4), 2000)
    s = pointer.PointerSettings(inspector_noise=0.1)
    lo, n = pointer.pointer_log_odds(w, 0.5, 0.05, s, np.random.default_rng(5))
    # a correct report (prob 0.9 + 0.1/3 under H_intact) has probability 0.1/3 under H_channel
    per_report = np.log((0.1 / 3) / (0.9 + 0.1 / 3))
    slope = np.polyfit(n[n > 0], lo[n > 0], 1)[0]
    assert slope == pytest.approx(per_report, rel=0.1)  # reports are right 90 % of the time


def test_threshold_is_where_the_noise_free_plan_starts_to_visit_the_box(worlds):
    s = pointer.PointerSettings()
    p_star = pointer.tamper_threshold(worlds, s)
    finite = p_star < 1
    assert finite.mean() > 0.9 and (p_star[finite] > 0).all()
    for w_shift, expect in ((0.0, True), (-(2.0**-8) * 1.01, False)):
        post = np.clip(p_star + w_shift, 0, 1)
        q = pointer.learner_plan(worlds, s, post)
        visits = pointer._noise_free_visits_box(worlds, q, s.horizon)
        assert (visits[finite & (post > 0)] == expect).all()


def test_box_maximiser_tampers_and_handed_u0_does_not(worlds):
    s = pointer.PointerSettings(slip=0.0, glitch=0.0)
    fixed = pointer.plan_fixed_agents(worlds, s)
    rng = np.random.default_rng(6)
    box = pointer.rollout(worlds, *fixed["box_maximiser"], s, rng)
    ou = pointer.rollout(worlds, *fixed["ou_given_u0"], s, rng)
    rf_state = pointer.rollout(worlds, *fixed["current_rf_state"], s, rng)
    rf_obs = pointer.rollout(worlds, *fixed["current_rf_obs"], s, rng)
    assert box["tampered"].mean() > 0.9
    assert not ou["tampered"].any() and not ou["deluded"].any()
    assert not rf_state["tampered"].any() and not rf_state["deluded"].any()  # current-RF on the state: neither
    # current-RF on observations has no reason to rewrite the RF, but takes the delusion box when it is nearer
    from aflab.normativity.mdp import grid_distance

    d = grid_distance(5)
    d_dl, d_goal = d[worlds.start, worlds.delusion], d[worlds.start, worlds.goal]
    nearer = d_dl < d_goal
    assert rf_obs["deluded"][nearer].all()  # (from the goal, stepping into the box is a tie: it may happen too)
    assert (rf_obs["true_return"][nearer] < ou["true_return"][nearer]).all()


def test_bad_input():
    with pytest.raises(ValueError, match="side"):
        pointer.make_pointer_worlds(2, 3.0, np.random.default_rng(0), 4)
    with pytest.raises(ValueError, match="tamper_reward"):
        pointer.make_pointer_worlds(5, 1.0, np.random.default_rng(0), 4)
    w = pointer.make_pointer_worlds(5, 3.0, np.random.default_rng(0), 4)
    with pytest.raises(ValueError, match="prior_channel"):
        pointer.pointer_log_odds(w, 1.0, 0.1, pointer.PointerSettings(), np.random.default_rng(0))
