"""Predict-O-Matic: predictions that change what they predict (Demski, "The Parable of Predict-O-Matic", 2019).

An oracle announces a forecast p; the world then produces outcome y with probability F(p).
A forecast is *self-fulfilling* (honest after the fact) iff p = F(p).  Two learners:

- *myopic*: ascends E_{y ~ q} s(p, y) with q = F(p) held fixed (stop-gradient through F) -- it only
  tries to be calibrated to the world as it is; its rest points are exactly the fixed points with
  F'(p) < 1 (Partial Agency: it does not "see" its own influence);
- *full*: ascends G(p) = E_{y ~ F(p)} s(p, y), differentiating through F: dG/dp = d_p E_q s(p,.)|_{q=F(p)}
  + F'(p) (s(p, 1) - s(p, 0)).  The second term is the incentive to move the world.

Scores: log s(p, y) = log p_y and quadratic (Brier) s(p, y) = 2 p_y - |p|^2, both strictly proper.
Because the first term of dG/dp vanishes exactly at p = F(p), the score-maximising report is a fixed
point only where F'(p) (s(p,1) - s(p,0)) = 0 (Oesterheld, Treutlein, Cooper, Hudson 2023,
"Incentivizing honest performative predictions with proper scoring rules").

Binary outcomes: :class:`LogisticResponse` (or any vectorised callable), :func:`fixed_points` (all
roots of F(p) - p by sign changes on a fine grid + brentq, tangencies by local minima of |F - p|),
:func:`run_predictor`, :func:`basins`, :func:`optimal_report`, :func:`incentive_analysis`.
Discrete outcomes (K >= 2): :class:`SoftmaxResponse`, :func:`fixed_points_simplex`,
:func:`run_predictor_simplex`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import optimize
from scipy.special import expit, logit, softmax

ScoringRule = Literal["log", "quadratic"]
RULES: tuple[str, ...] = ("log", "quadratic")
_CLIP = 1e-12


def _rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    return rule


def entropy_bits(q: np.ndarray) -> np.ndarray:
    """Binary entropy H(q) in bits, elementwise."""
    q = np.clip(np.asarray(q, dtype=float), _CLIP, 1 - _CLIP)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


def entropy_bits_simplex(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits over the last axis."""
    p = np.clip(np.asarray(p, dtype=float), _CLIP, 1.0)
    return -(p * np.log2(p)).sum(axis=-1)


# ----------------------------------------------------------------------------------------------
# binary scores
# ----------------------------------------------------------------------------------------------
def expected_score(p, q, rule: ScoringRule):
    """E_{y ~ Bernoulli(q)} s(p, y): log -> q log p + (1-q) log(1-p); quadratic -> 4pq - 2p^2 - 2q + 1."""
    p = np.clip(np.asarray(p, dtype=float), _CLIP, 1 - _CLIP)
    if _rule(rule) == "log":
        return q * np.log(p) + (1 - q) * np.log1p(-p)
    return 4 * p * q - 2 * p**2 - 2 * q + 1


def score_gap(p, rule: ScoringRule):
    """s(p, 1) - s(p, 0): logit(p) for log, 4p - 2 for quadratic."""
    p = np.clip(np.asarray(p, dtype=float), _CLIP, 1 - _CLIP)
    return logit(p) if _rule(rule) == "log" else 4 * p - 2


def score_slope(p, q, rule: ScoringRule):
    """d/dp E_q s(p, .) with q fixed: (q - p) / (p (1 - p)) for log, 4 (q - p) for quadratic. Zero iff p = q."""
    p = np.clip(np.asarray(p, dtype=float), _CLIP, 1 - _CLIP)
    return (q - p) / (p * (1 - p)) if _rule(rule) == "log" else 4 * (q - p)


