"""Width-sweep and shard experiments: typed arguments in, tidy rows out.

A *sweep point* trains ``2 * n_pairs`` nets of one width and one parametrization in a single
vmapped ensemble. Members ``2i`` and ``2i+1`` form a pair that differs by exactly one
manipulation:

- ``order``      same init, independent minibatch orders (SGD noise);
- ``perturb``    same init and order up to step ``perturb_step``, then independent orders
                 (two copies spawned from the step-k weights);
- ``init``       different init seeds, the same minibatch order;
- ``curriculum`` same init; member A sees only classes 0-4 for the first ``curriculum_steps``,
                 member B the full data; identical batches afterwards.
- ``curriculum_control`` the curriculum's control: same init; member A's first ``curriculum_steps``
                 batches are drawn afresh from the full data (no class restriction), identical
                 batches afterwards. It differs from ``curriculum`` only in the class restriction,
                 so ``curriculum`` minus ``curriculum_control`` is the curriculum's own imprint,
                 net of the early SGD noise both pairs share.

Metrics are taken at two budgets: an early fixed step budget (``steps_early``) and the end of
training (``steps``; the row records train loss so convergence can be judged).

A *laziness point* (:func:`laziness_point`) trains independent nets (MLP or 1-D CNN) and records
only how far their features, weights and empirical NTK moved: the laziness claim's measurements.

The *shard* experiment trains, per width, one ensemble whose members follow feature schedules on
:func:`.data.shard_task` (hard = digits image, easy = noisy label code):

- ``hard_only``     control: easy block hidden throughout;
- ``both``          both blocks from the start;
- ``hard_first``    hard block only for the first half, then both;
- ``easy_first``    easy block only for the first half, then both;
- ``easy_removed``  both for the first half, then the easy block is hidden;
- ``easy_only``     the hard block hidden throughout (D3's counterfactual: nothing to hedge toward).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from aflab.core.seeding import derive_seed
from aflab.path_dependence import data as datasets
from aflab.path_dependence.choices import MANIPULATIONS, SCHEDULES
from aflab.path_dependence.ensemble import (
    StopRule,
    ensemble_loss,
    forward_ensemble,
    full_batch_loss,
    init_ensemble,
    train_ensemble,
)
from aflab.path_dependence.metrics import (
    disagreement,
    error_rate,
    linear_cka,
    lmc_barrier,
    ntk_distance,
    relative_feature_change,
    relative_weight_change,
    tv_distance,
)
from aflab.path_dependence.parametrization import CNNSpec, MLPSpec

__all__ = ["MANIPULATIONS", "SCHEDULES"]


def _gen(*parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed("path_dependence", *parts))


def pair_design(
    manipulation: str,
    n_pairs: int,
    pool: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    batch: int,
    seed: int,
    perturb_step: int = 0,
    curriculum_steps: int = 0,
) -> tuple[list[int], torch.Tensor]:
    """Init seeds (one per member) and minibatch indices ``[2P, steps, batch]`` for a manipulation.

    ``pool`` holds the training rows this sweep point may use (data-scaling restricts it).
    """
    if manipulation not in MANIPULATIONS:
        raise ValueError(f"manipulation must be one of {MANIPULATIONS}, got {manipulation!r}")
    g = _gen(seed, 17)
    n_mem = 2 * n_pairs

    def draw(k, rows=pool):
        return rows[torch.randint(0, len(rows), (k, steps, batch), generator=g)]

    base_seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (n_mem,), generator=g)]
    if manipulation == "init":
        shared = draw(n_pairs)
        return base_seeds, shared.repeat_interleave(2, 0)
    inits = [base_seeds[2 * (i // 2)] for i in range(n_mem)]
    idx = draw(n_mem)
    if manipulation == "perturb":
        idx[1::2, :perturb_step] = idx[0::2, :perturb_step]
    elif manipulation in ("curriculum", "curriculum_control"):
        idx[1::2] = idx[0::2]
        rows = pool[y[pool] < 5] if manipulation == "curriculum" else pool
        if len(rows) == 0:
            raise ValueError("curriculum needs training rows of classes 0-4; increase n_train")
        k = min(curriculum_steps, steps)
        idx[0::2, :k] = rows[torch.randint(0, len(rows), (n_pairs, k, batch), generator=g)]
    return inits, idx


def sweep_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    manipulations: tuple[str, ...] = ("order",),
    n_pairs: int = 1,
    n_hidden: int = 1,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    steps: int = 400,
    epoch_steps: int | None = None,
    n_train: int | None = None,
    perturb_step: int = 50,
    curriculum_steps: int = 100,
    loss: str = "ce",
    stop_at_loss: float | None = None,
    max_steps: int = 20_000,
    eval_every: int = 50,
    ntk_probe: int = 0,
    probe: int = 256,
    arch: str = "mlp",
    readout_init: str = "default",
) -> list[dict]:
    """Train the pairs of every manipulation at one width in one ensemble; one row per (regime, pair).

    Regimes: ``budget`` compares each pair after the fixed ``steps``; ``epochs`` (if ``epoch_steps``)
    after ``epoch_steps`` (a fixed number of passes over the ``n_train`` rows); with ``stop_at_loss``, ``converged``
    compares each member when its full-batch train loss (on the ``n_train`` training rows) first reaches
    ``stop_at_loss`` -- a matched-loss comparison -- with at most ``max_steps`` steps (``converged`` is
    False in rows whose pair hit the cap first). ``arch="cnn"`` uses :class:`CNNSpec` (channels = width).
    """
    d = datasets.load(dataset)
    spec = _spec(arch, d, width, n_hidden, parametrization, base_width, readout_init)
    pool = torch.randperm(len(d.y), generator=_gen(seed, 3))[: (n_train or len(d.y))]
    fixed = {"budget": steps} | ({"epochs": epoch_steps} if epoch_steps else {})
    horizon = max(max(fixed.values()), max_steps if stop_at_loss else 0)
    inits, idx = [], []
    for man in manipulations:
        i, b = pair_design(man, n_pairs, pool, d.y, horizon, batch, seed, min(perturb_step, horizon), curriculum_steps)
        inits += i
        idx.append(b)
    p0 = init_ensemble(spec, inits)
    stop = StopRule(stop_at_loss, pool, eval_every) if stop_at_loss else None
    res = train_ensemble(spec, p0, d.x, d.y, torch.cat(idx), lr, loss, snapshot_steps=tuple(fixed.values()), stop=stop)
    base = dict(dataset=dataset, arch=arch, width=width, parametrization=parametrization, n_train=len(pool), loss=loss)
    regimes = []
    for name, t in fixed.items():
        snap_loss = full_batch_loss(spec, res.snapshots[t], d.x[pool], d.y[pool], loss)
        regimes.append((name, res.snapshots[t], torch.full_like(snap_loss, t), snap_loss, True))
    if stop is not None:
        hit = res.hit_step >= 0
        regimes.append(("converged", res.hit_params, torch.where(hit, res.hit_step, res.steps_done), res.hit_loss, hit))
    rows = []
    for regime, pt, step_t, loss_t, hit in regimes:
        rows += _pair_rows(spec, d, p0, pt, manipulations, n_pairs, probe, ntk_probe, step_t, loss_t, hit, regime, base)
    return rows + _curve_rows(res.loss_curve, manipulations[0], base)


def _pair_rows(spec, d, p0, pt, manipulations, n_pairs, probe, ntk_probe, step_t, loss_t, hit, regime, base):
    """The pair metrics of one regime: members ``2i``, ``2i+1`` of the ensemble ``pt`` form pair ``i``."""
    xp = d.x_test[:probe]
    logits, hid = forward_ensemble(spec, pt, d.x_test, return_hidden=True)
    _, h_init = forward_ensemble(spec, p0, xp, return_hidden=True)
    finite = torch.isfinite(logits).flatten(1).all(1)
    fc = relative_feature_change(spec, p0, pt, xp)
    err = error_rate(logits, d.y_test)
    a, b = slice(0, None, 2), slice(1, None, 2)
    dis, tv = disagreement(logits[a], logits[b]), tv_distance(logits[a], logits[b])
    cka_end = linear_cka(hid[-1][a, :probe], hid[-1][b, :probe])
    cka_init = linear_cka(h_init[-1][a], h_init[-1][b])
    hit = torch.as_tensor(hit).expand(step_t.shape)
    rows = []
    for j in range(len(manipulations) * n_pairs):
        ma, mb = 2 * j, 2 * j + 1
        ok = bool(finite[ma] and finite[mb])
        pa, pb = ({k: v[m] for k, v in pt.items()} for m in (ma, mb))
        ntk = ntk_distance(spec, p0, pt, d.x_test[:ntk_probe], [ma]) if ntk_probe and j % n_pairs == 0 else None
        rows.append(
            dict(
                base,
                manipulation=manipulations[j // n_pairs],
                regime=regime,
                pair=j % n_pairs,
                step=int(max(step_t[ma], step_t[mb])),
                converged=bool(hit[ma] and hit[mb]),
                diverged=not ok,
                train_loss=float((loss_t[ma] + loss_t[mb]) / 2),
                disagreement=float(dis[j]),
                tv_distance=float(tv[j]),
                test_error=float(err[ma : mb + 1].mean()),
                feature_change=float(fc[ma : mb + 1, 0].mean()),
                feature_change_last=float(fc[ma : mb + 1, -1].mean()),
                cka_end=float(cka_end[j]),
                cka_init=float(cka_init[j]),
                lmc_barrier=lmc_barrier(spec, pa, pb, d.x_test, d.y_test) if ok else math.nan,
                ntk_distance=float(ntk[0]) if ntk is not None else math.nan,
            )
        )
    return rows


def _curve_rows(loss_curve: torch.Tensor, manipulation: str, base: dict, points: int = 25) -> list[dict]:
    """Window means of pair 0's minibatch losses (``points`` windows), for the paired-curve plots."""
    steps = loss_curve.shape[0]
    window = max(1, steps // points)
    smooth = loss_curve[: steps // window * window, :2].reshape(-1, window, 2).mean(1)
    return [
        dict(
            base,
            manipulation=manipulation,
            regime="curve",
            pair=0,
            member=m,
            step=(j + 1) * window,
            converged=False,
            diverged=not bool(torch.isfinite(smooth).all()),
            train_loss=float(smooth[j, m]),
        )
        for j in range(smooth.shape[0])
        for m in range(2)
    ]


def _spec(
    arch: str,
    d: datasets.Dataset,
    width: int,
    n_hidden: int,
    parametrization: str,
    base_width: int,
    readout_init: str = "default",
):
    if arch == "mlp":
        return MLPSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width, readout_init)
    if arch == "cnn":
        return CNNSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width, readout_init=readout_init)
    raise ValueError(f"arch must be 'mlp' or 'cnn', got {arch!r}")


