"""Run claims end to end: plan cells, run them (cached), gather tables, judge, draw figures."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from aflab.core.claims import Claim, ClaimConfig, Verdict
from aflab.core.runner import CellSpec, SweepSummary, gather_table, plan_cells, run_cells
from aflab.core.store import ResultStore


@dataclass
class ClaimOutcome:
    claim: Claim
    config: ClaimConfig
    preset: str
    cells: list[CellSpec]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    compute_s: float = 0.0  # summed cell time (what the cells cost, cached or not)
    judge_s: float = 0.0
    verdict: Verdict | None = None
    error: str | None = None
    skipped: str | None = None  # why the claim could not run here (an optional resource is absent)
    figures: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.verdict:
            return self.verdict.label
        return "skipped" if self.skipped else "error"


def run_claims(
    jobs: Sequence[tuple[Claim, ClaimConfig, str, int]],
    store: ResultStore,
    *,
    n_jobs: int = 1,
    ray_address: str | None = None,
    force: bool = False,
    base_seed: int = 0,
    progress: bool = True,
    draw_figures: bool = True,
    cell_timeout_s: float | None = None,
) -> tuple[list[ClaimOutcome], SweepSummary]:
    """``jobs`` is a list of (claim, config, preset, n_seeds). All cells go into one sweep.

    ``cell_timeout_s`` overrides every claim's own cell time limit (0 = no limit).
    """
    outcomes = [
        ClaimOutcome(c, cfg, preset, plan_cells(c, cfg, n, base_seed, timeout_s=cell_timeout_s))
        for c, cfg, preset, n in jobs
    ]
    all_cells = [cell for o in outcomes for cell in o.cells]
    summary = run_cells(
        all_cells,
        store,
        jobs=n_jobs,
        ray_address=ray_address,
        force=force,
        progress=progress,
        description=jobs[0][0].id if len(jobs) == 1 else f"{len(jobs)} claims",
    )
    for o in outcomes:
        judge(o, store, draw_figures)
    return outcomes, summary


def judge(o: ClaimOutcome, store: ResultStore, draw_figures: bool = True) -> None:
    """Gather the claim's tables; if every cell finished, compute the verdict and figures."""
    o.table, o.compute_s = gather_table(store, o.cells)
    n_ok = o.table["seed"].nunique() if len(o.table) else 0
    if n_ok < len(o.cells):
        c0 = o.cells[0]
        skipped = store.failed_cells(c0.claim, c0.config_hash, c0.code_version, status="skipped")
        if skipped:
            o.skipped = skipped[0][1]
            return
        failed = store.failed_cells(c0.claim, c0.config_hash, c0.code_version)
        first = failed[0][1] if failed else "cells missing (interrupted?)"
        o.error = f"{len(o.cells) - n_ok} of {len(o.cells)} cells did not finish; first error:\n{first}"
        return
    t0 = time.perf_counter()
    try:
        o.verdict = o.claim.verdict(o.config, o.table)
        store.put_verdict(
            o.claim.id,
            o.cells[0].config_hash,
            o.cells[0].code_version,
            len(o.cells),
            o.verdict.label,
            dict(o.verdict.numbers),
            o.verdict.reason,
        )
    except Exception:
        o.error = "verdict function failed:\n" + traceback.format_exc()
    if draw_figures and o.claim.figures is not None and o.error is None:
        try:
            o.figures = dict(o.claim.figures(o.config, o.table))
        except Exception:
            o.error = "figures function failed:\n" + traceback.format_exc()
    o.judge_s = time.perf_counter() - t0
