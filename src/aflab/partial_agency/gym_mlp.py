"""Neural models under strategic response: an MLP classifier trained by myopic and full learners.

performativeGYM's neural learners, in the strategic-classification setting of Perdomo et al. 2020 sec. 5.2.
The classifier is a one-hidden-layer tanh MLP f_w(x) = w2 . tanh(W1 x + b1) + b2 (``hidden`` units; with
``hidden = 0`` it is the linear score f_w(x) = w . x of :class:`~aflab.partial_agency.maps.StrategicClassification`).
Agents move their strategic features along the score's input gradient,

    x_S' = x_S - eps (grad_x f_w(x))_S,

the first-order best response to a score they want lowered at quadratic cost |x' - x|^2 / (2 eps) (for a
linear score it is the exact best response x_S - eps w_S, Perdomo et al.'s map). The loss is the logistic loss
of the moved agents plus weight decay, l(z; w) = softplus(f_w(x')) - y f_w(x') + lam/2 |w|^2.

Everything is written with the *decoupled risk* DR(w_model, w_map) = E_{z ~ D(w_map)} l(z; w_model) (Perdomo et
al. 2020 sec. 2), which makes the partial-agency switch explicit:

- myopic (stop-gradient through the map): grad_1 DR(w, w) -- RRM minimises DR(., w_t) exactly, RGD/SGD steps
  along it; a performatively **stable** point solves grad_1 DR(w, w) = 0;
- full (gradient through the map, PerfGD with the exact reparameterised map): grad_w DR(w, w) = grad_1 + grad_2;
  a performative **optimum** is a local minimum of PR(w) = DR(w, w).

An MLP is not convex in w, so there is no closed-form theta_PS / theta_PO. :func:`reference_points` computes
both for a given initialisation by an independent, exact method on the same map: gradient iteration on the
*whole* base population (no sampling), polished by Newton's method on the defining equation (stability
residual, or grad PR with a positive definite Hessian), certified by the residual's norm. The sampled learners
start from that same initialisation. With ``hidden = 0`` the references reduce to the linear model's
independent root finder / BFGS solution (tested).

torch is imported inside the functions (it is optional); all chains (one parameter vector per row) run in
one batched call through ``torch.func.vmap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from aflab.partial_agency.learners import LearnerRun, _finish, _start
from aflab.partial_agency.maps import make_strategic_instance

Estimator = Literal["stop", "full"]


@dataclass(frozen=True)
class MLPStrategicMap:
    """The strategic-classification map for an MLP score (see the module docstring).

    ``features`` (N, d) and ``labels`` (N,) are the base population (every agent moves: D(w) is the empirical
    distribution of the moved agents); ``strategic`` (d,) marks the gameable features; ``hidden`` = 0 is the
    linear model. Parameters are flat vectors of length :attr:`n_params` (rows of an (S, P) batch)."""

    features: np.ndarray
    labels: np.ndarray
    strategic: np.ndarray
    eps: float
    lam: float = 0.05
    hidden: int = 4
    moving_label: int | None = None
    name: str = "mlp-strategic"

    def __post_init__(self) -> None:
        X = np.asarray(self.features, dtype=float)
        y = np.asarray(self.labels, dtype=float)
        mask = np.asarray(self.strategic, dtype=bool)
        if X.ndim != 2 or y.shape != (X.shape[0],) or mask.shape != (X.shape[1],):
            raise ValueError("features (N, d), labels (N,) and strategic mask (d,) shapes disagree")
        if not self.lam > 0:
            raise ValueError(f"lam (weight decay) must be > 0; got {self.lam}")
        if not self.eps >= 0:
            raise ValueError(f"eps (strategic strength) must be >= 0; got {self.eps}")
        if self.hidden < 0:
            raise ValueError(f"hidden must be >= 0 (0 = the linear model); got {self.hidden}")
        if self.moving_label not in (None, 0, 1):
            raise ValueError(f"moving_label must be None (all agents move), 0 or 1; got {self.moving_label!r}")
        object.__setattr__(self, "features", X)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "strategic", mask)

    @property
    def d(self) -> int:
        return self.features.shape[1]

    @property
    def n_params(self) -> int:
        """P = h d + h + h + 1 (W1, b1, w2, b2), or d for the linear model."""
        return self.d if self.hidden == 0 else self.hidden * (self.d + 2) + 1

    @property
    def dim(self) -> int:
        return self.n_params

    def init(self, chains: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """(chains, P) initial parameters: W1 ~ N(0, scale^2/d), w2 ~ N(0, scale^2/h), biases 0 (LeCun-style)."""
        if self.hidden == 0:
            return scale * rng.standard_normal((chains, self.d)) / np.sqrt(self.d)
        h, d = self.hidden, self.d
        W1 = scale * rng.standard_normal((chains, h * d)) / np.sqrt(d)
        w2 = scale * rng.standard_normal((chains, h)) / np.sqrt(h)
        return np.concatenate([W1, np.zeros((chains, h)), w2, np.zeros((chains, 1))], axis=1)


def make_mlp_strategic(
    eps: float, hidden: int = 4, lam: float = 0.05, n_agents: int = 2000, seed: int = 7
) -> MLPStrategicMap:
    """The base population of :func:`~aflab.partial_agency.maps.make_strategic_instance` (3 features, the first
    two strategic, y ~ Bernoulli(sigmoid(w*.x - 1))) under an MLP score."""
    base = make_strategic_instance(eps, n_agents=n_agents, lam=lam, seed=seed)
    return MLPStrategicMap(base.features, base.labels, base.strategic, eps, lam, hidden)


# ------------------------------------------------------------------------------------------ the network (torch)
def _split(dmap: MLPStrategicMap, W):
    """(S, P) -> W1 (S, h, d), b1 (S, h), w2 (S, h), b2 (S,)."""
    h, d = dmap.hidden, dmap.d
    return W[:, : h * d].reshape(-1, h, d), W[:, h * d : h * d + h], W[:, h * d + h : h * d + 2 * h], W[:, -1]


def scores(dmap: MLPStrategicMap, W, X):
    """f_W(x) for a batch: W (S, P), X (S, n, d) -> f (S, n) and the hidden activations a (S, n, h) (None if
    linear)."""
    import torch

    if dmap.hidden == 0:
        return torch.einsum("snd,sd->sn", X, W), None
    W1, b1, w2, b2 = _split(dmap, W)
    a = torch.tanh(torch.einsum("snd,shd->snh", X, W1) + b1[:, None, :])
    return torch.einsum("snh,sh->sn", a, w2) + b2[:, None], a


def input_gradient(dmap: MLPStrategicMap, W, X):
    """grad_x f_W(x) (S, n, d): W1^T (w2 * (1 - a^2)) for the MLP, w for the linear model."""
    import torch

    if dmap.hidden == 0:
        return W[:, None, :].expand(X.shape)
    W1, _, w2, _ = _split(dmap, W)
    a = scores(dmap, W, X)[1]
    return torch.einsum("snh,shd->snd", (1 - a**2) * w2[:, None, :], W1)


def respond(dmap: MLPStrategicMap, W_map, X, y):
    """The agents' move against the deployed score: x' = x - eps M grad_x f_{W_map}(x), for every agent or (with
    ``moving_label``) only for the agents with that label."""
    import torch

    move = dmap.eps * torch.tensor(dmap.strategic, dtype=X.dtype) * input_gradient(dmap, W_map, X)
    if dmap.moving_label is not None:
        move = move * (y == dmap.moving_label)[..., None]
    return X - move


def param_jacobian(dmap: MLPStrategicMap, W, X):
    """d f_W(x) / d W at fixed x, (S, n, P), in closed form: [(w2 (1 - a^2)) x^T, w2 (1 - a^2), a, 1]."""
    import torch

    if dmap.hidden == 0:
        return X
    _, a = scores(dmap, W, X)
    _, _, w2, _ = _split(dmap, W)
    gate = (1 - a**2) * w2[:, None, :]  # (S, n, h)
    dW1 = (gate[..., :, None] * X[..., None, :]).flatten(2)
    return torch.cat([dW1, gate, a, torch.ones_like(a[..., :1])], dim=-1)


def decoupled_risk(dmap: MLPStrategicMap, W_model, W_map, X, y):
    """DR(W_model, W_map) on the agents X (S, n, d), labels y (S, n): mean logistic loss of the agents moved by
    W_map and scored by W_model, plus lam/2 |W_model|^2; (S,)."""
    import torch

    f = scores(dmap, W_model, respond(dmap, W_map, X, y))[0]
    return (torch.nn.functional.softplus(f) - y * f).mean(1) + 0.5 * dmap.lam * (W_model**2).sum(1)


def stop_gradient(dmap: MLPStrategicMap, W, X, y):
    """grad_1 DR(W, W) in closed form (backprop written out): J_f^T (sigmoid(f) - y) / n + lam W at x'(W)."""
    import torch

    Xm = respond(dmap, W, X, y)
    r = torch.sigmoid(scores(dmap, W, Xm)[0]) - y
    return torch.einsum("snp,sn->sp", param_jacobian(dmap, W, Xm), r) / X.shape[1] + dmap.lam * W


