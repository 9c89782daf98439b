"""Parametrizations against their definitions (Yang & Hu 2021, Table 3) and against the `mup` package."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.path_dependence.ensemble import forward_ensemble, init_ensemble, train_ensemble
from aflab.path_dependence.parametrization import PARAMETRIZATIONS, MLPSpec, init_params, layer_scales, lr_multipliers

torch.set_num_threads(1)


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 100), k=st.integers(1, 20), n_hidden=st.integers(1, 3), n0=st.integers(1, 512))
def test_all_parametrizations_coincide_at_base_width(d, k, n_hidden, n0):
    ref = layer_scales(MLPSpec(d, n0, k, n_hidden, "sp", n0))
    for p in PARAMETRIZATIONS:
        got = layer_scales(MLPSpec(d, n0, k, n_hidden, p, n0))
        for a, b in zip(ref, got):
            assert a.init_std == pytest.approx(b.init_std) and a.lr_mult == pytest.approx(b.lr_mult)


@settings(max_examples=30, deadline=None)
@given(m_exp=st.integers(0, 8), n_hidden=st.integers(1, 3))
def test_scales_follow_the_definitions(m_exp, n_hidden):
    n0, m = 16, 2**m_exp
    n, d, k = n0 * m, 7, 3
    s = {p: layer_scales(MLPSpec(d, n, k, n_hidden, p, n0)) for p in PARAMETRIZATIONS}
    # init: SP/NTK/SP-1/n use 1/sqrt(fan_in) (He gain on ReLU layers); muP readout variance ~ 1/n^2
    for p in ("sp", "sp_lr1n", "ntk"):
        assert s[p][0].init_std == pytest.approx(math.sqrt(2 / d))
        assert s[p][-1].init_std == pytest.approx(1 / math.sqrt(n))
    assert s["mup"][-1].init_std == pytest.approx(math.sqrt(n0) / n)
    assert all(l.init_std == pytest.approx(math.sqrt(2 / n)) for l in s["mup"][1:-1])
    # learning rates relative to the base width
    assert [l.lr_mult for l in s["sp"]] == pytest.approx([1.0] * (n_hidden + 1))
    assert [l.lr_mult for l in s["sp_lr1n"]] == pytest.approx([1 / m] * (n_hidden + 1))
    assert [l.lr_mult for l in s["ntk"]] == pytest.approx([1.0] + [1 / m] * n_hidden)
    assert [l.lr_mult for l in s["mup"]] == pytest.approx([m] + [1.0] * (n_hidden - 1) + [1 / m])


def test_init_empirical_std_matches_definition():
    spec = MLPSpec(64, 1024, 10, 2, "mup", 64)
    p = init_params(spec, torch.Generator().manual_seed(0))
    for s in layer_scales(spec):
        emp = float(p[s.name].std())
        n = p[s.name].numel()
        assert abs(emp / s.init_std - 1) < 6 / math.sqrt(2 * n)  # sd of a sample std ~ 1/sqrt(2N)


def test_bad_spec_raises_clear_errors():
    with pytest.raises(ValueError, match="parametrization"):
        MLPSpec(4, 8, 2, 1, "foo")
    with pytest.raises(ValueError, match="n_hidden"):
        MLPSpec(4, 8, 2, 4, "sp")
    with pytest.raises(ValueError, match="width"):
        MLPSpec(4, 0, 2, 1, "sp")


def _one_step_output_change(p, width, n0=32):
    """|f_1 - f_0| after one SGD step on a fixed batch, averaged over 4 inits."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 20, generator=g), torch.randint(0, 5, (64,), generator=g)
    spec = MLPSpec(20, width, 5, 1, p, n0)
    p0 = init_ensemble(spec, [0, 1, 2, 3])
    idx = torch.arange(64).expand(4, 1, 64)
    p1 = train_ensemble(spec, p0, x, y, idx, lr=0.1).params
    return float((forward_ensemble(spec, p1, x) - forward_ensemble(spec, p0, x)).norm(dim=-1).mean())


def test_update_sizes_vs_width_match_theory():
    """One SGD step moves the output by Theta(1) under NTK / muP, Theta(n) under SP, O(1) under SP-1/n.

    (muP's first step from init also has a W_out . dh term ~ n0/n, so both widths are >> n0 = 32.)
    """
    lo, hi = 256, 2048  # 8x wider
    ratio = {p: _one_step_output_change(p, hi) / _one_step_output_change(p, lo) for p in PARAMETRIZATIONS}
    assert 0.6 < ratio["ntk"] < 1.6
    assert 0.6 < ratio["mup"] < 1.6
    assert ratio["sp"] > 4  # theory: 8 (readout update ~ n)
    assert ratio["sp_lr1n"] < 1.6  # every layer slowed by 1/n: at most constant