def kernel_references(dataset: str, pool: torch.Tensor, n_hidden: int, probe: int | None = None) -> dict[str, float]:
    """Infinite-width reference points (closed form, :func:`.theory.relu_kernels`): test error of NTK and of
    NNGP kernel regression on one-hot targets over the training rows ``pool`` (the mean prediction of an
    infinitely wide net trained to convergence on squared loss, Lee et al. 2019, eq. 16)."""
    from aflab.path_dependence.theory import kernel_regression, relu_kernels

    d = datasets.load(dataset)
    xt = d.x_test[:probe] if probe else d.x_test
    yt = d.y_test[: len(xt)].numpy()
    x, y = d.x[pool].numpy(), torch.nn.functional.one_hot(d.y[pool], d.n_classes).numpy()
    k_xx = relu_kernels(x, x, n_hidden)
    k_tx = relu_kernels(xt.numpy(), x, n_hidden)
    out = {}
    for name, i in (("nngp", 0), ("ntk", 1)):
        pred = kernel_regression(k_xx[i], k_tx[i], y)
        out[f"{name}_regression_error"] = float((pred.argmax(1) != yt).mean())
    return out


def linearized_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    n_pairs: int = 1,
    n_hidden: int = 1,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    steps: int = 300,
    n_train: int | None = None,
    loss: str = "ce",
    stop_at_loss: float | None = None,
    max_steps: int = 20_000,
    eval_every: int = 50,
) -> list[dict]:
    """Order pairs of nets and of their linearizations f_lin (same init, same batches), one row per (regime, pair).

    ``gap`` = RMS over test inputs and logits of ``f_T - f_lin,T`` (both after the same ``steps``; Lee et al.
    2019, Thm 2.1: O(n^-1/2) under NTK scaling); ``lin_tv`` / ``net_tv`` = the pair's TV distance between
    the linearized models / the nets, at the fixed budget and (with ``stop_at_loss``) at matched train loss.
    """
    d = datasets.load(dataset)
    spec = _spec("mlp", d, width, n_hidden, parametrization, base_width)
    pool = torch.randperm(len(d.y), generator=_gen(seed, 3))[: (n_train or len(d.y))]
    horizon = max(steps, max_steps) if stop_at_loss else steps
    inits, idx = pair_design("order", n_pairs, pool, d.y, horizon, batch, seed)
    p0 = init_ensemble(spec, inits)
    stop = StopRule(stop_at_loss, pool, eval_every) if stop_at_loss else None
    kw = dict(snapshot_steps=(steps,), stop=stop)
    net = train_ensemble(spec, p0, d.x, d.y, idx, lr, loss, **kw)
    lin = train_ensemble(spec, p0, d.x, d.y, idx, lr, loss, linearize_at=p0, **kw)
    f0 = forward_ensemble(spec, p0, d.x_test)
    base = dict(dataset=dataset, width=width, parametrization=parametrization, n_train=len(pool), loss=loss)
    regimes = [("budget", net.snapshots[steps], lin.snapshots[steps], True, True)]
    if stop is not None:
        regimes.append(("converged", net.hit_params, lin.hit_params, net.hit_step >= 0, lin.hit_step >= 0))
    rows = []
    for regime, pn, pl, hit_n, hit_l in regimes:
        fn = forward_ensemble(spec, pn, d.x_test)
        fl = forward_ensemble(spec, pl, d.x_test, linearize_at=p0)
        gap = ((fn - fl) ** 2).mean((1, 2)).sqrt()
        moved = ((fl - f0) ** 2).mean((1, 2)).sqrt()
        net_tv, lin_tv = tv_distance(fn[0::2], fn[1::2]), tv_distance(fl[0::2], fl[1::2])
        hit_n, hit_l = torch.as_tensor(hit_n).expand(2 * n_pairs), torch.as_tensor(hit_l).expand(2 * n_pairs)
        for i in range(n_pairs):
            a, b = 2 * i, 2 * i + 2
            rows.append(
                dict(
                    base,
                    regime=regime,
                    pair=i,
                    gap=float(gap[a:b].mean()),
                    relative_gap=float((gap[a:b] / moved[a:b]).mean()),
                    net_tv=float(net_tv[i]),
                    lin_tv=float(lin_tv[i]),
                    net_error=float(error_rate(fn[a:b], d.y_test).mean()),
                    lin_error=float(error_rate(fl[a:b], d.y_test).mean()),
                    converged=bool(hit_n[a:b].all() and hit_l[a:b].all()),
                    diverged=not bool(torch.isfinite(fn[a:b]).all() and torch.isfinite(fl[a:b]).all()),
                )
            )
    return rows


