"""The bounded-FairBot claim (Critch 2016), registered with the embedded-agency system.

Kind ``claim``: that bounded FairBots cooperate above a proof-length threshold is a theorem about PA with
unspecified constants; whether it appears in an explicit small proof system searched at feasible bounds,
with one threshold per pair of encodings, and how the threshold scales, could come out otherwise.
"""

from __future__ import annotations

from aflab.core import Claim, Counterfactual, register
from aflab.embedded import experiments_bounded as bx
from aflab.embedded import plots_bounded

BOUNDED_FAIRBOT = register(
    Claim(
        id="embedded.bounded-fairbot-threshold",
        statement=(
            "Proof-length-bounded FairBots (FairBot_k cooperates iff it finds a proof of length <= k that its "
            "opponent cooperates with it) cooperate with each other from a threshold bound k* on and defect below "
            "it, for most encodings (not all: an encoding whose length gains a digit at some k can defect again "
            "there; counterexamples are counted); k* grows with the length of the agents' encodings; they never "
            "cooperate with DefectBot, never exploit each other (also with different bounds), and at large k they "
            "act as the unbounded modal FairBot of GL."
        ),
        source="Critch 2016, 'Parametric Bounded Löb's Theorem and Robust Cooperation of Bounded Agents' "
        "(arXiv:1602.04184): bounded Löb and FairBot_k; Barasz et al. 2014 for the unbounded FairBot",
        config=bx.BoundedFairbotThresholdConfig,
        experiment=bx.bounded_fairbot_threshold_experiment,
        verdict=bx.bounded_fairbot_threshold_verdict,
        figures=plots_bounded.bounded_fairbot_threshold_figures,
        presets={
            "smoke": {
                "n_variants": 16,
                "max_pad": 3,
                "k_max": 4096,
                "n_grid": 6,
                "window": 1,
                "km_bounds": (768, 1280, 16384),
            },
            "quick": {
                "n_variants": 10,
                "max_pad": 12,
                "n_grid": 8,
                "window": 2,
                "km_bounds": (768, 1024, 1280, 2048, 4096, 16384),
            },
            "full": {
                "n_variants": 40,
                "max_pad": 40,
                "k_max": 65536,
                "n_grid": 16,
                "window": 10,
                "km_bounds": (256, 512, 768, 1024, 1280, 1536, 2048, 3072, 4096, 8192, 16384),
            },
        },
        seeds={"smoke": 1, "quick": 4, "full": 5},
        quick_budget_s=20,
        kind="claim",
        threshold=bx.THRESHOLD_SHAPED,
        refuted_if="most random encoding pairs show no single threshold: mutual cooperation never appears up to "
        "k_max, or it switches back to defection at a larger bound (Wilson upper bound below 0.8); or FairBot "
        "cooperates with DefectBot, or one bounded FairBot cooperates while the other defects; or at the largest bound the agents disagree with the unbounded GL FairBot; "
        "or k* does not grow with the encoding length",
        counterfactual=Counterfactual(
            "the bounded diagonal lemma removed from the proof system (no δ sentence, so no Löb step: the search "
            "can never prove the circular 'you cooperate if I do')",
            {"diagonal": False},
        ),
    )
)
