"""vmapped ensemble training vs an independent per-member autograd loop; manipulations' designs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.path_dependence.ensemble import init_ensemble, loss_value, train_ensemble, train_loop_reference
from aflab.path_dependence.experiments import pair_design, schedule_masks, shard_task_cached
from aflab.path_dependence.parametrization import PARAMETRIZATIONS, MLPSpec

torch.set_num_threads(1)


@settings(max_examples=12, deadline=None)
@given(
    p=st.sampled_from(PARAMETRIZATIONS),
    n_hidden=st.integers(1, 3),
    width=st.sampled_from([8, 32, 96]),
    loss=st.sampled_from(["ce", "mse", "sd"]),
    seed=st.integers(0, 1000),
)
def test_both_ensemble_engines_equal_the_plain_loop(p, n_hidden, width, loss, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    spec = MLPSpec(6, width, 3, n_hidden, p, 16)
    p0 = init_ensemble(spec, [seed, seed + 1, seed + 2])
    idx = torch.randint(0, 40, (3, 7, 8), generator=g)
    slow = train_loop_reference(spec, p0, x, y, idx, lr=0.05, loss=loss, sd_lambda=0.3)
    for engine in ("fused", "vmap"):
        res = train_ensemble(spec, p0, x, y, idx, lr=0.05, loss=loss, sd_lambda=0.3, engine=engine)
        for k in slow:
            assert torch.allclose(res.params[k], slow[k], rtol=1e-4, atol=1e-6), (engine, k)
    # the recorded per-step losses are the members' own minibatch losses
    first = train_ensemble(spec, p0, x, y, idx[:, :1], lr=0.05, loss=loss, sd_lambda=0.3).loss_curve[0]
    logits = torch.stack([torch.relu(x[idx[e, 0]] @ p0["layers.0.weight"][e].T) for e in range(3)])
    if n_hidden == 1:
        ref = torch.stack(
            [loss_value(logits[e] @ p0["layers.1.weight"][e].T, y[idx[e, 0]], loss, 0.3) for e in range(3)]
        )
        assert torch.allclose(first, ref, rtol=1e-5, atol=1e-6)


def test_loss_values_against_closed_forms():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 1])
    ce = (torch.log1p(torch.exp(torch.tensor(-2.0))) + torch.log(torch.tensor(2.0))) / 2
    assert float(loss_value(logits, y, "ce")) == pytest.approx(float(ce))
    assert float(loss_value(logits, y, "mse")) == pytest.approx(0.5 * (1 + 0 + 0 + 1) / 2)
    assert float(loss_value(logits, y, "sd", 0.2)) == pytest.approx(float(ce) + 0.1 * 4 / 2)
    with pytest.raises(ValueError, match="loss"):
        loss_value(logits, y, "hinge")


def test_pair_designs():
    pool, y = torch.arange(100), torch.arange(100) % 10
    inits, idx = pair_design("perturb", 2, pool, y, steps=20, batch=4, seed=1, perturb_step=7)
    assert inits[0] == inits[1] and inits[2] == inits[3] and inits[0] != inits[2]
    assert torch.equal(idx[0, :7], idx[1, :7]) and not torch.equal(idx[0, 7:], idx[1, 7:])
    inits, idx = pair_design("init", 2, pool, y, steps=20, batch=4, seed=1)
    assert inits[0] != inits[1] and torch.equal(idx[0], idx[1])
    inits, idx = pair_design("order", 1, pool, y, steps=20, batch=4, seed=1)
    assert inits[0] == inits[1] and not torch.equal(idx[0], idx[1])
    inits, idx = pair_design("curriculum", 1, pool, y, steps=20, batch=4, seed=1, curriculum_steps=5)
    assert (y[idx[0, :5]] < 5).all() and torch.equal(idx[0, 5:], idx[1, 5:])
    with pytest.raises(ValueError, match="manipulation"):
        pair_design("shuffle", 1, pool, y, 5, 2, 0)


def test_identical_members_stay_identical_and_split_after_perturbation():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 5, generator=g), torch.randint(0, 3, (50,), generator=g)
    spec = MLPSpec(5, 64, 3, 1, "mup", 64)
    inits, idx = pair_design("perturb", 1, torch.arange(50), y, steps=12, batch=5, seed=0, perturb_step=6)
    res = train_ensemble(spec, init_ensemble(spec, inits), x, y, idx, lr=0.2, snapshot_steps=(6,))
    snap = res.snapshots[6]
    assert all(torch.equal(v[0], v[1]) for v in snap.values())
    assert not all(torch.equal(v[0], v[1]) for v in res.params.values())


def test_schedule_masks_hide_the_right_block():
    task = shard_task_cached(0)
    m = schedule_masks(task, ("hard_first", "easy_removed", "hard_only", "easy_only"), steps=10)
    hard, easy = task.hard, task.easy
    assert (m[0, :5, easy] == 0).all() and (m[0, 5:, easy] == 1).all() and (m[0, :, hard] == 1).all()
    assert (m[1, :5] == 1).all() and (m[1, 5:, easy] == 0).all()
    assert (m[2, :, easy] == 0).all()
    assert (m[3, :, hard] == 0).all() and (m[3, :, easy] == 1).all()  # D3's counterfactual: hard never shown
    with pytest.raises(ValueError, match="schedule"):
        schedule_masks(task, ("sometimes",), 4)


@pytest.mark.parametrize("n_hidden", [1, 2])
def test_in_place_sgd_with_a_learning_rate_per_member_equals_each_member_trained_alone(n_hidden):
    """The fused engine folds a per-member LR into the output delta before the GEMM that updates the weight
    (``fused_sgd_step``); each member must equal the plain loop run at its own LR."""
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    spec = MLPSpec(6, 24, 3, n_hidden, "ntk", 16)
    lrs = [0.02, 0.05, 0.3]
    p0 = init_ensemble(spec, [5, 6, 7])
    idx = torch.randint(0, 40, (3, 9, 8), generator=g)
    res = train_ensemble(spec, p0, x, y, idx, lr=torch.tensor(lrs), engine="fused")
    for e, lr in enumerate(lrs):
        one = train_loop_reference(spec, {k: v[e : e + 1] for k, v in p0.items()}, x, y, idx[e : e + 1], lr=lr)
        for k in one:
            assert torch.allclose(res.params[k][e], one[k][0], rtol=1e-4, atol=1e-6), (e, k)
    assert not torch.allclose(res.params["layers.0.weight"][0], res.params["layers.0.weight"][2])


@pytest.mark.parametrize(
    ("lr", "match"),
    [(torch.tensor([0.1, 0.2]), r"one per member \(shape \[3\]"), (torch.ones(3, 1), "one number"), (-0.1, ">= 0")],
)
def test_a_learning_rate_of_the_wrong_shape_or_sign_is_refused_by_name(lr, match):
    """Three members and two LRs used to fail deep inside torch's expand; the error names ``lr`` and the fix."""
    spec = MLPSpec(4, 8, 2, 1, "sp", 8)
    x, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
    with pytest.raises(ValueError, match=match):
        train_ensemble(spec, init_ensemble(spec, [0, 1, 2]), x, y, torch.zeros(3, 2, 4, dtype=torch.long), lr=lr)
