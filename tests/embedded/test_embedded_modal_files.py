"""The decision problems shipped as modal-agents files agree with the Python formalisation
(aflab.embedded.problems), agent by agent, and their plays are certified by the GL tableau."""

import pytest

from aflab.embedded.modalfile import play_shipped, run_text, shipped
from aflab.embedded.problems import PROBLEMS, run_problem

FILE_NAME = {
    "five_and_ten": "FiveAndTen",
    "newcomb": "Newcomb",
    "transparent_newcomb": "TransparentNewcomb",
    "parfit": "Parfit",
    "xor_blackmail": "XorBlackmail",
    "troll_bridge": "TrollBridge",
}
# the Python agents as calls of the shipped theories (default = the problem's first action)
AGENT_CALL = {"udt": "UDT({d}, step=1)", "udt_plain": "UDT({d})", "udt_chicken": "ChickenUDT({d})"}


@pytest.mark.parametrize("problem", list(FILE_NAME))
def test_file_problems_give_the_python_agents_actions(problem):
    p = PROBLEMS[problem]
    agents = list(AGENT_CALL)
    if problem == "transparent_newcomb":
        agents.remove("udt")  # its Python certificate takes seconds; covered by the twin below
    plays = [f"{FILE_NAME[problem]}, {AGENT_CALL[a].format(d=p.actions[0])}" for a in agents]
    for a, r in zip(agents, play_shipped(plays)):
        assert dict(r.players)["A()"] == run_problem(p, a, cross_check=False).action, (problem, a)


def test_twin_pd_as_two_players_of_one_universe():
    (r,) = play_shipped(["PD, UDT(D, step=1)[...][$DC, $CC, $DD, $CD], UDT(D, step=1)[...][$CD, $CC, $DD, $DC]"])
    assert r.players == (("U()", "$CC"), ("A1()", "C"), ("A2()", "C"))
    assert run_problem("twin_pd", "udt", cross_check=False).action == "C"


def test_shipped_file_runs_unchanged_and_every_play_is_certified():
    results = run_text(shipped(), "decision_problems.ua", check=True)
    assert len(results) == 12 and {r.certificate for r in results} == {"agrees"}
    got = {r.command.calls[0].show() + " / " + r.command.calls[1].show(): dict(r.players) for r in results}
    assert got["TrollBridge / ChickenUDT(cross)"]["A()"] == "stay"  # the Löbian proof
    assert got["XorBlackmail / UDT(pay)"]["A()"] == "refuse"
    assert got["FiveAndTen / ChickenUDT(5)"] == {"U()": "$10", "A()": "10"}
