"""The runner: a sweep is a grid of cells (config x seed), run serially, on a process pool, or on Ray.

Every backend calls the same :func:`execute_cell` with the same per-cell seed, so results do not
depend on the backend, the worker or the order (tested: pool == serial). Finished cells go to the
store one transaction each as they arrive; cells already in the store are skipped unless
``force``. A failing cell records its traceback and the sweep goes on; a worker process that
dies (OOM, ``kill -9``) breaks the pool, which is rebuilt and the unfinished cells resubmitted
(a cell that kills its worker three times is recorded as failed).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import socket
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from aflab.core.claims import Claim, ClaimConfig, ClaimSkipped, code_version, get_claim
from aflab.core.seeding import cell_seed, seed_everything
from aflab.core.store import CellRecord, ResultStore, bytes_to_table, table_to_bytes
from aflab.core.threads import single_thread

MAX_WORKER_DEATHS = 3


@dataclass(frozen=True)
class CellSpec:
    """One unit of work: a claim, a validated config (canonical JSON) and a seed."""

    claim: str
    config_json: str
    config_hash: str
    seed_index: int
    seed: int
    code_version: str


def plan_cells(
    claim: Claim, cfg: ClaimConfig, n_seeds: int, base_seed: int = 0, first_index: int = 0
) -> list[CellSpec]:
    """The cells of ``n_seeds`` seeds, seed indices ``first_index .. first_index + n_seeds - 1``.

    Seed set ``j`` of a stability run uses ``first_index = j * n_seeds``: disjoint from every other set.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    if first_index < 0:
        raise ValueError(f"first_index must be >= 0, got {first_index}")
    h = cfg.config_hash()
    cjson = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    ver = code_version(claim)
    return [
        CellSpec(claim.id, cjson, h, i, cell_seed(base_seed, claim.id, h, i), ver)
        for i in range(first_index, first_index + n_seeds)
    ]


def _init_worker() -> None:
    single_thread()


def execute_cell(spec: CellSpec) -> CellRecord:
    """Run one cell and return its record (never raises for an experiment error)."""
    _init_worker()
    claim = get_claim(spec.claim)
    cfg = claim.config.model_validate_json(spec.config_json)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        seed_everything(spec.seed)
        single_thread()
        table = claim.run(cfg, spec.seed, spec.seed_index)
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"experiment of {spec.claim} returned {type(table).__name__}, expected a pandas DataFrame")
        blob, status, error = table_to_bytes(table), "ok", None
    except ClaimSkipped as skip:
        blob, status, error = None, "skipped", str(skip)
    except Exception:
        blob, status, error = None, "failed", traceback.format_exc()
    return CellRecord(
        spec.claim,
        spec.config_hash,
        spec.seed,
        spec.code_version,
        spec.seed_index,
        spec.config_json,
        status,
        blob,
        error,
        time.perf_counter() - t0,
        worker,
    )


@dataclass
class SweepSummary:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cached: int = 0
    interrupted: bool = False
    failures: list[tuple[CellSpec, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.interrupted


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.completed}/{task.total} cells  [green]{task.fields[done]} done[/] "
            "[red]{task.fields[failed]} failed[/] [cyan]{task.fields[cached]} cached[/]"
        ),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def run_cells(
    cells: Sequence[CellSpec],
    store: ResultStore,
    jobs: int = 1,
    ray_address: str | None = None,
    force: bool = False,
    progress: bool = True,
    description: str = "sweep",
) -> SweepSummary:
    """Run every cell not already finished in ``store``; write each result as it arrives."""
    summary = SweepSummary(total=len(cells))
    todo: list[CellSpec] = []
    finished_cache: dict[tuple, set[int]] = {}
    for spec in cells:
        key = (spec.claim, spec.config_hash, spec.code_version)
        if key not in finished_cache:
            finished_cache[key] = set() if force else store.finished_seeds(*key)
        if spec.seed in finished_cache[key]:
            summary.cached += 1
        else:
            todo.append(spec)

    with _progress(progress) as bar:
        task = bar.add_task(
            description, total=len(cells), completed=summary.cached, done=0, failed=0, cached=summary.cached
        )

        def record(rec: CellRecord, spec: CellSpec) -> None:
            store.put_cell(rec)
            if rec.status == "ok":
                summary.done += 1
            elif rec.status == "skipped":
                summary.skipped += 1
            else:
                summary.failed += 1
                summary.failures.append((spec, rec.error or ""))
            bar.update(task, advance=1, done=summary.done, failed=summary.failed)

        try:
            if ray_address is not None:
                _run_ray(todo, ray_address, jobs, record)
            elif jobs <= 1:
                for spec in todo:
                    record(execute_cell(spec), spec)
            else:
                _run_pool(todo, jobs, record)
        except KeyboardInterrupt:
            summary.interrupted = True
    return summary