def lr_grid_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    log2_lrs: tuple[float, ...],
    optimizer: str = "adam",
    n_hidden: int = 1,
    base_width: int = 64,
    batch: int = 32,
    steps: int = 100,
    readout_init: str = "default",
) -> list[dict]:
    """Train one net per learning rate ``2**log2_lr`` (same init, same batches: common random numbers) and
    return the full-batch train loss after ``steps``; one row per LR (non-finite loss = diverged)."""
    from aflab.path_dependence.ensemble import Optimizer

    d = datasets.load(dataset)
    spec = _spec("mlp", d, width, n_hidden, parametrization, base_width, readout_init)
    g = _gen(seed, 23)
    init_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    idx = torch.randint(0, len(d.y), (1, steps, batch), generator=g).expand(len(log2_lrs), -1, -1)
    p0 = init_ensemble(spec, [init_seed] * len(log2_lrs))
    lrs = torch.tensor([2.0**v for v in log2_lrs], dtype=torch.float32)
    res = train_ensemble(spec, p0, d.x, d.y, idx, lrs, optimizer=Optimizer(optimizer))
    final = full_batch_loss(spec, res.params, d.x, d.y)
    return [
        dict(
            dataset=dataset,
            width=width,
            parametrization=parametrization,
            optimizer=optimizer,
            log2_lr=float(v),
            train_loss=float(final[i]) if torch.isfinite(final[i]) else math.inf,
            diverged=not bool(torch.isfinite(final[i])),
        )
        for i, v in enumerate(log2_lrs)
    ]


