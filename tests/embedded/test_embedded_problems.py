"""Decision problems: the spurious counterfactual, modal UDT, and a published replication."""
import pytest

from aflab.embedded.formula import Box, Implies
from aflab.embedded.problems import (PROBLEMS, act, first_true_chain, get_problem, out, problem_table,
                                     run_problem)
from aflab.embedded.solver import ModalSystem, solve_linear


def test_naive_agent_takes_five_on_a_spurious_counterfactual():
    r = run_problem("five_and_ten", "naive")
    assert r.action == "5" and r.utility == 5
    assert "A=10 -> U=0" in r.spurious   # PA proves the false counterfactual
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
    t = problem_table(["five_and_ten", "newcomb", "parfit"], cross_check=False)
    assert len(t) == 9 and t["utility"].notna().all()


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown problem"):
        get_problem("trolley")
    with pytest.raises(ValueError, match="unknown agent"):
        run_problem("newcomb", "cdt")
