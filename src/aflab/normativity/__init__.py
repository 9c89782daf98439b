"""aflab.normativity: quantilizers, the Goodhart bench, corrupted-reward MDPs, learning from
feedback at several levels, and stable pointers to value (reward-box tampering).

Modules: :mod:`.quantilizers` (exact / continuous / sampling quantilizers and their cost bounds),
:mod:`.goodhart` (proxy-vs-true action pools), :mod:`.mdp` (gridworlds, value iteration, batched
Q-learning), :mod:`.crmdp` (Everitt et al. 2017 corrupted-reward MDPs and agents),
:mod:`.levels` (the three-level feedback learner, recursive quantilization), :mod:`.tamper`
(reward-box gridworld and agents), :mod:`.pointer` (an observation-utility agent that learns its pointer
through a corruptible channel; current-RF agents; the delusion box). Claims live in :mod:`.claims` and
:mod:`.claims_pointer`; see ``docs/normativity.md``.
"""

from aflab.normativity.quantilizers import (
    best_of_n,
    best_of_n_many,
    cost_bound_ratio,
    quantile_grid_quantilizer,
    quantilize,
    quantilize_many,
    top_k_of_n_choice,
)

__all__ = [
    "best_of_n",
    "best_of_n_many",
    "cost_bound_ratio",
    "quantile_grid_quantilizer",
    "quantilize",
    "quantilize_many",
    "top_k_of_n_choice",
]
