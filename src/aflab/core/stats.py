"""Shared statistics: one way to put a confidence interval on a number, one rule to turn it into a verdict.

Every system decides its claims with these functions, so a reader learns one set of conventions:

- :func:`mean_ci` -- the mean with the t-interval and *its own* standard error ``s / sqrt(n)``
  (never a CI width divided by 3.92, which is 2.2x too large at n = 3);
- :func:`proportion_ci` -- a Wilson score interval for a fraction of independent trials;
- :func:`bootstrap_ci` -- percentile or BCa (Efron 1987) bootstrap intervals for any statistic, with
  *clustered* resampling: whole seeds (or probes, or worlds) are resampled, so rows that share a seed are
  never treated as independent;
- :func:`loglog_slope` -- the slope of ``log y`` on ``log x`` (a scaling exponent) with a t-interval from
  the per-cluster slopes when clusters are given (one slope per seed, the seeds independent), else the
  ordinary least-squares interval;
- :func:`decide` -- the one decision rule: *supported* when the interval lies strictly on the claim's
  side of its :class:`Threshold`, *refuted* when it lies strictly on the other side, *inconclusive*
  otherwise. :func:`combine` joins the decisions of a claim with several conditions.

All intervals are two-sided at ``level`` (default 95 %). Bootstrap draws come from a fixed seed, so a
verdict is a deterministic function of its table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Side = Literal["above", "below", "within", "outside", "equals"]
Label = Literal["supported", "refuted", "inconclusive"]


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided confidence interval.

    ``se`` is the estimate's own standard error where the method has one (t-interval, OLS), else None;
    ``n`` the number of independent units behind it (seeds, clusters, trials).
    """

    estimate: float
    low: float
    high: float
    level: float = 0.95
    method: str = "t"
    se: float | None = None
    n: int | None = None

    def __post_init__(self) -> None:
        if not (self.low <= self.high or math.isnan(self.low) or math.isnan(self.high)):
            raise ValueError(f"interval low {self.low} > high {self.high}")

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def text(self, digits: int = 3) -> str:
        """``-0.512 [-0.61, -0.41]`` (95 % t, n=5)."""
        f = f"{{:.{digits}g}}"
        return (
            f"{f.format(self.estimate)} [{f.format(self.low)}, {f.format(self.high)}] "
            f"({level_text(self.level)} {self.method}" + (f", n={self.n})" if self.n is not None else ")")
        )

    def as_numbers(self, prefix: str) -> dict[str, float]:
        """``{prefix: estimate, prefix_ci_low: ..., prefix_ci_high: ..., prefix_se: ...}`` for Verdict.numbers."""
        out = {prefix: self.estimate, f"{prefix}_ci_low": self.low, f"{prefix}_ci_high": self.high}
        if self.se is not None:
            out[f"{prefix}_se"] = self.se
        return out


def level_text(level: float) -> str:
    """0.95 -> '95%', 0.99994 -> '99.994%'."""
    return f"{level * 100:.5g}%"