# ----------------------------------------------------------------------------------------------
# binary worlds
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogisticResponse:
    """F(p) = sigmoid(bias + slope (p - 1/2)).  slope = 0: the forecast does not move the world.

    slope > 4 with small |bias| gives three fixed points (two self-fulfilling extremes and a repelling
    middle), the bank-run / self-fulfilling-prophecy shape; slope < 0 is a self-defeating forecast.
    """

    bias: float = 0.0
    slope: float = 8.0

    def __call__(self, p):
        return expit(self.bias + self.slope * (np.asarray(p, dtype=float) - 0.5))

    def derivative(self, p):
        f = self(p)
        return self.slope * f * (1 - f)


def _derivative(F: Callable, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    if hasattr(F, "derivative"):
        return F.derivative(p)
    lo, hi = np.clip(p - h, 0, 1), np.clip(p + h, 0, 1)
    return (F(hi) - F(lo)) / (hi - lo)


@dataclass(frozen=True)
class FixedPoint:
    """p = F(p) and its stability.

    ``stable`` / ``kind`` without a learner: F'(p) < 1, i.e. attracting for the myopic learner *with a small
    enough step* (the continuous-time limit); ``stable_iteration``: attracting for the undamped map
    p <- F(p) (|F'(p)| < 1).  The discrete learner's own verdict depends on its step: ``max_stable_lr[rule]``
    is the largest step for which the myopic learner is attracted (0 if F' >= 1), and with
    ``fixed_points(F, rule=..., lr=...)`` the fields describe that learner: ``multiplier`` is the derivative
    of its logit update at p (1 + lr w (F' - 1), w = p(1-p) for the log score, 4 p^2 (1-p)^2 for the
    quadratic), ``stable`` = |multiplier| < 1, ``kind`` "attracting", "repelling" (multiplier > 1) or
    "overshooting" (multiplier < -1: the learner jumps across p and typically ends on a 2-cycle)."""

    p: float
    slope: float
    stable: bool
    stable_iteration: bool
    kind: str
    entropy_bits: float
    multiplier: float = float("nan")
    max_stable_lr: dict = field(default_factory=dict)


def step_weight(p, rule: ScoringRule):
    """w(p) in the myopic learner's linearisation du' = (1 + lr w (F' - 1)) du at a fixed point:
    p(1-p) for the log score, 4 p^2 (1-p)^2 for the quadratic score (logit-space ascent)."""
    p = np.asarray(p, dtype=float)
    return p * (1 - p) if _rule(rule) == "log" else 4 * (p * (1 - p)) ** 2


def learner_multiplier(fprime, p, rule: ScoringRule, lr: float):
    """Derivative of the myopic learner's logit update u -> u + lr p(1-p) d/dp E_{F(p)} s(p, .) at a fixed point."""
    return 1 + lr * step_weight(p, rule) * (np.asarray(fprime, dtype=float) - 1)


def _max_stable_lr(fprime: float, p: float, rule: str) -> float:
    w = float(step_weight(p, rule))
    return 0.0 if fprime >= 1 or w <= 0 else 2 / (w * (1 - fprime))


def _classify(r: float, fprime: float, rule: str | None, lr: float | None) -> FixedPoint:
    steps = {ru: _max_stable_lr(fprime, r, ru) for ru in RULES}
    stable_it = abs(fprime) < 1 - 1e-9
    if rule is None:
        kind = "attracting" if fprime < 1 - 1e-9 else ("repelling" if fprime > 1 + 1e-9 else "tangent")
        return FixedPoint(r, fprime, fprime < 1 - 1e-9, stable_it, kind, float(entropy_bits(r)), max_stable_lr=steps)
    m = float(learner_multiplier(fprime, r, rule, lr))
    kind = "attracting" if abs(m) < 1 - 1e-12 else ("overshooting" if m < -1 else "repelling")
    return FixedPoint(r, fprime, abs(m) < 1 - 1e-12, stable_it, kind, float(entropy_bits(r)), m, steps)


def fixed_points(
    F: Callable, grid: int = 4001, tol: float = 1e-10, rule: ScoringRule | None = None, lr: float | None = None
) -> list[FixedPoint]:
    """All fixed points of a continuous F: [0,1] -> [0,1] (at least one exists: F(0) >= 0, F(1) <= 1).

    Sign changes of g(p) = F(p) - p on a ``grid``-point grid are refined with brentq (xtol 1e-14);
    grid points where g == 0 are kept; tangencies (g touches 0 without crossing) are found as local
    minima of |g| refined with a bounded scalar minimiser and kept when |g| < tol.  With ``rule`` and
    ``lr`` the stability fields describe the myopic learner with that score and step (see :class:`FixedPoint`).
    """
    if grid < 11:
        raise ValueError(f"grid must be >= 11 points; got {grid}")
    if (rule is None) != (lr is None):
        raise ValueError("give both rule and lr (the learner whose stability is wanted), or neither")
    if rule is not None:
        _rule(rule)
        if not lr > 0:
            raise ValueError(f"lr must be > 0; got {lr}")
    xs = np.linspace(0.0, 1.0, grid)
    g = F(xs) - xs
    if not np.all(np.isfinite(g)):
        raise ValueError("F returned non-finite values on [0, 1]")
    if np.any(F(xs) < -1e-12) or np.any(F(xs) > 1 + 1e-12):
        raise ValueError("F must map [0, 1] into [0, 1] (it is a probability)")
    roots = list(xs[g == 0])
    for i in np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]:
        roots.append(optimize.brentq(lambda t: float(F(np.array([t]))[0] - t), xs[i], xs[i + 1], xtol=1e-14))
    a = np.abs(g)
    for i in np.nonzero((a[1:-1] < a[:-2]) & (a[1:-1] <= a[2:]) & (g[1:-1] != 0))[0] + 1:
        if np.sign(g[i - 1]) != np.sign(g[i + 1]):
            continue  # a crossing, already bracketed
        res = optimize.minimize_scalar(
            lambda t: abs(float(F(np.array([t]))[0] - t)),
            bounds=(xs[i - 1], xs[i + 1]),
            method="bounded",
            options={"xatol": 1e-13},
        )
        if res.fun < tol:
            roots.append(float(res.x))
    roots = np.unique(np.round(np.sort(roots), 12))
    return [_classify(float(r), float(_derivative(F, np.array([r]))[0]), rule, lr) for r in roots]


