"""Kernel-regime baselines: the linearized model f_lin next to the net (Lee et al. 2019), with the analytic
infinite-width kernels as reference points.

D1's mechanism says a wide net stays close to its linearization, whose training is a kernel method. This
check measures that gap directly, and reports the linearized model's *own* path-dependence (order pairs of
f_lin under SGD) at a fixed step budget and at matched train loss, which is what path-dependence tends to
in the kernel limit. Importing this module imports neither torch nor matplotlib.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Threshold, decide
from aflab.path_dependence.choices import DatasetName, Parametrization
from aflab.path_dependence.claims import NAN_INTERVAL, _cell_threshold, _WidthConfig
from aflab.path_dependence.theory import width_slope

LINEARIZATION_THRESHOLD = Threshold(
    "gap slope d log RMS(f_T - f_lin,T) / d log n at the fixed step budget (first judged parametrization)",
    "below",
    -0.35,
    "Lee et al. (2019, Thm 2.1) bound the gap by O(n^-1/2) under NTK scaling, so the slope must be <= -0.5; "
    "-0.35 leaves 0.15 for finite-width bias at widths 64-1024. (Finite-width corrections of order 1/n "
    "-- Dyer & Gur-Ari 2020 -- make it steeper, which the bound allows.) Under muP features move Theta(1) "
    "and the gap does not shrink (slope about -0.1): the mutation this check must refute",
)


class LinearizedConfig(_WidthConfig):
    widths: tuple[int, ...] = Field((64, 256, 1024), min_length=2, description="hidden widths n (>= 2)")
    dataset: DatasetName = Field("digits", description="dataset")
    judged: tuple[Parametrization, ...] = Field(
        ("ntk", "sp_lr1n"), min_length=1, description="lazy parametrizations whose gap slope is checked"
    )
    n_pairs: int = Field(1, ge=1, le=64, description="order pairs per width and seed")
    loss: Literal["ce", "mse"] = Field("ce", description="training loss")
    stop_at_loss: float = Field(0.0, ge=0, le=10, description="also compare at this full-batch train loss (0 = off)")
    max_steps: int = Field(20_000, ge=2, le=10_000_000, description="step cap of the matched-loss regime")
    eval_every: int = Field(50, ge=1, le=100_000, description="steps between full-batch train-loss evaluations")
    n_train: int = Field(0, ge=0, description="training rows (0 = all)")


def linearized_experiment(cfg: LinearizedConfig, seed: int) -> pd.DataFrame:
    """Nets and their linearizations, order pairs, every (parametrization, width); kernel references per seed."""
    import torch

    from aflab.path_dependence import experiments as ex
    from aflab.path_dependence.data import load

    n_all = len(load(cfg.dataset).y)
    n_train = min(cfg.n_train or n_all, n_all)
    rows = []
    for p in cfg.parametrizations:
        for w in cfg.widths:
            rows += ex.linearized_point(
                dataset=cfg.dataset,
                width=w,
                parametrization=p,
                seed=seed,
                n_pairs=cfg.n_pairs,
                n_hidden=cfg.n_hidden,
                base_width=cfg.base_width,
                lr=cfg.lr,
                batch=cfg.batch,
                steps=cfg.steps,
                n_train=n_train,
                loss=cfg.loss,
                stop_at_loss=cfg.stop_at_loss or None,
                max_steps=cfg.max_steps,
                eval_every=cfg.eval_every,
            )
    pool = torch.randperm(n_all, generator=ex._gen(seed, 3))[:n_train]  # the rows linearized_point trained on
    refs = ex.kernel_references(cfg.dataset, pool, cfg.n_hidden)
    return pd.DataFrame(rows).assign(**refs)


def linearized_verdict(cfg: LinearizedConfig, table: pd.DataFrame) -> Verdict:
    """Headline: the gap slope at the fixed budget of the first judged parametrization; the other judged ones
    must agree. Reported: gap, f_lin and net order-pair TV slopes per regime, per-width means, kernel errors."""
    t = table[~table.diverged.astype(bool)]
    numbers, decisions, comps = {}, [], []
    for (regime, p), g in t.groupby(["regime", "parametrization"]):
        g = g[g.converged.astype(bool)] if regime == "converged" else g
        for metric in ("gap", "lin_tv", "net_tv"):
            numbers.update(width_slope(g, metric).as_numbers(f"{regime}_{p}_{metric}_slope"))
        for w, gw in g.groupby("width"):
            numbers[f"{regime}_{p}_lin_tv_n{w}"] = float(gw.lin_tv.mean())
            numbers[f"{regime}_{p}_net_tv_n{w}"] = float(gw.net_tv.mean())
    budget = t[t.regime == "budget"]
    for p in [p for p in cfg.judged if p in cfg.parametrizations]:
        iv = width_slope(budget[budget.parametrization == p], "gap") if len(budget) else NAN_INTERVAL
        th = LINEARIZATION_THRESHOLD if not decisions else _cell_threshold(LINEARIZATION_THRESHOLD, f"gap slope, {p}")
        decisions.append(decide(iv, th))
        comps.append(
            Comparison(f"{p}: d log||f - f_lin|| / d log n (fixed budget)", -0.5, iv.estimate, iv.se, iv.text())
        )
    for col in ("ntk_regression_error", "nngp_regression_error"):
        if col in table.columns:
            numbers[f"infinite_width_{col}"] = float(table.groupby("seed")[col].first().mean())
    note = f"{cfg.steps}-step budget" + (f"; matched train loss {cfg.stop_at_loss:g}" if cfg.stop_at_loss else "")
    return Verdict.from_decisions(decisions or [decide(NAN_INTERVAL, LINEARIZATION_THRESHOLD)], numbers, note, comps)


def linearized_figures(cfg: LinearizedConfig, table: pd.DataFrame) -> dict:
    from aflab.path_dependence import plots

    t = table.assign(regime_label=table.regime)
    figs = {
        "gap_vs_width": plots.metric_by_regime(t, "gap", "RMS(f - f_lin) on test inputs vs width"),
        "lin_tv_vs_width": plots.metric_by_regime(t, "lin_tv", "Order-pair TV of the linearized model f_lin"),
    }
    refs = table.groupby("seed")[["ntk_regression_error"]].first().mean()
    ref = pd.DataFrame({"width": sorted(table.width.unique()), "label": "NTK kernel regression (n = inf)"}).assign(
        value=float(refs.iloc[0])
    )
    figs["test_error_vs_width"] = plots.metric_by_regime(
        t.assign(test_error=t.net_error), "test_error", "Test error of the nets vs width", reference=ref
    )
    return figs


register(
    Claim(
        id="path_dependence.linearization-gap",
        statement="Under NTK scaling a trained net stays within O(n^-1/2) of its linearization around init "
        "(f_lin, trained on the same batches in the same order): the gap's log-log slope vs width is <= -1/2. "
        "Reported alongside: the order-dependence of f_lin itself (the kernel regime's own path-dependence) at a "
        "fixed budget and at matched train loss, and the analytic infinite-width kernel regression.",
        source="Lee et al. 2019, 'Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent', "
        "Thm 2.1; Jacot et al. 2018 (NTK); Arora et al. 2019 (exact ReLU kernels)",
        config=LinearizedConfig,
        experiment=linearized_experiment,
        verdict=linearized_verdict,
        figures=linearized_figures,
        presets={
            "smoke": {"widths": (64, 256, 1024), "parametrizations": ("ntk",), "steps": 60, "n_train": 400},
            "quick": {"parametrizations": ("ntk", "mup"), "stop_at_loss": 1e-2},
            "full": {
                "widths": (64, 128, 256, 512, 1024, 2048, 4096),
                "parametrizations": ("ntk", "sp_lr1n", "mup"),
                "stop_at_loss": 1e-3,
                "max_steps": 100_000,
                "n_pairs": 2,
            },
        },
        seeds={"smoke": 3, "quick": 3, "full": 5},
        quick_budget_s=25,
        kind="check",
        threshold=LINEARIZATION_THRESHOLD,
        counterfactual=Counterfactual(
            "muP instead of NTK scaling: features move Theta(1) at every width, the net never linearizes",
            {"parametrizations": ("mup",), "judged": ("mup",)},
        ),
    )
)