@dataclass(frozen=True)
class Threshold:
    """The line a claim's deciding statistic must clear, and why it sits there.

    ``side`` says where the statistic lies *when the claim holds*: ``above`` / ``below`` ``value``, or
    ``within`` / ``outside`` the band ``[value, upper]``. ``equals`` is for theory checks: the interval
    must contain the closed-form ``value`` (supported) or it excludes it (refuted) -- no inconclusive.
    ``justification`` is shown in the report: a threshold without a reason is one someone may have moved.
    """

    statistic: str
    side: Side
    value: float
    justification: str
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.side not in ("above", "below", "within", "outside", "equals"):
            raise ValueError(f"Threshold.side must be above, below, within, outside or equals, got {self.side!r}")
        if self.side in ("within", "outside") and (self.upper is None or self.upper < self.value):
            raise ValueError(f"Threshold side {self.side!r} needs upper >= value, got {self.value}, {self.upper}")
        if not self.justification.strip():
            raise ValueError(f"Threshold for {self.statistic!r} needs a justification")

    def text(self) -> str:
        if self.side == "above":
            return f"{self.statistic} > {self.value:g}"
        if self.side == "below":
            return f"{self.statistic} < {self.value:g}"
        if self.side == "equals":
            return f"{self.statistic} = {self.value:g} (theory)"
        word = "in" if self.side == "within" else "outside"
        return f"{self.statistic} {word} [{self.value:g}, {self.upper:g}]"


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`: a label, the interval and threshold that produced it, and a reason."""

    label: Label
    interval: Interval
    threshold: Threshold
    reason: str = field(default="")


def decide(interval: Interval, threshold: Threshold) -> Decision:
    """The decision rule shared by every claim.

    *supported* when the whole interval is on the claim's side of the threshold, *refuted* when the whole
    interval is on the other side, *inconclusive* when it straddles (or is undefined). Strict inequalities:
    an interval touching the line decides nothing. For ``equals`` (theory checks): supported when the
    interval contains the closed form, refuted when it excludes it.
    """
    lo, hi, v, u = interval.low, interval.high, threshold.value, threshold.upper
    if math.isnan(lo) or math.isnan(hi):
        label: Label = "inconclusive"
    elif threshold.side == "above":
        label = "supported" if lo > v else "refuted" if hi < v else "inconclusive"
    elif threshold.side == "below":
        label = "supported" if hi < v else "refuted" if lo > v else "inconclusive"
    elif threshold.side == "equals":
        label = "supported" if lo <= v <= hi else "refuted"
    else:
        assert u is not None
        inside = v < lo and hi < u
        outside = hi < v or lo > u
        if threshold.side == "outside":
            inside, outside = outside, inside
        label = "supported" if inside else "refuted" if outside else "inconclusive"
    reason = f"{threshold.statistic} = {interval.text()} vs {threshold.text()} -> {label}"
    return Decision(label, interval, threshold, reason)


def combine(decisions: Sequence[Decision] | Sequence[str], how: Literal["all", "any"] = "all") -> Label:
    """Join several conditions of one claim.

    ``all``: supported when every condition is, refuted when any is, else inconclusive.
    ``any``: supported when some condition is, refuted when every one is, else inconclusive.
    """
    labels = [d.label if isinstance(d, Decision) else d for d in decisions]
    if not labels:
        return "inconclusive"
    if how == "all":
        if all(x == "supported" for x in labels):
            return "supported"
        return "refuted" if any(x == "refuted" for x in labels) else "inconclusive"
    if any(x == "supported" for x in labels):
        return "supported"
    return "refuted" if all(x == "refuted" for x in labels) else "inconclusive"


# ----------------------------------------------------------------------------------------- estimators
def _sps():
    """scipy.stats, imported on first use (it costs ~0.3 s, and `import aflab.core` should stay light)."""
    from scipy import stats

    return stats


def _t_crit(level: float, df: int) -> float:
    return float(_sps().t.ppf(0.5 + level / 2, df))


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean with the Student-t interval; ``se = s / sqrt(n)`` (sample sd, ddof = 1).

    One value gives an unbounded interval (a single seed cannot decide anything); identical values give
    a zero-width one.
    """
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, level, "t", None, 0)
    m = float(x.mean())
    if n == 1:
        return Interval(m, -math.inf, math.inf, level, "t", math.inf, 1)
    se = float(x.std(ddof=1) / math.sqrt(n))
    half = _t_crit(level, n - 1) * se
    return Interval(m, m - half, m + half, level, "t", se, n)


def proportion_ci(successes: int, trials: int, level: float = 0.95) -> Interval:
    """Wilson score interval for ``successes / trials`` (good coverage at small n and near 0 or 1)."""
    if trials <= 0:
        return Interval(math.nan, math.nan, math.nan, level, "wilson", None, 0)
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, {trials}], got {successes}")
    z = float(_sps().norm.ppf(0.5 + level / 2))
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    se = math.sqrt(p * (1 - p) / trials)
    # At 0 (or n) successes the bound is exactly 0 (or 1): centre - half cancels to ~1e-17 in floats.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(p, low, high, level, "wilson", se, trials)


def _cluster_index(n_rows: int, clusters: np.ndarray | None) -> list[np.ndarray]:
    if clusters is None:
        return [np.array([i]) for i in range(n_rows)]
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    return np.split(order, bounds)


def bootstrap_ci(
    data: pd.DataFrame | np.ndarray | Sequence[float],
    statistic: Callable[[pd.DataFrame | np.ndarray], float] | None = None,
    *,
    clusters: str | np.ndarray | Sequence | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    method: Literal["bca", "percentile"] = "bca",
    seed: int = 0,
) -> Interval:
    """Bootstrap interval of ``statistic(data)`` (default: the mean of a 1-D array).

    ``clusters`` (a column name of ``data`` or an array with one label per row) makes the bootstrap
    resample whole clusters with replacement -- seeds, probes or worlds -- so correlated rows move together.
    ``method='bca'`` is the bias-corrected and accelerated interval (Efron 1987), with the acceleration
    from the leave-one-cluster-out jackknife; ``'percentile'`` the plain percentile interval. The draws
    come from ``numpy.random.default_rng(seed)``, so the same table always gives the same interval.
    """
    if isinstance(data, pd.DataFrame):
        frame: pd.DataFrame | np.ndarray = data.reset_index(drop=True)
        n_rows = len(frame)
    else:
        frame = np.asarray(data, dtype=float)
        n_rows = frame.shape[0]
    stat = statistic if statistic is not None else (lambda d: float(np.mean(d)))
    if isinstance(clusters, str):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("clusters given as a column name need a DataFrame")
        labels = frame[clusters].to_numpy()
    else:
        labels = None if clusters is None else np.asarray(clusters)
    groups = _cluster_index(n_rows, labels)
    k = len(groups)
    take = (lambda idx: frame.iloc[idx]) if isinstance(frame, pd.DataFrame) else (lambda idx: frame[idx])
    theta = float(stat(frame))
    if k < 2 or not math.isfinite(theta):
        return Interval(theta, -math.inf, math.inf, level, f"bootstrap-{method}", None, k)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, k, size=(n_boot, k))
    boot = np.array([stat(take(np.concatenate([groups[j] for j in row]))) for row in draws], dtype=float)
    boot = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    if boot.size < n_boot // 2:
        return Interval(theta, -math.inf, math.inf, level, f"bootstrap-{method}", None, k)
    if method == "percentile":
        lo, hi = np.quantile(boot, [alpha, 1 - alpha])
        return Interval(theta, float(min(lo, theta)), float(max(hi, theta)), level, "bootstrap-percentile", None, k)
    lo, hi = _bca_bounds(boot, theta, groups, take, stat, alpha)
    return Interval(theta, min(lo, theta), max(hi, theta), level, "bootstrap-bca", None, k)


def _bca_bounds(boot, theta, groups, take, stat, alpha) -> tuple[float, float]:
    """BCa quantiles: bias correction z0 from the draws, acceleration from the cluster jackknife."""
    prop = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / boot.size
    prop = min(max(prop, 1 / (2 * boot.size)), 1 - 1 / (2 * boot.size))
    z0 = float(_sps().norm.ppf(prop))
    jack = np.array([stat(take(np.concatenate(groups[:j] + groups[j + 1 :]))) for j in range(len(groups))])
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack
    denom = 6 * (np.sum(d**2) ** 1.5)
    accel = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    out = []
    for q in (alpha, 1 - alpha):
        zq = float(_sps().norm.ppf(q))
        adj = z0 + (z0 + zq) / (1 - accel * (z0 + zq))
        out.append(float(np.quantile(boot, float(_sps().norm.cdf(adj)))))
    return out[0], out[1]


def ols_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x (nan when x does not vary)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = x - x.mean()
    ss = float(dx @ dx)
    return float(dx @ (y - y.mean()) / ss) if ss > 0 else math.nan


def loglog_slope(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    clusters: Sequence | np.ndarray | None = None,
    level: float = 0.95,
) -> Interval:
    """Scaling exponent: the slope of ``log y`` against ``log x`` with a confidence interval.

    With ``clusters`` (e.g. the seed of each row), one slope is fitted per cluster and the interval is
    the t-interval of those slopes (:func:`mean_ci`): the seeds are the independent units, and points that
    share a seed's initialisation or data are not counted as independent. Without clusters it is the
    ordinary least-squares slope with its ``n - 2`` degree-of-freedom t-interval. Non-positive values are
    dropped (their log is undefined).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if clusters is not None:
        c = np.asarray(clusters)[keep]
        slopes = [ols_slope(lx[c == g], ly[c == g]) for g in np.unique(c)]
        slopes = [s for s in slopes if math.isfinite(s)]
        if len(slopes) >= 2:
            iv = mean_ci(slopes, level)
            return Interval(iv.estimate, iv.low, iv.high, level, "t over clusters", iv.se, iv.n)
    n = lx.size
    slope = ols_slope(lx, ly)
    if n < 3 or not math.isfinite(slope):
        return Interval(slope, -math.inf, math.inf, level, "ols", None, n)
    resid = ly - ly.mean() - slope * (lx - lx.mean())
    se = float(math.sqrt(resid @ resid / (n - 2) / np.sum((lx - lx.mean()) ** 2)))
    half = _t_crit(level, n - 2) * se
    return Interval(slope, slope - half, slope + half, level, "ols", se, n)


def difference_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """``mean(a) - mean(b)`` with Welch's t-interval (unequal variances, Welch-Satterthwaite df)."""
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    x, y = a_arr[np.isfinite(a_arr)], b_arr[np.isfinite(b_arr)]
    d = float(x.mean() - y.mean()) if x.size and y.size else math.nan
    if x.size < 2 or y.size < 2:
        return Interval(d, -math.inf, math.inf, level, "welch", None, int(x.size + y.size))
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = float(math.sqrt(va + vb))
    if se == 0:
        return Interval(d, d, d, level, "welch", 0.0, int(x.size + y.size))
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = float(_sps().t.ppf(0.5 + level / 2, df)) * se
    return Interval(d, d - half, d + half, level, "welch", se, int(x.size + y.size))


def z_interval(estimate: float, se: float, level: float = 0.95, n: int | None = None) -> Interval:
    """Normal interval ``estimate +- z * se`` for an estimate with a known (large-sample) standard error,
    e.g. a Monte Carlo mean over many independent trajectories."""
    z = float(_sps().norm.ppf(0.5 + level / 2))
    return Interval(float(estimate), float(estimate - z * se), float(estimate + z * se), level, "normal", float(se), n)


__all__ = [
    "Decision",
    "Interval",
    "Threshold",
    "bootstrap_ci",
    "combine",
    "decide",
    "difference_ci",
    "level_text",
    "loglog_slope",
    "mean_ci",
    "ols_slope",
    "proportion_ci",
    "z_interval",
]
