"""Closed-form width exponents, the bar for "vanishes", and the scaling statistic used to test them.

Predicted exponent of the relative change of the first hidden layer's activations after a fixed
number of SGD steps, one hidden layer, ``d`` and ``k`` fixed (derivation in docs/path_dependence.md;
Yang & Hu 2021, Sec. 3 / Table 3):

- ``ntk``:     dW1 = eta * delta1 x^T with delta1 ~ W_out^T dL/df ~ n^-1/2  ->  dh1/h1 ~ n^-1/2
- ``mup``:     input LR ~ n and delta1 ~ n^-1 (readout ~ 1/n)             ->  dh1/h1 ~ n^0
- ``sp_lr1n``: LR ~ 1/n on every layer, delta1 ~ n^-1/2                   ->  dh1/h1 ~ n^-3/2
- ``sp``:      no stable exponent: the readout update is Theta(n), training blows up.

Statistics come from :mod:`aflab.core.stats`; :func:`width_slope` only says which rows are averaged
before the per-seed log-log fit.
"""

from __future__ import annotations

import math

import pandas as pd

from aflab.core.stats import Interval, loglog_slope

FEATURE_CHANGE_EXPONENT: dict[str, float] = {"ntk": -0.5, "mup": 0.0, "sp_lr1n": -1.5}

#: The lazy-regime prediction for how fast the trained function's path-dependence falls with width:
#: in the kernel regime the network differs from its linearization by ||f - f_lin|| ~ n^-1/2 (Lee et al.
#: 2019, Thm 2.1; Chizat, Oyallon & Bach 2019), and the linearized model trained to zero loss from a
#: shared init reaches the same interpolant whatever the batch order, so order-pair TV ~ n^-1/2.
LAZY_PATH_EXPONENT = -0.5
#: "Vanishes" bar for D1/D2: half the lazy exponent. A slope CI below it excludes every rate slower than
#: half the lazy prediction; a CI between it and 0 is a decrease "weaker than claimed".
VANISH_BAR = LAZY_PATH_EXPONENT / 2


def width_slope(table: pd.DataFrame, metric: str, x: str = "width", level: float = 0.95) -> Interval:
    """d log(metric) / d log(x) with a t-interval over seeds (:func:`aflab.core.stats.loglog_slope`).

    Rows are first averaged within (seed, x) (pairs and members of one seed share its data split and
    are not independent), then one least-squares slope is fitted per seed. Non-positive or non-finite
    values are dropped before averaging (they have no logarithm).
    """
    good = table[table[metric].notna() & (table[metric] > 0)]
    keys = ["seed", x] if "seed" in good.columns else [x]
    mean = good.groupby(keys, as_index=False)[metric].mean()
    if mean[x].nunique() < 2:
        return Interval(math.nan, math.nan, math.nan, level, "t over clusters", None, 0)
    if "seed" in mean.columns:  # a seed with one usable width has no slope of its own
        mean = mean[mean.groupby("seed")[x].transform("nunique") >= 2]
    clusters = mean["seed"].to_numpy() if "seed" in mean.columns else None
    return loglog_slope(mean[x].to_numpy(float), mean[metric].to_numpy(float), clusters=clusters, level=level)
