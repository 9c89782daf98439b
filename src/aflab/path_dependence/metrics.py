"""Metrics of feature movement and of path-dependence between runs.

All functions take stacked ensemble params (``[E, ...]``, see :mod:`.ensemble`) or plain tensors,
and return tensors of per-member / per-pair values.

- relative feature change  ``||h_T(X) - h_0(X)||_F / ||h_0(X)||_F`` per hidden layer
  (laziness: Chizat, Oyallon & Bach 2019; Yang & Hu 2021 Thm 3.3);
- relative weight change in spectral norm ``||dW||_2 / ||W_0||_2`` and Frobenius norm. Under muP a
  hidden matrix's Frobenius change shrinks ~ n^-1/2 while its spectral change (the one that
  moves features) stays Theta(1) (Yang, Simon & Bernstein 2023, "A spectral condition for
  feature learning");
- empirical NTK distance ``1 - <K_0, K_T>_F / (||K_0||_F ||K_T||_F)`` (Fort et al. 2020, eq. 4)
  with K the trace-over-logits NTK on a probe batch, computed with ``torch.func.jacrev``;
- test-prediction disagreement and mean total-variation distance of softmax outputs;
- linear mode-connectivity barrier: max over alpha of err(theta_alpha) minus the linear
  interpolation of the endpoint errors (Frankle et al. 2020);
- linear CKA (Kornblith et al. 2019, eq. for HSIC with linear kernels).
"""

from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap

from aflab.path_dependence.ensemble import Params, forward_ensemble
from aflab.path_dependence.parametrization import MLPSpec, meta_model


def relative_feature_change(spec: MLPSpec, p0: Params, p1: Params, x: torch.Tensor) -> torch.Tensor:
    """``[E, n_hidden]``: relative Frobenius change of each hidden layer's activations on ``x``."""
    _, h0 = forward_ensemble(spec, p0, x, return_hidden=True)
    _, h1 = forward_ensemble(spec, p1, x, return_hidden=True)
    return torch.stack([(b - a).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1) for a, b in zip(h0, h1)], 1)


