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
- ``easy_removed``  both for the first half, then the easy block is hidden.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from aflab.core.seeding import derive_seed
from aflab.path_dependence import data as datasets
from aflab.path_dependence.ensemble import forward_ensemble, init_ensemble, train_ensemble
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

MANIPULATIONS = ("order", "perturb", "init", "curriculum")
SCHEDULES = ("hard_only", "both", "hard_first", "easy_first", "easy_removed")


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
    elif manipulation == "curriculum":
        idx[1::2] = idx[0::2]
        easy_rows = pool[y[pool] < 5]
        if len(easy_rows) == 0:
            raise ValueError("curriculum needs training rows of classes 0-4; increase n_train")
        k = min(curriculum_steps, steps)
        idx[0::2, :k] = easy_rows[torch.randint(0, len(easy_rows), (n_pairs, k, batch), generator=g)]
    return inits, idx


def sweep_point(
    *,
    dataset: str,
    width: int,
    parametrization: str,
    seed: int,
    manipulation: str = "order",
    n_pairs: int = 2,
    n_hidden: int = 1,
    base_width: int = 64,
    lr: float = 0.5,
    batch: int = 32,
    steps: int = 400,
    steps_early: int = 100,
    n_train: int | None = None,
    perturb_step: int = 50,
    curriculum_steps: int = 100,
    loss: str = "ce",
    ntk_probe: int = 0,
    probe: int = 256,
    arch: str = "mlp",
) -> list[dict]:
    """Train one ensemble of pairs at one width; return one row per (budget, pair).

    ``arch="cnn"`` uses :class:`CNNSpec` (channels = width, inputs as 1-D sequences; MNIST-1D).
    """
    if not 0 < steps_early < steps:
        raise ValueError(f"steps_early must be in (0, steps={steps}), got {steps_early}")
    d = datasets.load(dataset)
    spec = _spec(arch, d, width, n_hidden, parametrization, base_width)
    g = _gen(seed, 3)
    perm = torch.randperm(len(d.y), generator=g)
    pool = perm[: (n_train or len(d.y))]
    inits, idx = pair_design(manipulation, n_pairs, pool, d.y, steps, batch, seed, perturb_step, curriculum_steps)
    p0 = init_ensemble(spec, inits)
    res = train_ensemble(spec, p0, d.x, d.y, idx, lr, loss, snapshot_steps=(steps_early,))
    xp = d.x_test[:probe]
    _, h_init = forward_ensemble(spec, p0, xp, return_hidden=True)
    rows = []
    for budget, pt in (("early", res.snapshots[steps_early]), ("final", res.params)):
        t_done = steps_early if budget == "early" else steps
        logits, hid = forward_ensemble(spec, pt, d.x_test, return_hidden=True)
        finite = torch.isfinite(logits).flatten(1).all(1)
        fc = relative_feature_change(spec, p0, pt, xp)
        wc = relative_weight_change(p0, pt)
        err = error_rate(logits, d.y_test)
        train_loss = res.loss_curve[max(0, t_done - 20) : t_done].mean(0)
        a, b = slice(0, None, 2), slice(1, None, 2)
        dis, tv = disagreement(logits[a], logits[b]), tv_distance(logits[a], logits[b])
        cka_end = linear_cka(hid[-1][a, :probe], hid[-1][b, :probe])
        cka_init = linear_cka(h_init[-1][a], h_init[-1][b])
        # NTK distance (init -> now) of both members of pair 0 (it costs a Jacobian per member)
        ntk = ntk_distance(spec, p0, pt, d.x_test[:ntk_probe], [0, 1]) if ntk_probe else torch.full((2,), math.nan)
        for i in range(n_pairs):
            ok = bool(finite[2 * i] and finite[2 * i + 1])
            pa = {k: v[2 * i] for k, v in pt.items()}
            pb = {k: v[2 * i + 1] for k, v in pt.items()}
            row = dict(
                dataset=dataset,
                arch=arch,
                width=width,
                parametrization=parametrization,
                manipulation=manipulation,
                budget=budget,
                step=t_done,
                pair=i,
                n_train=len(pool),
                diverged=not ok,
                disagreement=float(dis[i]),
                tv_distance=float(tv[i]),
                test_error=float(err[2 * i : 2 * i + 2].mean()),
                train_loss=float(train_loss[2 * i : 2 * i + 2].mean()),
                feature_change=float(fc[2 * i : 2 * i + 2, 0].mean()),
                feature_change_last=float(fc[2 * i : 2 * i + 2, -1].mean()),
                cka_end=float(cka_end[i]),
                cka_init=float(cka_init[i]),
                lmc_barrier=lmc_barrier(spec, pa, pb, d.x_test, d.y_test) if ok else math.nan,
                ntk_distance=float(ntk.mean()) if i == 0 else math.nan,
            )
            for layer, (s, f) in enumerate(wc.values()):  # layer index in order (CNN readout = last)
                row[f"spectral_change_{layer}"] = float(s[2 * i : 2 * i + 2].mean())
                row[f"frobenius_change_{layer}"] = float(f[2 * i : 2 * i + 2].mean())
            rows.append(row)
    # paired training curves of pair 0 (window means of the minibatch loss), for the curve plots
    window = max(1, steps // 25)
    smooth = res.loss_curve[: steps // window * window, :2].reshape(-1, window, 2).mean(1)
    for j in range(smooth.shape[0]):
        for m in range(2):
            rows.append(
                dict(
                    dataset=dataset,
                    arch=arch,
                    width=width,
                    parametrization=parametrization,
                    manipulation=manipulation,
                    budget="curve",
                    step=(j + 1) * window,
                    pair=0,
                    n_train=len(pool),
                    diverged=not bool(torch.isfinite(smooth[:, :2]).all()),
                    member=m,
                    train_loss=float(smooth[j, m]),
                )
            )
    return rows


def _spec(arch: str, d: datasets.Dataset, width: int, n_hidden: int, parametrization: str, base_width: int):
    if arch == "mlp":
        return MLPSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width)
    if arch == "cnn":
        return CNNSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width)
    raise ValueError(f"arch must be 'mlp' or 'cnn', got {arch!r}")


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
    spec = _spec(arch, d, width, n_hidden, parametrization, base_width)
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