Mode = Literal["myopic", "full"]


def predictor_gradient(F: Callable, p: np.ndarray, rule: ScoringRule, mode: Mode, influence: float = 1.0) -> np.ndarray:
    """dG/dp for the full learner; the stop-gradient version (q = F(p) treated as a constant) for myopic.

    ``influence`` scales the full learner's through-F term F'(p)(s(p,1) - s(p,0)): 1 is the true gradient,
    0 turns the full learner into the myopic one, -1 is a deliberately broken learner that pushes the world
    the wrong way (a counterfactual for the claims)."""
    q = F(p)
    g = score_slope(p, q, rule)
    if mode == "full":
        g = g + influence * _derivative(F, p) * score_gap(p, rule)
    elif mode != "myopic":
        raise ValueError(f"mode must be 'myopic' or 'full'; got {mode!r}")
    return g


@dataclass(frozen=True)
class PredictorRun:
    starts: np.ndarray
    trajectory: np.ndarray  # (M, steps + 1) forecasts
    final: np.ndarray
    outcome_prob: np.ndarray  # F(final)
    converged: np.ndarray  # bool per start
    #: per start: "fixed_point" (last step < 1e-9), "2-cycle" (p_T = p_{T-2} != p_{T-1}) or "not_converged"
    status: np.ndarray | None = None
    #: the other point of a 2-cycle (p_{T-1}); NaN elsewhere
    cycle_partner: np.ndarray | None = None


