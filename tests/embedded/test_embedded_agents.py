"""Modal agents: the published outcome table, agent files, unexploitability, tournaments, replicator."""

import numpy as np
import pytest

from aflab.embedded.agents import AgentFileError, ModalAgent, Payoffs, builtin_agents, match, parse_agent_file
from aflab.embedded.parse import parse
from aflab.embedded.randomgen import random_agent
from aflab.embedded.tournament import payoff_matrix, replicator, round_robin

# Barasz et al. 2014: (row cooperates, column cooperates)
PUBLISHED = {
    ("FairBot", "FairBot"): (True, True),
    ("FairBot", "CooperateBot"): (True, True),
    ("FairBot", "DefectBot"): (False, False),
    ("PrudentBot", "CooperateBot"): (False, True),
    ("PrudentBot", "DefectBot"): (False, False),
    ("PrudentBot", "FairBot"): (True, True),
    ("PrudentBot", "PrudentBot"): (True, True),
    ("DefectBot", "CooperateBot"): (False, True),
    ("TrollBot", "CooperateBot"): (True, True),  # CB cooperates with DB, provably
    ("TrollBot", "DefectBot"): (False, False),
}


@pytest.mark.parametrize("pair", list(PUBLISHED))
def test_published_outcomes_certified_by_tableau(pair):
    r = match(*pair)
    assert (r.a_cooperates, r.b_cooperates) == PUBLISHED[pair]
    assert r.tableau_agrees is True


def test_match_is_symmetric():
    for a, b in PUBLISHED:
        r1, r2 = match(a, b, cross_check=False), match(b, a, cross_check=False)
        assert (r1.a_cooperates, r1.b_cooperates) == (r2.b_cooperates, r2.a_cooperates)


def test_fairbot_and_prudentbot_are_never_exploited_by_random_agents():
    """Soundness of PA: if FB/PB cooperates, PA(+1) proved the opponent cooperates, so it does."""
    rng = np.random.default_rng(7)
    lib = dict(builtin_agents())
    for i in range(25):
        opp = random_agent(rng, f"R{i}", ("DefectBot", "CooperateBot"), depth=2)
        lib[opp.name] = opp
        for bot in ("FairBot", "PrudentBot"):
            r = match(bot, opp.name, lib, cross_check=False)
            assert not (r.a_cooperates and not r.b_cooperates), (bot, str(opp.formula))


def test_agent_file_parsing_and_errors():
    text = "payoffs = 5, 3, 1, 0\nuse FairBot\nagent Mine = [] them & [1] ~them(DefectBot)  # comment\n"
    parsed = parse_agent_file(text, "t.agents", known=builtin_agents())
    assert parsed.entrants == ("FairBot", "Mine") and parsed.payoffs == Payoffs(5, 3, 1, 0)
    assert parsed.agents[0].formula is parse("[] them & [1] ~them(DefectBot)")
    bad = {
        "agent X = [] (them": "t.agents:1:",  # formula syntax error with column
        "agent X = them": "under",  # not modalized
        "agent X = [] foo": "unknown atom",
        "use NoSuchBot": "unknown agent",
        "payoffs = 1, 2, 3, 4": "T > R > P > S",
        "just words": "expected 'agent NAME = FORMULA'",
        "agent X = T\nagent X = F": "defined twice",
    }
    for text, msg in bad.items():
        with pytest.raises(AgentFileError, match=msg.replace("(", r"\(")):
            parse_agent_file(text, "t.agents", known=builtin_agents())
    with pytest.raises(AgentFileError) as info:
        parse_agent_file("agent X = [] (them", "t.agents")
    assert info.value.column == len("agent X = [] (them") + 1


def test_shipped_agent_files_parse():
    from importlib import resources

    folder = resources.files("aflab.embedded") / "agent_files"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".agents"))
    assert "classic.agents" in names and len(names) >= 3
    for n in names:
        parse_agent_file((folder / n).read_text(), n, known=builtin_agents())


def test_round_robin_matches_pairwise_and_the_per_block_solver():
    from aflab.embedded.tournament import solve_matches

    names = list(builtin_agents())[::-1]  # entrants before the agents they refer to
    full = round_robin(names, builtin_agents())
    closure, hist = solve_matches([(a, b) for a in names for b in names], builtin_agents())
    index = {q: k for k, q in enumerate(closure)}
    blocked = np.array([[hist[-1, index[(a, b)]] for b in names] for a in names])
    assert (full.cooperates == blocked).all()
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            r = match(a, b, cross_check=False)
            assert full.cooperates[i, j] == r.a_cooperates and full.payoff[i, j] == r.payoff_a


