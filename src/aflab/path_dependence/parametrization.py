"""Width parametrizations of MLPs, written from their definitions.

We store *effective* weights ``W`` (the matrix that multiplies the activations) and express every
parametrization as an abc-parametrization in its effective form (Yang & Hu 2021, "Tensor Programs
IV", Sec. 3 and Table 3): a parametrization = per-layer init standard deviation of ``W`` and a
per-layer SGD learning-rate multiplier, both functions of the width ``n`` relative to a base width
``n0`` (``m = n / n0``). A forward multiplier ``a`` with stored-weight std ``b`` and stored LR ``c``
is the same training dynamics as effective std ``a b`` and effective LR ``a^2 c``; that is how the
NTK parametrization (multiplier 1/sqrt(fan_in), N(0,1) init) becomes a plain MLP with LR ~ 1/n.

Layer kinds (``d`` input dim and ``k`` classes are fixed, only ``n`` grows):

=============  ===================  =======================  ====================
parametrization  input W (n x d)      hidden W (n x n)          output W (k x n)
=============  ===================  =======================  ====================
sp             std g/sqrt(d), lr 1  std g/sqrt(n), lr 1       std 1/sqrt(n), lr 1
sp_lr1n        same init as sp,     every layer lr 1/m
ntk            same init as sp,     lr 1 (input), 1/m (hidden), 1/m (output)
mup            std g/sqrt(d), lr m  std g/sqrt(n), lr 1       std sqrt(n0)/n, lr 1/m
=============  ===================  =======================  ====================

``g = sqrt(2)`` (He gain for ReLU). At ``n = n0`` every parametrization is the same network with
the same learning rates (``m = 1``), so a width sweep starting at the base width compares like
with like. The muP column matches the ``mup`` package (``MuReadout`` + ``MuSGD``); see
``tests/path_dependence/test_path_dependence_parametrization.py`` for the cross-check.

Theory (Yang & Hu 2021, Thm 3.3 / Sec. 5): after a fixed number of SGD steps the hidden features
move by ``Theta(n^-1/2)`` relative to their size under NTK, ``Theta(1)`` under muP, and SP with a
fixed LR diverges as ``n`` grows (the output update is ``Theta(n)``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from aflab.path_dependence.choices import PARAMETRIZATIONS, READOUT_INITS, Parametrization, ReadoutInit

__all__ = ["PARAMETRIZATIONS", "Parametrization", "ReadoutInit"]

RELU_GAIN = math.sqrt(2.0)


@dataclass(frozen=True)
class LayerScale:
    """One layer's effective init std and SGD learning-rate multiplier (times the base LR)."""

    name: str  # parameter name in :class:`MLP` ("layers.0.weight", ...)
    kind: str  # "input" | "hidden" | "output" | "bias" (a hidden layer's) | "output_bias"
    fan_in: int  # inputs per output unit (in_channels * kernel for a convolution; 1 for a bias)
    fan_out: int
    init_std: float
    lr_mult: float
    kernel: int = 0  # 0: a matrix (fan_out, fan_in); k: a conv weight (fan_out, fan_in // k, k)
    #: Adam: multiplier of the base LR and of Adam's eps (effective-weight form of MuAdam etc.)
    adam_lr_mult: float = 1.0
    adam_eps_mult: float = 1.0

    @property
    def shape(self) -> tuple[int, ...]:
        if self.kind.endswith("bias"):
            return (self.fan_out,)
        return (
            (self.fan_out, self.fan_in) if not self.kernel else (self.fan_out, self.fan_in // self.kernel, self.kernel)
        )


@dataclass(frozen=True)
class MLPSpec:
    """Architecture + parametrization of a bias-free ReLU MLP ``d -> n -> ... -> n -> k``."""

    d_in: int
    width: int
    d_out: int
    n_hidden: int = 1
    parametrization: str = "mup"
    base_width: int = 64
    #: "default" = the parametrization's readout init; "zero"; "fan_in" = std 1/sqrt(n) (wrong under muP)
    readout_init: str = "default"
    #: biases on every layer (zero init; their LR multipliers in :func:`layer_scales`); the fused engine and
    #: the backprop-identity NTK are written for bias-free nets, so biased nets train on the vmap engine
    bias: bool = False

    def __post_init__(self) -> None:
        if self.parametrization not in PARAMETRIZATIONS:
            raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS}, got {self.parametrization!r}")
        if self.readout_init not in READOUT_INITS:
            raise ValueError(f"readout_init must be one of {READOUT_INITS}, got {self.readout_init!r}")
        if not 1 <= self.n_hidden <= 3:
            raise ValueError(f"n_hidden must be 1, 2 or 3 hidden layers, got {self.n_hidden}")
        for field in ("d_in", "width", "d_out", "base_width"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be a positive integer, got {getattr(self, field)}")

    @property
    def width_mult(self) -> float:
        return self.width / self.base_width


def _scale(p: str, kind: str, fan_in: int, width: int, base_width: int, readout_init: str = "default"):
    """(init std, LR multiplier) of one layer: the table in the module doc, ``fan_in`` incl. kernel.

    ``readout_init`` overrides the output layer's std: ``"zero"`` (a zero readout, muP's optional
    init) or ``"fan_in"`` (``1/sqrt(n)`` for every parametrization: under muP this is the *wrong*
    readout init, variance ``1/n`` instead of ``1/n^2``, used as a mutation that breaks muP).
    """
    m = width / base_width
    std = (RELU_GAIN if kind != "output" else 1.0) / math.sqrt(fan_in)
    if kind.endswith("bias"):  # MuSGD: a hidden bias is vector-like (lr x m), the readout bias fixed (x1)
        lr = {"sp": 1.0, "sp_lr1n": 1.0 / m, "ntk": 1.0}.get(p, m if kind == "bias" else 1.0)
        return 0.0, lr
    if p == "sp":
        lr = 1.0
    elif p == "sp_lr1n":
        lr = 1.0 / m
    elif p == "ntk":
        lr = 1.0 if kind == "input" else 1.0 / m
    else:  # mup
        lr = {"input": m, "hidden": 1.0, "output": 1.0 / m}[kind]
        if kind == "output":
            std = std / math.sqrt(m)  # = sqrt(n0)/n for a dense readout: variance ~ 1/n^2
    if kind == "output" and readout_init != "default":
        std = 0.0 if readout_init == "zero" else 1.0 / math.sqrt(fan_in)
    return std, lr


def layer_scales(spec) -> tuple[LayerScale, ...]:
    """The per-layer effective init std and LR multiplier of ``spec`` (table in the module doc)."""
    if isinstance(spec, CNNSpec):
        return cnn_layer_scales(spec)
    n, d, k = spec.width, spec.d_in, spec.d_out
    shapes = [("input", d, n)] + [("hidden", n, n)] * (spec.n_hidden - 1) + [("output", n, k)]
    out = []
    for i, (kind, fan_in, fan_out) in enumerate(shapes):
        std, lr = _scale(spec.parametrization, kind, fan_in, n, spec.base_width, spec.readout_init)
        a_lr, a_eps = _adam_scale(spec.parametrization, kind, spec.width_mult)
        out.append(LayerScale(f"layers.{i}.weight", kind, fan_in, fan_out, std, lr, 0, a_lr, a_eps))
        if spec.bias:
            b_kind = "output_bias" if kind == "output" else "bias"
            _, b_lr = _scale(spec.parametrization, b_kind, 1, n, spec.base_width)
            out.append(
                LayerScale(
                    f"layers.{i}.bias",
                    b_kind,
                    1,
                    fan_out,
                    0.0,
                    b_lr,
                    0,
                    *_adam_scale(spec.parametrization, b_kind, spec.width_mult),
                )
            )
    return tuple(out)


def _adam_scale(p: str, kind: str, m: float) -> tuple[float, float]:
    """(LR multiplier, eps multiplier) of Adam on the *effective* weights, relative to the base width.

    muP is MuAdam + MuReadout of the ``mup`` package (Yang et al. 2022, Table 8) in effective form: input
    weights x1, hidden x1/m, readout x1/m -- MuReadout divides its input by m, so Adam on the stored readout
    moves the effective one 1/m as far, and its eps acts on gradients m times larger (eps x m); biases x1.
    NTK parametrization (N(0,1) parameters behind 1/sqrt(fan_in) multipliers): effective LR and eps scale
    with the multiplier, 1/sqrt(m) and sqrt(m) on width fan-in layers. SP: x1; SP with LR ~ 1/n: x1/m.
    """
    if p == "sp" or (kind.endswith("bias") and p in ("mup", "ntk")):
        return 1.0, 1.0
    if p == "sp_lr1n":
        return 1.0 / m, 1.0
    if kind == "input":
        return 1.0, 1.0
    if p == "ntk":
        return m**-0.5, m**0.5
    return 1.0 / m, (m if kind == "output" else 1.0)  # mup


class MLP(nn.Module):
    """Bias-free ReLU MLP; weights are the effective weights (no forward multipliers).

    ``forward(x, return_hidden=True)`` also returns the list of post-ReLU hidden activations, the
    "features" whose relative change measures laziness.
    """

    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        dims = [spec.d_in] + [spec.width] * spec.n_hidden + [spec.d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=spec.bias) for a, b in itertools.pairwise(dims))

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        hidden = []
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
            hidden.append(x)
        out = self.layers[-1](x)
        return (out, hidden) if return_hidden else out


