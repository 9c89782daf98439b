"""Hyperparameter transfer across width: the learning rate tuned on a small net stays optimal under muP.

Yang et al. (2022, 'Tensor Programs V', Sec. 3 and Fig. 1) report that under muP the training-loss-optimal
learning rate is stable as the width grows, while under the standard parametrization it drifts. We tune on a
grid at every width (one ensemble member per LR, same init and batches) and locate each width's optimum by a
parabola through the best grid point and its neighbours in (log2 LR, log loss). Importing this module imports
neither torch nor matplotlib.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Threshold, decide, mean_ci
from aflab.path_dependence.choices import DatasetName, Parametrization
from aflab.path_dependence.claims import NAN_INTERVAL, _WidthConfig

TRANSFER_THRESHOLD = Threshold(
    "log2(best LR at the widest / best LR at the narrowest width), transfer parametrization (muP)",
    "within",
    -1.0,
    "the claim as filed: under muP the optimum varies by less than 2x (|log2 ratio| < 1) from the smallest "
    "to the largest width; a 2x step is also the grid's spacing, so a smaller band would be below resolution",
    upper=1.0,
)
DRIFT_THRESHOLD = Threshold(
    "log2(best LR at the widest / best LR at the narrowest width), contrast parametrization (SP)",
    "outside",
    -2.0,
    "the claim as filed: under SP the optimum moves by more than 4x (|log2 ratio| > 2), two grid steps: "
    "a drift that tuning at the small width would actually get wrong",
    upper=2.0,
)


class TransferConfig(_WidthConfig):
    widths: tuple[int, ...] = Field((64, 512, 4096), min_length=2, description="hidden widths n (>= 2)")
    dataset: DatasetName = Field("digits", description="dataset")
    transfer: Parametrization = Field("mup", description="the parametrization claimed to transfer the LR")
    contrast: Parametrization | None = Field("sp", description="the parametrization claimed to drift (None: skip)")
    optimizer: Literal["sgd", "adam"] = Field("adam", description="optimizer (Adam: MuAdam under muP)")
    log2_lrs: tuple[float, ...] = Field(
        tuple(float(v) for v in range(-13, -2)), min_length=3, description="the LR grid, as log2(lr)"
    )
    steps: int = Field(100, ge=1, le=1_000_000, description="training steps before the loss is read")

    @field_validator("log2_lrs")
    @classmethod
    def _grid(cls, v):
        if len(set(v)) < 3:
            raise ValueError("log2_lrs needs >= 3 distinct values, e.g. [-12, -11, ..., -3]")
        return tuple(sorted(v))


def transfer_experiment(cfg: TransferConfig, seed: int) -> pd.DataFrame:
    from aflab.path_dependence import experiments as ex

    rows = []
    for p in dict.fromkeys([cfg.transfer] + ([cfg.contrast] if cfg.contrast else [])):
        for w in cfg.widths:
            rows += ex.lr_grid_point(
                dataset=cfg.dataset,
                width=w,
                parametrization=p,
                seed=seed,
                log2_lrs=cfg.log2_lrs,
                optimizer=cfg.optimizer,
                n_hidden=cfg.n_hidden,
                base_width=cfg.base_width,
                batch=cfg.batch,
                steps=cfg.steps,
            )
    return pd.DataFrame(rows)


def best_log2_lr(grid: pd.DataFrame) -> float:
    """The optimum of one LR sweep: vertex of the parabola through the best grid point and its two neighbours
    in (log2 lr, log loss); NaN when the best point is at the grid's edge (the optimum is not bracketed)."""
    g = grid.sort_values("log2_lr")
    loss = np.log(g.train_loss.to_numpy(float))
    i = int(np.argmin(np.where(np.isfinite(loss), loss, np.inf)))
    if i == 0 or i == len(g) - 1 or not np.isfinite(loss[i - 1 : i + 2]).all():
        return math.nan
    x = g.log2_lr.to_numpy(float)[i - 1 : i + 2]
    a, b, _ = np.polyfit(x, loss[i - 1 : i + 2], 2)
    return float(np.clip(-b / (2 * a), x[0], x[2])) if a > 0 else float(x[1])


def transfer_verdict(cfg: TransferConfig, table: pd.DataFrame) -> Verdict:
    """Per seed: best log2 LR at the widest minus at the narrowest width; t-interval over seeds."""
    numbers, decisions, comps = {}, [], []
    lo, hi = min(cfg.widths), max(cfg.widths)
    roles = [(cfg.transfer, TRANSFER_THRESHOLD)] + ([(cfg.contrast, DRIFT_THRESHOLD)] if cfg.contrast else [])
    for p, threshold in roles:
        g = table[table.parametrization == p]
        best = g.groupby(["seed", "width"]).apply(best_log2_lr, include_groups=False).rename("best").reset_index()
        for w, gw in best.groupby("width"):
            numbers[f"{p}_best_log2_lr_n{w}"] = float(gw.best.mean())
        wide = best.pivot(index="seed", columns="width", values="best")
        shift = (wide[hi] - wide[lo]).to_numpy(float) if {lo, hi} <= set(wide.columns) else np.array([])
        iv = mean_ci(shift) if np.isfinite(shift).sum() >= 2 else NAN_INTERVAL
        numbers[f"{p}_unbracketed"] = float(best.best.isna().sum())
        numbers.update(iv.as_numbers(f"{p}_log2_shift"))
        decisions.append(decide(iv, threshold))
        comps.append(Comparison(f"{p}: log2 best-LR shift {lo} -> {hi}", None, iv.estimate, iv.se, iv.text()))
    grid = f"grid 2^{cfg.log2_lrs[0]:g}..2^{cfg.log2_lrs[-1]:g}, {cfg.optimizer}, {cfg.steps} steps"
    return Verdict.from_decisions(decisions, numbers, grid, comps)


def transfer_figures(cfg: TransferConfig, table: pd.DataFrame) -> dict:
    from aflab.path_dependence import plots

    return {"loss_vs_lr": plots.loss_vs_lr(table, f"Train loss after {cfg.steps} {cfg.optimizer} steps vs LR")}


register(
    Claim(
        id="path_dependence.lr-transfer",
        statement="Under muP the training-loss-optimal learning rate transfers across width: the best LR on a grid "
        "varies by less than 2x from the narrowest to the widest net, while under SP it moves by more than 4x.",
        source="Yang et al. 2022, 'Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter "
        "Transfer', Sec. 3, Fig. 1",
        config=TransferConfig,
        experiment=transfer_experiment,
        verdict=transfer_verdict,
        figures=transfer_figures,
        presets={
            "smoke": {"widths": (64, 256, 1024), "steps": 40, "contrast": None},
            "quick": {},
            "full": {"widths": (64, 256, 1024, 4096), "steps": 300, "log2_lrs": tuple(v / 2 for v in range(-28, -3))},
        },
        seeds={"smoke": 3, "quick": 3, "full": 5},
        quick_budget_s=40,
        kind="claim",
        threshold=TRANSFER_THRESHOLD,
        refuted_if="the muP optimum moves by 2x or more (log2-shift CI outside [-1, 1]) or the SP optimum by less "
        "than 4x (CI inside [-2, 2])",
        counterfactual=Counterfactual(
            "the muP multipliers removed: SP stands in as the 'transfer' parametrization", {"transfer": "sp"}
        ),
    )
)