def _run_pool(todo: list[CellSpec], jobs: int, record) -> None:
    deaths: dict[CellSpec, int] = {}
    pending = list(todo)
    ctx = mp.get_context("spawn")
    while pending:
        pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=ctx, initializer=_init_worker)
        futures = {pool.submit(execute_cell, spec): spec for spec in pending}
        pending = []
        try:
            for fut in cf.as_completed(futures):
                spec = futures[fut]
                try:
                    rec = fut.result()
                except cf.process.BrokenProcessPool:
                    deaths[spec] = deaths.get(spec, 0) + 1
                    if deaths[spec] >= MAX_WORKER_DEATHS:
                        record(_dead_record(spec), spec)
                    else:
                        pending.append(spec)
                    continue
                record(rec, spec)
        except KeyboardInterrupt:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _dead_record(spec: CellSpec) -> CellRecord:
    msg = f"worker process died {MAX_WORKER_DEATHS} times while this cell was pending (killed or out of memory)"
    return CellRecord(
        spec.claim,
        spec.config_hash,
        spec.seed,
        spec.code_version,
        spec.seed_index,
        spec.config_json,
        "failed",
        None,
        msg,
        0.0,
        "",
    )


def connect_ray(address: str, jobs: int):
    """``local``: start a local Ray; ``auto``: join a running cluster, else start locally; else an address."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray backend needs the 'ray' extra: pip install 'aflab[ray]'") from None
    if ray.is_initialized():
        return ray
    env = {"env_vars": {k: v for k, v in os.environ.items() if k in ("AFLAB_PLUGINS", "PYTHONPATH")}}
    kw = dict(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False, runtime_env=env)
    if address == "local":
        ray.init(num_cpus=max(jobs, 1), **kw)
    elif address == "auto":
        try:
            ray.init(address="auto", **kw)
        except (ConnectionError, RuntimeError):
            ray.init(num_cpus=max(jobs, 1), **kw)
    else:
        ray.init(address=address, **kw)
    return ray


def _run_ray(todo: list[CellSpec], address: str, jobs: int, record) -> None:
    if not todo:
        return
    ray = connect_ray(address, jobs)
    remote = ray.remote(num_cpus=1, max_retries=MAX_WORKER_DEATHS - 1)(execute_cell)
    refs = {remote.remote(spec): spec for spec in todo}
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                spec = refs.pop(ref)
                try:
                    rec = ray.get(ref)
                except Exception as err:  # worker crash after retries
                    rec = CellRecord(
                        spec.claim,
                        spec.config_hash,
                        spec.seed,
                        spec.code_version,
                        spec.seed_index,
                        spec.config_json,
                        "failed",
                        None,
                        f"ray task failed: {err}",
                        0.0,
                        "",
                    )
                record(rec, spec)
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def gather_table(store: ResultStore, cells: Iterable[CellSpec]) -> tuple[pd.DataFrame, float]:
    """Concatenate the finished cells' tables with a ``seed`` column (the seed index); total elapsed."""
    cells = list(cells)
    if not cells:
        return pd.DataFrame(), 0.0
    c0 = cells[0]
    rows = store.cell_tables(c0.claim, c0.config_hash, c0.code_version, [c.seed for c in cells])
    frames = [t.assign(seed=i) for i, _, t, _ in rows]
    elapsed = sum(e for *_, e in rows)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), elapsed


__all__ = [
    "CellSpec",
    "SweepSummary",
    "bytes_to_table",
    "connect_ray",
    "execute_cell",
    "gather_table",
    "plan_cells",
    "run_cells",
]