def init_params(spec, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Gaussian init of the effective weights with the stds of :func:`layer_scales`."""
    return {s.name: torch.randn(*s.shape, generator=generator) * s.init_std for s in layer_scales(spec)}


def lr_multipliers(spec) -> dict[str, float]:
    return {s.name: s.lr_mult for s in layer_scales(spec)}


def build_model(spec) -> nn.Module:
    return CNN1d(spec) if isinstance(spec, CNNSpec) else MLP(spec)


def meta_model(spec) -> nn.Module:
    """The model on the meta device: a shape-only template for ``torch.func.functional_call``."""
    with torch.device("meta"):
        return build_model(spec)


@dataclass(frozen=True)
class CNNSpec:
    """A small bias-free 1-D CNN on sequences of length ``length`` (MNIST-1D: 40); width = channels.

    ``conv(1 -> n, kernel k1)`` -> ReLU -> ``n_hidden - 1`` x [``conv(n -> n, kernel k)`` -> ReLU] ->
    global average pool -> dense readout ``n -> d_out``. The parametrizations are the MLP table
    with ``fan_in = in_channels * kernel`` (Yang & Hu 2021 treat a conv layer as a matrix over
    channels): the first conv is input-like (its fan-in does not grow), the n -> n convs are
    hidden, the readout is output-like.
    """

    length: int
    width: int
    d_out: int
    n_hidden: int = 2
    parametrization: str = "mup"
    base_width: int = 16
    kernel_in: int = 5
    kernel: int = 3
    readout_init: str = "default"

    def __post_init__(self) -> None:
        if self.parametrization not in PARAMETRIZATIONS:
            raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS}, got {self.parametrization!r}")
        if self.readout_init not in READOUT_INITS:
            raise ValueError(f"readout_init must be one of {READOUT_INITS}, got {self.readout_init!r}")
        for field in ("length", "width", "d_out", "base_width"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be a positive integer, got {getattr(self, field)}")
        if not 1 <= self.n_hidden <= 3:
            raise ValueError(f"n_hidden must be 1, 2 or 3 conv layers, got {self.n_hidden}")
        if self.kernel_in < 1 or self.kernel < 1 or self.kernel % 2 == 0 or self.kernel_in % 2 == 0:
            raise ValueError("kernel_in and kernel must be odd positive integers (same-length padding)")

    @property
    def width_mult(self) -> float:
        return self.width / self.base_width


def cnn_layer_scales(spec: CNNSpec) -> tuple[LayerScale, ...]:
    n, p = spec.width, spec.parametrization
    layers = [("input", 1, spec.kernel_in, n)] + [("hidden", n, spec.kernel, n)] * (spec.n_hidden - 1)
    out = []
    for i, (kind, c_in, k, c_out) in enumerate(layers):
        std, lr = _scale(p, kind, c_in * k, n, spec.base_width)
        out.append(LayerScale(f"convs.{i}.weight", kind, c_in * k, c_out, std, lr, kernel=k))
    std, lr = _scale(p, "output", n, n, spec.base_width, spec.readout_init)
    out.append(LayerScale("readout.weight", "output", n, spec.d_out, std, lr))
    return tuple(out)


class CNN1d(nn.Module):
    """Bias-free ReLU 1-D CNN of :class:`CNNSpec`; hidden features returned flattened per input."""

    def __init__(self, spec: CNNSpec):
        super().__init__()
        self.spec = spec
        chans = [(1, spec.kernel_in)] + [(spec.width, spec.kernel)] * (spec.n_hidden - 1)
        self.convs = nn.ModuleList(nn.Conv1d(c, spec.width, k, padding=k // 2, bias=False) for c, k in chans)
        self.readout = nn.Linear(spec.width, spec.d_out, bias=False)

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        h, hidden = x.unsqueeze(-2), []
        for conv in self.convs:
            h = torch.relu(conv(h))
            hidden.append(h.flatten(-2))
        pooled = h.mean(-1)
        hidden.append(pooled)
        out = self.readout(pooled)
        return (out, hidden) if return_hidden else out
