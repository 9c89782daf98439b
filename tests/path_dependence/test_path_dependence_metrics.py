"""Metrics against brute-force / closed-form references."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.path_dependence.ensemble import init_ensemble
from aflab.path_dependence.metrics import (
    disagreement,
    kernel_distance,
    linear_cka,
    lmc_barrier,
    ntk_distance,
    ntk_gram,
    relative_feature_change,
    relative_weight_change,
    tv_distance,
)
from aflab.path_dependence.parametrization import MLPSpec

torch.set_num_threads(1)


def test_ntk_gram_matches_closed_form_for_one_hidden_layer():
    """f_c(x) = sum_j V_cj relu(w_j.x): K(x,x') = C (h.h') + (x.x') sum_j |V_:j|^2 1[z_j>0] 1[z'_j>0]."""
    spec = MLPSpec(5, 32, 3, 1, "ntk", 32)
    p = {k: v[0] for k, v in init_ensemble(spec, [4]).items()}
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    w, v = p["layers.0.weight"], p["layers.1.weight"]
    z = x @ w.T
    h, act = torch.relu(z), (z > 0).float()
    ref = 3 * h @ h.T + (x @ x.T) * ((act * (v**2).sum(0)) @ act.T)
    assert torch.allclose(ntk_gram(spec, p, x), ref, rtol=1e-4, atol=1e-5)


def test_kernel_distance_properties():
    k = torch.randn(5, 5)
    k = k @ k.T
    assert kernel_distance(k, 3.0 * k) == pytest.approx(0, abs=1e-6)
    assert 0 < kernel_distance(k, torch.eye(5)) <= 1


@settings(max_examples=20, deadline=None)
@given(n=st.integers(5, 30), p=st.integers(1, 12), seed=st.integers(0, 10_000), scale=st.floats(0.1, 10))
def test_cka_matches_feature_space_formula_and_invariances(n, p, seed, scale):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, p)), rng.normal(size=(n, p + 2))
    ac, bc = a - a.mean(0), b - b.mean(0)
    ref = np.linalg.norm(bc.T @ ac) ** 2 / (np.linalg.norm(ac.T @ ac) * np.linalg.norm(bc.T @ bc))
    got = float(linear_cka(torch.tensor(a), torch.tensor(b)))
    assert got == pytest.approx(ref, rel=1e-6, abs=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    assert float(linear_cka(torch.tensor(a), torch.tensor(scale * a @ q))) == pytest.approx(1, abs=1e-6)


def test_weight_change_spectral_and_frobenius_against_numpy():
    g = torch.Generator().manual_seed(0)
    p0 = {"w": torch.randn(2, 7, 4, generator=g)}
    p1 = {"w": p0["w"] + 0.1 * torch.randn(2, 7, 4, generator=g)}
    spec, frob = relative_weight_change(p0, p1)["w"]
    for e in range(2):
        d, w = (p1["w"][e] - p0["w"][e]).numpy(), p0["w"][e].numpy()
        assert float(spec[e]) == pytest.approx(np.linalg.svd(d)[1][0] / np.linalg.svd(w)[1][0], rel=1e-5)
        assert float(frob[e]) == pytest.approx(np.linalg.norm(d) / np.linalg.norm(w), rel=1e-5)


def test_prediction_distances_by_hand():
    a = torch.tensor([[[5.0, 0.0], [0.0, 5.0]]])
    b = torch.tensor([[[5.0, 0.0], [5.0, 0.0]]])
    assert float(disagreement(a, b)) == 0.5
    p = torch.softmax(torch.tensor([0.0, 5.0]), 0)
    assert float(tv_distance(a, b)) == pytest.approx(0.5 * float((p - p.flip(0)).abs().sum()) / 2)
    assert float(tv_distance(a, a)) == 0


def test_lmc_barrier_and_feature_change():
    spec = MLPSpec(4, 16, 3, 1, "sp", 16)
    ens = init_ensemble(spec, [0, 1])
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (50,), generator=torch.Generator().manual_seed(1))
    pa = {k: v[0] for k, v in ens.items()}
    pb = {k: v[1] for k, v in ens.items()}
    assert lmc_barrier(spec, pa, pa, x, y) == pytest.approx(0, abs=1e-7)
    assert lmc_barrier(spec, pa, pb, x, y) >= 0
    assert torch.allclose(relative_feature_change(spec, ens, ens, x), torch.zeros(2, 1))
    doubled = {"layers.0.weight": 2 * ens["layers.0.weight"], "layers.1.weight": ens["layers.1.weight"]}
    assert torch.allclose(
        relative_feature_change(spec, ens, doubled, x), torch.ones(2, 1), atol=1e-6
    )  # relu(2z)=2relu(z)
    assert torch.allclose(ntk_distance(spec, ens, ens, x[:4], [0, 1]), torch.zeros(2), atol=1e-6)


def test_cnn_ntk_gram_matches_a_loop_of_backward_passes():
    """The vmapped per-sample Jacobian Gram equals sum over (input, logit) autograd gradients."""
    from aflab.path_dependence.parametrization import CNNSpec, build_model

    spec = CNNSpec(12, 6, 3, 2, "mup", 4)
    p = {k: v[0] for k, v in init_ensemble(spec, [2]).items()}
    x = torch.randn(4, 12, generator=torch.Generator().manual_seed(3))
    net = build_model(spec)
    with torch.no_grad():
        for k, v in net.named_parameters():
            v.copy_(p[k])
    out = net(x)
    rows = [
        torch.cat([g.flatten() for g in torch.autograd.grad(out[i, c], list(net.parameters()), retain_graph=True)])
        for i in range(4)
        for c in range(3)
    ]
    jac = torch.stack(rows).view(4, 3, -1)
    ref = torch.einsum("ick,jck->ij", jac, jac)
    assert torch.allclose(ntk_gram(spec, p, x), ref, rtol=1e-4, atol=1e-6)


def test_frankle_child_spawned_at_the_end_is_the_parent(monkeypatch):
    """A child spawned at k = 100% copies every batch: it is the parent, bit for bit, so its barrier is 0 up to
    the float32 rounding of the chord ``(1 - a) L + a L`` (2.98e-8 on an AMD EPYC with AVX2, exactly 0 on the
    machine this test was first run on: the test once asserted == 0 and failed on the other CPU). A child
    spawned at k = 0 draws its own batches and must differ from the parent."""
    from aflab.path_dependence import experiments as X

    lines = []
    forward = X.forward_ensemble

    def spy(spec, line, x):  # the parent -> child line of each fraction: line[n][0] is the parent, [-1] the child
        lines.append({n: v.clone() for n, v in line.items()})
        return forward(spec, line, x)

    monkeypatch.setattr(X, "forward_ensemble", spy)
    rows = X.frankle_point(dataset="digits", width=32, parametrization="mup", seed=0, fractions=(0.0, 1.0), steps=30)
    assert rows[1]["spawn_step"] == 30 and all(torch.equal(v[0], v[-1]) for v in lines[1].values())
    assert 0 <= rows[1]["loss_barrier"] <= 1e-6 * rows[1]["end_loss"]
    assert rows[0]["spawn_step"] == 0 and rows[0]["end_loss"] > 0
    assert not all(torch.equal(v[0], v[-1]) for v in lines[0].values())
