"""The generic stop-gradient vs full-gradient switch, for any differentiable (torch) model of the world.

"Partial agency" in one line of autograd: a *myopic* learner computes its loss on data sampled
from D(theta.detach()) -- the world's response to its parameters is a constant to it -- while a
*full* learner samples from D(theta) with the reparameterisation z = g(theta, xi), so the
gradient flows through the world too (d/dtheta E_xi l(g(theta, xi); theta)).
Nothing else differs: same loss, same samples, same optimiser.

:func:`performative_descent` takes any ``sample(theta, n, generator) -> z`` that is differentiable in
theta and any ``loss(z, theta) -> (S, n)``; :func:`torch_world` builds those two for the maps in
:mod:`aflab.partial_agency.maps` that are reparameterisable (linear-Gaussian, strategic classification).
torch is imported lazily: this module is optional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from aflab.partial_agency.learners import LearnerRun, _finish


def switch(theta, mode: Literal["stop", "full"]):
    """The switch itself: what the world model sees of theta."""
    if mode == "stop":
        return theta.detach()
    if mode == "full":
        return theta
    raise ValueError(f"mode must be 'stop' or 'full'; got {mode!r}")


def performative_descent(
    sample: Callable,
    loss: Callable,
    theta0: np.ndarray,
    mode: Literal["stop", "full"],
    rounds: int = 200,
    lr: float = 0.1,
    n_samples: int = 1000,
    seed: int = 0,
    tol: float = 0.02,
    blowup: float = 1e6,
    optimizer: str = "sgd",
    **certificate,
) -> LearnerRun:
    """Gradient descent on mean loss(sample(switch(theta, mode)), theta), vectorised over seeds (rows of theta).

    mode="stop" reaches performatively stable points (it is RGD); mode="full" descends the
    performative risk itself and reaches performative optima (local minima of PR).
    """
    import torch

    if rounds < 1 or lr <= 0 or n_samples < 1:
        raise ValueError("rounds >= 1, lr > 0 and n_samples >= 1 are required")
    switch(torch.zeros(1), mode)  # validates mode
    gen = torch.Generator().manual_seed(int(seed))
    theta = torch.tensor(np.atleast_2d(theta0), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr) if optimizer == "sgd" else torch.optim.Adam([theta], lr=lr)
    traj = [theta.detach().numpy().copy()]
    for _ in range(rounds):
        opt.zero_grad()
        z = sample(switch(theta, mode), n_samples, gen)
        objective = loss(z, theta).mean(dim=1).sum()  # seeds are independent: sum of per-seed means
        objective.backward()
        opt.step()
        with torch.no_grad():
            bad = ~torch.isfinite(theta).all(dim=1) | (theta.abs().amax(dim=1) > blowup)
            theta[bad] = float("nan")
        traj.append(theta.detach().numpy().copy())
    return _finish(f"torch-{mode}", np.stack(traj, axis=1), tol, blowup, **certificate)


def torch_world(dmap) -> tuple[Callable, Callable]:
    """(sample, loss) in torch for a reparameterisable map: LinearGaussianMap or StrategicClassification."""
    import torch

    name = type(dmap).__name__
    if name == "LinearGaussianMap":
        mu = torch.tensor(dmap.mu)
        A = torch.tensor(dmap.A)

        def sample(theta, n, gen):
            xi = torch.randn((theta.shape[0], n, dmap.dim), generator=gen, dtype=torch.float64)
            return (mu + theta @ A.T)[:, None, :] + dmap.sigma * xi

        def loss(z, theta):
            th = theta[:, None, :]
            return 0.5 * dmap.gamma * (th**2).sum(-1) - (th * z).sum(-1) + 0.5 * dmap.c * (z**2).sum(-1)

        return sample, loss
    if name == "StrategicClassification":
        X = torch.tensor(dmap.features)
        y = torch.tensor(dmap.labels)
        mask = torch.tensor(dmap.strategic, dtype=torch.float64)

        def sample(theta, n, gen):
            idx = torch.randint(0, X.shape[0], (theta.shape[0], n), generator=gen)
            move = dmap.eps * (theta * mask)[:, None, :]
            if dmap.moving_label is not None:  # only agents with that label respond (as maps.shift does)
                move = move * (y[idx] == dmap.moving_label)[..., None]
            return torch.cat([X[idx] - move, y[idx][..., None]], dim=-1)

        def loss(z, theta):
            m = torch.einsum("snd,sd->sn", z[..., :-1], theta)
            return -z[..., -1] * m + torch.nn.functional.softplus(m) + 0.5 * dmap.lam * (theta**2).sum(-1)[:, None]

        return sample, loss
    raise ValueError(
        f"no reparameterised torch world for {name}: the map must move a location "
        "(LinearGaussianMap, StrategicClassification); for others pass your own sample/loss"
    )
