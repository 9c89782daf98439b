"""Registered claims of the embedded-agency system (found by ``aflab.core.load_systems``)."""

from __future__ import annotations

from aflab.core import Claim, register
from aflab.embedded import experiments as ex
from aflab.embedded import plots

FAIRBOT = register(
    Claim(
        id="embedded.fairbot-loebian-cooperation",
        statement=(
            "FairBot (cooperate iff PA proves the opponent cooperates) cooperates with itself by Löb's "
            "theorem, cooperates with CooperateBot and defects against DefectBot; FairBots that search "
            "in PA+n and PA+m also cooperate with each other."
        ),
        source="Barasz, Christiano, Fallenstein, Herreshoff, LaVictoire, Yudkowsky 2014, 'Robust Cooperation "
        "in the Prisoner's Dilemma', sec. 3",
        config=ex.FairBotConfig,
        experiment=ex.fairbot_experiment,
        verdict=ex.fairbot_verdict,
        figures=plots.trace_figure,
        presets={"quick": {"max_level": 2}, "full": {"max_level": 6, "trace_worlds": 8}},
        seeds={"quick": 1, "full": 1},
        quick_budget_s=3,
    )
)

PRUDENTBOT = register(
    Claim(
        id="embedded.prudentbot-results",
        statement=(
            "PrudentBot (PA proves the opponent cooperates with it, and PA+1 proves the opponent defects "
            "against DefectBot) defects against CooperateBot and DefectBot, cooperates with FairBot and "
            "with itself; it and FairBot are never exploited (never cooperate against a defector)."
        ),
        source="Barasz et al. 2014, sec. 5 (PrudentBot) and sec. 3 (unexploitability of FairBot)",
        config=ex.PrudentBotConfig,
        experiment=ex.prudentbot_experiment,
        verdict=ex.prudentbot_verdict,
        figures=plots.tournament_figures,
        presets={"quick": {"n_random": 20}, "full": {"n_random": 300, "random_depth": 3}},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=6,
    )
)

PROBLEM_TABLE = register(
    Claim(
        id="embedded.decision-problem-table",
        statement=(
            "In 5-and-10 a naive proof-search agent (first provable 'A=a -> U=u', worst outcome first) "
            "takes the 5 on a spurious proof of 'A=10 -> U=0', while modal UDT (with and without PA+k "
            "escalation) takes the 10 with no spurious proof, and so do the naive agent and UDT with "
            "the chicken rule; modal UDT cooperates with its twin in the Prisoner's Dilemma; against "
            "a PA-proof predictor in Newcomb's problem PA-level UDT takes its default action; in XOR "
            "blackmail modal UDT (every variant) refuses to pay; in Troll Bridge the proof-based agent "
            "with the chicken rule proves 'cross -> U=-10' and stays."
        ),
        source="Demski & Garrabrant 2018 'Embedded Agency' sec. 2.1; LaVictoire 2015 'An Introduction to "
        "Löb's Theorem in MIRI Research' sec. 6; So8res/modal (2015) Games.hs; Levinstein & Soares "
        "2020 'Cheating Death in Damascus' (XOR blackmail); Yudkowsky & Soares 2017 'Functional "
        "Decision Theory'; Troll Bridge: Demski & Garrabrant 2018 sec. 2.1",
        config=ex.ProblemTableConfig,
        experiment=ex.problem_experiment,
        verdict=ex.problem_verdict,
        figures=plots.problem_figure,
        presets={
            "quick": {"problems": ("five_and_ten", "newcomb", "twin_pd", "xor_blackmail", "troll_bridge", "parfit")},
            "full": {},
        },
        seeds={"quick": 1, "full": 1},
        quick_budget_s=18,
    )
)
