"""performativeGYM-style coverage: a nonlinear map, learners with Adam and projection, REINFORCE-PerfGD with an
estimated mixture map, decoupled PerfGD, and a synthetic stand-in for Perdomo et al.'s credit data.

- :class:`NonlinearLocationMap` -- D(theta) = N(mu + eps tanh(theta), sigma^2 I), loss gamma/2 |theta|^2 -
  theta.z: the mean moves nonlinearly (Jacobian eps diag(sech^2 theta)); theta_PS solves gamma theta = mu +
  eps tanh(theta), theta_PO the first-order condition of PR(theta) = gamma/2|theta|^2 - theta.(mu + eps
  tanh theta), both coordinate-wise by bracketing + brentq (references independent of the learners).
- :func:`gym_descent` -- one loop for every gradient estimator, with plain SGD or Adam (Kingma & Ba 2015; a
  1/(1 + t/decay) schedule so the iterates settle) and an optional projection onto the ball |theta| <= radius.
- gradient estimators (``estimator``):
  * ``"stop"`` -- RGD: E_{D(theta)} grad_theta l with the data held fixed (myopic);
  * ``"perfgd"`` -- + J^T E[grad_z l] with the exact Jacobian (location maps; Izzo et al. 2021);
  * ``"perfgd-est"`` -- the Jacobian of the mean estimated by least squares over the last ``history``
    (dithered) deployments (Izzo et al. 2021 sec. 4);
  * ``"reinforce-est"`` -- mixture map: the score-function (REINFORCE) term E[(l - mean l) d/dtheta log
    p_theta(z)] computed from an *estimated* map: each deployment's mixture weight pi_hat is estimated from
    its sample (mean posterior responsibility, components known), logit pi_hat ~ a + k theta is fitted over
    the history, and the score uses (a_hat, k_hat);
  * ``"decoupled"`` -- decoupled PerfGD: the gradient of the decoupled risk DPR(theta, theta') =
    E_{z ~ D(theta')} l(z; theta) splits into the model term (first order, on the deployed sample) and the
    distribution term d/dtheta' DPR, estimated without any model of the map by central differences of the
    *same* model's loss under deployments theta +- delta u along a random orthonormal basis (2d deployments
    per round, common random numbers): map-agnostic.
- :func:`make_credit_standin` -- an offline synthetic stand-in for the Kaggle "Give Me Some Credit" data of
  Perdomo et al. 2020 sec. 5.2 (how it is generated is in its docstring; no download).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from aflab.partial_agency.learners import LearnerRun, _finish, _guard, _start
from aflab.partial_agency.maps import StrategicClassification, _as_batch

ESTIMATORS = ("stop", "perfgd", "perfgd-est", "reinforce-est", "decoupled")


# --------------------------------------------------------------------------------------------- nonlinear map
@dataclass(frozen=True)
class NonlinearLocationMap:
    """D(theta) = N(mu + eps tanh(theta), sigma^2 I); l(z; theta) = gamma/2 |theta|^2 - theta.z (separable)."""

    location_type = True

    mu: np.ndarray
    eps: float = 0.3
    sigma: float = 1.0
    gamma: float = 1.0
    name: str = "nonlinear"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", np.atleast_1d(np.asarray(self.mu, dtype=float)))
        if not 0 <= self.eps < self.gamma:
            raise ValueError(f"eps must lie in [0, gamma) for a unique stable point; got eps={self.eps}")

    @property
    def dim(self) -> int:
        return self.mu.size

    @property
    def beta(self) -> float:
        return max(float(self.gamma), 1.0)

    def mean(self, theta: np.ndarray) -> np.ndarray:
        return self.mu + self.eps * np.tanh(_as_batch(theta, self.dim))

    def sample(self, theta, n, rng):
        m = self.mean(theta)
        return m[:, None, :] + self.sigma * rng.standard_normal((m.shape[0], n, self.dim))

    def loss(self, z, theta):
        th = theta[:, None, :]
        return 0.5 * self.gamma * (th**2).sum(-1) - (th * z).sum(-1)

    def grad_theta(self, z, theta):
        return self.gamma * theta - z.mean(axis=1)

    def location_statistic(self, z):
        return z.mean(axis=1)

    def mean_jacobian(self, theta):
        d = self.eps / np.cosh(theta) ** 2
        return d[:, :, None] * np.eye(self.dim)[None]

    def through_map_gradient(self, z, theta, jac):
        return np.einsum("sij,si->sj", jac, -theta)

    def rrm_argmin(self, z, theta):
        return z.mean(axis=1) / self.gamma

    def rrm_population(self, theta):
        return self.mean(theta) / self.gamma

    def population_grad_theta(self, theta):
        theta = _as_batch(theta, self.dim)
        return self.gamma * theta - self.mean(theta)

    def performative_risk(self, theta):
        theta = _as_batch(theta, self.dim)
        return 0.5 * self.gamma * (theta**2).sum(-1) - (theta * self.mean(theta)).sum(-1)

    def performative_gradient(self, theta):
        theta = _as_batch(theta, self.dim)
        return self.gamma * theta - self.mean(theta) - self.eps * theta / np.cosh(theta) ** 2

    def _coordinate_root(self, fun, lo: float, hi: float) -> float:
        xs = np.linspace(lo, hi, 4001)
        g = fun(xs)
        idx = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) <= 0)[0]
        roots = [optimize.brentq(fun, xs[i], xs[i + 1], xtol=1e-14) for i in idx]
        return roots

    def stable_point(self) -> np.ndarray:
        """gamma theta_i = mu_i + eps tanh(theta_i): unique (the right side is eps-Lipschitz, eps < gamma)."""
        out = []
        for m in self.mu:
            lo, hi = (m - self.eps) / self.gamma - 1, (m + self.eps) / self.gamma + 1
            out.append(self._coordinate_root(lambda t, m=m: self.gamma * t - m - self.eps * np.tanh(t), lo, hi)[0])
        return np.array(out)

    def optimum(self) -> np.ndarray:
        """Per coordinate: every root of dPR/dtheta_i on a bracket, keeping the one of least PR."""
        out = []
        for m in self.mu:

            def g(t, m=m):
                return self.gamma * t - m - self.eps * np.tanh(t) - self.eps * t / np.cosh(t) ** 2

            def pr(t, m=m):
                return 0.5 * self.gamma * t**2 - t * (m + self.eps * np.tanh(t))

            bound = (abs(m) + 2 * self.eps) / max(self.gamma - 2 * self.eps, 0.05) + 2
            roots = self._coordinate_root(g, -bound, bound)
            out.append(min(roots, key=pr))
        return np.array(out)


# --------------------------------------------------------------------------------------------- optimisers
@dataclass
class _Adam:
    """Adam state for a batch of parameter vectors (Kingma & Ba 2015), bias-corrected."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0

    def step(self, g: np.ndarray, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> np.ndarray:
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g**2
        mhat, vhat = self.m / (1 - b1**self.t), self.v / (1 - b2**self.t)
        return mhat / (np.sqrt(vhat) + eps)


def project_ball(theta: np.ndarray, radius: float | None) -> np.ndarray:
    """Euclidean projection of each row onto {|theta| <= radius} (identity for radius None)."""
    if radius is None:
        return theta
    norm = np.linalg.norm(theta, axis=1, keepdims=True)
    return np.where(norm > radius, theta * radius / np.maximum(norm, 1e-300), theta)


# --------------------------------------------------------------------------------------------- estimators
@dataclass
class _History:
    thetas: list
    stats: list
    dither: np.ndarray | None = None
    rounds: int = 0

    def fit_jacobian(self, dim: int) -> np.ndarray | None:
        if len(self.thetas) <= dim + 1:
            return None
        T, S = np.stack(self.thetas, 1), np.stack(self.stats, 1)
        dT, dS = T - T.mean(1, keepdims=True), S - S.mean(1, keepdims=True)
        gram = np.einsum("shi,shj->sij", dT, dT) + 1e-8 * np.eye(dim)
        cross = np.einsum("shk,shj->skj", dS, dT)
        return np.linalg.solve(gram, cross.transpose(0, 2, 1)).transpose(0, 2, 1)


def _mixture_weight_estimate(dmap, z: np.ndarray) -> np.ndarray:
    """pi_hat per chain: the maximum-likelihood mixture weight (components known, weight not), by Newton's
    method on the concave log-likelihood sum log((1 - pi) phi0 + pi phi1) (EM converges too slowly here)."""
    zz = z[..., 0]
    phi0 = np.exp(-0.5 * ((zz - dmap.m0) / dmap.s) ** 2)
    phi1 = np.exp(-0.5 * ((zz - dmap.m1) / dmap.s) ** 2)
    pi = np.full(zz.shape[0], 0.5)
    for _ in range(12):
        r = (phi1 - phi0) / ((1 - pi[:, None]) * phi0 + pi[:, None] * phi1)
        pi = np.clip(pi + r.sum(axis=1) / np.maximum((r**2).sum(axis=1), 1e-12), 1e-4, 1 - 1e-4)
    return pi


def _reinforce_term(dmap, z, theta, a_hat, k_hat) -> np.ndarray:
    """E[(l - mean l) d/dtheta log p_hat_theta(z)] under the fitted mixture model (a_hat, k_hat)."""
    th, zz = theta[:, 0][:, None], z[..., 0]
    p = expit(a_hat[:, None] + k_hat[:, None] * th)
    phi0 = np.exp(-0.5 * ((zz - dmap.m0) / dmap.s) ** 2)
    phi1 = np.exp(-0.5 * ((zz - dmap.m1) / dmap.s) ** 2)
    score = k_hat[:, None] * p * (1 - p) * (phi1 - phi0) / ((1 - p) * phi0 + p * phi1)
    ell = dmap.loss(z, theta)
    return ((ell - ell.mean(axis=1, keepdims=True)) * score).mean(axis=1)[:, None]


def _decoupled_term(dmap, theta, rng, n_samples: int, delta: float) -> np.ndarray:
    """Two-point estimate of d/dtheta' E_{D(theta')} l(z; theta) at theta' = theta (the model held fixed).

    The two deployments are sampled with common random numbers (the same generator state), the standard
    variance reduction of finite differences; the map is still only queried through ``sample``."""
    s, d = theta.shape
    basis, _ = np.linalg.qr(rng.standard_normal((s, d, d)))  # a random orthonormal basis per chain
    out = np.zeros_like(theta)
    for i in range(d):  # central differences along every basis direction: 2d deployments per round
        u = basis[:, :, i]
        seed = int(rng.integers(2**63))
        lp = dmap.loss(dmap.sample(theta + delta * u, n_samples, np.random.default_rng(seed)), theta).mean(axis=1)
        lm = dmap.loss(dmap.sample(theta - delta * u, n_samples, np.random.default_rng(seed)), theta).mean(axis=1)
        out += (lp - lm)[:, None] / (2 * delta) * u
    return out


@dataclass(frozen=True)
class GymSettings:
    """Learner settings of :func:`gym_descent`."""

    estimator: str = "stop"
    lr: float = 0.3
    n_samples: int = 1000
    optimizer: str = "sgd"
    decay: float = 50.0
    radius: float | None = None
    explore: float = 0.1
    history: int = 50
    delta: float = 0.3


def _gradient(dmap, theta, rng, cfg: GymSettings, hist: _History) -> np.ndarray:
    estimated = cfg.estimator in ("perfgd-est", "reinforce-est")
    if estimated:  # antithetic dithering: +xi, -xi in consecutive rounds, so the dither's effect on the
        # gradient cancels pairwise instead of adding lr * H xi noise to the iterates
        fresh = hist.rounds % 2 == 0
        hist.dither = cfg.explore * rng.standard_normal(theta.shape) if fresh else -hist.dither
        hist.rounds += 1
        deployed = theta + hist.dither
    else:
        deployed = theta
    z = dmap.sample(deployed, cfg.n_samples, rng)
    g = dmap.grad_theta(z, deployed)
    if cfg.estimator == "perfgd":
        g = g + dmap.through_map_gradient(z, deployed, dmap.mean_jacobian(deployed))
    elif cfg.estimator == "perfgd-est":
        hist.thetas.append(deployed)
        hist.stats.append(dmap.location_statistic(z))
        del hist.thetas[: -cfg.history], hist.stats[: -cfg.history]
        jac = hist.fit_jacobian(dmap.dim)
        if jac is not None:
            g = g + dmap.through_map_gradient(z, deployed, jac)
    elif cfg.estimator == "reinforce-est":
        hist.thetas.append(deployed)
        hist.stats.append(logit(_mixture_weight_estimate(dmap, z))[:, None])
        del hist.thetas[: -cfg.history], hist.stats[: -cfg.history]
        jac = hist.fit_jacobian(1)
        if jac is not None:
            k_hat = jac[:, 0, 0]
            a_hat = np.stack(hist.stats, 1)[:, :, 0].mean(1) - k_hat * np.stack(hist.thetas, 1)[:, :, 0].mean(1)
            g = g + _reinforce_term(dmap, z, deployed, a_hat, k_hat)
    elif cfg.estimator == "decoupled":
        g = g + _decoupled_term(dmap, theta, rng, cfg.n_samples, cfg.delta)
    return g


def gym_descent(
    dmap, theta0: np.ndarray, rounds: int, rng: np.random.Generator, settings: GymSettings, **certificate
) -> LearnerRun:
    """theta <- Proj(theta - lr_t step(g)), lr_t = lr / (1 + t / decay); step = g (SGD) or Adam's direction."""
    if settings.estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {settings.estimator!r}")
    if settings.optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {settings.optimizer!r}")
    if settings.estimator == "reinforce-est" and dmap.name != "mixture":
        raise ValueError("estimator 'reinforce-est' fits a two-component mixture map: use it on the mixture map")
    if settings.estimator == "perfgd-est" and not getattr(dmap, "location_type", False):
        raise ValueError(f"estimator 'perfgd-est' needs a location-type map; {dmap.name} is not one")
    theta = project_ball(_start(theta0, dmap.dim), settings.radius)
    adam = _Adam(np.zeros_like(theta), np.zeros_like(theta)) if settings.optimizer == "adam" else None
    hist = _History([], [])
    traj = [theta]
    with np.errstate(all="ignore"):
        for t in range(rounds):
            g = _gradient(dmap, theta, rng, settings, hist)
            step = adam.step(g) if adam is not None else g
            theta = project_ball(_guard(theta - settings.lr / (1 + t / settings.decay) * step, 1e6), settings.radius)
            traj.append(theta)
    name = f"{settings.estimator}-{settings.optimizer}" + ("-proj" if settings.radius else "")
    return _finish(name, np.stack(traj, axis=1), 0.05, 1e6, **certificate)


# --------------------------------------------------------------------------------------------- credit stand-in
def make_credit_standin(
    eps: float, n_agents: int = 5000, lam: float = 0.05, seed: int = 11, moving_label: int | None = None
) -> StrategicClassification:
    """An offline synthetic stand-in for Give Me Some Credit (Perdomo et al. 2020 sec. 5.2; 150,000 borrowers,
    10 features, ~6.7 % defaults). Generated here, from a fixed seed:

    - 10 standardised features from a Gaussian copula with AR(1) correlations 0.4^|i-j| (credit features are
      correlated: utilisation, late payments, debt ratio, ...), then monotone transforms (three features
      log-normal like balances and incomes, re-standardised);
    - default y ~ Bernoulli(sigmoid(w.x - 3.6)) with w = (1.0, 0.8, 0.6, -0.5, 0.4, -0.3, 0.3, 0, 0, 0.2), giving
      a default rate near 8 %;
    - an intercept column (non-strategic); the strategic features are 0, 5 and 7 (as Perdomo et al. let
      agents game revolving utilisation, open credit lines and real-estate loans);
    - L2-regularised logistic regression, lam = ``lam``; agents respond x_S' = x_S - eps theta_S.
    """
    rng = np.random.default_rng(seed)
    d = 10
    cov = 0.4 ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    x = rng.multivariate_normal(np.zeros(d), cov, n_agents)
    for j in (3, 4, 8):
        x[:, j] = np.exp(0.7 * x[:, j])
    x = (x - x.mean(0)) / x.std(0)
    w = np.array([1.0, 0.8, 0.6, -0.5, 0.4, -0.3, 0.3, 0.0, 0.0, 0.2])
    y = (rng.random(n_agents) < expit(x @ w - 3.6)).astype(float)
    X = np.concatenate([x, np.ones((n_agents, 1))], axis=1)
    mask = np.zeros(d + 1, dtype=bool)
    mask[[0, 5, 7]] = True
    return StrategicClassification(X, y, mask, eps, lam, name="credit", moving_label=moving_label)