def frankle_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    fractions: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.25),
    steps: int = 1000,
    n_hidden: int = 1,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    loss: str = "ce",
    n_alpha: int = 11,
) -> list[dict]:
    """Stability to SGD noise vs the spawn time (Frankle et al. 2020, 'Linear Mode Connectivity and the Lottery
    Ticket Hypothesis', Sec. 3): a parent run and one child per fraction k, the child copying the parent's
    batches for the first ``k * steps`` steps and drawing its own afterwards; both trained to ``steps``.

    One row per fraction: the test-loss barrier on the straight line between parent and child,
    ``max_a L((1-a) p + a c) - ((1-a) L(p) + a L(c))``, relative to the endpoints' mean loss (``stable`` when
    below 2%, the issue's onset criterion), and the error barrier.
    """
    d = datasets.load(dataset)
    spec = _spec("mlp", d, width, n_hidden, parametrization, base_width)
    g = _gen(seed, 29)
    init = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    idx = torch.randint(0, len(d.y), (1 + len(fractions), steps, batch), generator=g)
    spawn = [min(steps, round(f * steps)) for f in fractions]
    for j, k in enumerate(spawn):
        idx[1 + j, :k] = idx[0, :k]
    p0 = init_ensemble(spec, [init] * (1 + len(fractions)))
    res = train_ensemble(spec, p0, d.x, d.y, idx, lr, loss)
    alphas = torch.linspace(0, 1, n_alpha)
    rows = []
    for j, (f, k) in enumerate(zip(fractions, spawn)):
        a, b = {n: v[0] for n, v in res.params.items()}, {n: v[1 + j] for n, v in res.params.items()}
        line = {n: (1 - alphas).view(-1, *[1] * a[n].ndim) * a[n] + alphas.view(-1, *[1] * a[n].ndim) * b[n] for n in a}
        logits = forward_ensemble(spec, line, d.x_test)
        losses = ensemble_loss(logits, d.y_test, loss)
        errs = error_rate(logits, d.y_test)
        chord = (1 - alphas) * losses[0] + alphas * losses[-1]
        barrier = float((losses - chord).max())
        rows.append(
            dict(
                dataset=dataset,
                width=width,
                parametrization=parametrization,
                fraction=float(f),
                spawn_step=int(k),
                loss_barrier=barrier,
                relative_barrier=barrier / float((losses[0] + losses[-1]) / 2),
                error_barrier=float((errs - ((1 - alphas) * errs[0] + alphas * errs[-1])).max()),
                stable=barrier / float((losses[0] + losses[-1]) / 2) < 0.02,
                end_loss=float((losses[0] + losses[-1]) / 2),
            )
        )
    return rows