def full_gradient(dmap: MLPStrategicMap, W, X, y, create_graph: bool = False):
    """grad_W DR(W, W) by autograd: the reparameterised gradient through the agents' response (PerfGD with the
    exact map; the second derivatives of f enter through x'(W))."""
    import torch

    with torch.enable_grad():
        W = W if W.requires_grad else W.detach().requires_grad_(True)
        return torch.autograd.grad(decoupled_risk(dmap, W, W, X, y).sum(), W, create_graph=create_graph)[0]


def switch_gradient(dmap: MLPStrategicMap, W, X, y, mode: str):
    """The autograd switch of :mod:`aflab.partial_agency.torch_switch` on the MLP map: the map sees
    ``switch(W, mode)`` (W.detach() for "stop"). An independent implementation of :func:`stop_gradient` (tests)."""
    import torch

    from aflab.partial_agency.torch_switch import switch

    with torch.enable_grad():
        W = W.detach().requires_grad_(True)
        return torch.autograd.grad(decoupled_risk(dmap, W, switch(W, mode), X, y).sum(), W)[0]


def population(dmap: MLPStrategicMap, S: int):
    """The whole base population as a batch of S identical samples (a view, no copy)."""
    import torch

    X = torch.tensor(dmap.features, dtype=torch.float64)
    y = torch.tensor(dmap.labels, dtype=torch.float64)
    return X.expand(S, *X.shape), y.expand(S, *y.shape)


