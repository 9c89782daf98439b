"""The named choices of the path-dependence system, importable without torch.

``aflab list`` imports every system's claims; the claims' configs validate against these names, so they
live here (pure Python) rather than next to the torch code that implements them.
"""

from __future__ import annotations

from typing import Literal, get_args

Parametrization = Literal["sp", "sp_lr1n", "ntk", "mup"]
PARAMETRIZATIONS: tuple[str, ...] = get_args(Parametrization)

#: readout (output-layer) init: the parametrization's own, zero, or 1/sqrt(fan_in) whatever the
#: parametrization (under muP that is the *wrong* readout init, a deliberate mutation).
ReadoutInit = Literal["default", "zero", "fan_in"]
READOUT_INITS: tuple[str, ...] = get_args(ReadoutInit)

Manipulation = Literal["order", "perturb", "init", "curriculum", "curriculum_control"]
MANIPULATIONS: tuple[str, ...] = get_args(Manipulation)

Schedule = Literal["hard_only", "both", "hard_first", "easy_first", "easy_removed", "easy_only"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)

DatasetName = Literal["digits", "mnist1d", "slab"]
DATASETS: tuple[str, ...] = get_args(DatasetName)

Loss = Literal["ce", "mse", "sd"]
LOSSES: tuple[str, ...] = get_args(Loss)

ShardTaskName = Literal["digits", "slab"]
SHARD_TASKS: tuple[str, ...] = get_args(ShardTaskName)

Arch = Literal["mlp", "cnn"]
