"""Decision problems: the spurious counterfactual, modal UDT, and a published replication."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.embedded.formula import And, Atom, Box, Iff, Implies, Not, strong_box
from aflab.embedded.problems import (
    AGENTS,
    PD_PROBLEMS,
    PROBLEMS,
    act,
    first_true_chain,
    get_problem,
    out,
    problem_system,
    problem_table,
    run_problem,
)
from aflab.embedded.solver import ModalSystem, cross_check, solve_linear
from aflab.embedded.tableau import is_valid


def test_naive_agent_takes_five_on_a_spurious_counterfactual():
    r = run_problem("five_and_ten", "naive")
    assert r.action == "5" and r.utility == 5
    assert "A=10 -> U=0" in r.spurious  # PA proves the false counterfactual
    assert r.tableau_agrees is True


@pytest.mark.parametrize("agent", ["udt", "udt_plain"])
def test_modal_udt_takes_ten_without_spurious_proofs(agent):
    r = run_problem("five_and_ten", agent)
    assert r.action == "10" and r.spurious == () and r.tableau_agrees is True


@pytest.mark.parametrize("default", ["one_box", "two_box"])
def test_newcomb_pa_predictor_pa_udt_takes_its_default(default):
    """Replicates So8res/modal (2015) Games.hs: with a PA predictor, PA-level UDT (actions searched
    one_box first) 'takes whatever its default action was'."""
    p = PROBLEMS["newcomb"]
    conds = [(Box(Implies(act(a), out(u))), a) for u in p.outcomes_best_first() for a in ("one_box", "two_box")]
    eqs = first_true_chain(conds, default, p.actions, "A")
    eqs.update(p.universe("A", "U", "B"))
    vals = solve_linear(ModalSystem.of(eqs)).values
    assert vals[f"A={default}"]


def test_twin_pd_udt_cooperates_with_its_copy():
    r = run_problem("twin_pd", "udt_plain")
    assert r.action == "C" and r.outcome == "2" and r.tableau_agrees


def test_outcomes_are_exclusive_and_exhaustive_everywhere():
    t = problem_table(["five_and_ten", "newcomb", "parfit", "xor_blackmail"], cross_check=False)
    assert len(t) == 4 * len(AGENTS) and t["utility"].notna().all()


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown problem"):
        get_problem("trolley")
    with pytest.raises(ValueError, match="unknown agent"):
        run_problem("newcomb", "cdt")


# ---------------------------------------------------------------------------------------------
# round 2: chicken rule, XOR blackmail, the Prisoner's Dilemma against the classic bots


@pytest.mark.parametrize("agent", ["udt_chicken", "naive_chicken"])
def test_chicken_rule_takes_ten_without_spurious_proofs(agent):
    """Demski & Garrabrant 2018 sec. 2.1: the chicken rule removes the spurious counterfactual."""
    r = run_problem("five_and_ten", agent)
    assert r.action == "10" and r.spurious == () and r.tableau_agrees is True
    # the vacuous proof the naive agent relies on is gone: PA no longer proves A=10 -> U=0
    assert "A=10 -> U=0" not in r.proved


@pytest.mark.parametrize("problem", ["five_and_ten", "newcomb", "xor_blackmail", "parfit"])
@pytest.mark.parametrize("agent", ["udt_chicken", "naive_chicken"])
def test_chicken_agents_never_have_a_provable_non_action(problem, agent):
    """Soundness: if PA proved A != a the agent would take a, so PA proves no A != a (checked by
    both procedures: linear frame and tableau)."""
    p = get_problem(problem)
    eqs = problem_system(p, agent).as_dict()
    names = [f"chicken({a})" for a in p.actions]
    for a, name in zip(p.actions, names):
        eqs[name] = Box(Not(Atom(f"A={a}")))
    system = ModalSystem.of(eqs)
    sol = solve_linear(system)
    assert not any(sol.values[n] for n in names)
    assert cross_check(system, sol, names) is True


@pytest.mark.parametrize("agent", ["udt", "udt_plain", "udt_chicken"])
def test_xor_blackmail_udt_refuses(agent):
    """Levinstein & Soares 2020; Yudkowsky & Soares 2017: FDT/UDT does not pay the XOR blackmailer."""
    r = run_problem("xor_blackmail", agent)
    assert r.action == "refuse" and r.outcome == "kept" and r.tableau_agrees is True


def test_xor_blackmail_universe_by_hand():
    """Exactly one outcome for every valuation of (pays, letter in termite world, letter in clean
    world), with utility = 1/2 (termite-world loss) + 1/2 (clean-world loss) computed by hand."""
    p = get_problem("xor_blackmail")
    eqs = p.universe("A", "U", "B")
    letter_t, letter_c = Box(act("refuse")), Box(act("pay"))
    for pays, lt, lc in itertools.product([False, True], repeat=3):
        env = {act("pay"): pays, act("refuse"): not pays, letter_t: lt, letter_c: lc}
        holds = [u for u, f in eqs.items() if _eval(f, env)]
        assert len(holds) == 1
        loss_t = 1_000_000 + (1_000 if (lt and pays) else 0)
        loss_c = 1_000 if (lc and pays) else 0
        assert p.utility(holds[0].split("=", 1)[1]) == -(loss_t + loss_c) / 2


def _eval(f, env):
    if f in env:
        return env[f]
    if f.op == "top":
        return True
    if f.op == "bot":
        return False
    if f.op == "not":
        return not _eval(f.args[0], env)
    if f.op == "and":
        return all(_eval(x, env) for x in f.args)
    if f.op == "or":
        return any(_eval(x, env) for x in f.args)
    raise AssertionError(f"unexpected node {f!r}")


@pytest.fixture(scope="module")
def pd_table():
    return problem_table(list(PD_PROBLEMS), ["udt_plain", "udt_chicken"])


def test_pd_bots_fairbot_and_prudentbot_are_never_exploited(pd_table):
    """Barasz et al. 2014: FairBot/PrudentBot cooperate only on a proof that the opponent cooperates,
    so (PA sound) no agent gets the temptation payoff 3 against them."""
    t = pd_table[pd_table["problem"].isin(["pd_fairbot", "pd_prudentbot"])]
    assert len(t) == 4 and (t["utility"] < 3).all() and t["tableau_agrees"].all()


def test_pd_udt_defects_against_constant_bots(pd_table):
    """Against CooperateBot the first search [](A=D -> U=3) is a tautology given the universe, so
    PA proves it and UDT defects; against DefectBot, C -> U=0 and D -> U=1 are all PA can prove."""
    t = pd_table[pd_table["problem"].isin(["pd_cooperatebot", "pd_defectbot"])]
    assert (t["action"] == "D").all() and t["tableau_agrees"].all()
    assert set(t.loc[t["problem"] == "pd_cooperatebot", "outcome"]) == {"3"}
    assert set(t.loc[t["problem"] == "pd_defectbot", "outcome"]) == {"1"}


def test_pa_level_udt_is_suckered_by_fairbot_for_the_stated_reason():
    """Why PA-level UDT cooperates with FairBot and gets 0: if PA proved A=C, PA would prove that
    FairBot cooperates, hence the first search [](A=D -> U=3), so A=D. Checked by the tableau:
    GL |- [.](equations) -> ([] A=C -> A=D); then [](A=C -> U=0) is provable and is the first hit."""
    system = problem_system(get_problem("pd_fairbot"), "udt_plain")
    eqs = And(*(Iff(Atom(v), f) for v, f in system.equations))
    assert is_valid(Implies(strong_box(eqs), Implies(Box(act("C")), act("D"))))
    r = run_problem("pd_fairbot", "udt_plain")
    assert (r.action, r.outcome, r.tableau_agrees) == ("C", "0", True)


def test_troll_bridge_chicken_agent_stays_on_a_loebian_proof():
    """Demski & Garrabrant 2018 sec. 2.1: with the chicken rule, PA proves 'cross -> U=-10' (Löb), so
    the agent stays, although in the standard model PA is consistent and crossing pays 10."""
    r = run_problem("troll_bridge", "naive_chicken")
    assert r.action == "stay" and "A=cross -> U=-10" in r.spurious and r.tableau_agrees is True
    # the Löbian step itself: GL |- [.](equations) -> [](cross -> U=-10)
    system = problem_system(get_problem("troll_bridge"), "naive_chicken")
    eqs = And(*(Iff(Atom(v), f) for v, f in system.equations))
    assert is_valid(Implies(strong_box(eqs), Box(Implies(act("cross"), out("-10")))))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_chicken_rule_soundness_on_random_universes(seed):
    """For any universe, a chicken agent has no provable ``A != a`` (PA is sound), and the linear
    frame and the tableau agree on what it does. Universes: U=hi iff a random formula over the
    action atoms (boxed or not, PA+1 boxes included), else U=lo."""
    from aflab.embedded.problems import Problem
    from aflab.embedded.randomgen import random_formula

    chi = random_formula(np.random.default_rng(seed), ["A=x", "A=y"], depth=3, max_level=1)
    p = Problem(
        "random", "random", ("x", "y"), (("hi", 1), ("lo", 0)), lambda A, U, B: {f"{U}=hi": chi, f"{U}=lo": Not(chi)}
    )
    for agent in ("udt_chicken", "naive_chicken"):
        eqs = problem_system(p, agent).as_dict()
        names = [f"chicken({a})" for a in p.actions]
        eqs.update({n: Box(Not(Atom(f"A={a}"))) for a, n in zip(p.actions, names)})
        system = ModalSystem.of(eqs)
        sol = solve_linear(system)
        assert not any(sol.values[n] for n in names)
        assert cross_check(system, sol, names + ["A=x", "A=y", "U=hi"]) is True
