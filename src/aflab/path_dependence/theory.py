"""Closed-form width exponents and the statistics used to compare measurements with them.

Predicted exponent of the relative change of the first hidden layer's activations after a fixed
number of SGD steps, one hidden layer, ``d`` and ``k`` fixed (derivation in docs/path_dependence.md;
Yang & Hu 2021, Sec. 3 / Table 3):

- ``ntk``:     dW1 = eta * delta1 x^T with delta1 ~ W_out^T dL/df ~ n^-1/2  ->  dh1/h1 ~ n^-1/2
- ``mup``:     input LR ~ n and delta1 ~ n^-1 (readout ~ 1/n)             ->  dh1/h1 ~ n^0
- ``sp_lr1n``: LR ~ 1/n on every layer, delta1 ~ n^-1/2                   ->  dh1/h1 ~ n^-3/2
- ``sp``:      no stable exponent: the readout update is Theta(n), training blows up.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

FEATURE_CHANGE_EXPONENT: dict[str, float] = {"ntk": -0.5, "mup": 0.0, "sp_lr1n": -1.5}


def loglog_slope(table: pd.DataFrame, metric: str, x: str = "width", level: float = 0.95) -> dict[str, float]:
    """Slope of log(metric) on log(x) with a t-interval over seeds.

    Rows are first averaged within (seed, x); a least-squares slope is fitted per seed; the
    interval is ``mean +- t_{(1+level)/2, S-1} * sd / sqrt(S)`` over the ``S`` seeds. With one seed
    the interval comes from the regression's own standard error. Non-positive or non-finite values
    are dropped (they have no logarithm) and counted in ``n_dropped``.
    """
    cols = ["seed", x] if "seed" in table.columns else [x]
    good = table[np.isfinite(table[metric]) & (table[metric] > 0)]
    mean = good.groupby(cols, as_index=False)[metric].mean()
    n_dropped = float(len(table) - len(good))
    if "seed" not in mean.columns:
        mean = mean.assign(seed=0)
    slopes = []
    for _, g in mean.groupby("seed"):
        if g[x].nunique() >= 2:
            slopes.append(np.polyfit(np.log(g[x]), np.log(g[metric]), 1)[0])
    if not slopes:
        return {"slope": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_seeds": 0.0, "n_dropped": n_dropped}
    s = np.array(slopes)
    if len(s) >= 2:
        half = stats.t.ppf((1 + level) / 2, len(s) - 1) * s.std(ddof=1) / math.sqrt(len(s))
    else:
        g = mean
        res = stats.linregress(np.log(g[x]), np.log(g[metric]))
        half = stats.t.ppf((1 + level) / 2, max(len(g) - 2, 1)) * res.stderr
    m = float(s.mean())
    return {"slope": m, "ci_low": m - half, "ci_high": m + half, "n_seeds": float(len(s)), "n_dropped": n_dropped}


def mean_ci(values, level: float = 0.95) -> dict[str, float]:
    """Mean with a t-interval (values already one per independent unit)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0.0}
    m = float(v.mean())
    half = stats.t.ppf((1 + level) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.inf
    return {"mean": m, "ci_low": m - half, "ci_high": m + half, "n": float(len(v))}


def band_label(ci_low: float, ci_high: float, low: float, high: float) -> str:
    """'supported' if the CI lies inside [low, high], 'refuted' if it lies entirely outside, else 'inconclusive'."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive"
    if low <= ci_low and ci_high <= high:
        return "supported"
    if ci_high < low or ci_low > high:
        return "refuted"
    return "inconclusive"


LABEL_CODE = {"supported": 1.0, "inconclusive": 0.0, "refuted": -1.0}


def combine_labels(labels: dict[str, str]) -> str:
    """An unconditional claim: supported only if supported under every parametrization, refuted if any refutes."""
    vals = list(labels.values())
    if vals and all(v == "supported" for v in vals):
        return "supported"
    if any(v == "refuted" for v in vals):
        return "refuted"
    return "inconclusive"