# ------------------------------------------------------------------------------------------ references
def _equation(dmap: MLPStrategicMap, W, X, y, kind: str, jacobian: bool):
    """The defining equation of theta_PS ("stable": grad_1 DR(w, w) = 0) or theta_PO ("optimum": grad PR(w) = 0),
    by autograd, and optionally its Jacobian in w (S, P, P) (one backward pass per coordinate; for PS it has
    both parts, d/dw of grad_1 DR(w_model, w_map) along w_model = w_map = w)."""
    import torch

    with torch.enable_grad():
        W = W.detach().requires_grad_(True)
        model = W * 1.0  # a separate node: the gradient below is taken in the model argument only
        risk = decoupled_risk(dmap, model, W, X, y).sum()
        r = torch.autograd.grad(risk, model if kind == "stable" else W, create_graph=jacobian)[0]
        if not jacobian:
            return r.detach(), None
        rows = [torch.autograd.grad(r[:, j].sum(), W, retain_graph=True)[0] for j in range(W.shape[1])]
        return r.detach(), torch.stack(rows, 1)


def _solve_equation(dmap: MLPStrategicMap, W, kind: str, steps: int, lr: float, newton_iters: int):
    """Exact population iteration W <- W - lr r(W) (``steps`` times: repeated gradient descent for PS, gradient
    descent on PR for PO), then Newton on r(W) = 0 with backtracking on |r|."""
    import torch

    X, y = population(dmap, W.shape[0])
    for _ in range(steps):
        W = W - lr * _equation(dmap, W, X, y, kind, jacobian=False)[0]
    for _ in range(newton_iters):
        r, J = _equation(dmap, W, X, y, kind, jacobian=True)
        norm = r.norm(dim=1)
        if float(norm.max()) < 1e-12:
            break
        step = torch.linalg.solve(J, r[..., None])[..., 0]
        best, accepted = W, torch.zeros(W.shape[0], dtype=torch.bool)
        for a in 0.5 ** torch.arange(6, dtype=W.dtype):
            cand = W - a * step
            ok = ~accepted & (_equation(dmap, cand, X, y, kind, jacobian=False)[0].norm(dim=1) < norm)
            best, accepted = torch.where(ok[:, None], cand, best), accepted | ok
        W = best
    return W