def run_predictor(
    F: Callable,
    starts,
    rule: ScoringRule,
    mode: Mode,
    lr: float = 1.0,
    steps: int = 3000,
    record_every: int = 1,
    influence: float = 1.0,
) -> PredictorRun:
    """Gradient ascent in logit space u (p = sigmoid(u)), vectorised over starts.

    du = p (1 - p) dG/dp; for the log score and the myopic learner this is du = F(p) - p.
    |u| is clipped at 20 (p in [2e-9, 1 - 2e-9]).  ``converged``: the last step moved p by < 1e-9;
    ``status`` also detects 2-cycles (a step too large for a fixed point with F' far below 1 makes the
    myopic learner jump across it: see :func:`learner_multiplier`).
    """
    if lr <= 0 or steps < 1:
        raise ValueError("lr must be > 0 and steps >= 1")
    p0 = np.asarray(starts, dtype=float)
    if np.any((p0 <= 0) | (p0 >= 1)):
        raise ValueError("starts must lie strictly inside (0, 1)")
    u = logit(p0)
    traj = [p0]
    p_prev = p_prev2 = p0
    for t in range(steps):
        p_prev2, p_prev = p_prev, expit(u)
        du = p_prev * (1 - p_prev) * predictor_gradient(F, p_prev, rule, mode, influence)
        u = np.clip(u + lr * du, -20, 20)
        if (t + 1) % record_every == 0:
            traj.append(expit(u))
    final = expit(u)
    fixed = np.abs(final - p_prev) < 1e-9
    cycle = ~fixed & (np.abs(final - p_prev2) < 1e-9) & (steps >= 2)
    status = np.where(fixed, "fixed_point", np.where(cycle, "2-cycle", "not_converged"))
    partner = np.where(cycle, p_prev, np.nan)
    return PredictorRun(p0, np.stack(traj, axis=1), final, F(final), fixed, status, partner)


