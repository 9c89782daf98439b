"""aflab.waluigi: bounded-context personas ("The Waluigi Effect", LessWrong 2023, and its comments).

Personas are hidden-Markov token sources over a small alphabet; the reader is the exact Bayes
mixture predictor over personas, seeing either the whole history or only the last ``k`` tokens.
See ``docs/waluigi.md`` for the math and ``aflab.waluigi.model`` for the shared API.
"""

from aflab.waluigi.model import (
    BetaHazardPrior,
    DiscreteHazardPrior,
    Luigi,
    PersonaMixture,
    Repetition,
    SystemPrompt,
    TokenAlphabet,
    Waluigi,
    WaluigiPopulation,
    bayes_predictive,
    posterior,
    predictive_tables,
    sample_documents,
    standard_mixture,
)

__all__ = [
    "BetaHazardPrior",
    "DiscreteHazardPrior",
    "Luigi",
    "PersonaMixture",
    "Repetition",
    "SystemPrompt",
    "TokenAlphabet",
    "Waluigi",
    "WaluigiPopulation",
    "bayes_predictive",
    "posterior",
    "predictive_tables",
    "sample_documents",
    "standard_mixture",
]
