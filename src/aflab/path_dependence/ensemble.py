"""Train an ensemble of same-width MLPs at once: ``torch.func.functional_call`` + ``vmap``.

Every member has its own parameters, its own minibatch order (``batch_idx[e, t]``) and its own
input mask (``input_mask[e, t]``, used by curricula and feature schedules), so the manipulations
of the path-dependence experiments (data order, perturbation spawned at step k, init seed, early
curriculum, feature schedules) are all just different index / mask arrays. The update is plain
SGD with per-layer learning-rate multipliers from :mod:`.parametrization`:

    W_l <- W_l - lr * lr_mult_l * dL/dW_l

Two engines compute the same update (tests require agreement to 1e-4 with a per-member autograd loop):

- ``"vmap"``: ``vmap(functional_call(model, params, x))`` forward and one reverse pass of
  ``sum_e L_e`` (members are independent, so this is every member's own gradient). Generic.
- ``"fused"`` (default for MLPs; ``"auto"`` picks it): the bias-free ReLU MLP's backward pass written out with batched matmuls
  ``bmm``. Same FLOPs, but the weight gradients come out contiguous: autograd through the vmapped
  linear layer returns them as transposed views, and the strided in-place update then costs
  more than the matmuls at large width (measured in benchmarks/bench_path_dependence_vmap.py).
  Under SGD it never materialises a weight gradient: each one is accumulated into its weight by
  the GEMM that computes it (``fused_sgd_step``), 1.2x faster than gradient-then-update at width
  >= 2048 (benchmarks/bench_path_dependence_gemm_ratio.py).

Losses: cross-entropy (``"ce"``), squared error to one-hot targets (``"mse"``, 1/2 sum over
classes), and spectral decoupling (``"sd"``, Pezeshki et al. 2021, "Gradient Starvation", eq. 7:
cross-entropy + lambda/2 * ||logits||^2), which is designed to counter gradient starvation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, jvp, vmap

from aflab.path_dependence.choices import LOSSES
from aflab.path_dependence.parametrization import (
    MLPSpec,
    build_model,
    init_params,
    layer_scales,
    lr_multipliers,
    meta_model,
)

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Optimizer:
    """The update rule: plain SGD, or Adam (Kingma & Ba 2015, torch's bias-corrected form) with each layer's
    ``adam_lr_mult`` / ``adam_eps_mult`` from :func:`.parametrization.layer_scales` (MuAdam under muP)."""

    kind: str = "sgd"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.kind not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.kind!r}")


SGD = Optimizer()


@dataclass(frozen=True)
class StopRule:
    """Train each member until its *full-batch* train loss on ``rows`` is ``<= target``.

    The loss is evaluated every ``every`` steps. A member's parameters are copied when it first reaches
    the target (its *converged* snapshot); it keeps training (so its trajectory, and its fixed-step
    snapshots, do not depend on the rule), and training ends once every member has reached the target
    and every requested snapshot is taken, or at the step cap (the length of ``batch_idx``).
    """

    target: float
    rows: torch.Tensor
    every: int = 50
    #: ``[E, d]``: each member's input mask for the evaluation (its schedule's last phase), if it trains masked
    input_mask: torch.Tensor | None = None
    #: the first step at which reaching the target counts (a feature schedule's end: no earlier snapshot)
    start: int = 0

    def __post_init__(self) -> None:
        if not self.target > 0:
            raise ValueError(f"stop_at_loss must be > 0, got {self.target}")
        if self.every < 1:
            raise ValueError(f"eval_every must be >= 1, got {self.every}")


@dataclass(frozen=True)
class TrainResult:
    """Final stacked params ``[E, ...]``, snapshots at requested steps, per-step train loss ``[T, E]``.

    With a :class:`StopRule`: ``hit_params`` (each member's params when it first reached the target;
    its final params if it never did), ``hit_step`` ``[E]`` (that step, -1 if the cap came first),
    ``hit_loss`` ``[E]`` (its full-batch loss then, or at the cap), and ``eval_curve`` ``[(step, [E])]``.
    """

    params: Params
    snapshots: dict[int, Params]
    loss_curve: torch.Tensor
    hit_params: Params | None = None
    hit_step: torch.Tensor | None = None
    hit_loss: torch.Tensor | None = None
    eval_curve: tuple[tuple[int, torch.Tensor], ...] = ()

    @property
    def steps_done(self) -> int:
        return int(self.loss_curve.shape[0])


def loss_value(logits: torch.Tensor, y: torch.Tensor, loss: str, sd_lambda: float = 0.0) -> torch.Tensor:
    if loss == "ce":
        return F.cross_entropy(logits, y)
    if loss == "mse":
        onehot = (y[..., None] == torch.arange(logits.shape[-1])).to(logits.dtype)  # vmap-safe one_hot
        return 0.5 * ((logits - onehot) ** 2).sum(-1).mean()
    if loss == "sd":
        return F.cross_entropy(logits, y) + 0.5 * sd_lambda * (logits**2).sum(-1).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def stack_params(members: list[Params]) -> Params:
    return {k: torch.stack([m[k] for m in members]) for k in members[0]}


def init_ensemble(spec: MLPSpec, init_seeds: list[int]) -> Params:
    """Stacked init params, one member per entry of ``init_seeds`` (equal seeds -> equal init)."""
    cache: dict[int, Params] = {}
    for s in init_seeds:
        if s not in cache:
            cache[s] = init_params(spec, torch.Generator().manual_seed(int(s)))
    return stack_params([cache[s] for s in init_seeds])


def forward_ensemble(
    spec: MLPSpec, params: Params, x: torch.Tensor, return_hidden: bool = False, linearize_at: Params | None = None
):
    """Logits ``[E, N, k]`` (and hidden activations, a list of ``[E, N, n]``) on shared inputs ``x``.

    ``linearize_at=p0``: the logits of the *linearized* model instead, the first-order Taylor expansion
    around ``p0`` (Lee et al. 2019, eq. 6): ``f_lin(x; p) = f(x; p0) + J(x; p0) (p - p0)``, one
    ``torch.func.jvp`` per member.
    """
    model = meta_model(spec)
    if linearize_at is not None:
        if return_hidden:
            raise ValueError("the linearized model has no hidden activations of its own; use return_hidden=False")
        if isinstance(spec, MLPSpec) and not spec.bias:  # forward tangent propagation written out (= the jvp)
            n_mem = next(iter(params.values())).shape[0]
            return _fused_linearized_logits(spec, params, linearize_at, x.expand(n_mem, *x.shape))[0]
        return vmap(_linearized_logits(model), in_dims=(0, 0, None))(params, linearize_at, x)

    def one(p):
        return functional_call(model, p, (x,), {"return_hidden": return_hidden})

    return vmap(one)(params)


def _linearized_logits(model):
    """``one(p, p0, x) = f(x; p0) + J(x; p0)(p - p0)`` for one member (used under vmap)."""

    def one(p, p0, x):
        def f(q):
            return functional_call(model, q, (x,))

        out, tangent = jvp(f, (p0,), ({k: p[k] - p0[k] for k in p},))
        return out + tangent

    return one


def full_batch_loss(
    spec,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: str = "ce",
    sd_lambda: float = 0.0,
    linearize_at: Params | None = None,
    input_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-member loss ``[E]`` on the whole of ``x`` (no gradient), in chunks of 2048 rows; ``input_mask``
    ``[E, d]`` multiplies member e's inputs (not with ``linearize_at``)."""
    with torch.no_grad():
        total = torch.zeros(next(iter(params.values())).shape[0])
        for lo in range(0, x.shape[0], 2048):
            xb, yb = x[lo : lo + 2048], y[lo : lo + 2048]
            if input_mask is not None:
                model = meta_model(spec)
                logits = vmap(lambda p, xe: functional_call(model, p, (xe,)))(params, xb * input_mask[:, None, :])
            else:
                logits = forward_ensemble(spec, params, xb, linearize_at=linearize_at)
            total += ensemble_loss(logits, yb, loss, sd_lambda) * len(yb)
        return total / x.shape[0]


def ensemble_loss(logits: torch.Tensor, y: torch.Tensor, loss: str = "ce", sd_lambda: float = 0.0) -> torch.Tensor:
    """:func:`loss_value` of every member at once: logits ``[E, N, k]``, shared labels ``[N]`` -> ``[E]``."""
    onehot = F.one_hot(y, logits.shape[-1]).to(logits.dtype)
    if loss == "mse":
        return 0.5 * ((logits - onehot) ** 2).sum(-1).mean(-1)
    value = -(torch.log_softmax(logits, -1) * onehot).sum(-1).mean(-1)
    if loss == "sd":
        value = value + 0.5 * sd_lambda * (logits**2).sum(-1).mean(-1)
    elif loss != "ce":
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return value


def _fused_linearized_logits(spec: MLPSpec, params: Params, p0: Params, xb: torch.Tensor):
    """Logits of the linearized bias-free MLP by forward tangent propagation (the jvp written out):
    ``z_l = h_{l-1} W0_l^T``, ``dz_l = dh_{l-1} W0_l^T + h_{l-1} dW_l^T``, ``dh_l = relu'(z_l) dz_l``;
    returns ``(f0 + df, primal activations)`` for :func:`fused_loss_and_grads`'s backward."""
    names = _weight_names(spec)
    hs, th = [xb], None
    for name in names:
        w0, dw = p0[name], params[name] - p0[name]
        z = torch.bmm(hs[-1], w0.transpose(1, 2))
        tz = torch.bmm(hs[-1], dw.transpose(1, 2))
        if th is not None:
            tz = tz + torch.bmm(th, w0.transpose(1, 2))
        if name == names[-1]:
            return z + tz, hs
        hs.append(torch.relu(z))
        th = _relu_backward(tz, hs[-1])
    raise AssertionError("unreachable")


def fused_loss_and_grads(
    spec: MLPSpec,
    params: Params,
    xb: torch.Tensor,
    yb: torch.Tensor,
    loss: str,
    sd_lambda: float = 0.0,
    linearize_at: Params | None = None,
) -> tuple[torch.Tensor, Params]:
    """Per-member losses ``[E]`` and contiguous gradients of a bias-free ReLU MLP, by explicit backprop.

    ``dL/dlogits`` is ``(softmax - onehot)/B`` (ce), ``(logits - onehot)/B`` (mse), ce's plus
    ``lambda * logits / B`` (sd); then ``dW_l = dz_l^T h_{l-1}`` and ``dh_{l-1} = dz_l W_l`` per layer.
    With ``linearize_at=p0`` the model is the linearization around ``p0``: its gradient is the same
    backward pass with the weights and activations frozen at ``p0`` (``J(p0)^T dL/df_lin``).
    """
    if linearize_at is not None:
        out, hs = _fused_linearized_logits(spec, params, linearize_at, xb)
        weights = linearize_at
    else:
        hs, out = _fused_forward(spec, params, xb)
        weights = params
    values, g = _output_delta(out, yb, loss, sd_lambda)
    grads = {}

    def keep(name, delta, h):
        grads[name] = torch.bmm(delta.transpose(1, 2), h)

    _fused_backward(spec, weights, hs, g, keep)
    return values, grads


def fused_sgd_step(
    spec: MLPSpec, params: Params, xb: torch.Tensor, yb: torch.Tensor, loss: str, sd_lambda: float, rates: dict
) -> torch.Tensor:
    """One SGD step of a bias-free ReLU MLP ensemble in place; returns the per-member losses ``[E]`` before it.

    The same backprop as :func:`fused_loss_and_grads`, but each weight gradient is accumulated straight into
    its weight by one GEMM, ``W_l <- W_l - r_l dz_l^T h_{l-1}`` (``baddbmm_``), after ``dh_{l-1} = dz_l W_l``
    has used the old ``W_l``. The gradient is never materialised, which saves one write and two reads of a
    weight-sized tensor per layer and step: 1.05-1.2x faster than that two-pass update at width >= 2048
    (``benchmarks/bench_path_dependence_gemm_ratio.py``). ``rates[name]``: a float, or ``[E, 1, 1]`` per member
    (then ``dz_l`` is scaled before the product, a batch-sized multiply). Equal to the two-pass update up to
    float rounding (the GEMM accumulates into ``W``)."""
    hs, out = _fused_forward(spec, params, xb)
    values, g = _output_delta(out, yb, loss, sd_lambda)

    def descend(name, delta, h):
        r = rates[name]
        if isinstance(r, float):
            params[name].baddbmm_(delta.transpose(1, 2), h, alpha=-r)
        else:
            params[name].baddbmm_((delta * r).transpose(1, 2), h, alpha=-1.0)

    _fused_backward(spec, params, hs, g, descend)
    return values


def _fused_forward(spec: MLPSpec, params: Params, xb: torch.Tensor):
    """``(activations [x, h_1, ..., h_L], logits)`` of the bias-free ReLU MLP, ``h_l = relu(h_{l-1} W_l^T)``."""
    names = _weight_names(spec)
    hs = [xb]
    for name in names[:-1]:
        hs.append(torch.relu(torch.bmm(hs[-1], params[name].transpose(1, 2))))
    return hs, torch.bmm(hs[-1], params[names[-1]].transpose(1, 2))


def _output_delta(out: torch.Tensor, yb: torch.Tensor, loss: str, sd_lambda: float):
    """Per-member losses ``[E]`` and ``dL/dlogits`` (see :func:`fused_loss_and_grads`)."""
    b = out.shape[1]
    onehot = torch.eye(out.shape[-1], dtype=out.dtype)[yb]
    if loss == "mse":
        return 0.5 * ((out - onehot) ** 2).sum(-1).mean(-1), (out - onehot) / b
    shifted = out - out.amax(-1, keepdim=True)  # log-softmax in three ops: 2x faster than aten's here at k = 10
    logp = shifted - shifted.exp().sum(-1, keepdim=True).log()
    values = -(logp * onehot).sum(-1).mean(-1)
    g = (logp.exp() - onehot) / b
    if loss == "sd":
        values = values + 0.5 * sd_lambda * (out**2).sum(-1).mean(-1)
        g = g + sd_lambda * out / b
    return values, g


def _fused_backward(spec: MLPSpec, weights: Params, hs: list, g: torch.Tensor, use) -> None:
    """Walk the layers from the readout down calling ``use(name, dz_l, h_{l-1})``; ``dh_{l-1} = dz_l W_l`` is
    computed before ``use`` runs, so ``use`` may update ``W_l`` in place."""
    names = _weight_names(spec)
    for i in range(len(names) - 1, -1, -1):
        below = _relu_backward(torch.bmm(g, weights[names[i]]), hs[i]) if i > 0 else None
        use(names[i], g, hs[i])
        g = below


def _weight_names(spec: MLPSpec) -> list[str]:
    return [f"layers.{i}.weight" for i in range(spec.n_hidden + 1)]


def _relu_backward(grad: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """``grad * (activation > 0)`` for ``activation = relu(z)`` (so ``activation > 0`` iff ``z > 0``), in
    one vectorised pass: aten's ReLU backward, 4-5x faster on CPU than a multiply by a bool mask (which
    first converts the mask) and bit-identical to it."""
    return torch.ops.aten.threshold_backward(grad, activation, 0.0)


def train_ensemble(
    spec: MLPSpec,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_idx: torch.Tensor,
    lr: float,
    loss: str = "ce",
    sd_lambda: float = 0.0,
    input_mask: torch.Tensor | None = None,
    snapshot_steps: tuple[int, ...] = (),
    engine: str = "auto",
    stop: StopRule | None = None,
    linearize_at: Params | None = None,
    optimizer: Optimizer = SGD,
) -> TrainResult:
    """SGD (or Adam: ``optimizer``) on every member at once; ``lr`` is one base LR or one per member ``[E]``.

    ``linearize_at=p0`` trains the linearized model around ``p0`` instead (see :func:`forward_ensemble`):
    the same SGD on the same batches, with gradients ``J(p0)^T dL/df_lin`` (``torch.func`` grad of a jvp).

    ``batch_idx``: long ``[E, T, B]`` rows of ``x`` for member e at step t (``T`` is the step cap when a
    ``stop`` rule is given). ``input_mask``: optional ``[E, T, d]`` multiplier of the inputs (0 hides a
    feature). Snapshots are taken *after* ``t`` steps for each ``t`` in ``snapshot_steps`` (0 = init).
    """
    engine = _check_train_args(spec, loss, batch_idx, engine, stop, input_mask)
    _check_member_lr(lr, batch_idx.shape[0])
    if linearize_at is not None:
        engine = "linearized"
        lin0 = {k: v.detach() for k, v in linearize_at.items()}
    n_steps, n_mem = batch_idx.shape[1], batch_idx.shape[0]
    p0 = lin0 if linearize_at is not None else None
    advance = _advance_function(spec, loss, sd_lambda, engine, optimizer, lr, n_mem, p0)
    snapshots: dict[int, Params] = {}
    curve = torch.empty(n_steps, n_mem)
    params = {k: v.detach().clone().contiguous().requires_grad_(engine == "vmap") for k, v in params.items()}
    tracker = _StopTracker(stop, params, n_mem, linearize_at) if stop is not None else None
    last_snapshot = max(snapshot_steps, default=0)
    if 0 in snapshot_steps:
        snapshots[0] = {k: v.detach().clone() for k, v in params.items()}
    done = n_steps
    for t in range(n_steps):
        idx = batch_idx[:, t]
        xb = x[idx]
        if input_mask is not None:  # past the mask's end its last step's mask holds
            xb = xb * input_mask[:, min(t, input_mask.shape[1] - 1), None, :]
        curve[t] = advance(params, xb, y[idx], t + 1).detach()
        if t + 1 in snapshot_steps:
            snapshots[t + 1] = {k: v.detach().clone() for k, v in params.items()}
        if (
            tracker is not None
            and tracker.update(t + 1, spec, params, x, y, loss, sd_lambda)
            and t + 1 >= last_snapshot
        ):
            done = t + 1
            break
    params = {k: v.detach() for k, v in params.items()}
    if tracker is None:
        return TrainResult(params, snapshots, curve[:done])
    return tracker.result(params, snapshots, curve[:done], done, spec, x, y, loss, sd_lambda)


def _advance_function(spec, loss, sd_lambda, engine, optimizer: Optimizer, lr, n_mem: int, p0):
    """``advance(params, xb, yb, t) -> per-member losses [E]``: one optimizer step (step ``t``) in place.

    The fused engine under SGD accumulates the gradients straight into the weights (:func:`fused_sgd_step`);
    every other combination computes the gradients (:func:`_step_function`) and then updates (:func:`_updater`).
    """
    if engine == "fused" and optimizer.kind == "sgd":
        rates = {s.name: _layer_rate(lr, n_mem, s.lr_mult, 3) for s in layer_scales(spec)}
        return lambda params, xb, yb, t: fused_sgd_step(spec, params, xb, yb, loss, sd_lambda, rates)
    step = _step_function(spec, loss, sd_lambda, engine, p0)
    update = _updater(spec, optimizer, lr, n_mem)

    def advance(params, xb, yb, t):
        value, grads = step(params, xb, yb)
        with torch.no_grad():
            update(params, grads, t)
        return value

    return advance


def _layer_rate(lr, n_mem: int, mult: float, ndim: int):
    """``lr_e * mult``: a float when every member shares the LR (the plain fast path), else ``[E, 1, ...]``."""
    lr_e = torch.as_tensor(lr, dtype=torch.float32).expand(n_mem)
    if lr_e.unique().numel() == 1:
        return float(lr_e[0]) * mult
    return (lr_e * mult).view(-1, *[1] * (ndim - 1))


def _updater(spec, optimizer: Optimizer, lr, n_mem: int):
    """``update(params, grads, t)`` in place: ``W -= lr_e * mult * g`` (SGD) or the Adam step at step ``t``."""
    scales = {s.name: s for s in layer_scales(spec)}
    rates: dict[str, float | torch.Tensor] = {}

    def rate(k, g):  # this layer's lr_e * multiplier, computed on its first step
        if k not in rates:
            mult = scales[k].lr_mult if optimizer.kind == "sgd" else scales[k].adam_lr_mult
            rates[k] = _layer_rate(lr, n_mem, mult, g.ndim)
        return rates[k]

    if optimizer.kind == "sgd":

        def sgd(params, grads, t):
            for k, g in grads.items():
                a = rate(k, g)
                params[k].sub_(g, alpha=a) if isinstance(a, float) else params[k].sub_(g * a)

        return sgd
    b1, b2 = optimizer.betas
    state: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def adam(params, grads, t):  # torch.optim.Adam (foreach=False), per layer multipliers
        c1, c2 = 1 - b1**t, math.sqrt(1 - b2**t)
        for k, g in grads.items():
            m, v = state.setdefault(k, (torch.zeros_like(g), torch.zeros_like(g)))
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / c2).add_(optimizer.eps * scales[k].adam_eps_mult)
            a = rate(k, g)
            params[k].sub_((m / denom) * (a / c1))

    return adam


def _check_train_args(spec, loss, batch_idx, engine, stop, input_mask) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if batch_idx.ndim != 3:
        raise ValueError(f"batch_idx must have shape [members, steps, batch], got {tuple(batch_idx.shape)}")
    if engine not in ("auto", "fused", "vmap"):
        raise ValueError(f"engine must be 'auto', 'fused' or 'vmap', got {engine!r}")
    fusable = isinstance(spec, MLPSpec) and not spec.bias
    if engine == "auto":  # the fused backprop is written for the bias-free MLP only
        engine = "fused" if fusable else "vmap"
    if engine == "fused" and not fusable:
        raise ValueError("engine='fused' supports a bias-free MLPSpec only; use engine='vmap' for a CNN or biases")
    if stop is not None and input_mask is not None and stop.input_mask is None:
        raise ValueError("training with input_mask and a stop rule: give the rule the members' input_mask [E, d]")
    return engine


def _check_member_lr(lr, n_mem: int) -> None:
    """``lr``: one finite number >= 0 (0 freezes a member: a control), or one per member (shape ``[E]``, ``E = batch_idx.shape[0]``)."""
    lr_t = torch.as_tensor(lr, dtype=torch.float32)
    if lr_t.ndim > 1 or (lr_t.ndim == 1 and lr_t.numel() != n_mem):
        raise ValueError(
            f"lr must be one number or one per member (shape [{n_mem}], as batch_idx's first axis), "
            f"got shape {tuple(lr_t.shape)}"
        )
    if not bool(torch.isfinite(lr_t).all()) or bool((lr_t < 0).any()):
        raise ValueError(f"lr must be finite and >= 0, got {lr_t.tolist()}")


def _step_function(spec, loss: str, sd_lambda: float, engine: str, p0: Params | None = None):
    """``step(params, xb, yb) -> (per-member losses [E], {name: gradient})`` for the chosen engine."""
    if engine == "linearized" and isinstance(spec, MLPSpec) and not spec.bias:  # "jvp": the generic engine

        def fused_linearized(params, xb, yb):
            return fused_loss_and_grads(spec, params, xb, yb, loss, sd_lambda, linearize_at=p0)

        return fused_linearized
    if engine in ("linearized", "jvp"):
        lin = _linearized_logits(meta_model(spec))

        def lin_loss(p, p0m, xb, yb):
            return loss_value(lin(p, p0m, xb), yb, loss, sd_lambda)

        per_member = vmap(grad_and_value(lin_loss))

        def linearized(params, xb, yb):
            grads, value = per_member(params, p0, xb, yb)
            return value, grads

        return linearized
    if engine == "fused":

        def fused(params, xb, yb):
            return fused_loss_and_grads(spec, params, xb, yb, loss, sd_lambda)

        return fused
    model = meta_model(spec)

    def member_loss(p, xb, yb):
        return loss_value(functional_call(model, p, (xb,)), yb, loss, sd_lambda)

    # Members are independent, so d(sum_e L_e)/d theta_e = dL_e/d theta_e: one vmapped forward and one
    # reverse pass give every member's gradient (2x less overhead than vmap(grad(...)) for small nets).
    member_losses = vmap(member_loss)

    def vmapped(params, xb, yb):
        value = member_losses(params, xb, yb)
        names = list(params)
        grads = torch.autograd.grad(value.sum(), [params[k] for k in names])
        return value, dict(zip(names, grads))

    return vmapped


class _StopTracker:
    """Book-keeping of a :class:`StopRule` inside :func:`train_ensemble` (one instance per call)."""

    def __init__(self, stop: StopRule, params: Params, n_mem: int, linearize_at: Params | None = None):
        self.stop = stop
        self.linearize_at = linearize_at
        self.hit_params = {k: v.detach().clone() for k, v in params.items()}
        self.hit_step = torch.full((n_mem,), -1, dtype=torch.long)
        self.hit_loss = torch.full((n_mem,), float("nan"))
        self.evals: list[tuple[int, torch.Tensor]] = []

    def update(self, t: int, spec, params, x, y, loss, sd_lambda) -> bool:
        """Evaluate at step ``t`` if due; True once every member has reached the target."""
        if t % self.stop.every or t < self.stop.start:
            return False
        rows = self.stop.rows
        full = full_batch_loss(spec, params, x[rows], y[rows], loss, sd_lambda, self.linearize_at, self.stop.input_mask)
        self.evals.append((t, full))
        new = (full <= self.stop.target) & (self.hit_step < 0)
        if new.any():
            with torch.no_grad():
                for k, v in params.items():
                    self.hit_params[k][new] = v.detach()[new]
            self.hit_step[new] = t
            self.hit_loss[new] = full[new]
        return bool((self.hit_step >= 0).all())

    def result(self, params, snapshots, curve, done, spec, x, y, loss, sd_lambda) -> TrainResult:
        missed = self.hit_step < 0
        if missed.any():  # the cap came first: report the final params and their full-batch loss
            rows = self.stop.rows
            last = full_batch_loss(
                spec, params, x[rows], y[rows], loss, sd_lambda, self.linearize_at, self.stop.input_mask
            )
            for k, v in params.items():
                self.hit_params[k][missed] = v[missed]
            self.hit_loss[missed] = last[missed]
        return TrainResult(params, snapshots, curve, self.hit_params, self.hit_step, self.hit_loss, tuple(self.evals))


def train_loop_reference(
    spec: MLPSpec,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_idx: torch.Tensor,
    lr: float,
    loss: str = "ce",
    sd_lambda: float = 0.0,
) -> Params:
    """Plain per-member Python loop with ``torch.autograd`` (baseline for tests and the benchmark)."""
    mults = lr_multipliers(spec)
    out = {k: [] for k in params}
    for e in range(batch_idx.shape[0]):
        net = build_model(spec)
        with torch.no_grad():
            for k, p in net.named_parameters():
                p.copy_(params[k][e])
        for t in range(batch_idx.shape[1]):
            idx = batch_idx[e, t]
            net.zero_grad()
            loss_value(net(x[idx]), y[idx], loss, sd_lambda).backward()
            with torch.no_grad():
                for k, p in net.named_parameters():
                    p.sub_(p.grad, alpha=lr * mults[k])
        for k, p in net.named_parameters():
            out[k].append(p.detach().clone())
    return {k: torch.stack(v) for k, v in out.items()}