def test_hidden_weight_update_spectral_vs_frobenius_under_mup():
    """muP: one step's hidden-matrix update has spectral norm Theta(1) relative to W0, Frobenius shrinking."""
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(32, 20, generator=g), torch.randint(0, 5, (32,), generator=g)
    out = {}
    for n in (64, 1024):
        spec = MLPSpec(20, n, 5, 2, "mup", 64)
        p0 = init_ensemble(spec, [0])
        # warm the readout up for 3 steps so the hidden gradient is not the init's 1/n-scaled one
        p1 = train_ensemble(spec, p0, x, y, torch.arange(32).expand(1, 4, 32), lr=0.5).params
        p2 = train_ensemble(spec, p1, x, y, torch.arange(32).expand(1, 1, 32), lr=0.5).params
        dw = p2["layers.1.weight"][0] - p1["layers.1.weight"][0]
        w = p1["layers.1.weight"][0]
        out[n] = (
            float(torch.linalg.matrix_norm(dw, 2) / torch.linalg.matrix_norm(w, 2)),
            float(torch.linalg.matrix_norm(dw) / torch.linalg.matrix_norm(w)),
        )
    spec_ratio, frob_ratio = out[1024][0] / out[64][0], out[1024][1] / out[64][1]
    assert 0.4 < spec_ratio < 2.5
    assert frob_ratio < 0.5  # theory: rank-limited update, Frobenius ratio ~ sqrt(64/1024) = 0.25


def test_mup_matches_the_mup_package():
    """Same effective weights + one step of mup.MuSGD == one step of our muP SGD, at a width != base."""
    mup = pytest.importorskip("mup")
    from torch import nn

    d, k, n0, n, lr = 12, 4, 16, 128, 0.3

    def build(width):
        return nn.Sequential(
            nn.Linear(d, width, bias=False),
            nn.ReLU(),
            nn.Linear(width, width, bias=False),
            nn.ReLU(),
            mup.MuReadout(width, k, bias=False),
        )

    torch.manual_seed(0)
    model = build(n)
    mup.set_base_shapes(model, build(n0), delta=build(2 * n0))
    opt = mup.MuSGD(model.parameters(), lr=lr)
    m = n / n0
    eff = {
        "layers.0.weight": model[0].weight,
        "layers.1.weight": model[2].weight,
        "layers.2.weight": model[4].weight / m,
    }  # MuReadout multiplies its input by 1/width_mult
    spec = MLPSpec(d, n, k, 2, "mup", n0)
    ours = {kk: v.detach().clone()[None] for kk, v in eff.items()}
    # init scales: mup's readout effective std ~ n0/n relative to base, like ours (constants aside)
    assert float(eff["layers.2.weight"].detach().std()) * math.sqrt(3 * n) * math.sqrt(m) == pytest.approx(1, rel=0.1)
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(16, d, generator=g), torch.randint(0, k, (16,), generator=g)
    assert torch.allclose(model(x), forward_ensemble(spec, ours, x)[0], atol=1e-5)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    after = train_ensemble(spec, ours, x, y, torch.arange(16).expand(1, 1, 16), lr=lr).params
    got = {
        "layers.0.weight": model[0].weight,
        "layers.1.weight": model[2].weight,
        "layers.2.weight": model[4].weight / m,
    }
    for kk in got:
        delta_mup = got[kk].detach() - ours[kk][0]
        delta_ours = after[kk][0] - ours[kk][0]
        assert torch.allclose(delta_mup, delta_ours, rtol=1e-4, atol=1e-7), kk
    assert lr_multipliers(spec)["layers.0.weight"] == pytest.approx(m)


def test_cnn_scales_follow_the_definitions_with_fan_in_channels_times_kernel():
    from aflab.path_dependence.parametrization import CNNSpec

    for p in PARAMETRIZATIONS:  # identical at the base width
        a = layer_scales(CNNSpec(40, 16, 10, 2, p, 16))
        b = layer_scales(CNNSpec(40, 16, 10, 2, "sp", 16))
        flat_a = [v for x in a for v in (x.init_std, x.lr_mult)]
        assert flat_a == pytest.approx([v for x in b for v in (x.init_std, x.lr_mult)])
    s = layer_scales(CNNSpec(40, 128, 10, 3, "mup", 16, kernel_in=5, kernel=3))
    m = 8
    assert [x.kind for x in s] == ["input", "hidden", "hidden", "output"]
    assert [x.shape for x in s] == [(128, 1, 5), (128, 128, 3), (128, 128, 3), (10, 128)]
    assert s[0].init_std == pytest.approx(math.sqrt(2 / 5)) and s[1].init_std == pytest.approx(math.sqrt(2 / 384))
    assert s[-1].init_std == pytest.approx(math.sqrt(16) / 128)
    assert [x.lr_mult for x in s] == pytest.approx([m, 1, 1, 1 / m])
    ntk = layer_scales(CNNSpec(40, 128, 10, 3, "ntk", 16))
    assert [x.lr_mult for x in ntk] == pytest.approx([1, 1 / m, 1 / m, 1 / m])
    with pytest.raises(ValueError, match="kernel"):
        CNNSpec(40, 16, 10, 2, "mup", 16, kernel=2)