def relative_weight_change(p0: Params, p1: Params) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per layer name: (spectral ``[E]``, Frobenius ``[E]``) relative change."""
    out = {}
    for k in [k for k in p0 if p0[k].ndim >= 3]:  # weight matrices only (biases are [E, n])
        w0 = p0[k].flatten(2)  # a conv weight [E, out, in, k] is the matrix [E, out, in * k]
        d = p1[k].flatten(2) - w0
        spec = torch.linalg.matrix_norm(d, ord=2) / torch.linalg.matrix_norm(w0, ord=2)
        frob = torch.linalg.matrix_norm(d) / torch.linalg.matrix_norm(w0)
        out[k] = (spec, frob)
    return out


def ntk_gram(spec: MLPSpec, params: dict[str, torch.Tensor], x: torch.Tensor, standard: bool = False) -> torch.Tensor:
    """Trace-over-logits empirical NTK ``K_ij = sum_c <df_c(x_i)/dtheta, df_c(x_j)/dtheta>`` of ONE net.

    ``standard=True`` takes the derivatives with respect to standard-normal parameters ``theta_l = W_l /
    init_std_l`` (the NTK parametrization's kernel: each layer's term weighted by ``init_std_l^2``), whose
    infinite-width limit is :func:`aflab.path_dependence.theory.relu_kernels` (times the number of logits).
    """
    from aflab.path_dependence.parametrization import layer_scales

    scale = {s.name: s.init_std**2 if standard else 1.0 for s in layer_scales(spec)}
    model = meta_model(spec)

    def one(p, xi):  # logits of a single input; vmapped over inputs: per-sample Jacobians
        return functional_call(model, p, (xi[None],))[0]

    # vmap(jacrev(one input)) is 3-30x faster than jacrev of the whole batch for the CNN (no
    # [N*k]-wide vmapped backward through conv batching rules); the Gram is identical.
    jac = vmap(jacrev(one), in_dims=(None, 0))(params, x)  # name -> [N, k, *shape]
    k = torch.zeros(x.shape[0], x.shape[0])
    for name, j in jac.items():
        j = j.flatten(2)
        k += scale[name] * torch.einsum("ick,jck->ij", j, j)
    return k


def ntk_gram_mlp(
    spec: MLPSpec, params: dict[str, torch.Tensor], x: torch.Tensor, standard: bool = False
) -> torch.Tensor:
    """:func:`ntk_gram` of a bias-free MLP without Jacobians, by the backprop identity
    ``sum_c <dW_l f_c(x), dW_l f_c(x')> = sum_c <delta_l^c(x), delta_l^c(x')> <h_{l-1}(x), h_{l-1}(x')>``
    (``delta_l^c`` the gradient of logit c at layer l's pre-activations): memory ``O(N k n)``, so the
    kernel of a width-16384 net is cheap. Float64 throughout."""
    from aflab.path_dependence.parametrization import layer_scales

    if spec.bias:
        raise ValueError("ntk_gram_mlp is written for bias-free MLPs; use ntk_gram")
    ws = [params[f"layers.{i}.weight"].double() for i in range(spec.n_hidden + 1)]
    scale = [s.init_std**2 if standard else 1.0 for s in layer_scales(spec)]
    hs, masks = [x.double()], []
    for w in ws[:-1]:
        z = hs[-1] @ w.T
        masks.append((z > 0).double())
        hs.append(torch.relu(z))
    delta = ws[-1].T.expand(x.shape[0], -1, -1)  # [N, n, k]: d logit_c / d h_last, per input
    k = scale[-1] * ws[-1].shape[0] * (hs[-1] @ hs[-1].T)  # readout: delta = identity over logits
    for i in range(len(ws) - 2, -1, -1):
        delta = delta * masks[i][..., None]  # d logit / d z_i  [N, n, k]
        k = k + scale[i] * torch.einsum("iuc,juc->ij", delta, delta) * (hs[i] @ hs[i].T)
        if i > 0:
            delta = torch.einsum("uv,iuc->ivc", ws[i], delta)
    return k.float()


def kernel_distance(k0: torch.Tensor, k1: torch.Tensor) -> float:
    """Fort et al. (2020) kernel distance: 1 - cosine similarity of the Gram matrices.

    Computed in float64: lazy nets reach distances ~1e-8, below float32's cosine resolution (~1e-7).
    """
    k0, k1 = k0.double(), k1.double()
    return float(1 - (k0 * k1).sum() / (k0.norm() * k1.norm()))


def ntk_distance(spec: MLPSpec, p0: Params, p1: Params, x: torch.Tensor, members: list[int]) -> torch.Tensor:
    """Kernel distance between the NTK at ``p0`` and at ``p1`` for the listed ensemble members."""
    vals = []
    for e in members:
        k0 = ntk_gram(spec, {k: v[e] for k, v in p0.items()}, x)
        k1 = ntk_gram(spec, {k: v[e] for k, v in p1.items()}, x)
        vals.append(kernel_distance(k0, k1))
    return torch.tensor(vals)


def disagreement(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Fraction of inputs whose argmax differs (last two dims ``[N, k]``)."""
    return (logits_a.argmax(-1) != logits_b.argmax(-1)).float().mean(-1)


def tv_distance(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Mean total-variation distance between the softmax outputs (in [0, 1])."""
    return 0.5 * (logits_a.softmax(-1) - logits_b.softmax(-1)).abs().sum(-1).mean(-1)


def error_rate(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) != y).float().mean(-1)


def lmc_barrier(
    spec: MLPSpec,
    pa: dict[str, torch.Tensor],
    pb: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    n_alpha: int = 11,
) -> float:
    """Error barrier on the straight line between two nets (all alphas evaluated in one vmap)."""
    alphas = torch.linspace(0, 1, n_alpha)
    line = {
        k: (1 - alphas).view(-1, *[1] * pa[k].ndim) * pa[k] + alphas.view(-1, *[1] * pa[k].ndim) * pb[k] for k in pa
    }
    err = error_rate(forward_ensemble(spec, line, x), y)
    return float((err - ((1 - alphas) * err[0] + alphas * err[-1])).max())


def linear_cka(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Linear CKA between representations ``a [.., N, p]`` and ``b [.., N, q]`` of the same N inputs."""
    a = a - a.mean(-2, keepdim=True)
    b = b - b.mean(-2, keepdim=True)
    ka, kb = a @ a.transpose(-1, -2), b @ b.transpose(-1, -2)
    return (ka * kb).sum((-1, -2)) / (ka.norm(dim=(-1, -2)) * kb.norm(dim=(-1, -2)))
