"""Learners for performative prediction, vectorised over seeds (theta has shape (S, d)).

Myopic (stop-gradient: they treat the data they see as fixed, "partial agency"):

- :func:`rrm`             repeated risk minimisation, exact inner minimisation (Perdomo et al. 2020 sec. 3);
- :func:`rgd`             repeated gradient descent (Perdomo et al. 2020 sec. 4);
- :func:`stochastic_gd`   greedy (deploy every step) and lazy (deploy every k steps) SGD
                           (Mendler-Duenner, Perdomo, Zrnic, Hardt 2020).

Full (they differentiate through the distribution map):

- :func:`perfgd`          performative gradient descent with a known or an estimated map
                           (Izzo, Ying, Zou 2021): g = E[grad_theta l] + J^T E[grad_z l];
- :func:`two_point_dfo`   derivative-free two-point estimates of grad PR (Flaxman et al. 2005,
                           used for performative optima by Miller, Perdomo, Zrnic 2021 sec. 5).

:func:`repeated_gradient` is the one switch: ``mode="stop"`` is RGD, ``mode="full"`` is PerfGD.
Every learner returns a :class:`LearnerRun` whose per-seed ``status`` is ``"converged"`` (certified by a
reference point or a contraction bound the caller passes: ``reference=``, ``atol=``, ``contraction=``),
``"settled"`` (stopped drifting, uncertified), ``"diverged"`` or ``"not_converged"``; diverged seeds are
frozen at NaN, so a caller never reads a number from a run that blew up without being told
(:meth:`LearnerRun.require_converged`, which accepts only certified convergence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

GradientMode = Literal["stop", "full"]
STATUSES = ("converged", "settled", "diverged", "not_converged")


class DivergenceError(RuntimeError):
    """Raised when a caller asks for the limit of a run that diverged or did not converge."""


@dataclass(frozen=True)
class LearnerRun:
    """A learner's trajectory over deployments for S seeds: ``trajectory`` (S, rounds + 1, d)."""

    learner: str
    trajectory: np.ndarray
    status: np.ndarray
    diverged_at: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """Last iterate (S, d); NaN rows for diverged seeds."""
        return self.trajectory[:, -1, :]

    @property
    def limit(self) -> np.ndarray:
        """Average of the last quarter of the trajectory (S, d): the limit estimate for noisy learners."""
        w = max(1, self.trajectory.shape[1] // 4)
        return self.trajectory[:, -w:, :].mean(axis=1)

    @property
    def n_diverged(self) -> int:
        return int(np.sum(self.status == "diverged"))

    def require_converged(self) -> np.ndarray:
        """The limits (S, d), or a :class:`DivergenceError` saying which seeds failed and how.

        Only a certified convergence counts (a reference point or a contraction bound, see
        :func:`classify_trajectory`); a run that merely stopped drifting ("settled") raises too."""
        bad = np.nonzero(self.status != "converged")[0]
        if bad.size:
            kinds = {s: int(np.sum(self.status == s)) for s in ("settled", "diverged", "not_converged")}
            hint = (
                " 'settled' means the iterates stopped drifting but nothing certified a limit: pass "
                "reference= (the computed fixed point) or contraction= (a proven rate) to the learner."
                if kinds["settled"]
                else ""
            )
            raise DivergenceError(
                f"{self.learner}: {bad.size}/{self.status.size} seeds did not converge "
                f"({kinds}); first at seed index {bad[0]}, diverged at round "
                f"{self.diverged_at[bad[0]]}. Lower the step size or eps, or run more rounds.{hint}"
            )
        return self.limit


def classify_trajectory(
    traj: np.ndarray,
    tol: float = 0.02,
    blowup: float = 1e6,
    window: int | None = None,
    reference: np.ndarray | None = None,
    atol: float | None = None,
    contraction: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed status and divergence round from a trajectory (S, T+1, d).

    - ``diverged``: a non-finite value or |theta| > blowup, *or* geometric growth: over the last half
      the log step sizes rise along a line (slope > 0.01 per round, R^2 > 0.8), the last step is the
      largest of the run and > 2x the step at the start of that half (a contraction factor > 1 shows
      up before overflow does; steps jittering at a noise floor do not pass all four tests);
    - ``converged`` needs a certificate, one of:
      * ``reference`` (the computed fixed point the learner should reach, (d,) or (S, d)): the limit (mean of
        the last quarter) lies within ``atol`` of it (default tol * (1 + |reference|));
      * ``contraction`` rho < 1 (a proven bound on the learner's map, e.g. eps*beta/gamma for population RRM):
        the Banach a-posteriori bound rho / (1 - rho) |theta_T - theta_{T-1}| on the distance to the limit is
        within ``atol`` (default tol * (1 + |theta_T|)); meant for noise-free runs;
    - ``settled``: no certificate was given, and over the final ``window`` rounds (default: the last quarter)
      the means of the window's two halves differ by at most tol * (1 + |mean|) -- the iterates stopped
      drifting, which a slow geometric approach also does (population RRM at eps = 0.9 "settles" at 9.75
      against theta_PS = 10): it is not reported as convergence;
    - ``not_converged`` otherwise (including a certificate that fails).
    """
    S, T1, _ = traj.shape
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.linalg.norm(traj, axis=-1)
        bad = ~np.isfinite(norms) | (norms > blowup)
    diverged_at = np.where(bad.any(axis=1), np.argmax(bad, axis=1), -1)
    status = np.full(S, "not_converged", dtype=object)
    ok = diverged_at < 0
    if T1 >= 6:
        growing = ok & _geometric_growth(traj)
        diverged_at = np.where(growing, T1 - 1, diverged_at)
        ok &= ~growing
    w = window or max(4, T1 // 4)
    tail = traj[:, -w:, :]
    centre = tail.mean(axis=1)
    if reference is not None:
        ref = np.broadcast_to(np.asarray(reference, dtype=float), centre.shape)
        limit_tol = atol if atol is not None else tol * (1 + np.linalg.norm(ref, axis=-1))
        conv = ok & (np.linalg.norm(centre - ref, axis=-1) <= limit_tol)
        status[conv] = "converged"
    elif contraction is not None:
        if not 0 <= contraction < 1:
            raise ValueError(f"contraction must lie in [0, 1) to certify convergence; got {contraction}")
        last = traj[:, -1, :]
        remaining = contraction / (1 - contraction) * np.linalg.norm(last - traj[:, -2, :], axis=-1)
        limit_tol = atol if atol is not None else tol * (1 + np.linalg.norm(last, axis=-1))
        status[ok & (remaining <= limit_tol)] = "converged"
    else:
        drift = np.linalg.norm(tail[:, : w // 2].mean(axis=1) - tail[:, w // 2 :].mean(axis=1), axis=-1)
        status[ok & (drift <= tol * (1 + np.linalg.norm(centre, axis=-1)))] = "settled"
    status[diverged_at >= 0] = "diverged"
    return status.astype(str), diverged_at


def _geometric_growth(traj: np.ndarray) -> np.ndarray:
    """Per seed: do the step sizes over the last half grow geometrically (see :func:`classify_trajectory`)?"""
    steps = np.linalg.norm(np.diff(traj, axis=1), axis=-1)  # (S, T)
    half = steps[:, steps.shape[1] // 2 :]
    t = np.arange(half.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.maximum(half, 1e-300))
        lc, tc = logs - logs.mean(1, keepdims=True), t - t.mean()
        slope = (lc * tc).sum(1) / (tc**2).sum()
        r2 = slope**2 * (tc**2).sum() / np.maximum((lc**2).sum(1), 1e-300)
        largest = half[:, -1] >= 0.999 * np.nanmax(steps, axis=1)
    return (
        (slope > 0.01)
        & (r2 > 0.8)
        & largest
        & (half[:, -1] > 2 * np.maximum(half[:, 0], 1e-300))
        & (half[:, -1] > 1e-9)
    )


def _finish(name: str, traj: np.ndarray, tol: float, blowup: float, **certificate) -> LearnerRun:
    """Classify, freeze diverged seeds at NaN; ``certificate``: reference/atol/contraction (see classify)."""
    status, at = classify_trajectory(traj, tol=tol, blowup=blowup, **certificate)
    traj = traj.copy()
    for s in np.nonzero(status == "diverged")[0]:
        traj[s, max(at[s], 0) :] = np.nan
    return LearnerRun(name, traj, status, at)


def _start(theta0: np.ndarray, dim: int) -> np.ndarray:
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.ndim == 1:
        theta0 = theta0[None, :]
    if theta0.ndim != 2 or theta0.shape[1] != dim:
        raise ValueError(f"theta0 must have shape (seeds, {dim}); got {theta0.shape}")
    return theta0


def _check_positive(**kw) -> None:
    for k, v in kw.items():
        if v is not None and not v > 0:
            raise ValueError(f"{k} must be > 0; got {v}")


def _guard(theta: np.ndarray, blowup: float) -> np.ndarray:
    """Freeze seeds that overflowed at NaN so they cannot poison later arithmetic with inf*0."""
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~np.isfinite(theta).all(axis=1) | (np.abs(theta).max(axis=1) > blowup)
    theta = theta.copy()
    theta[bad] = np.nan
    return theta


def rrm(
    dmap,
    theta0: np.ndarray,
    rounds: int,
    rng: np.random.Generator | None = None,
    n_samples: int | None = None,
    tol: float = 0.02,
    blowup: float = 1e6,
    deploy_lag: int = 0,
    **certificate,
) -> LearnerRun:
    """Repeated risk minimisation: theta_{t+1} = argmin_theta E_{z ~ D(theta_t)} l(z; theta).

    ``n_samples=None`` minimises the population risk exactly; otherwise the empirical risk of
    ``n_samples`` fresh draws per round (still an exact inner minimisation).
    Converges linearly at rate eps*beta/gamma when eps < gamma/beta (Perdomo et al. 2020 Thm 3.5).
    ``deploy_lag=k`` is a deliberately broken RRM whose data come from the model of k rounds earlier
    (theta_{t+1} = argmin E_{D(theta_{t-k})} l): the theorem's rate no longer applies (a mutation for tests).
    """
    _check_positive(rounds=rounds, n_samples=n_samples)
    if deploy_lag < 0:
        raise ValueError(f"deploy_lag must be >= 0; got {deploy_lag}")
    theta = _start(theta0, dmap.dim)
    traj = [theta]
    with np.errstate(all="ignore"):
        for _ in range(rounds):
            deployed = traj[max(len(traj) - 1 - deploy_lag, 0)]
            if n_samples is None:
                theta = dmap.rrm_population(deployed)
            else:
                theta = dmap.rrm_argmin(dmap.sample(deployed, n_samples, rng), theta)
            theta = _guard(theta, blowup)
            traj.append(theta)
    return _finish("RRM", np.stack(traj, axis=1), tol, blowup, **certificate)


def _estimate_jacobian(thetas: np.ndarray, stats: np.ndarray, ridge: float = 1e-8) -> np.ndarray:
    """Least-squares J with stats ~ a + J theta from a history: thetas (S, H, d), stats (S, H, k) -> (S, k, d)."""
    dT = thetas - thetas.mean(axis=1, keepdims=True)
    dS = stats - stats.mean(axis=1, keepdims=True)
    gram = np.einsum("shi,shj->sij", dT, dT) + ridge * np.eye(thetas.shape[-1])
    cross = np.einsum("shk,shj->skj", dS, dT)
    return np.linalg.solve(gram, cross.transpose(0, 2, 1)).transpose(0, 2, 1)


def _known_jacobian(dmap, theta: np.ndarray) -> np.ndarray:
    """The exact Jacobian for the full learner: class-conditional where the map has one, else the mean's."""
    return dmap.class_jacobian(theta) if hasattr(dmap, "class_jacobian") else dmap.mean_jacobian(theta)


def repeated_gradient(
    dmap,
    theta0: np.ndarray,
    rounds: int,
    rng: np.random.Generator | None = None,
    lr: float = 0.1,
    n_samples: int | None = None,
    mode: GradientMode = "stop",
    jacobian: Literal["known", "estimated"] = "known",
    explore: float = 0.05,
    history: int | None = None,
    statistic: Literal["pooled", "class"] = "pooled",
    tol: float = 0.02,
    blowup: float = 1e6,
    name: str | None = None,
    **certificate,
) -> LearnerRun:
    """Gradient descent on the deployed data, with the stop-gradient / full-gradient switch.

    mode="stop" (RGD):  theta <- theta - lr E_{D(theta)} grad_theta l(z; theta)
    mode="full" (PerfGD): adds the through-the-map term J(theta)^T E[grad_z l] for location maps
    (score-function term for the mixture map), J = d E[stat] / d theta, either the true Jacobian
    (``jacobian="known"``) or a least-squares fit on the last ``history`` deployments (all if None), which are
    perturbed by N(0, explore^2) so the fit is identified (``"estimated"``, Izzo et al. 2021 sec. 4).
    ``n_samples=None`` uses population gradients.

    ``statistic`` (estimated map only) picks the sufficient statistics whose Jacobian is estimated:
    ``"pooled"`` -- the feature mean (the map is modelled as a mean shift); ``"class"`` -- the
    class-weighted feature means ``dmap.class_statistic`` (strategic classification), which model a
    class-dependent response, D(theta) = mixture over labels of per-class shifts.  The known-map path
    always uses the exact Jacobian (``class_jacobian`` where the map has one).
    """
    _check_positive(rounds=rounds, lr=lr, n_samples=n_samples, history=history)
    history = history or rounds
    if mode not in ("stop", "full"):
        raise ValueError(f"mode must be 'stop' or 'full'; got {mode!r}")
    if jacobian not in ("known", "estimated"):
        raise ValueError(f"jacobian must be 'known' or 'estimated'; got {jacobian!r}")
    estimated = mode == "full" and jacobian == "estimated"
    if statistic not in ("pooled", "class"):
        raise ValueError(f"statistic must be 'pooled' or 'class'; got {statistic!r}")
    if estimated and statistic == "class" and not hasattr(dmap, "class_statistic"):
        raise ValueError(f"statistic='class' needs a map with class_statistic (strategic); {dmap.name} has none")
    stat_fn = dmap.class_statistic if statistic == "class" and estimated else getattr(dmap, "location_statistic", None)
    if estimated and not getattr(dmap, "location_type", False):
        raise ValueError(f"jacobian='estimated' needs a location-type map; {dmap.name} is not one (use 'known')")
    if estimated and n_samples is None:
        raise ValueError("jacobian='estimated' learns the map from samples: set n_samples")
    theta = _start(theta0, dmap.dim)
    traj, hist_t, hist_s = [theta], [], []
    with np.errstate(all="ignore"):
        for _ in range(rounds):
            if n_samples is None:
                g = dmap.population_grad_theta(theta) if mode == "stop" else dmap.performative_gradient(theta)
            else:
                deployed = theta + (explore * rng.standard_normal(theta.shape) if estimated else 0.0)
                z = dmap.sample(deployed, n_samples, rng)
                g = dmap.grad_theta(z, deployed)
                if mode == "full":
                    if estimated:
                        hist_t.append(deployed)
                        hist_s.append(stat_fn(z))
                        hist_t, hist_s = hist_t[-history:], hist_s[-history:]
                        if len(hist_t) <= dmap.dim + 1:
                            jac = np.zeros(theta.shape[:1] + hist_s[-1].shape[1:] + theta.shape[1:])
                        else:
                            jac = _estimate_jacobian(np.stack(hist_t, 1), np.stack(hist_s, 1))
                    else:
                        jac = _known_jacobian(dmap, deployed)
                    g = g + dmap.through_map_gradient(z, deployed, jac)
            theta = _guard(theta - lr * g, blowup)
            traj.append(theta)
    default = (
        "RGD"
        if mode == "stop"
        else (("PerfGD-class" if statistic == "class" else "PerfGD-est") if estimated else "PerfGD")
    )
    return _finish(name or default, np.stack(traj, axis=1), tol, blowup, **certificate)


def rgd(dmap, theta0, rounds, rng=None, lr=0.1, n_samples=None, **kw) -> LearnerRun:
    """Repeated gradient descent (myopic): :func:`repeated_gradient` with mode='stop'."""
    return repeated_gradient(dmap, theta0, rounds, rng, lr, n_samples, mode="stop", **kw)


def perfgd(dmap, theta0, rounds, rng=None, lr=0.1, n_samples=None, jacobian="known", **kw) -> LearnerRun:
    """Performative gradient descent (full agent): :func:`repeated_gradient` with mode='full'."""
    return repeated_gradient(dmap, theta0, rounds, rng, lr, n_samples, mode="full", jacobian=jacobian, **kw)


def stochastic_gd(
    dmap,
    theta0: np.ndarray,
    rounds: int,
    rng: np.random.Generator,
    lr0: float = 0.5,
    batch: int = 8,
    deploy_every: int = 1,
    decay: float = 10.0,
    mode: GradientMode = "stop",
    tol: float = 0.05,
    blowup: float = 1e6,
    **certificate,
) -> LearnerRun:
    """Stochastic gradient with greedy (``deploy_every=1``) or lazy (``deploy_every=k``) deployment.

    Between deployments the learner takes k SGD steps, each on a fresh batch from the *last deployed*
    model's distribution; step size lr_t = lr0 / (1 + t / decay) (Mendler-Duenner et al. 2020 sec. 3-4).
    The trajectory records the deployed models (one row per deployment).
    """
    _check_positive(rounds=rounds, lr0=lr0, batch=batch, deploy_every=deploy_every, decay=decay)
    if mode not in ("stop", "full"):
        raise ValueError(f"mode must be 'stop' or 'full'; got {mode!r}")
    theta = _start(theta0, dmap.dim)
    deployed = theta
    traj, step = [theta], 0
    with np.errstate(all="ignore"):
        for _ in range(rounds):
            for _ in range(deploy_every):
                z = dmap.sample(deployed, batch, rng)
                g = dmap.grad_theta(z, theta)
                if mode == "full":
                    g = g + dmap.through_map_gradient(z, theta, _known_jacobian(dmap, theta))
                theta = _guard(theta - lr0 / (1 + step / decay) * g, blowup)
                step += 1
            deployed = theta
            traj.append(theta)
    kind = "greedy" if deploy_every == 1 else f"lazy{deploy_every}"
    name = f"SGD-{kind}" + ("-full" if mode == "full" else "")
    return _finish(name, np.stack(traj, axis=1), tol, blowup, **certificate)


def two_point_dfo(
    dmap,
    theta0: np.ndarray,
    rounds: int,
    rng: np.random.Generator,
    lr0: float = 0.2,
    delta: float = 0.2,
    n_samples: int = 2000,
    decay: float = 50.0,
    tol: float = 0.05,
    blowup: float = 1e6,
    **certificate,
) -> LearnerRun:
    """Derivative-free descent on PR with two-point estimates (Flaxman et al. 2005; Miller et al. 2021 sec. 5).

    Each round: u ~ Unif(sphere), deploy theta +/- delta u, estimate PR at both from n fresh samples,
    g = d (PR+ - PR-) / (2 delta) u, theta <- theta - lr_t g with lr_t = lr0 / (1 + t / decay).
    It never sees a gradient, so it optimises PR itself: a full agent without a model of the map.
    """
    _check_positive(rounds=rounds, lr0=lr0, delta=delta, n_samples=n_samples, decay=decay)
    if not hasattr(dmap, "loss"):
        raise ValueError(f"two_point_dfo needs a single scalar loss; map {dmap.name!r} has per-learner losses")
    theta = _start(theta0, dmap.dim)
    S, d = theta.shape
    traj = [theta]
    with np.errstate(all="ignore"):
        for t in range(rounds):
            u = rng.standard_normal((S, d))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            plus, minus = theta + delta * u, theta - delta * u
            f_plus = dmap.loss(dmap.sample(plus, n_samples, rng), plus).mean(axis=1)
            f_minus = dmap.loss(dmap.sample(minus, n_samples, rng), minus).mean(axis=1)
            g = d * (f_plus - f_minus)[:, None] / (2 * delta) * u
            theta = _guard(theta - lr0 / (1 + t / decay) * g, blowup)
            traj.append(theta)
    return _finish("DFO-2pt", np.stack(traj, axis=1), tol, blowup, **certificate)