def schedule_masks(task: datasets.ShardTask, schedules: tuple[str, ...], steps: int) -> torch.Tensor:
    """Input masks ``[len(schedules), steps, d]`` for the feature schedules (phase switch at steps/2)."""
    half = steps // 2
    both, hard, easy = task.mask(True, True), task.mask(True, False), task.mask(False, True)
    phases = {
        "hard_only": (hard, hard),
        "both": (both, both),
        "hard_first": (hard, both),
        "easy_first": (easy, both),
        "easy_removed": (both, hard),
    }
    out = []
    for s in schedules:
        if s not in phases:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {s!r}")
        first, second = phases[s]
        out.append(torch.cat([first.expand(half, -1), second.expand(steps - half, -1)]))
    return torch.stack(out)


def easy_share(task: datasets.ShardTask, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Readout-weighted share of first-layer input weight on the easy block, per member ``[E]``.

    ``S = sum_j r_j s_j / sum_j r_j`` with ``s_j = ||W1[j, easy]||^2 / ||W1[j, :]||^2`` and
    ``r_j = ||W_out[:, j]||^2``; its change from init is the *scavenging index*: units (and their
    readout weight) recruited to the easy shard.
    """
    w1 = p["layers.0.weight"]
    out_name = max(p)  # last layer
    s = (w1[..., task.easy] ** 2).sum(-1) / (w1**2).sum(-1)
    r = (p[out_name] ** 2).sum(-2) if w1.shape[-2] == p[out_name].shape[-1] else torch.ones_like(s)
    return (r * s).sum(-1) / r.sum(-1)


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
) -> list[dict]:
    """One ensemble (``reps`` members per schedule, shared init and order across schedules)."""
    name = task
    task = shard_task_cached(seed, name)
    d = task.data
    spec = MLPSpec(d.d_in, width, d.n_classes, n_hidden, parametrization, base_width)
    g = _gen(seed, 5)
    init_seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (reps,), generator=g)]
    orders = torch.randint(0, len(d.y), (reps, steps, batch), generator=g)
    members = [(s, r) for r in range(reps) for s in schedules]
    p0 = init_ensemble(spec, [init_seeds[r] for _, r in members])
    idx = torch.stack([orders[r] for _, r in members])
    masks = schedule_masks(task, schedules, steps).repeat(reps, 1, 1)
    half = steps // 2
    res = train_ensemble(spec, p0, d.x, d.y, idx, lr, loss, sd_lambda, input_mask=masks, snapshot_steps=(half,))
    rows = []
    for budget, pt in (("phase1", res.snapshots[half]), ("final", res.params)):

        def acc(x, y):
            return 1 - error_rate(forward_ensemble(spec, pt, x), y)

        full = acc(d.x_test, d.y_test)
        hard_only = acc(d.x_test * task.mask(True, False), d.y_test)
        easy_only = acc(d.x_test * task.mask(False, True), d.y_test)
        conflict_logits = forward_ensemble(spec, pt, task.x_conflict)
        pred = conflict_logits.argmax(-1)
        follow_easy = (pred == task.y_conflict).float().mean(-1)
        follow_hard = (pred == d.y_test).float().mean(-1)
        share0, share = easy_share(task, p0), easy_share(task, pt)
        for e, (s, r) in enumerate(members):
            rows.append(
                dict(
                    task=name,
                    width=width,
                    parametrization=parametrization,
                    schedule=s,
                    rep=r,
                    budget=budget,
                    loss=loss,
                    chance=1.0 / d.n_classes,
                    acc=float(full[e]),
                    hard_only_acc=float(hard_only[e]),
                    easy_only_acc=float(easy_only[e]),
                    follow_easy=float(follow_easy[e]),
                    follow_hard=float(follow_hard[e]),
                    scavenging=float(share[e] - share0[e]),
                    train_loss=float(
                        res.loss_curve[
                            max(0, (half if budget == "phase1" else steps) - 20) : (
                                half if budget == "phase1" else steps
                            ),
                            e,
                        ].mean()
                    ),
                )
            )
    return rows


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
