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


def relu_kernels(x1, x2, n_hidden: int = 1, sigma_w2: float = 2.0, sigma_out2: float = 1.0):
    """Infinite-width NNGP and NTK of the bias-free ReLU MLP ``d -> n -> ... -> n -> k`` (per logit).

    Weights ``W_l ~ N(0, sigma_l^2 / fan_in)`` (``sigma_w2 = 2``: He init on the ReLU layers; ``sigma_out2``
    for the readout), the standard (NTK) parametrization's kernels (Jacot et al. 2018; Arora et al. 2019,
    Sec. 3; the arc-cosine kernels of Cho & Saul 2009):

    - ``Sigma_1(x, x') = sigma_w2 x.x' / d``; ``Theta_1 = Sigma_1``;
    - ``Sigma_{l+1} = sigma^2 sqrt(S S') (sin t + (pi - t) cos t) / (2 pi)`` with ``cos t`` the correlation
      of ``Sigma_l``; ``dot Sigma_{l+1} = sigma^2 (pi - t) / (2 pi)``;
    - ``Theta_{l+1} = Sigma_{l+1} + Theta_l dot Sigma_{l+1}``.

    Returns ``(nngp, ntk)`` as float64 arrays ``[len(x1), len(x2)]``: the covariance of the output at
    init, and the limit of ``sum_l (sigma_l^2 / fan_in_l) J_l J_l^T`` (the empirical NTK with respect to
    standard-normal parameters; :func:`aflab.path_dependence.metrics.ntk_gram` with ``standard=True``).
    """
    import numpy as np

    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    d = x1.shape[1]
    s12 = sigma_w2 * x1 @ x2.T / d
    s1, s2 = sigma_w2 * (x1**2).sum(1) / d, sigma_w2 * (x2**2).sum(1) / d
    ntk = s12.copy()
    for layer in range(n_hidden):
        sig = sigma_w2 if layer < n_hidden - 1 else sigma_out2
        norm = np.sqrt(np.outer(s1, s2))
        theta = np.arccos(np.clip(s12 / np.where(norm > 0, norm, 1.0), -1.0, 1.0))
        s12_next = sig * norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
        ntk = s12_next + ntk * sig * (np.pi - theta) / (2 * np.pi)
        s12, s1, s2 = s12_next, sig * s1 / 2, sig * s2 / 2  # E[relu(u)^2] = var(u) / 2
    return s12, ntk


def kernel_regression(k_train, k_test_train, y_onehot, ridge: float = 1e-6):
    """Mean prediction of a wide net trained to convergence on squared loss (Lee et al. 2019, eq. 16):
    ``K(x, X) (K(X, X) + ridge * mean(diag) I)^-1 Y``; the infinite-width reference point."""
    import numpy as np

    k = np.asarray(k_train, np.float64)
    reg = ridge * float(np.mean(np.diag(k)))
    alpha = np.linalg.solve(k + reg * np.eye(len(k)), np.asarray(y_onehot, np.float64))
    return np.asarray(k_test_train, np.float64) @ alpha
