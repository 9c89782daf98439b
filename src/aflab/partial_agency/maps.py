"""Distribution maps D(theta) of performative prediction (Perdomo, Zrnic, Mendler-Duenner, Hardt 2020).

A *distribution map* says how the data a model sees depends on the model it deployed.  Every map
here works on a batch of parameters ``theta`` of shape ``(S, d)`` -- one row per seed -- and exposes

- ``sample(theta, n, rng)``            -> data drawn from D(theta), leading axes ``(S, n)``;
- ``loss(z, theta)`` / ``grad_theta``  -> per-sample loss l(z; theta) and its theta-gradient with
  the data held fixed (the *stop-gradient*, myopic gradient);
- ``rrm_argmin(z, theta)``             -> exact inner minimisation argmin_theta' E_z l(z; theta')
  (what repeated risk minimisation deploys next);
- ``through_map_gradient(z, theta, jac)`` -> the extra term a *full* learner adds: the effect of
  theta on the data (location maps: jac^T E[grad_z l]; Izzo et al. 2021 PerfGD);
- ``stable_point()``, ``optimum()``, ``performative_risk(theta)`` -> closed forms where they exist,
  otherwise numerically solved references (documented per map);
- ``eps`` (W1-sensitivity), ``gamma`` (strong convexity), ``beta`` (joint smoothness) -- the constants
  of the RRM convergence theorem (Perdomo et al. 2020, Thm 3.5: RRM contracts at rate eps*beta/gamma).

Maps: :class:`LinearGaussianMap` (location family and pricing/demand), :class:`StrategicClassification`
(Perdomo et al. 2020 sec. 5.2), :class:`MixtureMap` (Miller et al. 2021 mixture dominance style),
:class:`MultiLearnerGame` (Narang et al. 2022 multiplayer performative prediction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.special import expit


def _as_batch(theta: np.ndarray, dim: int, name: str = "theta") -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 1:
        theta = theta[None, :]
    if theta.ndim != 2 or theta.shape[1] != dim:
        raise ValueError(f"{name} must have shape (seeds, {dim}) or ({dim},); got {theta.shape}")
    return theta


# ---------------------------------------------------------------------------------------------
# Linear-Gaussian maps: location family and pricing / demand
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearGaussianMap:
    """D(theta) = N(mu + A theta, sigma^2 I_d); loss l(z; theta) = gamma/2 |theta|^2 - theta.z + c/2 |z|^2.

    Everything is closed form (Perdomo et al. 2020 sec. 3-4; Miller, Perdomo, Zrnic 2021 sec. 2):

    - RRM map:            theta -> (mu + A theta) / gamma, contraction rate rho(A)/gamma;
    - stable point:       theta_PS = (gamma I - A)^{-1} mu;
    - performative risk:  PR(theta) = gamma/2|theta|^2 - theta.(mu + A theta) + c/2(|mu + A theta|^2 + d sigma^2);
    - optimum:            H theta_PO = (I - c A^T) mu with H = gamma I - A - A^T + c A^T A (exists iff H > 0).

    ``c = 1, gamma = 1, A = eps I`` is squared loss 1/2|z - theta|^2, where PS = PO; ``c = 0`` is the
    classical example where they differ (PS = mu/(gamma - eps), PO = mu/(gamma - 2 eps)).
    W1-sensitivity eps = ||A||_2 (a mean shift), gamma = gamma, beta = max(gamma, 1) (grad_theta l = gamma theta - z
    is gamma-Lipschitz in theta and 1-Lipschitz in z).
    """

    #: the map moves only a location (mean) statistic, so PerfGD can estimate its Jacobian
    location_type = True

    mu: np.ndarray
    A: np.ndarray
    sigma: float = 1.0
    gamma: float = 1.0
    c: float = 0.0
    name: str = "location"

    def __post_init__(self) -> None:
        mu = np.atleast_1d(np.asarray(self.mu, dtype=float))
        A = np.atleast_2d(np.asarray(self.A, dtype=float))
        if A.shape != (mu.size, mu.size):
            raise ValueError(f"A must be ({mu.size}, {mu.size}) to match mu; got {A.shape}")
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0; got {self.sigma}")
        if not self.gamma > 0:
            raise ValueError(f"gamma (strong convexity) must be > 0; got {self.gamma}")
        if not self.c >= 0:
            raise ValueError(f"c (weight of |z|^2 in the loss) must be >= 0; got {self.c}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "A", A)

    # --- constants -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.mu.size

    @property
    def eps(self) -> float:
        """W1-sensitivity: W1(D(t), D(t')) = |A (t - t')| <= ||A||_2 |t - t'|."""
        return float(np.linalg.norm(self.A, 2))

    @property
    def beta(self) -> float:
        """Joint smoothness (Perdomo et al. 2020, A2): grad_theta l = gamma theta - z is gamma-Lipschitz in theta
        and 1-Lipschitz in z, so beta = max(gamma, 1) (the c-term does not involve theta)."""
        return max(float(self.gamma), 1.0)

    @property
    def rrm_rate(self) -> float:
        """Exact contraction rate of population RRM: spectral radius of A / gamma."""
        return float(np.max(np.abs(np.linalg.eigvals(self.A)))) / self.gamma

    # --- sampling and loss ------------------------------------------------------------------
    def mean(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        return self.mu + theta @ self.A.T

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        m = self.mean(theta)
        return m[:, None, :] + self.sigma * rng.standard_normal((m.shape[0], n, self.dim))

    def loss(self, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
        th = theta[:, None, :]
        return 0.5 * self.gamma * (th**2).sum(-1) - (th * z).sum(-1) + 0.5 * self.c * (z**2).sum(-1)

    def grad_theta(self, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Mean stop-gradient gradient E_z[grad_theta l(z; theta)] = gamma theta - mean z, shape (S, d)."""
        return self.gamma * theta - z.mean(axis=1)

    def location_statistic(self, z: np.ndarray) -> np.ndarray:
        """The statistic whose mean moves with theta (here z itself): used to estimate the map."""
        return z.mean(axis=1)

    def mean_jacobian(self, theta: np.ndarray) -> np.ndarray:
        S = theta.shape[0]
        return np.broadcast_to(self.A, (S, self.dim, self.dim))

    def through_map_gradient(self, z: np.ndarray, theta: np.ndarray, jac: np.ndarray) -> np.ndarray:
        """jac^T E[grad_z l] with grad_z l = -theta + c z (reparameterisation of a location family)."""
        gz = -theta + self.c * z.mean(axis=1)
        return np.einsum("sij,si->sj", jac, gz)

    def rrm_argmin(self, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """argmin_theta' mean_z l(z; theta') = mean z / gamma (the c-term does not involve theta')."""
        return z.mean(axis=1) / self.gamma

    def rrm_population(self, theta: np.ndarray) -> np.ndarray:
        return self.mean(theta) / self.gamma

    def population_grad_theta(self, theta: np.ndarray) -> np.ndarray:
        """E_{z~D(theta)} grad_theta l(z; theta) (stop-gradient), = gamma theta - mean(theta)."""
        theta = _as_batch(theta, self.dim)
        return self.gamma * theta - self.mean(theta)

    # --- closed forms ----------------------------------------------------------------------
    def performative_risk(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        m = self.mean(theta)
        return (
            0.5 * self.gamma * (theta**2).sum(-1)
            - (theta * m).sum(-1)
            + 0.5 * self.c * ((m**2).sum(-1) + self.dim * self.sigma**2)
        )

    def performative_gradient(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        return theta @ self._hessian().T - self._po_rhs()

    def _hessian(self) -> np.ndarray:
        d = self.dim
        return self.gamma * np.eye(d) - self.A - self.A.T + self.c * self.A.T @ self.A

    def _po_rhs(self) -> np.ndarray:
        return (np.eye(self.dim) - self.c * self.A.T) @ self.mu

    def stable_point(self) -> np.ndarray | None:
        """theta_PS = (gamma I - A)^{-1} mu; None if gamma I - A is singular (no stable point)."""
        M = self.gamma * np.eye(self.dim) - self.A
        if abs(np.linalg.det(M)) < 1e-12:
            return None
        return np.linalg.solve(M, self.mu)

    def optimum(self) -> np.ndarray | None:
        """theta_PO solving H theta = (I - cA^T) mu; None when H is not positive definite (PR unbounded below)."""
        H = self._hessian()
        if np.min(np.linalg.eigvalsh(0.5 * (H + H.T))) <= 1e-12:
            return None
        return np.linalg.solve(H, self._po_rhs())


def location_family(eps: float, mu=(1.0,), sigma: float = 1.0, gamma: float = 1.0, c: float = 0.0) -> LinearGaussianMap:
    """Gaussian mean shift D(theta) = N(mu + eps theta, sigma^2 I) (Miller et al. 2021 sec. 2.1)."""
    mu = np.atleast_1d(np.asarray(mu, dtype=float))
    return LinearGaussianMap(mu, eps * np.eye(mu.size), sigma, gamma, c, name="location")


def pricing_demand(eps: float, base_demand=(2.0,), sigma: float = 0.5, lam: float = 1.0) -> LinearGaussianMap:
    """Prices theta, demand z ~ N(base - eps theta, sigma^2 I); loss = -revenue + lam/2|theta|^2 = lam/2|theta|^2 - theta.z.

    Izzo, Ying, Zou 2021 sec. 5 / Miller et al. 2021 revenue example: PS = base/(lam + eps),
    PO = base/(lam + 2 eps) -- the optimum prices lower because it sees demand fall.
    """
    mu = np.atleast_1d(np.asarray(base_demand, dtype=float))
    return LinearGaussianMap(mu, -eps * np.eye(mu.size), sigma, lam, 0.0, name="pricing")


# ---------------------------------------------------------------------------------------------
# Strategic classification (Perdomo et al. 2020 sec. 5.2)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategicClassification:
    """Logistic regression against agents who move strategic features: x_S' = x_S - eps theta_S.

    Agent best response to a linear score theta.x with quadratic cost |x' - x|^2 / (2 eps)
    (Perdomo et al. 2020 sec. 5.2).  The base population is a fixed synthetic data set
    (``features`` (N, d) including a constant bias column, ``labels`` in {0,1}); D(theta) is
    the empirical distribution of (x - eps M theta, y) with M = diag(strategic mask).

    Loss: l = -y theta.x + log(1 + exp(theta.x)) + lam/2 |theta|^2 (gamma = lam).
    No closed forms: ``stable_point`` solves the stability equation
    E_{D(theta)} grad l(z; theta) = 0 with a root finder, ``optimum`` minimises
    PR(theta) = mean l(x - eps M theta, y; theta) with BFGS from several starts.
    These are independent of the learners (no iteration of RRM is used).

    ``moving_label``: None (default) -- every agent moves, D(theta) is a pure mean shift of the features;
    0 or 1 -- only agents with that label move (e.g. only applicants who would default game the score).
    Then the map is a class-dependent shift, no longer a shift of the pooled distribution: the pooled
    mean moves by -eps pi_c M theta, but the agents who move are not a random sample.  A PerfGD that
    models D(theta) as a pooled mean shift estimates a wrong through-map term; one that tracks the
    class-conditional sufficient statistics (``class_statistic``: the class-weighted feature means)
    gets it right (see :func:`aflab.partial_agency.learners.repeated_gradient`, ``statistic="class"``).
    """

    #: the map moves only a location (mean) statistic, so PerfGD can estimate its Jacobian
    location_type = True

    features: np.ndarray
    labels: np.ndarray
    strategic: np.ndarray
    eps: float
    lam: float = 0.1
    name: str = "strategic"
    moving_label: int | None = None

    def __post_init__(self) -> None:
        X = np.asarray(self.features, dtype=float)
        y = np.asarray(self.labels, dtype=float)
        mask = np.asarray(self.strategic, dtype=bool)
        if X.ndim != 2 or y.shape != (X.shape[0],) or mask.shape != (X.shape[1],):
            raise ValueError("features (N, d), labels (N,) and strategic mask (d,) shapes disagree")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("labels must be 0 or 1")
        if not self.lam > 0:
            raise ValueError(f"lam (L2 regularisation = strong convexity gamma) must be > 0; got {self.lam}")
        if not self.eps >= 0:
            raise ValueError(f"eps (strategic strength) must be >= 0; got {self.eps}")
        if self.moving_label not in (None, 0, 1):
            raise ValueError(f"moving_label must be None (all agents move), 0 or 1; got {self.moving_label!r}")
        object.__setattr__(self, "features", X)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "strategic", mask)

    @property
    def dim(self) -> int:
        return self.features.shape[1]

    @property
    def gamma(self) -> float:
        return float(self.lam)

    @property
    def M(self) -> np.ndarray:
        return np.diag(self.strategic.astype(float))

    def beta_bound(self, radius: float) -> float:
        """Joint smoothness (Perdomo et al. 2020, A2) on |theta| <= radius, over the support of every D(theta):

        grad_theta l = (sigmoid(theta.x) - y) x + lam theta, with |x| <= X = |x|_max + eps radius there;
        - theta-smoothness: the Hessian E[sigmoid' x x^T] + lam I has norm <= lam + X^2 / 4;
        - z-smoothness (x moves, y does not under the map): d/dx = (sigmoid - y) I + sigmoid' x theta^T has
          norm <= 1 + X radius / 4.
        beta = the larger of the two."""
        if not radius >= 0:
            raise ValueError(f"radius must be >= 0; got {radius}")
        x_max = float(np.max(np.linalg.norm(self.features, axis=1))) + self.eps * radius
        return max(self.lam + x_max**2 / 4, 1.0 + x_max * radius / 4)

    @property
    def iterate_radius(self) -> float:
        """Every regularised minimiser has lam/2 |w|^2 <= log 2 (w = 0 scores log 2), so RRM's iterates (and
        theta_PS) lie in the ball |theta| <= sqrt(2 log 2 / lam): the region the RRM theorem needs."""
        return float(np.sqrt(2 * np.log(2) / self.lam))

    @property
    def beta(self) -> float:
        """:meth:`beta_bound` on the ball that holds every RRM iterate (:attr:`iterate_radius`)."""
        return self.beta_bound(self.iterate_radius)

    # --- sampling ----------------------------------------------------------------------------
    def shift(self, X: np.ndarray, theta: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """x' = x - eps M theta for a batch: X (S, n, d) or (n, d), theta (S, d); with ``moving_label``
        set only rows whose label y (S, n) or (n,) equals it move."""
        move = self.eps * (theta * self.strategic)[:, None, :]
        if self.moving_label is None:
            return X - move
        if y is None:
            raise ValueError("shift needs the labels y when moving_label is set")
        return X - move * (np.asarray(y) == self.moving_label)[..., None]

    @property
    def class_freq(self) -> np.ndarray:
        """(pi_0, pi_1): label frequencies of the base population (the map does not change them)."""
        p1 = float(self.labels.mean())
        return np.array([1.0 - p1, p1])

    def _moves(self) -> np.ndarray:
        return np.array([1.0, 1.0]) if self.moving_label is None else np.eye(2)[self.moving_label]

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n agents per seed with replacement; returns z (S, n, d + 1): shifted features and label."""
        theta = _as_batch(theta, self.dim)
        idx = rng.integers(0, self.features.shape[0], size=(theta.shape[0], n))
        Xs = self.shift(self.features[idx], theta, self.labels[idx])
        return np.concatenate([Xs, self.labels[idx][..., None]], axis=-1)

    def population(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        S = theta.shape[0]
        Xs = self.shift(np.broadcast_to(self.features, (S,) + self.features.shape), theta, self.labels)
        return np.concatenate([Xs, np.broadcast_to(self.labels[None, :, None], (S, self.features.shape[0], 1))], -1)

    # --- loss --------------------------------------------------------------------------------
    def loss(self, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
        X, y = z[..., :-1], z[..., -1]
        m = np.einsum("snd,sd->sn", X, theta)
        return -y * m + np.logaddexp(0.0, m) + 0.5 * self.lam * (theta**2).sum(-1)[:, None]

    def grad_theta(self, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
        X, y = z[..., :-1], z[..., -1]
        r = expit(np.einsum("snd,sd->sn", X, theta)) - y
        return np.einsum("sn,snd->sd", r, X) / X.shape[1] + self.lam * theta

    def location_statistic(self, z: np.ndarray) -> np.ndarray:
        return z[..., :-1].mean(axis=1)

    def mean_jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d E[x'] / d theta of the pooled feature mean: -eps M, times pi_c when only label c moves."""
        frac = 1.0 if self.moving_label is None else float(self.class_freq[self.moving_label])
        return np.broadcast_to(-self.eps * frac * self.M, (theta.shape[0], self.dim, self.dim))

    def class_statistic(self, z: np.ndarray) -> np.ndarray:
        """Class-conditional sufficient statistics (S, 2d): [mean x' 1{y=0}, mean x' 1{y=1}] = [pi_0 mu_0, pi_1 mu_1]."""
        X, y = z[..., :-1], z[..., -1]
        return np.concatenate([(X * (y == c)[..., None]).mean(axis=1) for c in (0, 1)], axis=-1)

    def class_jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d class_statistic / d theta (S, 2d, d): block c = -eps pi_c M if label c moves, else 0.  Exact."""
        blocks = [-self.eps * pc * mc * self.M for pc, mc in zip(self.class_freq, self._moves())]
        return np.broadcast_to(np.concatenate(blocks, axis=0), (theta.shape[0], 2 * self.dim, self.dim))

    def through_map_gradient(self, z: np.ndarray, theta: np.ndarray, jac: np.ndarray) -> np.ndarray:
        """The full learner's extra term, grad_x l = (sigmoid(theta.x) - y) theta.

        Pooled jac (S, d, d): jac^T E[grad_x l] (exact when every agent moves).  Class jac (S, 2d, d)
        from :meth:`class_jacobian` or an estimate of it: sum_c J_c^T E[grad_x l 1{y=c}] / pi_c (the
        reparameterisation gradient of a per-class mean shift, with J_c = d(pi_c mu_c)/d theta)."""
        X, y = z[..., :-1], z[..., -1]
        res = expit(np.einsum("snd,sd->sn", X, theta)) - y
        if jac.shape[1] == self.dim:
            return np.einsum("sij,si->sj", jac, res.mean(axis=1)[:, None] * theta)
        out = np.zeros_like(theta)
        for c in (0, 1):
            ind = y == c
            e_c = (res * ind).mean(axis=1) / np.maximum(ind.mean(axis=1), 1e-12)
            out += np.einsum("sij,si->sj", jac[:, c * self.dim : (c + 1) * self.dim], e_c[:, None] * theta)
        return out

    def rrm_argmin(self, z: np.ndarray, theta: np.ndarray, iters: int = 50) -> np.ndarray:
        """Exact L2-regularised logistic regression on the sample: batched damped Newton, warm start theta.

        The minimiser satisfies lam/2 |w|^2 <= log 2, i.e. |w| <= sqrt(2 log 2 / lam); a result
        outside that ball means the solver failed, which the tests check.
        """
        out = np.full(theta.shape, np.nan)
        live = np.isfinite(theta).all(axis=1) & np.isfinite(z).all(axis=(1, 2))  # skip seeds already frozen at NaN
        if not live.any():
            return out
        X_all, y_all = z[live, :, :-1], z[live, :, -1]
        w_all = np.array(theta[live], dtype=float, copy=True)
        eye = np.eye(self.dim)
        n = X_all.shape[1]
        alphas = 0.5 ** np.arange(8)
        active = np.arange(w_all.shape[0])  # seeds whose Newton iteration has not converged yet
        for _ in range(iters):
            X, y, w = X_all[active], y_all[active], w_all[active]
            Xt = np.swapaxes(X, 1, 2)  # (S, d, n)
            p = expit((X @ w[:, :, None])[..., 0])
            g = (Xt @ (p - y)[:, :, None])[..., 0] / n + self.lam * w
            H = (Xt * (p * (1 - p))[:, None, :]) @ X / n + self.lam * eye
            step = np.linalg.solve(H, g[..., None])[..., 0]
            # damped Newton: largest alpha in 1, 1/2, ... with Armijo decrease (plain Newton overshoots
            # from far warm starts and would fake a divergence of RRM)
            W = w[:, None, :] - np.concatenate([[0.0], alphas])[None, :, None] * step[:, None, :]
            m = W @ Xt
            f = (np.logaddexp(0.0, m) - y[:, None, :] * m).mean(-1) + 0.5 * self.lam * (W**2).sum(-1)
            armijo = f[:, 1:] <= f[:, :1] - 1e-4 * alphas[None, :] * (g * step).sum(-1)[:, None]
            a = alphas[np.where(armijo.any(1), armijo.argmax(1), alphas.size - 1)]
            move = a[:, None] * step
            w_all[active] = w - move
            active = active[np.abs(move).max(axis=1) >= 1e-10]
            if active.size == 0:
                break
        out[live] = w_all
        return out

    def rrm_population(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        return self.rrm_argmin(self.population(theta), theta)

    def population_grad_theta(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        return self.grad_theta(self.population(theta), theta)

    # --- references --------------------------------------------------------------------------
    def performative_risk(self, theta: np.ndarray) -> np.ndarray:
        theta = _as_batch(theta, self.dim)
        return self.loss(self.population(theta), theta).mean(axis=1)

    def performative_gradient(self, theta: np.ndarray) -> np.ndarray:
        """grad PR = mean (sigmoid(m) - y)(x - 2 eps M theta) + lam theta, m = theta.(x - eps M theta)."""
        theta = _as_batch(theta, self.dim)
        z = self.population(theta)
        return self.grad_theta(z, theta) + self.through_map_gradient(z, theta, self.class_jacobian(theta))

    def stable_point(self) -> np.ndarray | None:
        def stability_residual(t):
            t = t[None, :]
            return self.grad_theta(self.population(t), t)[0]

        static = self.rrm_argmin(self.population(np.zeros((1, self.dim))), np.zeros((1, self.dim)))[0]
        starts = [np.zeros(self.dim), np.full(self.dim, 0.1), -np.full(self.dim, 0.1), static]
        for x0 in starts:
            for method in ("hybr", "lm"):
                sol = optimize.root(stability_residual, x0, method=method, options={"xtol": 1e-13})
                if np.all(np.isfinite(sol.x)) and np.linalg.norm(stability_residual(sol.x)) < 1e-8:
                    return sol.x
        return None

    def optimum(self) -> np.ndarray | None:
        starts = [np.zeros(self.dim)]
        ps = self.stable_point()
        if ps is not None:
            starts.append(ps)
        best = None
        for x0 in starts:
            res = optimize.minimize(
                lambda t: float(self.performative_risk(t[None])[0]),
                x0,
                jac=lambda t: self.performative_gradient(t[None])[0],
                method="BFGS",
                options={"gtol": 1e-11, "maxiter": 2000},
            )
            if best is None or res.fun < best.fun:
                best = res
        if best is None or np.linalg.norm(self.performative_gradient(best.x[None])[0]) > 1e-6:
            return None
        return best.x


def make_strategic_instance(
    eps: float,
    n_agents: int = 2000,
    n_features: int = 3,
    n_strategic: int = 2,
    lam: float = 0.1,
    intercept: bool = False,
    seed: int = 0,
    moving_label: int | None = None,
) -> StrategicClassification:
    """A synthetic credit-scoring population: x ~ N(0, I), y ~ Bernoulli(sigmoid(w*.x - 1)).

    The first ``n_strategic`` features are gameable (like Perdomo et al.'s credit features).  Without
    an intercept column (the default) the base rate of y = 1 is not 1/2, the mean residual at the
    stable point is non-zero and the stable point and the optimum differ visibly (|PS - PO| ~ 0.1
    at eps = 0.5); with ``intercept=True`` (a constant, non-strategic column) the intercept absorbs
    the mean residual and the gap nearly vanishes -- a fact worth knowing when reading sec. 5.2.
    """
    if not 0 <= n_strategic <= n_features:
        raise ValueError(f"n_strategic must be in [0, n_features={n_features}]; got {n_strategic}")
    if n_agents < 10:
        raise ValueError(f"n_agents must be >= 10; got {n_agents}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_agents, n_features))
    w_true = np.resize(np.array([1.0, -1.0, 0.5]), n_features)
    y = (rng.random(n_agents) < expit(X @ w_true - 1.0)).astype(float)
    mask = np.zeros(n_features, dtype=bool)
    mask[:n_strategic] = True
    if intercept:
        X = np.concatenate([X, np.ones((n_agents, 1))], axis=1)
        mask = np.append(mask, False)
    return StrategicClassification(X, y, mask, eps, lam, moving_label=moving_label)


# ---------------------------------------------------------------------------------------------
# Mixture map
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MixtureMap:
    """D(theta) = (1 - pi) N(m0, s^2) + pi N(m1, s^2), pi(theta) = sigmoid(a + k theta); squared loss 1/2 (z - theta)^2.

    The deployed model moves *which subpopulation* shows up (a mixture map in the sense of
    Miller et al. 2021 sec. 4).  Closed forms: mean m(theta) = m0 + pi (m1 - m0),
    Var = s^2 + pi(1 - pi)(m1 - m0)^2, PR = 1/2[(m - theta)^2 + Var].  Stable points solve
    theta = m(theta) (possibly several); W1-sensitivity eps = k |m1 - m0| / 4.  One-dimensional theta.
    """

    #: the map moves only a location (mean) statistic, so PerfGD can estimate its Jacobian
    location_type = False

    m0: float = -1.0
    m1: float = 2.0
    s: float = 1.0
    a: float = 0.0
    k: float = 0.5
    name: str = "mixture"

    dim: int = field(default=1, init=False)

    @property
    def eps(self) -> float:
        return abs(self.k * (self.m1 - self.m0)) / 4

    gamma: float = field(default=1.0, init=False)
    beta: float = field(default=1.0, init=False)

    def pi(self, theta):
        return expit(self.a + self.k * theta)

    def mean(self, theta: np.ndarray) -> np.ndarray:
        return self.m0 + self.pi(theta) * (self.m1 - self.m0)

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        theta = _as_batch(theta, 1)
        pi = self.pi(theta[:, 0])[:, None]
        comp = rng.random((theta.shape[0], n)) < pi
        z = np.where(comp, self.m1, self.m0) + self.s * rng.standard_normal((theta.shape[0], n))
        return z[..., None]

    def loss(self, z, theta):
        return 0.5 * ((z[..., 0] - theta[:, None, 0]) ** 2)

    def grad_theta(self, z, theta):
        return theta - z.mean(axis=1)

    def location_statistic(self, z):
        return z.mean(axis=1)

    def mean_jacobian(self, theta):
        p = self.pi(theta[:, 0])
        return (self.k * p * (1 - p) * (self.m1 - self.m0))[:, None, None]

    def through_map_gradient(self, z, theta, jac=None):
        """Score-function term E[l(z) d/dtheta log p_theta(z)] (the map is not a location family)."""
        th = theta[:, 0][:, None]
        zz = z[..., 0]
        p = self.pi(th)
        phi0 = np.exp(-0.5 * ((zz - self.m0) / self.s) ** 2)
        phi1 = np.exp(-0.5 * ((zz - self.m1) / self.s) ** 2)
        score = self.k * p * (1 - p) * (phi1 - phi0) / ((1 - p) * phi0 + p * phi1)
        ell = 0.5 * (zz - th) ** 2
        return ((ell - ell.mean(axis=1, keepdims=True)) * score).mean(axis=1)[:, None]

    def rrm_argmin(self, z, theta):
        return z.mean(axis=1)

    def rrm_population(self, theta):
        return self.mean(_as_batch(theta, 1))

    def population_grad_theta(self, theta):
        theta = _as_batch(theta, 1)
        return theta - self.mean(theta)

    def variance(self, theta):
        p = self.pi(theta)
        return self.s**2 + p * (1 - p) * (self.m1 - self.m0) ** 2

    def performative_risk(self, theta):
        t = _as_batch(theta, 1)[:, 0]
        return 0.5 * ((self.mean(t) - t) ** 2 + self.variance(t))

    def performative_gradient(self, theta):
        t = _as_batch(theta, 1)[:, 0]
        p = self.pi(t)
        d = self.m1 - self.m0
        dp = self.k * p * (1 - p)
        dm = dp * d
        dvar = dp * (1 - 2 * p) * d**2
        return ((self.mean(t) - t) * (dm - 1) + 0.5 * dvar)[:, None]

    def _bracket(self) -> tuple[float, float]:
        lo, hi = min(self.m0, self.m1), max(self.m0, self.m1)
        pad = 3 * (hi - lo) + 3 * self.s + 1
        return lo - pad, hi + pad

    def stable_points(self, grid: int = 4001) -> np.ndarray:
        """All roots of theta = m(theta) by sign changes on a fine grid + brentq (they lie in [m0, m1])."""
        lo, hi = min(self.m0, self.m1), max(self.m0, self.m1)
        return _grid_roots(lambda t: self.mean(t) - t, lo - 1e-9, hi + 1e-9, grid)

    def stable_point(self) -> np.ndarray | None:
        """The stable point; when there are several, the one with the lowest performative risk."""
        roots = self.stable_points()
        if roots.size != 1:
            return None if roots.size == 0 else np.array([roots[np.argmin(self.performative_risk(roots[:, None]))]])
        return roots

    def optimum(self) -> np.ndarray | None:
        lo, hi = self._bracket()
        crit = _grid_roots(lambda t: self.performative_gradient(t[:, None])[:, 0], lo, hi, 8001)
        if crit.size == 0:
            return None
        return np.array([crit[np.argmin(self.performative_risk(crit[:, None]))]])


def _grid_roots(fun, lo: float, hi: float, grid: int) -> np.ndarray:
    """Roots of a vectorised scalar function: sign changes on a grid, refined by brentq."""
    xs = np.linspace(lo, hi, grid)
    g = fun(xs)
    roots = list(xs[g == 0])
    idx = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]
    for i in idx:
        roots.append(optimize.brentq(lambda t: float(fun(np.array([t]))[0]), xs[i], xs[i + 1], xtol=1e-14))
    return np.sort(np.array(roots, dtype=float))


# ---------------------------------------------------------------------------------------------
# Multi-learner game
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultiLearnerGame:
    """m learners, learner i deploys theta_i in R and sees z_i ~ N(mu_i + eps (B theta)_i, sigma^2).

    Learner i's loss: gamma/2 theta_i^2 - theta_i z_i (Narang et al. 2022 multiplayer performative
    prediction, linear-Gaussian case).  Closed forms:

    - performatively stable equilibrium (every learner myopic / RRM): (gamma I - eps B) theta = mu;
    - performative Nash equilibrium (each differentiates its *own* effect): (gamma I - eps B - eps diag(B)) theta = mu;
    - social optimum of sum_i PR_i: (gamma I - eps (B + B^T)) theta = mu.
    """

    #: the map moves only a location (mean) statistic, so PerfGD can estimate its Jacobian
    location_type = True

    mu: np.ndarray
    B: np.ndarray
    eps: float
    sigma: float = 1.0
    gamma: float = 1.0
    name: str = "game"

    def __post_init__(self) -> None:
        mu = np.atleast_1d(np.asarray(self.mu, dtype=float))
        B = np.atleast_2d(np.asarray(self.B, dtype=float))
        if B.shape != (mu.size, mu.size):
            raise ValueError(f"B must be ({mu.size}, {mu.size}); got {B.shape}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "B", B)

    @property
    def dim(self) -> int:
        return self.mu.size

    @property
    def beta(self) -> float:
        """max(gamma, 1), as for :class:`LinearGaussianMap` (each learner's gradient gamma theta_i - z_i)."""
        return max(float(self.gamma), 1.0)

    def as_map(self) -> LinearGaussianMap:
        """The joint map seen by a planner: a LinearGaussianMap with A = eps B (c = 0)."""
        return LinearGaussianMap(self.mu, self.eps * self.B, self.sigma, self.gamma, 0.0, name="game")

    def sample(self, theta, n, rng):
        return self.as_map().sample(theta, n, rng)

    def grad_theta(self, z, theta):
        return self.gamma * theta - z.mean(axis=1)

    def location_statistic(self, z):
        return z.mean(axis=1)

    def mean_jacobian(self, theta):
        """Each learner only differentiates its own effect: the diagonal of eps B."""
        return np.broadcast_to(np.diag(np.diag(self.eps * self.B)), (theta.shape[0], self.dim, self.dim))

    def through_map_gradient(self, z, theta, jac):
        # learner i: d/dtheta_i E[-theta_i z_i] = -theta_i d mean_i / d theta_i
        return -np.einsum("sii,si->si", jac, theta)

    def rrm_argmin(self, z, theta):
        return z.mean(axis=1) / self.gamma

    def rrm_population(self, theta):
        return self.as_map().mean(theta) / self.gamma

    def population_grad_theta(self, theta):
        theta = _as_batch(theta, self.dim)
        return self.gamma * theta - self.as_map().mean(theta)

    def performative_gradient(self, theta):
        """Each learner's own full gradient: gamma theta_i - mean_i - eps B_ii theta_i."""
        theta = _as_batch(theta, self.dim)
        return self.population_grad_theta(theta) - self.eps * np.diag(self.B) * theta

    def performative_risk(self, theta):
        """Per-learner risks summed (the social cost)."""
        return self.as_map().performative_risk(theta)

    def stable_point(self):
        return np.linalg.solve(self.gamma * np.eye(self.dim) - self.eps * self.B, self.mu)

    def optimum(self):
        """The performative Nash equilibrium: what independent full-gradient learners reach."""
        return np.linalg.solve(
            self.gamma * np.eye(self.dim) - self.eps * self.B - self.eps * np.diag(np.diag(self.B)), self.mu
        )

    def social_optimum(self):
        return np.linalg.solve(self.gamma * np.eye(self.dim) - self.eps * (self.B + self.B.T), self.mu)