def test_round_robin_cross_check_on_small_population():
    res = round_robin(["FairBot", "PrudentBot", "DefectBot"], builtin_agents(), cross_check=True)
    assert res.cooperates.tolist() == [[True, True, False], [True, True, False], [False, False, False]]
    assert res.certificate_counts() == {"not run": 0, "unchecked": 0, "disagrees": 0, "agrees": 9}


def test_round_robin_certificates_over_budget_are_counted_never_raised():
    """Budget overruns (per match or in total) are 'unchecked', the outcomes are kept, nothing raises."""
    from aflab.embedded.randomgen import random_agent

    rng = np.random.default_rng(3)
    lib = dict(builtin_agents())
    for k in range(6):
        a = random_agent(rng, f"R{k}", ("DefectBot", "FairBot"), depth=3)
        lib[a.name] = a
    names = [n for n in lib if n.startswith("R")] + ["FairBot", "PrudentBot"]
    plain = round_robin(names, lib)
    tiny = round_robin(names, lib, cross_check=True, max_sequents=1)
    counts = tiny.certificate_counts()
    assert counts["unchecked"] > 0 and counts["disagrees"] == 0 and sum(counts.values()) == len(names) ** 2
    assert (tiny.cooperates == plain.cooperates).all()
    none_left = round_robin(names, lib, cross_check=True, time_budget_s=0.0)
    assert none_left.certificate_counts()["unchecked"] == len(names) ** 2
    full = round_robin(names, lib, cross_check=True, max_sequents=200_000)
    assert full.certificate_counts()["agrees"] == len(names) ** 2
    assert set(full.table()["tableau"]) == {"agrees"}


def test_payoff_matrix_closed_form():
    coop = np.array([[True, True], [False, False]])  # row 0 CooperateBot, row 1 DefectBot
    P = payoff_matrix(coop, Payoffs(3, 2, 1, 0))
    assert P.tolist() == [[2, 0], [3, 1]]


def test_replicator_stays_on_simplex_and_defection_wins_the_plain_pd():
    P = payoff_matrix(np.array([[True, True], [False, False]]), Payoffs())  # CooperateBot vs DefectBot
    traj = replicator(P, np.array([[0.9, 0.1], [0.5, 0.5]]), steps=4000, dt=0.01)
    assert np.allclose(traj.sum(axis=2), 1) and (traj >= 0).all()
    assert (traj[-1, :, 1] > 0.99).all()  # defectors take over: dominated strategy goes extinct
    # closed form for 2 strategies with constant advantage (P - S = T - R = 1): logistic x' = x(1-x)
    x = traj[:, 1, 1]
    t = np.arange(len(x)) * 0.01
    logistic = 1 / (1 + np.exp(-t))
    assert np.max(np.abs(x - logistic)) < 0.01
    with pytest.raises(ValueError, match="x0"):
        replicator(P, np.array([0.2, 0.2]))


def test_bad_agents_rejected():
    with pytest.raises(ValueError, match="identifier"):
        ModalAgent("bad name", parse("T"))
    with pytest.raises(ValueError, match="unknown agent"):
        match("FairBot", "Nobody")


def test_vectorised_round_robin_equals_generic_solver_on_random_agents():
    """The template-stamped solver vs the generic per-match system solver (two code paths)."""
    rng = np.random.default_rng(11)
    lib = dict(builtin_agents())
    for i in range(12):
        a = random_agent(rng, f"R{i}", ("DefectBot", "CooperateBot", "FairBot"), depth=2)
        lib[a.name] = a
    names = list(lib)[::-1][:14]  # random agents first, some of the agents they refer to left out
    res = round_robin(names, lib)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert res.cooperates[i, j] == match(a, b, lib, cross_check=False).a_cooperates, (a, b)


def test_me_references_henkin_agent_cooperates_with_everyone():
    """X = [] me: X cooperates iff PA proves it does -- a Henkin sentence, true by Löb's theorem."""
    lib = dict(builtin_agents())
    lib["HenkinBot"] = ModalAgent("HenkinBot", parse("[] me"))
    lib["SelfDoubtBot"] = ModalAgent("SelfDoubtBot", parse("~[] me(DefectBot)"))  # Gödel-like: true
    for opp in ("DefectBot", "FairBot", "PrudentBot"):
        r = match("HenkinBot", opp, lib)
        assert r.a_cooperates and r.tableau_agrees
    r = match("SelfDoubtBot", "FairBot", lib)
    assert r.a_cooperates and r.tableau_agrees
