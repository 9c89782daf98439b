"""aflab.partial_agency: performative prediction, Predict-O-Matic fixed points, myopic vs full learners.

The "Partial Agency" sequence (Demski 2019) separates a *myopic* learner, which optimises its loss while
treating its own effect on the world as fixed (a stop-gradient), from a *full agent*, which differentiates
through that effect.  The performative-prediction literature names the same split: repeated risk
minimisation / repeated gradient descent reach performatively *stable* points, methods that
differentiate through the distribution map reach performative *optima* (Perdomo et al. 2020; Miller
et al. 2021; Izzo et al. 2021).

Modules: :mod:`.maps` (distribution maps), :mod:`.learners` (RRM, RGD, SGD, PerfGD, DFO),
:mod:`.torch_switch` (the generic stop/full-gradient switch), :mod:`.diagnostics` (sensitivity, RRM
condition, stable vs optimal, divergence), :mod:`.predict_o_matic` (F(p), fixed points, basins, scoring
incentives), :mod:`.predict_o_matic_sampled` / :mod:`.predict_o_matic_sampled_simplex` (learners that see only sampled
binary / K-outcome outcomes), :mod:`.honesty` (zero-sum competition,
erasure oracles, a model-free REINFORCE full agent), :mod:`.experiments` / :mod:`.claims` / :mod:`.plots` (the
measured claims; also :mod:`.claims_sampled`, :mod:`.claims_sampled_simplex`, :mod:`.claims_honesty`), :mod:`.cli`.
"""

from aflab.partial_agency.diagnostics import (
    estimate_sensitivity,
    performative_summary,
    rrm_condition,
)
from aflab.partial_agency.learners import (
    DivergenceError,
    LearnerRun,
    classify_trajectory,
    perfgd,
    repeated_gradient,
    rgd,
    rrm,
    stochastic_gd,
    two_point_dfo,
)
from aflab.partial_agency.maps import (
    LinearGaussianMap,
    MixtureMap,
    MultiLearnerGame,
    StrategicClassification,
    location_family,
    make_strategic_instance,
    pricing_demand,
)
from aflab.partial_agency.predict_o_matic import (
    LogisticResponse,
    SoftmaxResponse,
    basins,
    fixed_points,
    fixed_points_simplex,
    incentive_analysis,
    optimal_report,
    run_predictor,
    run_predictor_simplex,
)
from aflab.partial_agency.predict_o_matic_sampled import (
    SampledPredictorRun,
    run_sampled_predictor,
)
from aflab.partial_agency.predict_o_matic_sampled_simplex import (
    SampledSimplexRun,
    run_sampled_predictor_simplex,
)

__all__ = [
    "DivergenceError",
    "LearnerRun",
    "LinearGaussianMap",
    "LogisticResponse",
    "MixtureMap",
    "MultiLearnerGame",
    "SampledPredictorRun",
    "SampledSimplexRun",
    "SoftmaxResponse",
    "StrategicClassification",
    "basins",
    "classify_trajectory",
    "estimate_sensitivity",
    "fixed_points",
    "fixed_points_simplex",
    "incentive_analysis",
    "location_family",
    "make_strategic_instance",
    "optimal_report",
    "perfgd",
    "performative_summary",
    "pricing_demand",
    "repeated_gradient",
    "rgd",
    "rrm",
    "rrm_condition",
    "run_predictor",
    "run_predictor_simplex",
    "run_sampled_predictor",
    "run_sampled_predictor_simplex",
    "stochastic_gd",
    "two_point_dfo",
]
