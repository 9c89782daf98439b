"""Registered claims of the embedded-agency system (found by ``aflab.core.load_systems``).

Kinds: FairBot's Löbian cooperation and PrudentBot's results are theorems of GL (Barasz et al. 2014):
``check``. The decision-problem table restates informal arguments of the embedded-agency literature
as rows our formalisation may fail to reproduce: ``claim``.
"""

from __future__ import annotations

from aflab.core import Claim, Counterfactual, register
from aflab.embedded import experiments as ex
from aflab.embedded import experiments_predictor as epx
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
        config=ex.FairbotLoebianCooperationConfig,
        experiment=ex.fairbot_loebian_cooperation_experiment,
        verdict=ex.fairbot_loebian_cooperation_verdict,
        figures=plots.fairbot_loebian_cooperation_figures,
        presets={"smoke": {"max_level": 1}, "quick": {"max_level": 2}, "full": {"max_level": 6, "trace_worlds": 8}},
        seeds={"smoke": 1, "quick": 1, "full": 1},
        quick_budget_s=3,
        kind="check",
        threshold=ex.THEOREM_OUTCOMES,
        counterfactual=Counterfactual(
            "every box false at the bottom world of the linear frame (no proof is ever found: no Löb step)",
            {"base_boxes": False},
        ),
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
        config=ex.PrudentbotResultsConfig,
        experiment=ex.prudentbot_results_experiment,
        verdict=ex.prudentbot_results_verdict,
        figures=plots.prudentbot_results_figures,
        presets={"smoke": {"n_random": 4}, "quick": {"n_random": 20}, "full": {"n_random": 300, "random_depth": 3}},
        seeds={"smoke": 1, "quick": 1, "full": 3},
        quick_budget_s=6,
        kind="check",
        threshold=ex.THEOREM_OUTCOMES,
        counterfactual=Counterfactual(
            "PrudentBot's second proof search in PA instead of PA+1 (PA cannot prove that FairBot defects "
            "against DefectBot, so PrudentBot stops cooperating with FairBot and itself)",
            {"prudent_level": 0},
        ),
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
            "blackmail modal UDT (every variant) refuses to pay; in Troll Bridge the proof-based agents "
            "with the chicken rule prove 'cross -> U=-10' and stay."
        ),
        source="Demski & Garrabrant 2018 'Embedded Agency' sec. 2.1; LaVictoire 2015 'An Introduction to "
        "Löb's Theorem in MIRI Research' sec. 6; So8res/modal (2015) Games.hs; Levinstein & Soares "
        "2020 'Cheating Death in Damascus' (XOR blackmail); Yudkowsky & Soares 2017 'Functional "
        "Decision Theory'; Troll Bridge: Demski & Garrabrant 2018 sec. 2.1",
        config=ex.DecisionProblemTableConfig,
        experiment=ex.decision_problem_table_experiment,
        verdict=ex.decision_problem_table_verdict,
        figures=plots.decision_problem_table_figures,
        presets={
            "smoke": {"problems": ("five_and_ten", "troll_bridge")},
            "quick": {},
            "full": {},
        },
        seeds={"smoke": 1, "quick": 1, "full": 1},
        quick_budget_s=18,
        # a check (since 2026-12-06): an exact, deterministic computation whose rows were chosen where the sources'
        # arguments and this formalisation agree (the rows where they disagree are reported, not claimed), so it
        # can fail only if the engine changes -- a regression check of the sourced results
        kind="check",
        threshold=ex.SOURCED_FAILURES,
        refuted_if="any sourced statement fails: an agent takes another action than the source says, or lacks a "
        "proof the source's argument asserts (the naive agent's 'A=10 -> U=0' in 5-and-10, the chicken "
        "agents' 'cross -> U=-10' in Troll Bridge), or a chicken/UDT agent has a spurious proof in 5-and-10",
        counterfactual=Counterfactual(
            "the troll removed from Troll Bridge: nothing to prove 'cross -> U=-10' about, the agents cross",
            {"troll": False},
        ),
    )
)

PREDICTOR_STRENGTH = register(
    Claim(
        id="embedded.predictor-strength",
        statement=(
            "Agent simulates predictor: against a predictor that rewards the cooperative action (one-boxing in "
            "Newcomb's problem, paying in Parfit's hitchhiker) when its proof search in PA+P proves the agent "
            "takes it, a modal UDT agent whose proof search is stronger (starts in PA+L, L > P) defects from "
            "the prediction (two-boxes / refuses), while an agent the predictor can out-prove (L <= P) cooperates."
        ),
        source="Wei Dai 2010 'Agent Simulates Predictor' (LessWrong); Slepnev 2011; LaVictoire 2015 'An "
        "Introduction to Löb's Theorem in MIRI Research' sec. 6; So8res/modal and machine-intelligence/"
        "provability (UDT(default, level, step) vs Newcomb(level))",
        config=epx.PredictorStrengthConfig,
        experiment=epx.predictor_strength_experiment,
        verdict=epx.predictor_strength_verdict,
        figures=plots.predictor_strength_figures,
        presets={
            "smoke": {"max_level": 1, "both_defaults": False},
            "quick": {"max_level": 3},
            "full": {"max_level": 6},
        },
        seeds={"smoke": 1, "quick": 1, "full": 1},
        quick_budget_s=10,
        kind="claim",
        threshold=epx.STRONGER_COOPERATE,
        refuted_if="among the cells a proof search decided, agents stronger than the predictor take the cooperative "
        "action in most, agents the predictor can out-prove in fewer than half, or the latter do not cooperate more "
        "often than the former",
        counterfactual=Counterfactual(
            "refuted in our measurements; to show the verdict can come out the other way, the grid is cut to the one "
            "setting where strength decides: Parfit's hitchhiker with non-escalating searches (step 0)",
            {"problems": ("parfit",), "steps": (0,)},
            expect="supported",
        ),
    )
)