def nearest_index(values: np.ndarray, targets: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Index of the nearest target within tol, else -1."""
    if len(targets) == 0:
        return np.full(len(values), -1)
    d = np.abs(values[:, None] - np.asarray(targets)[None, :])
    idx = d.argmin(axis=1)
    return np.where(d.min(axis=1) < tol, idx, -1)


def basins(F: Callable, rule: ScoringRule, mode: Mode, starts=None, **kw) -> dict:
    """Where each start ends: final forecast, F(final), the index of the fixed point reached (-1: none),
    the run's status per start ("fixed_point", "2-cycle", "not_converged") and a 2-cycle's other point.
    For the myopic learner the fixed points' stability is reported for this learner's step (``lr``)."""
    starts = np.linspace(0.005, 0.995, 199) if starts is None else np.asarray(starts, dtype=float)
    run = run_predictor(F, starts, rule, mode, **kw)
    fps = fixed_points(F, rule=rule, lr=kw.get("lr", 1.0)) if mode == "myopic" else fixed_points(F)
    idx = nearest_index(run.final, np.array([f.p for f in fps]))
    return {
        "starts": starts,
        "final": run.final,
        "outcome_prob": run.outcome_prob,
        "fixed_point_index": np.where(run.status == "2-cycle", -1, idx),
        "fixed_points": fps,
        "converged": run.converged,
        "status": run.status,
        "cycle_partner": run.cycle_partner,
    }


def optimal_report(F: Callable, rule: ScoringRule, grid: int = 4001) -> tuple[float, float]:
    """Global argmax of G(p) = E_{y ~ F(p)} s(p, y) over [0, 1]: grid search + bounded refinement."""
    xs = np.linspace(1e-6, 1 - 1e-6, grid)
    G = expected_score(xs, F(xs), rule)
    i = int(np.argmax(G))
    lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, grid - 1)]
    res = optimize.minimize_scalar(
        lambda t: -float(expected_score(t, F(np.array([t]))[0], rule)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12},
    )
    p = float(res.x) if -res.fun >= G[i] else float(xs[i])
    return p, float(expected_score(p, F(np.array([p]))[0], rule))


@dataclass(frozen=True)
class IncentiveAnalysis:
    """Which report is optimal under a proper score when the report moves the outcome."""

    rule: str
    optimal_report: float
    outcome_prob_at_optimum: float
    misreport: float  # p* - F(p*): 0 iff the optimal report is honest (a fixed point)
    score_at_optimum: float
    fixed_points: tuple[FixedPoint, ...]
    honest_scores: tuple[float, ...]  # G at each fixed point (log: -H(p) in nats)
    best_honest_score: float
    incentive_to_misreport: float  # G(p*) - max over fixed points G(fp) >= 0
    influence_term: float  # F'(p*) (s(p*,1) - s(p*,0)): nonzero => p* not a fixed point
    optimum_is_fixed_point: bool


def incentive_analysis(F: Callable, rule: ScoringRule, grid: int = 4001, tol: float = 1e-6) -> IncentiveAnalysis:
    """Optimal report, its distance from honesty, and the score lost by reporting honestly (best fixed point)."""
    p_star, g_star = optimal_report(F, rule, grid)
    q_star = float(F(np.array([p_star]))[0])
    fps = tuple(fixed_points(F, grid))
    honest = tuple(float(expected_score(f.p, f.p, rule)) for f in fps)
    best = max(honest)
    infl = float(_derivative(F, np.array([p_star]))[0] * score_gap(p_star, rule))
    return IncentiveAnalysis(
        rule,
        p_star,
        q_star,
        p_star - q_star,
        g_star,
        fps,
        honest,
        best,
        max(g_star - best, 0.0),
        infl,
        abs(p_star - q_star) < tol,
    )


# ----------------------------------------------------------------------------------------------
# discrete outcomes (K >= 2)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoftmaxResponse:
    """F(p) = softmax(bias + coupling @ p) on the K-simplex; coupling = s I is self-reinforcing for s > 0.

    ``bias`` may also be (M, K): one world per row, applied row-wise to a batch p of shape (M, K)
    (the learners then run M independent worlds in one vectorised call).
    """

    bias: np.ndarray
    coupling: np.ndarray

    def __post_init__(self) -> None:
        b = np.asarray(self.bias, dtype=float)
        C = np.asarray(self.coupling, dtype=float)
        k = b.shape[-1] if b.ndim else 0
        if b.ndim not in (1, 2) or k < 2 or C.shape != (k, k):
            raise ValueError(f"bias must be (K,) or (M, K) with K >= 2 and coupling (K, K); got {b.shape}, {C.shape}")
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "coupling", C)

    @property
    def k(self) -> int:
        return self.bias.shape[-1]

    def __call__(self, p):
        return softmax(self.bias + np.asarray(p) @ self.coupling.T, axis=-1)

    def jacobian(self, p):
        """dF/dp = (diag(F) - F F^T) C, batched over leading axes."""
        f = self(p)
        J = np.einsum("...i,ij->...ij", f, np.eye(self.k)) - f[..., :, None] * f[..., None, :]
        return J @ self.coupling


def simplex_grid(k: int, resolution: int) -> np.ndarray:
    """All points of the K-simplex with coordinates in {0, 1/r, ..., 1}."""
    pts = list(itertools.combinations(range(resolution + k - 1), k - 1))
    arr = np.array(pts, dtype=int).reshape(len(pts), k - 1)
    bars = np.concatenate([-np.ones((len(pts), 1), int), arr, np.full((len(pts), 1), resolution + k - 1)], 1)
    return (np.diff(bars, axis=1) - 1) / resolution


@dataclass(frozen=True)
class SimplexFixedPoint:
    p: np.ndarray
    spectral_abscissa: float  # max Re eig of dF restricted to the simplex tangent space
    stable: bool  # < 1: attracting for the damped myopic learner
    entropy_bits: float


def _tangent_basis(k: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.eye(k)[:, :-1] - 1.0 / k)
    return q  # (k, k-1), orthonormal, orthogonal to 1


def fixed_points_simplex(
    F: SoftmaxResponse, resolution: int = 60, max_candidates: int = 200
) -> list[SimplexFixedPoint]:
    """Fixed points of F on the simplex: grid points with small residual |F(p) - p| are refined with a
    root finder on K-1 free coordinates, then de-duplicated (1e-7); stability from the tangent Jacobian."""
    if resolution < 4:
        raise ValueError("resolution must be >= 4")
    if F.bias.ndim != 1:
        raise ValueError("fixed_points_simplex needs a single world: bias of shape (K,)")
    k = F.k
    P = simplex_grid(k, resolution)
    res = np.linalg.norm(F(P) - P, axis=1)
    lip = 1 + np.abs(F.coupling).sum(axis=1).max()
    cand = P[np.argsort(res)[:max_candidates]]
    cand = cand[np.sort(res)[:max_candidates] <= 2 * lip / resolution]
    V = _tangent_basis(k)
    found: list[np.ndarray] = []
    for p0 in cand:
        sol = optimize.root(
            lambda x: (F(np.append(x, 1 - x.sum())) - np.append(x, 1 - x.sum()))[:-1],
            p0[:-1],
            method="hybr",
            options={"xtol": 1e-13},
        )
        p = np.append(sol.x, 1 - sol.x.sum())
        if not sol.success or np.any(p < -1e-9) or np.linalg.norm(F(p) - p) > 1e-9:
            continue
        if all(np.linalg.norm(p - f) > 1e-7 for f in found):
            found.append(p)
    out = []
    for p in sorted(found, key=lambda v: tuple(v)):
        M = V.T @ F.jacobian(p) @ V
        a = float(np.max(np.linalg.eigvals(M).real))
        out.append(SimplexFixedPoint(p, a, a < 1, float(entropy_bits_simplex(p))))
    return out


def simplex_scores(p: np.ndarray, rule: ScoringRule) -> np.ndarray:
    """s(p, y) for every outcome y: log p_y, or 2 p_y - |p|^2.  Shape like p."""
    if _rule(rule) == "log":
        return np.log(np.clip(p, _CLIP, 1))
    return 2 * p - (p**2).sum(-1, keepdims=True)


def run_predictor_simplex(
    F: SoftmaxResponse,
    starts: np.ndarray,
    rule: ScoringRule,
    mode: Mode,
    lr: float = 1.0,
    steps: int = 3000,
    influence: float = 1.0,
) -> PredictorRun:
    """Ascent in softmax logits u (p = softmax(u)) on E_{y~q} s(p, y); full mode differentiates q = F(p).

    Myopic: d/dp E_q s = q/p (log) or 2(q - p) (quadratic) with q fixed; full adds dF^T s(p, .).
    Chain rule through p = softmax(u): du = (diag(p) - p p^T) d/dp.
    """
    if mode not in ("myopic", "full"):
        raise ValueError(f"mode must be 'myopic' or 'full'; got {mode!r}")
    P0 = np.asarray(starts, dtype=float)
    if P0.ndim != 2 or P0.shape[1] != F.k or np.any(P0 <= 0):
        raise ValueError(f"starts must be (M, {F.k}) with positive entries")
    u = np.log(P0 / P0.sum(1, keepdims=True))
    traj = [softmax(u, axis=1)]
    p = softmax(u, axis=1)
    for _ in range(steps):
        p = softmax(u, axis=1)
        q = F(p)
        dp = q / np.clip(p, _CLIP, 1) if _rule(rule) == "log" else 2 * (q - p)
        if mode == "full":
            dp = dp + influence * np.einsum("myk,my->mk", F.jacobian(p), simplex_scores(p, rule))
        du = p * dp - p * (p * dp).sum(1, keepdims=True)
        u = np.clip(u + lr * du, -20, 20)
        traj.append(softmax(u, axis=1))
    final = softmax(u, axis=1)
    return PredictorRun(P0, np.stack(traj, axis=1), final, F(final), np.abs(final - p).max(axis=1) < 1e-9)
