"""Learning at several levels of feedback ("Learning Normativity"; "Recursive Quantilizers II").

The learner keeps hypotheses at three levels and updates all of them from the same data by EM
(mean-field, vectorised over a batch of independent problems):

- level 1, *the reward*: r_j ~ N(mu0, s0^2) for each item (state/action) j;
- level 2, *how to read each feedback source k*: a type z_k in {good, bad}; a good source reports
  y_kj = r_j + b_k + sigma * eps (its own bias b_k, learned; the noise scale sigma shared by good
  sources, learned), a bad source's reports are unrelated to r: y_kj ~ N(m_bad, s_bad^2);
- level 3, *how to read feedback about feedback*: an optional meta-source labels each source
  good/bad; its accuracy alpha is unknown and learned (Beta(2, 2) prior) by checking its labels
  against what level 2 infers from the object-level data. Without labels, level 3 is the base
  rate pi = P(good), also learned.

Information flows both ways: meta-labels set the prior P(z_k = good) (3 -> 2), source weights
gamma_k / sigma_k^2 set the reward posterior (2 -> 1), residuals against the reward posterior set
the source types and noise (1 -> 2), and the inferred types grade the meta-source (2 -> 3).
A source whose reports disagree with the consensus of the others ends with gamma_k ~ 0: it is
discounted, and the weight it would have had is learned, not hand-set.

Action choice is quantilised (Taylor 2016), and optionally *recursively*: see
:func:`recursive_quantilized_utility` for what that means here (our interpretation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from aflab.normativity.quantilizers import quantilize


@dataclass(frozen=True)
class FeedbackPriors:
    """Priors of the feedback model (reward scale in [0, 1] by default)."""

    reward_mean: float = 0.5
    reward_sd: float = 0.3
    bias_sd: float = 0.1
    noise_sd: float = 0.1  # prior guess of a good source's noise
    noise_pseudo_count: float = 10.0
    min_noise_sd: float = 0.02
    base_rate_good: float = 0.7  # prior mean of P(source good) when there are no meta-labels
    base_rate_pseudo_count: float = 7.0  # its strength, in sources


@dataclass(frozen=True)
class FeedbackFit:
    """Posterior summaries (batch axis first): reward (B, J), sources (B, K), meta level (B,)."""

    reward_mean: np.ndarray
    reward_sd: np.ndarray
    source_good: np.ndarray
    source_bias: np.ndarray
    source_sd: np.ndarray
    meta_accuracy: np.ndarray
    loglik_good: np.ndarray  # per-source log-likelihood of its reports if good (B, K)
    loglik_bad: np.ndarray  # ... and if bad


def _norm_logpdf(x, mean, var):
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def fit_feedback_model(
    reports: np.ndarray,
    meta_labels: np.ndarray | None = None,
    priors: FeedbackPriors = FeedbackPriors(),
    n_iter: int = 40,
    meta_trust: float | None = None,
) -> FeedbackFit:
    """EM fit of the three-level feedback model.

    ``meta_trust``: None (default) learns the meta-source's accuracy alpha at level 3; a number fixes alpha
    there (the learner takes the meta-source at its word and never grades it -- an ablation of level 3).

    ``reports``: (B, K, J) with NaN where source k said nothing about item j.
    ``meta_labels``: (B, K) with 1 (meta-source says good), 0 (says bad), -1 (no label), or None.
    """
    y = np.asarray(reports, dtype=float)
    if y.ndim != 3:
        raise ValueError(f"reports must have shape (batch, sources, items); got {y.shape}")
    mask = np.isfinite(y)
    y0 = np.where(mask, y, 0.0)
    m = mask.astype(float)
    n_k = m.sum(axis=2)
    b_, k_, j_ = y.shape
    if meta_labels is not None:
        meta_labels = np.asarray(meta_labels)
        if meta_labels.shape != (b_, k_):
            raise ValueError(f"meta_labels must have shape {(b_, k_)}; got {meta_labels.shape}")
    # initialise level 1 with the per-item median report (robust to a minority of bad sources)
    mu = np.nan_to_num(np.nanmedian(np.where(mask, y, np.nan), axis=1), nan=priors.reward_mean)
    var = np.full((b_, j_), priors.reward_sd**2)
    bias = np.zeros((b_, k_))
    s2 = np.full((b_, k_), priors.noise_sd**2)
    alpha = np.full(b_, 0.5)
    rate = np.full(b_, priors.base_rate_good)
    prior_good = np.full((b_, k_), priors.base_rate_good)
    gamma = prior_good.copy()
    n0 = priors.base_rate_pseudo_count
    for _ in range(n_iter):
        # level 1 <- level 2: Gaussian reward posterior with source weights gamma_k / sigma_k^2
        w = gamma / s2
        prec = 1 / priors.reward_sd**2 + np.einsum("bk,bkj->bj", w, m)
        num = priors.reward_mean / priors.reward_sd**2 + np.einsum("bk,bkj->bj", w, m * (y0 - bias[..., None]))
        mu, var = num / prec, 1 / prec
        resid = np.where(mask, y0 - mu[:, None, :], 0.0)
        # level 2 <- level 1: bias (shrunk to 0) and noise (inverse-gamma-like pseudo-counts)
        bias = resid.sum(axis=2) / (n_k + s2 / priors.bias_sd**2)
        sq = (m * ((resid - bias[..., None]) ** 2 + var[:, None, :])).sum(axis=2)
        # good sources share one noise scale ("reliable" means accurate up to a known-ish noise)
        pooled = ((gamma * sq).sum(axis=1) + priors.noise_pseudo_count * priors.noise_sd**2) / (
            (gamma * n_k).sum(axis=1) + priors.noise_pseudo_count
        )
        s2 = np.repeat(np.maximum(pooled, priors.min_noise_sd**2)[:, None], k_, axis=1)
        gm = (1 - gamma)[..., None] * m
        m_bad = (gm * y0).sum(axis=(1, 2)) / np.maximum(gm.sum(axis=(1, 2)), 1e-9)
        v_bad = (gm * (y0 - m_bad[:, None, None]) ** 2).sum(axis=(1, 2)) / np.maximum(gm.sum(axis=(1, 2)), 1e-9)
        # with (almost) no reports currently attributed to bad sources, keep the bad model broad
        v_bad = np.maximum(v_bad, 0.05**2) + np.where(gm.sum(axis=(1, 2)) < 1, 0.3**2, 0.0)
        ll_good = (m * _norm_logpdf(y0, mu[:, None, :] + bias[..., None], s2[..., None] + var[:, None, :])).sum(axis=2)
        ll_bad = (m * _norm_logpdf(y0, m_bad[:, None, None], v_bad[:, None, None])).sum(axis=2)
        # level 2 <- level 3 prior, then level 3 <- level 2
        gamma = expit(np.log(prior_good) - np.log1p(-prior_good) + ll_good - ll_bad)
        gamma = np.clip(gamma, 1e-9, 1 - 1e-9)
        if meta_labels is None:
            rate = (gamma.sum(axis=1) + n0 * priors.base_rate_good) / (k_ + n0)
            prior_good = np.repeat(rate[:, None], k_, axis=1)
        else:
            has = meta_labels >= 0
            agree = np.where(meta_labels == 1, gamma, 1 - gamma)
            alpha = ((agree * has).sum(axis=1) + 2) / (has.sum(axis=1) + 4)
            if meta_trust is not None:
                alpha = np.full(b_, float(meta_trust))
            rate = (gamma.sum(axis=1) + n0 * priors.base_rate_good) / (k_ + n0)
            prior_good = np.where(
                meta_labels == 1, alpha[:, None], np.where(meta_labels == 0, 1 - alpha[:, None], rate[:, None])
            )
            prior_good = np.clip(prior_good, 1e-3, 1 - 1e-3)
    meta = alpha if meta_labels is not None else rate
    return FeedbackFit(mu, np.sqrt(var), gamma, bias, np.sqrt(s2), meta, ll_good, ll_bad)


def interpretation_reward(
    reports: np.ndarray, fit: FeedbackFit, z: np.ndarray, priors: FeedbackPriors = FeedbackPriors()
) -> np.ndarray:
    """Reward posterior mean (B, M, J) if exactly the sources with z (B, M, K) = 1 are good."""
    mask = np.isfinite(reports)
    m = mask.astype(float)
    y0 = np.where(mask, reports, 0.0) - fit.source_bias[..., None]
    w = z / (fit.source_sd**2)[:, None, :]
    prec = 1 / priors.reward_sd**2 + np.einsum("bmk,bkj->bmj", w, m)
    num = priors.reward_mean / priors.reward_sd**2 + np.einsum("bmk,bkj->bmj", w, m * y0)
    return num / prec


def recursive_quantilized_utility(
    reports: np.ndarray,
    fit: FeedbackFit,
    interpretation_q: float,
    n_interpretations: int,
    rng: np.random.Generator,
    priors: FeedbackPriors = FeedbackPriors(),
) -> np.ndarray:
    """Item utilities after quantilising over *interpretations of the feedback* (our interpretation).

    "Recursive Quantilizers II" asks that the choice of how to interpret feedback be itself a
    limited (quantilised) optimisation, not the single best-fitting reading. Here an
    interpretation is a vector z of source types. Level-2 quantilizer: base = M draws of z from
    the EM posterior (z_k ~ Bernoulli(gamma_k)), utility = the data log-likelihood of z; we keep
    the top ``interpretation_q`` of base mass (exact, ties split). The item utility handed to the
    action-level quantilizer is the reward averaged over the kept interpretations, so no single
    over-fitted reading of the feedback decides the action alone.
    """
    b_, k_ = fit.source_good.shape
    z = (rng.random((b_, n_interpretations, k_)) < fit.source_good[:, None, :]).astype(float)
    score = (z * fit.loglik_good[:, None, :] + (1 - z) * fit.loglik_bad[:, None, :]).sum(axis=2)
    base = np.full((b_, n_interpretations), 1.0 / n_interpretations)
    weights = quantilize(base, score, interpretation_q)
    rewards = interpretation_reward(reports, fit, z, priors)
    return np.einsum("bm,bmj->bj", weights, rewards)