def test_cnn_ensemble_equals_plain_loop_and_sweep_point_runs():
    from aflab.path_dependence.ensemble import train_loop_reference
    from aflab.path_dependence.experiments import sweep_point
    from aflab.path_dependence.parametrization import CNNSpec

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 12, generator=g), torch.randint(0, 3, (30,), generator=g)
    spec = CNNSpec(12, 8, 3, 2, "mup", 4)
    p0 = init_ensemble(spec, [0, 1])
    idx = torch.randint(0, 30, (2, 5, 6), generator=g)
    fast = train_ensemble(spec, p0, x, y, idx, lr=0.05).params  # engine "auto" -> vmap for a CNN
    slow = train_loop_reference(spec, p0, x, y, idx, lr=0.05)
    for k in slow:
        assert torch.allclose(fast[k], slow[k], rtol=1e-4, atol=1e-6), k
    with pytest.raises(ValueError, match="fused"):
        train_ensemble(spec, p0, x, y, idx, lr=0.05, engine="fused")
    rows = sweep_point(
        dataset="slab",
        width=8,
        parametrization="ntk",
        seed=0,
        n_pairs=1,
        steps=6,
        stop_at_loss=0.5,
        max_steps=12,
        eval_every=3,
        arch="cnn",
        base_width=8,
        n_hidden=2,
    )
    assert {r["arch"] for r in rows} == {"cnn"} and all(
        r["feature_change"] >= 0 for r in rows if r["regime"] != "curve"
    )
    assert {r["regime"] for r in rows} == {"budget", "converged", "curve"}


@pytest.mark.parametrize("zero_readout", [False, True])
def test_mup_adam_with_biases_matches_the_mup_package(zero_readout):
    """One step of mup.MuAdam (MuReadout, biases, set_base_shapes) == one step of our Adam on effective weights
    with muP's Adam multipliers (input x1, hidden x1/m, readout x1/m with eps x m, biases x1), within 1e-6;
    two steps too (Adam's state and bias correction)."""
    mup = pytest.importorskip("mup")
    from torch import nn

    from aflab.path_dependence.ensemble import Optimizer

    d, k, n0, n, lr = 12, 4, 16, 128, 0.01
    m = n / n0

    def build(width):
        return nn.Sequential(
            nn.Linear(d, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            mup.MuReadout(width, k, readout_zero_init=zero_readout),
        )

    torch.manual_seed(0)
    model = build(n)
    mup.set_base_shapes(model, build(n0), delta=build(2 * n0))
    with torch.no_grad():  # non-zero biases, so their updates are visible in the comparison
        for layer in (model[0], model[2]):
            layer.bias.normal_(0, 0.1)

    def effective():
        return {
            "layers.0.weight": model[0].weight / 1,
            "layers.0.bias": model[0].bias / 1,
            "layers.1.weight": model[2].weight / 1,
            "layers.1.bias": model[2].bias / 1,
            "layers.2.weight": model[4].weight / m,  # MuReadout divides its input by width_mult
            "layers.2.bias": model[4].bias / 1,
        }

    spec = MLPSpec(d, n, k, 2, "mup", n0, readout_init="zero" if zero_readout else "default", bias=True)
    ours = {kk: v.detach().clone()[None] for kk, v in effective().items()}
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(16, d, generator=g), torch.randint(0, k, (16,), generator=g)
    assert torch.allclose(model(x), forward_ensemble(spec, ours, x)[0], atol=1e-5)
    opt = mup.MuAdam(model.parameters(), lr=lr)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    idx = torch.arange(16).expand(1, 2, 16)
    after = train_ensemble(spec, ours, x, y, idx, lr=lr, optimizer=Optimizer("adam")).params
    for kk, v in effective().items():
        assert torch.allclose(after[kk][0], v.detach(), rtol=0, atol=1e-6), kk
    assert (after["layers.1.bias"][0] - ours["layers.1.bias"][0]).abs().max() > lr / 2  # biases did move


def test_biased_nets_train_on_the_vmap_engine_like_the_plain_loop():
    from aflab.path_dependence.ensemble import train_loop_reference

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
    for p in PARAMETRIZATIONS:
        spec = MLPSpec(5, 32, 3, 2, p, 8, bias=True)
        p0 = init_ensemble(spec, [0, 1])
        p0 = {k: v + 0.05 if k.endswith("bias") else v for k, v in p0.items()}
        idx = torch.randint(0, 30, (2, 4, 6), generator=g)
        fast = train_ensemble(spec, p0, x, y, idx, lr=0.05).params
        slow = train_loop_reference(spec, p0, x, y, idx, lr=0.05)
        for kk in slow:
            assert torch.allclose(fast[kk], slow[kk], rtol=1e-4, atol=1e-6), (p, kk)
        assert not torch.equal(fast["layers.1.bias"], p0["layers.1.bias"])
        with pytest.raises(ValueError, match="bias"):
            train_ensemble(spec, p0, x, y, idx, lr=0.05, engine="fused")
    scales = {s.name: s.lr_mult for s in layer_scales(MLPSpec(5, 64, 3, 2, "mup", 8, bias=True))}
    assert scales["layers.0.bias"] == pytest.approx(8) and scales["layers.2.bias"] == pytest.approx(1)  # MuSGD