@dataclass(frozen=True)
class MLPReferences:
    """theta_PS and theta_PO reached from each initialisation (rows), with their certificates."""

    stable: np.ndarray
    optimum: np.ndarray
    stable_residual: np.ndarray  # |grad_1 DR_pop(PS, PS)| by autograd
    optimum_residual: np.ndarray  # |grad PR(PO)| by autograd
    optimum_min_eig: np.ndarray  # smallest eigenvalue of hess PR at PO (> 0: a strict local minimum)
    stable_spectral_abscissa: np.ndarray  # largest Re eig of -J_PS: < 0 means RGD with a small step is attracted

    @property
    def certified(self) -> np.ndarray:
        return (self.stable_residual < 1e-9) & (self.optimum_residual < 1e-9) & (self.optimum_min_eig > 0)


def reference_points(
    dmap: MLPStrategicMap, w0: np.ndarray, steps: int = 200, lr: float = 1.0, newton_iters: int = 12
) -> MLPReferences:
    """theta_PS (root of grad_1 DR_pop(w, w)) and theta_PO (local minimum of PR) from each row of ``w0``.

    Exact population quantities (the whole base population, no sampling) by autograd: ``steps`` gradient
    iterations with step ``lr`` -- repeated gradient descent for PS, gradient descent on PR for PO -- then Newton
    on the defining equation to machine precision; certified by the residual and the Hessian's eigenvalues.
    Independent of the sampled learners (no sampling; the stable point's equation comes from autograd, not from
    the closed-form gradient the learners use)."""
    import torch

    W0 = torch.tensor(_start(w0, dmap.n_params), dtype=torch.float64)
    ps = _solve_equation(dmap, W0, "stable", steps, lr, newton_iters)
    po = _solve_equation(dmap, W0, "optimum", steps, lr, newton_iters)
    X, y = population(dmap, W0.shape[0])
    r_ps, J_ps = _equation(dmap, ps, X, y, "stable", jacobian=True)
    r_po, H_po = _equation(dmap, po, X, y, "optimum", jacobian=True)
    return MLPReferences(
        stable=ps.numpy(),
        optimum=po.numpy(),
        stable_residual=r_ps.norm(dim=1).numpy(),
        optimum_residual=r_po.norm(dim=1).numpy(),
        optimum_min_eig=torch.linalg.eigvalsh(0.5 * (H_po + H_po.transpose(1, 2)))[:, 0].numpy(),
        stable_spectral_abscissa=(-torch.linalg.eigvals(J_ps).real).max(dim=1).values.numpy(),
    )


def function_values(dmap: MLPStrategicMap, W) -> np.ndarray:
    """f_W(x_i) on the unmoved base population, (S, N), for parameters W (S, P) (numpy in, numpy out)."""
    import torch

    W = torch.tensor(np.asarray(W, dtype=float))
    with torch.no_grad():
        return scores(dmap, W, population(dmap, W.shape[0])[0])[0].numpy()