def laziness_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    arch: str = "mlp",
    members: int = 2,
    n_hidden: int = 1,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    steps: int = 100,
    probe: int = 256,
    ntk_probe: int = 0,
    readout_init: str = "default",
) -> list[dict]:
    """Feature movement of ``members`` independent nets (own init and order) after ``steps`` SGD steps.

    One row per member: relative feature change of the first and last hidden layer on ``probe``
    test inputs, relative spectral / Frobenius weight change per layer (index in layer order), and
    the empirical-NTK kernel distance init -> end on ``ntk_probe`` test inputs (NaN if 0). The
    laziness claim needs nothing else, so this skips the pair metrics of :func:`sweep_point`.
    """
    if members < 1 or steps < 1:
        raise ValueError(f"members and steps must be >= 1, got members={members}, steps={steps}")
    d = datasets.load(dataset)
    spec = _spec(arch, d, width, n_hidden, parametrization, base_width, readout_init)
    g = _gen(seed, 11)
    inits = [int(s) for s in torch.randint(0, 2**31 - 1, (members,), generator=g)]
    idx = torch.randint(0, len(d.y), (members, steps, batch), generator=g)
    p0 = init_ensemble(spec, inits)
    res = train_ensemble(spec, p0, d.x, d.y, idx, lr)
    pt = res.params
    finite = torch.stack([torch.isfinite(v).flatten(1).all(1) for v in pt.values()]).all(0)
    fc = relative_feature_change(spec, p0, pt, d.x_test[:probe])
    wc = relative_weight_change(p0, pt)
    ntk = (
        ntk_distance(spec, p0, pt, d.x_test[:ntk_probe], list(range(members)))
        if ntk_probe
        else torch.full((members,), math.nan)
    )
    train_loss = res.loss_curve[max(0, steps - 20) :].mean(0)
    rows = []
    for e in range(members):
        row = dict(
            dataset=dataset,
            arch=arch,
            width=width,
            parametrization=parametrization,
            member=e,
            budget="final",
            step=steps,
            diverged=not bool(finite[e]),
            train_loss=float(train_loss[e]),
            feature_change=float(fc[e, 0]),
            feature_change_last=float(fc[e, -1]),
            ntk_distance=float(ntk[e]),
        )
        for i, (s, f) in enumerate(wc.values()):
            row[f"spectral_change_{i}"] = float(s[e])
            row[f"frobenius_change_{i}"] = float(f[e])
        rows.append(row)
    return rows


