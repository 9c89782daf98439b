"""Diagnostics for performative prediction: sensitivity, the RRM condition, stable point vs optimum.

- :func:`estimate_sensitivity`  -- eps-hat, an estimate of the W1-sensitivity of the map
  (W1(D(t), D(t')) <= eps |t - t'|, Perdomo et al. 2020 Def. 3.1) from samples alone;
- :func:`rrm_condition`         -- whether eps < gamma/beta holds, and the guaranteed linear rate
  eps * beta / gamma (Perdomo et al. 2020 Thm 3.5; Prop. 3.6 shows the bound is tight);
- :func:`performative_summary`  -- stable point, optimum, their distance and the risk gap
  PR(theta_PS) - PR(theta_PO) >= 0, with a status string instead of a number when one does not exist;
- :func:`detect_divergence`     -- per-seed status of a trajectory (re-exported from learners).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aflab.partial_agency.learners import classify_trajectory

detect_divergence = classify_trajectory


def wasserstein1_sliced(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Max over directions of the 1-D W1 between projected samples (a lower bound on W1).

    a, b: (P, n, k) samples (equal n); directions: (P, m, k) unit vectors.  Returns (P,).
    1-D W1 between equal-size samples = mean |sorted(a) - sorted(b)|.
    """
    pa = np.sort(np.einsum("pnk,pmk->pmn", a, directions), axis=-1)
    pb = np.sort(np.einsum("pnk,pmk->pmn", b, directions), axis=-1)
    return np.abs(pa - pb).mean(axis=-1).max(axis=-1)


@dataclass(frozen=True)
class SensitivityEstimate:
    eps_hat: float
    ratios: np.ndarray
    null_w1: float
    n_pairs: int
    n_samples: int


def estimate_sensitivity(
    dmap,
    center: np.ndarray,
    rng: np.random.Generator,
    radius: float = 1.0,
    n_pairs: int = 16,
    n_samples: int = 4000,
    n_directions: int = 16,
    columns: slice | None = None,
) -> SensitivityEstimate:
    """eps-hat = max over random pairs (t, t' = t + radius u) of (W1_sliced(D(t), D(t')) - null) / radius.

    Samples only (a black-box simulator works).  W1 is lower-bounded by random 1-D projections plus
    the direction of the mean difference; ``null`` is the W1 between two independent samples from
    the same D(t) (finite-sample bias), subtracted so that a map that does not move gives ~0.
    ``columns`` selects the coordinates of z that move (e.g. the features of (x, y)).
    """
    if n_pairs < 1 or n_samples < 10 or radius <= 0:
        raise ValueError("need n_pairs >= 1, n_samples >= 10 and radius > 0")
    center = np.asarray(center, dtype=float).reshape(1, -1)
    d = center.shape[1]
    u = rng.standard_normal((n_pairs, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t1 = center + radius * rng.uniform(-1, 1, (n_pairs, d))
    t2 = t1 + radius * u  # pairs at distance exactly `radius`: sampling noise / |t - t'| stays small
    za, zb, zc = (dmap.sample(t, n_samples, rng) for t in (t1, t2, t1))
    if columns is not None:
        za, zb, zc = za[..., columns], zb[..., columns], zc[..., columns]
    k = za.shape[-1]
    dirs = rng.standard_normal((n_pairs, n_directions, k))
    shift = (zb.mean(1) - za.mean(1))[:, None, :]
    dirs = np.concatenate([dirs, shift], axis=1)
    dirs /= np.maximum(np.linalg.norm(dirs, axis=-1, keepdims=True), 1e-300)
    w = wasserstein1_sliced(za, zb, dirs)
    null = wasserstein1_sliced(za, zc, dirs)
    ratios = np.maximum(w - null, 0.0) / np.linalg.norm(t1 - t2, axis=1)
    return SensitivityEstimate(float(ratios.max()), ratios, float(null.mean()), n_pairs, n_samples)


@dataclass(frozen=True)
class RRMCondition:
    """The sufficient condition eps < gamma/beta of Perdomo et al. 2020 Thm 3.5 for RRM to contract."""

    eps: float
    gamma: float
    beta: float
    rate_bound: float
    holds: bool
    message: str


def rrm_condition(eps: float, gamma: float, beta: float) -> RRMCondition:
    """Check eps < gamma / beta; the guaranteed rate is |theta_t - theta_PS| <= (eps beta / gamma)^t |theta_0 - theta_PS|."""
    for name, v in (("eps", eps), ("gamma", gamma), ("beta", beta)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be finite and >= 0; got {v}")
    if gamma == 0 or beta == 0:
        raise ValueError("gamma and beta must be > 0 (strongly convex, smooth loss)")
    rate = eps * beta / gamma
    holds = rate < 1
    msg = (
        f"eps={eps:.4g} < gamma/beta={gamma / beta:.4g}: RRM converges linearly at rate <= {rate:.4g}"
        if holds
        else f"eps={eps:.4g} >= gamma/beta={gamma / beta:.4g}: no guarantee; RRM can diverge (Perdomo et al. Prop. 3.6)"
    )
    return RRMCondition(float(eps), float(gamma), float(beta), float(rate), bool(holds), msg)


@dataclass(frozen=True)
class PerformativeSummary:
    stable_point: np.ndarray | None
    optimum: np.ndarray | None
    distance: float
    risk_gap: float
    status: str

    def as_dict(self) -> dict:
        return {
            "stable_point": None if self.stable_point is None else self.stable_point.tolist(),
            "optimum": None if self.optimum is None else self.optimum.tolist(),
            "distance": self.distance,
            "risk_gap": self.risk_gap,
            "status": self.status,
        }


def performative_summary(dmap) -> PerformativeSummary:
    """theta_PS, theta_PO, |PS - PO| and PR(PS) - PR(PO); ``status`` says what exists.

    status is one of "ok", "no stable point", "no optimum (PR unbounded below or not found)".
    """
    ps, po = dmap.stable_point(), dmap.optimum()
    if ps is None:
        return PerformativeSummary(None, po, float("nan"), float("nan"), "no stable point")
    if po is None:
        return PerformativeSummary(ps, None, float("nan"), float("nan"), "no optimum (PR unbounded below or not found)")
    risks = dmap.performative_risk(np.stack([ps, po]))
    return PerformativeSummary(ps, po, float(np.linalg.norm(ps - po)), float(risks[0] - risks[1]), "ok")