def function_distance(dmap: MLPStrategicMap, W, V) -> np.ndarray:
    """RMS over the base population of f_W(x) - f_V(x) (unmoved x): the distance between two classifiers as
    functions (invariant to the MLP's hidden-unit permutations and sign flips). W, V: (S, P) arrays."""
    return np.sqrt(((function_values(dmap, W) - function_values(dmap, V)) ** 2).mean(1))


# ------------------------------------------------------------------------------------------ sampled learners
def _draw(dmap: MLPStrategicMap, S: int, n: int, rng: np.random.Generator):
    """n agents per chain, with replacement, from the base population (they move inside the risk)."""
    import torch

    idx = rng.integers(0, dmap.features.shape[0], size=(S, n))
    return torch.tensor(dmap.features[idx]), torch.tensor(dmap.labels[idx])


@dataclass(frozen=True)
class MLPSettings:
    """Settings of :func:`mlp_descent`: step lr / (1 + t / decay), n agents per deployment."""

    estimator: Estimator = "stop"
    lr: float = 1.0
    decay: float = 20.0
    n_samples: int = 1000


def mlp_descent(
    dmap: MLPStrategicMap, w0: np.ndarray, rounds: int, rng: np.random.Generator, settings: MLPSettings, **certificate
) -> LearnerRun:
    """Sampled gradient descent, one fresh deployment per step: ``estimator="stop"`` is RGD / greedy SGD (the
    gradient treats the moved agents as fixed data), ``"full"`` differentiates through the agents' response
    (PerfGD with the exact reparameterised map: x' depends on w through grad_x f_w). Limit = mean of the last
    quarter of the iterates (:attr:`LearnerRun.limit`)."""
    import torch

    if settings.estimator not in ("stop", "full"):
        raise ValueError(f"estimator must be 'stop' or 'full'; got {settings.estimator!r}")
    if rounds < 1 or settings.lr <= 0 or settings.n_samples < 1 or settings.decay <= 0:
        raise ValueError("rounds >= 1, lr > 0, decay > 0 and n_samples >= 1 are required")
    step_of = stop_gradient if settings.estimator == "stop" else full_gradient
    W = torch.tensor(_start(w0, dmap.n_params), dtype=torch.float64)
    traj = [W.numpy().copy()]
    with torch.no_grad():
        for t in range(rounds):
            X, y = _draw(dmap, W.shape[0], settings.n_samples, rng)
            W = W - settings.lr / (1 + t / settings.decay) * step_of(dmap, W, X, y)
            traj.append(W.numpy().copy())
    return _finish(f"mlp-{settings.estimator}", np.stack(traj, axis=1), 0.05, 1e6, **certificate)


def sample_hessian(dmap: MLPStrategicMap, W, Xm, y):
    """Gradient and Hessian in w of the logistic risk on *fixed* (already moved) agents Xm, in closed form:
    H = J_f^T diag(sigma'(f)) J_f / n + sum_i (sigma(f_i) - y_i) hess f_i / n + lam I, where hess f of a tanh unit
    j is w2_j (-2 a s) x~ x~^T in (W1_j, b1_j) and s x~ between (W1_j, b1_j) and w2_j (x~ = [x, 1], s = 1 - a^2).
    Returns g (S, P), H (S, P, P)."""
    import torch

    S, n = Xm.shape[:2]
    f, a = scores(dmap, W, Xm)
    Jf = param_jacobian(dmap, W, Xm)
    sg = torch.sigmoid(f)
    r = sg - y
    g = torch.einsum("snp,sn->sp", Jf, r) / n + dmap.lam * W
    H = torch.bmm((Jf * (sg * (1 - sg))[..., None]).transpose(1, 2), Jf) / n
    H = H + dmap.lam * torch.eye(W.shape[1], dtype=W.dtype)
    if dmap.hidden == 0:
        return g, H
    h, d = dmap.hidden, dmap.d
    w2 = _split(dmap, W)[2]
    xt = torch.cat([Xm, torch.ones_like(Xm[..., :1])], dim=-1)  # (S, n, d + 1)
    sech2 = 1 - a**2
    q = r[..., None] * (-2 * a * sech2 * w2[:, None, :])  # (S, n, h)
    outer = (xt[..., :, None] * xt[..., None, :]).flatten(2)  # (S, n, (d + 1)^2)
    curv = torch.bmm(q.transpose(1, 2), outer).reshape(S, h, d + 1, d + 1) / n
    mixed = torch.bmm((r[..., None] * sech2).transpose(1, 2), xt) / n
    unit = torch.arange(h)[:, None]
    idx = torch.where(torch.arange(d + 1)[None, :] < d, unit * d + torch.arange(d + 1)[None, :], h * d + unit)
    H = H.clone()
    H[:, idx[:, :, None], idx[:, None, :]] += curv
    w2_idx = (h * d + h + unit).expand(h, d + 1)
    H[:, idx, w2_idx] += mixed
    H[:, w2_idx, idx] += mixed
    return g, H