def laziness_sweep(widths, parametrizations, seed: int, progress=None, **kw) -> pd.DataFrame:
    """All (parametrization, width) laziness points for one seed, as one tidy table."""
    rows = []
    for p in parametrizations:
        for w in widths:
            rows += laziness_point(width=int(w), parametrization=p, seed=seed, **kw)
            if progress is not None:
                progress()
    return pd.DataFrame(rows)


def width_sweep(widths, parametrizations, seed: int, progress=None, **kw) -> pd.DataFrame:
    """All (parametrization, width) sweep points for one seed, as one tidy table."""
    rows = []
    for p in parametrizations:
        for w in widths:
            rows += sweep_point(width=int(w), parametrization=p, seed=seed, **kw)
            if progress is not None:
                progress()
    return pd.DataFrame(rows)


def switch_step(steps: int, switch_fraction: float = 0.5) -> int:
    """The step at which a feature schedule enters its second phase (``round(steps * fraction)``, >= 1)."""
    return min(steps - 1, max(1, round(steps * switch_fraction)))


def schedule_masks(
    task: datasets.ShardTask, schedules: tuple[str, ...], steps: int, switch_fraction: float = 0.5
) -> torch.Tensor:
    """Input masks ``[len(schedules), steps, d]`` for the feature schedules (phase switch at
    :func:`switch_step`, half-way by default)."""
    half = switch_step(steps, switch_fraction)
    both, hard, easy = task.mask(True, True), task.mask(True, False), task.mask(False, True)
    phases = {
        "hard_only": (hard, hard),
        "both": (both, both),
        "hard_first": (hard, both),
        "easy_first": (easy, both),
        "easy_removed": (both, hard),
        "easy_only": (easy, easy),
    }
    out = []
    for s in schedules:
        if s not in phases:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {s!r}")
        first, second = phases[s]
        out.append(torch.cat([first.expand(half, -1), second.expand(steps - half, -1)]))
    return torch.stack(out)


