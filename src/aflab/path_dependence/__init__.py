"""Path-dependence of gradient descent vs width (issue 5; docs/path_dependence.md).

Modules:
- :mod:`.parametrization` -- SP, SP with LR ~ 1/width, NTK and muP for bias-free MLPs and a 1-D CNN,
  from the definitions (init std and per-layer LR multiplier vs width / base width);
- :mod:`.ensemble` -- many nets trained at once (vmapped ``functional_call`` or fused batched backprop);
- :mod:`.metrics` -- feature / weight / NTK movement and path-dependence between paired runs;
- :mod:`.data` -- digits, MNIST-1D (generated offline), slab data and the two-feature shard tasks;
- :mod:`.experiments` -- width sweeps of paired runs and the shard experiment, as tidy tables;
- :mod:`.theory` -- predicted exponents, log-log slopes with t-intervals, verdict bands;
- :mod:`.claims` -- the registered claims (laziness theory, D1, D2, D3, T1, T2); :mod:`.cli` -- ``aflab pd``.
"""