def _newton_minimise(dmap: MLPStrategicMap, W_map, X, y, iters: int, tol: float = 1e-10):
    """argmin_w DR(w, W_map) on fixed agents, warm-started at W_map: Newton steps with the exact Hessian
    (:func:`sample_hessian`) whose eigenvalues are replaced by max(|lambda|, lam / 10) (saddle-free Newton: where
    the loss is locally non-convex the step still descends; near a minimum it is Newton's), with backtracking on
    the risk, until every chain's gradient norm is below ``tol`` (quadratic convergence near the minimum)."""
    import torch

    Xm = respond(dmap, W_map, X, y)
    W = W_map.clone()

    def risk(V):
        f = scores(dmap, V, Xm)[0]
        return (torch.nn.functional.softplus(f) - y * f).mean(1) + 0.5 * dmap.lam * (V**2).sum(1)

    for _ in range(iters):
        g, H = sample_hessian(dmap, W, Xm, y)
        if float(g.norm(dim=1).max()) < tol:
            break
        lam_h, V = torch.linalg.eigh(H)
        coef = torch.einsum("spk,sp->sk", V, g) / torch.clamp(lam_h.abs(), min=0.1 * dmap.lam)
        step = torch.einsum("spk,sk->sp", V, coef)
        f0 = risk(W)
        best, accepted = W, torch.zeros(W.shape[0], dtype=torch.bool)
        for a in 0.5 ** torch.arange(8, dtype=W.dtype):
            cand = W - a * step
            ok = ~accepted & (risk(cand) <= f0 - 1e-4 * a * (g * step).sum(1))
            best, accepted = torch.where(ok[:, None], cand, best), accepted | ok
            if bool(accepted.all()):
                break
        W = best
    return W


def mlp_rrm(
    dmap: MLPStrategicMap,
    w0: np.ndarray,
    rounds: int,
    rng: np.random.Generator,
    n_samples: int = 1000,
    inner_iters: int = 20,
    **certificate,
) -> LearnerRun:
    """Repeated (empirical) risk minimisation: w_{t+1} = argmin_w DR_sample(w, w_t) on n fresh agents moved by
    w_t (Perdomo et al. 2020 sec. 3.2), the inner problem solved by Newton's method warm-started at w_t."""
    import torch

    if rounds < 1 or n_samples < 1 or inner_iters < 1:
        raise ValueError("rounds, n_samples and inner_iters must be >= 1")
    W = torch.tensor(_start(w0, dmap.n_params), dtype=torch.float64)
    traj = [W.numpy().copy()]
    with torch.no_grad():
        for _ in range(rounds):
            X, y = _draw(dmap, W.shape[0], n_samples, rng)
            W = _newton_minimise(dmap, W, X, y, inner_iters)
            traj.append(W.numpy().copy())
    return _finish("mlp-rrm", np.stack(traj, axis=1), 0.05, 1e6, **certificate)