def easy_share(task: datasets.ShardTask, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Outgoing-weight-weighted share of first-layer input weight on the easy block, per member ``[E]``.

    ``S = sum_j r_j s_j / sum_j r_j`` with ``s_j = ||W1[j, easy]||^2 / ||W1[j, :]||^2`` and
    ``r_j = ||W2[:, j]||^2``, where ``W2`` is the layer that reads the first layer's units (the
    readout for one hidden layer, the second hidden layer otherwise: the same units ``j``). Its
    change from init is the *scavenging index*: first-layer units (and the weight that carries them
    on) recruited to the easy shard.
    """
    w1, w2 = p["layers.0.weight"], p["layers.1.weight"]
    s = (w1[..., task.easy] ** 2).sum(-1) / (w1**2).sum(-1)
    r = (w2**2).sum(-2)
    return (r * s).sum(-1) / r.sum(-1).clamp_min(1e-30)


def shard_point(
    *,
    width: int,
    parametrization: str,
    seed: int,
    schedules: tuple[str, ...] = SCHEDULES,
    reps: int = 2,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    steps: int = 400,
    loss: str = "ce",
    sd_lambda: float = 0.1,
    n_hidden: int = 1,
    task: str = "digits",
    switch_fraction: float = 0.5,
    stop_at_loss: float | None = None,
    max_steps: int = 20_000,
    eval_every: int = 50,
) -> list[dict]:
    """One ensemble (``reps`` members per schedule, shared init and order across schedules).

    ``switch_fraction``: the share of the run spent in a schedule's first phase. Rows per member at the
    regimes ``phase1`` (the switch), ``final`` (the fixed ``steps``) and, with ``stop_at_loss``, ``converged``:
    training goes on in the last phase until the member's full-batch train loss (last-phase inputs) first
    reaches ``stop_at_loss`` (cap ``max_steps``; ``converged`` False in rows that hit the cap).
    """
    name = task
    task = shard_task_cached(seed, name)
    d = task.data
    spec = MLPSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width)
    g = _gen(seed, 5)
    init_seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (reps,), generator=g)]
    horizon = max(steps, max_steps) if stop_at_loss else steps
    orders = torch.randint(0, len(d.y), (reps, horizon, batch), generator=g)
    members = [(s, r) for r in range(reps) for s in schedules]
    p0 = init_ensemble(spec, [init_seeds[r] for _, r in members])
    idx = torch.stack([orders[r] for _, r in members])
    masks = schedule_masks(task, schedules, steps, switch_fraction).repeat(reps, 1, 1)
    half = switch_step(steps, switch_fraction)
    stop = (
        StopRule(stop_at_loss, torch.arange(len(d.y)), eval_every, masks[:, -1], start=steps) if stop_at_loss else None
    )
    res = train_ensemble(
        spec, p0, d.x, d.y, idx, lr, loss, sd_lambda, input_mask=masks, snapshot_steps=(half, steps), stop=stop
    )
    n_mem = len(members)
    regimes = [
        (
            "phase1",
            res.snapshots[half],
            res.loss_curve[max(0, half - 20) : half].mean(0),
            torch.ones(n_mem, dtype=torch.bool),
            half,
        ),
        (
            "final",
            res.snapshots[steps],
            res.loss_curve[max(0, steps - 20) : steps].mean(0),
            torch.ones(n_mem, dtype=torch.bool),
            steps,
        ),
    ]
    if stop is not None:
        hit = res.hit_step >= 0
        regimes.append(("converged", res.hit_params, res.hit_loss, hit, torch.where(hit, res.hit_step, res.steps_done)))
    base = dict(task=name, width=width, parametrization=parametrization, loss=loss, chance=1.0 / d.n_classes)
    rows = []
    for budget, pt, train_loss, hit, step in regimes:
        rows += _shard_rows(spec, task, p0, pt, members, base | {"budget": budget}, train_loss, hit, step)
    return rows


def _shard_rows(spec, task, p0, pt, members, base, train_loss, hit, step) -> list[dict]:
    """Accuracies (full, hard block only, easy block only), conflict follow-rates and scavenging per member."""
    d = task.data

    def acc(x, y):
        return 1 - error_rate(forward_ensemble(spec, pt, x), y)

    full = acc(d.x_test, d.y_test)
    hard_only = acc(d.x_test * task.mask(True, False), d.y_test)
    easy_only = acc(d.x_test * task.mask(False, True), d.y_test)
    pred = forward_ensemble(spec, pt, task.x_conflict).argmax(-1)
    follow_easy = (pred == task.y_conflict).float().mean(-1)
    follow_hard = (pred == d.y_test).float().mean(-1)
    share0, share = easy_share(task, p0), easy_share(task, pt)
    step = torch.as_tensor(step).expand(len(members))
    return [
        dict(
            base,
            schedule=s,
            rep=r,
            step=int(step[e]),
            converged=bool(hit[e]),
            acc=float(full[e]),
            hard_only_acc=float(hard_only[e]),
            easy_only_acc=float(easy_only[e]),
            follow_easy=float(follow_easy[e]),
            follow_hard=float(follow_hard[e]),
            scavenging=float(share[e] - share0[e]),
            train_loss=float(train_loss[e]),
        )
        for e, (s, r) in enumerate(members)
    ]


_SHARD_CACHE: dict[tuple[int, str], datasets.ShardTask] = {}


def shard_task_cached(seed: int, name: str = "digits") -> datasets.ShardTask:
    if (seed, name) not in _SHARD_CACHE:
        _SHARD_CACHE.clear()
        _SHARD_CACHE[(seed, name)] = datasets.load_shard_task(name, seed)
    return _SHARD_CACHE[(seed, name)]


def shard_sweep(widths, parametrizations, seed: int, progress=None, **kw) -> pd.DataFrame:
    rows = []
    for p in parametrizations:
        for w in widths:
            rows += shard_point(width=int(w), parametrization=p, seed=seed, **kw)
            if progress is not None:
                progress()
    return pd.DataFrame(rows)


def starvation(table: pd.DataFrame, schedule: str) -> pd.DataFrame:
    """Starvation of the hard shard under ``schedule`` vs the ``hard_only`` control (final budget):

    ``1 - (hard-only acc - chance) / (control's hard-only acc - chance)``: the fraction of the hard
    shard's standalone skill (above chance) lost next to the easy shard. 0 = no starvation,
    1 = fully starved; ``hedge = 1 - starvation``.
    """
    keys = [k for k in ("seed", "parametrization", "width", "rep", "loss") if k in table.columns]
    fin = table[table.budget == "final"]
    s = fin[fin.schedule == schedule].set_index(keys)
    c = fin[fin.schedule == "hard_only"].set_index(keys)
    chance = s.chance if "chance" in s else 0.1
    out = 1 - (s.hard_only_acc - chance) / (c.hard_only_acc - chance).clip(lower=1e-3)
    return pd.DataFrame({"starvation": out, "scavenging": s.scavenging, "follow_easy": s.follow_easy}).reset_index()
