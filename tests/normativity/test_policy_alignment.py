"""Jeffrey-Bolker rotations, the value learner and the policy-aligned agent: closed forms and constructed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aflab.normativity import policy_alignment as PA


def test_rotation_worked_by_hand():
    # P = (1/2, 1/2), U = (1, -1): V(Omega) = 0. c = 1/2: P' = (3/4, 1/4), U' = (2/3, -2), V'(Omega) = 0.
    p, u = np.array([[0.5, 0.5]]), np.array([[1.0, -1.0]])
    p2, u2 = PA.rotate(p, u, np.array([0.5]))
    np.testing.assert_allclose(p2, [[0.75, 0.25]])
    np.testing.assert_allclose(u2, [[2 / 3, -2.0]])
    props = PA.all_propositions(2)  # {w0}, {w1}, {w0, w1}
    np.testing.assert_allclose(PA.desirability(p2, u2, props), [[2 / 3, -2.0, 0.0]])


def test_rotated_desirability_is_the_moebius_map_and_keeps_the_order():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=50)
    u = PA.centre_utility(p, rng.normal(size=(50, 6)))
    c = PA.sample_rotation(rng, u, 0.99)
    props = PA.all_propositions(6)
    v, v2 = PA.desirability(p, u, props), PA.desirability(*PA.rotate(p, u, c), props)
    np.testing.assert_allclose(v2, v / (1 + c[:, None] * v), rtol=1e-9, atol=1e-12)
    assert PA.discordant_pairs(v, v2).sum() == 0
    np.testing.assert_allclose(PA.rotate(p, u, c)[0].sum(axis=1), 1.0)  # P' is a probability


def test_pairing_the_rotated_utility_with_the_old_probability_breaks_the_order():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=50)
    u = PA.centre_utility(p, rng.normal(size=(50, 5)))
    c = PA.sample_rotation(rng, u, 0.9)
    props = PA.all_propositions(5)
    v, v_bad = PA.desirability(p, u, props), PA.desirability(*PA.rotate(p, u, c, rotate_probability=False), props)
    assert PA.discordant_pairs(v, v_bad).sum() > 0


def test_rotation_outside_the_admissible_interval_is_rejected():
    u = np.array([[1.0, -1.0]])
    lo, hi = PA.admissible_c(u)
    assert lo[0] == -1.0 and hi[0] == 1.0
    with pytest.raises(ValueError, match="admissible"):
        PA.rotate(np.array([[0.5, 0.5]]), u, np.array([1.5]))


def test_policy_values_are_the_expected_utility_of_each_policy():
    rng = np.random.default_rng(2)
    env = PA.make_environments(rng, 5, 3, 2, 3, 1.0, "random")
    p_h = env.human(0.3)
    p, u = PA.atoms(p_h, env.u)
    values, policies = PA.policy_values(p, u, 3, 2, 3)
    for k, pi in enumerate(policies):
        direct = sum(p_h[:, s, o] * env.u[:, s, pi[o]] for s in range(3) for o in range(2))
        np.testing.assert_allclose(values[:, k], direct)
    # the per-observation argmax is the best policy overall
    best = policies[values.argmax(axis=1)]
    np.testing.assert_array_equal(best, PA.policy_aligned(p_h, env.u))


def test_policy_aligned_agent_declines_a_distrusted_sensor():
    rng = np.random.default_rng(3)
    env = PA.make_environments(rng, 200, 4, 3, 3, 0.3, "distrust")
    pol = PA.policy_aligned(env.human(1.0), env.u)
    assert (pol == pol[:, :1]).all()  # the same action whatever the sensor says
    # ... and that is the best constant policy under the truth (the human's marginal of s is the true one)
    np.testing.assert_allclose(PA.true_value(env.p_true, env.u, pol), PA.best_constant_value(env.p_true, env.u))
    # while the AI's own beliefs use the sensor in most environments
    ai = PA.value_learner(env.p_true, env.u)
    assert (ai != ai[:, :1]).any(axis=1).mean() > 0.5


def test_constructed_rotation_flips_the_value_learner():
    # one observation, two equally likely states, two actions: U(s, a0) = (2, -1.5), U(s, a1) = (0.1, 0.1)
    u = np.array([[[2.0, 0.1], [-1.5, 0.1]]])
    p_h = np.array([[[0.5], [0.5]]])
    uc = PA.centred_sa(p_h, u)  # subtract V(Omega) = (2.1 - 1.4) / 4 = 0.175
    np.testing.assert_allclose(uc, u - 0.175)
    # the AI's beliefs: the same (0.5, 0.5). Unrotated: E[a0] = 0.25 - 0.175 > E[a1] = 0.1 - 0.175 -> a0.
    assert PA.value_learner(p_h, uc)[0, 0] == 0
    # rotated by c = 0.4: U' = U / (1 + 0.4 U): a0: (1.825/1.73, -1.675/0.33) -> mean < 0; a1: -0.075/0.97
    c = np.array([0.4])
    ur = PA.rotated_utility_sa(uc, c)
    e0 = 0.5 * (1.825 / 1.73) + 0.5 * (-1.675 / 0.33)
    e1 = -0.075 / 0.97
    assert e0 < e1
    assert PA.value_learner(p_h, ur)[0, 0] == 1
    # while the policy-aligned choice, computed in the rotated frame, stays a0
    pa, ua = PA.atoms(p_h, uc)
    pr, urr = PA.rotate(pa, ua, c)
    values, policies = PA.policy_values(pr, urr, 2, 1, 2)
    assert policies[values.argmax(axis=1)][0, 0] == 0


def test_consistent_inferred_pair_acts_like_the_human():
    rng = np.random.default_rng(4)
    env = PA.make_environments(rng, 300, 4, 3, 3, 0.5, "random")
    p_h = env.human(0.5)
    pa, ua = PA.atoms(p_h, PA.centred_sa(p_h, env.u))
    pr, ur = PA.rotate(pa, ua, PA.sample_rotation(rng, ua, 0.9))
    np.testing.assert_array_equal(PA.choice_given_observation(pr, ur, 4, 3, 3), PA.policy_aligned(p_h, env.u))


def test_true_value_by_enumeration():
    rng = np.random.default_rng(5)
    env = PA.make_environments(rng, 4, 2, 2, 2, 1.0, "random")
    for pi in itertools.product(range(2), repeat=2):
        pol = np.tile(pi, (4, 1))
        direct = sum(env.p_true[:, s, o] * env.u[:, s, pi[o]] for s in range(2) for o in range(2))
        np.testing.assert_allclose(PA.true_value(env.p_true, env.u, pol), direct)


def test_bad_wrong_model_is_named():
    with pytest.raises(ValueError, match="wrong must be"):
        PA.make_environments(np.random.default_rng(0), 2, 2, 2, 2, 1.0, "paranoid")


@pytest.mark.parametrize(
    ("claim_id", "override", "named"),
    [
        ("normativity.value-learner-depends-on-rotation", {"headline_scale": 0.1}, "(rotation scale 0.1)"),
        ("normativity.policy-alignment-price", {"small_gap_max": 0.2}, "(0 < gap <= 0.2)"),
    ],
)
def test_a_headline_names_the_configured_value_not_the_presets(claim_id, override, named):
    # the module thresholds name the preset's value; a run with --set must not report it under that name
    import pandas as pd

    from aflab.core import get_claim

    claim = get_claim(claim_id)
    cfg = claim.make_config("smoke", override)
    table = pd.concat([claim.run(cfg, seed=s).assign(seed=s) for s in range(2)], ignore_index=True)
    statistic = claim.verdict(cfg, table).headline.threshold.statistic
    assert statistic.endswith(named), statistic
