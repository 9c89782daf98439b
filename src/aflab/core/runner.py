"""The runner: a sweep is a grid of cells (config x seed), run serially, on worker processes, or on Ray.

Every backend calls the same :func:`execute_cell` with the same per-cell seed, so results do not depend
on the backend, the worker or the order (tested: pool == serial == Ray on every claim). Finished cells go
to the store one file each as they arrive; cells already in the store are skipped unless ``force``.

Fault isolation:

- a failing cell records its traceback and the sweep goes on;
- each worker process runs one cell at a time in its own single-process executor, so a worker that dies
  (a segfault, the OOM killer, ``kill -9``) is charged to exactly the cell it was running; that cell is
  retried on a fresh worker and recorded as failed after :data:`MAX_WORKER_DEATHS` deaths, while the other
  cells are untouched;
- a cell that runs past its timeout (the claim's ``cell_timeout_s`` or ``--cell-timeout``) has its worker
  killed and is recorded as failed with the reason (in a serial run an alarm interrupts it);
- workers exit when the coordinating process dies (Linux parent-death signal, plus a watchdog thread), so a
  ``kill -9`` of ``aflab`` leaves no orphans computing for nobody.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from aflab.core.claims import Claim, ClaimConfig, ClaimSkipped, code_version, get_claim
from aflab.core.seeding import cell_seed, seed_everything
from aflab.core.store import CellRecord, ResultStore, bytes_to_table, table_to_bytes
from aflab.core.threads import single_thread

MAX_WORKER_DEATHS = 3

#: top-level modules of aflab's optional extras -> the install command that brings them
OPTIONAL_MODULES = {
    "torch": "pip install 'aflab[ml]'",
    "mnist1d": "pip install 'aflab[ml]'",
    "transformers": "pip install 'aflab[llm]'",
    "gguf": "pip install 'aflab[llm]'",
    "ray": "pip install 'aflab[ray]'",
}


@dataclass(frozen=True)
class CellSpec:
    """One unit of work: a claim, a validated config (canonical JSON), a seed, and its time limit."""

    claim: str
    config_json: str
    config_hash: str
    seed_index: int
    seed: int
    code_version: str
    timeout_s: float | None = None


def plan_cells(
    claim: Claim,
    cfg: ClaimConfig,
    n_seeds: int,
    base_seed: int = 0,
    first_index: int = 0,
    timeout_s: float | None = None,
) -> list[CellSpec]:
    """The cells of ``n_seeds`` seeds, seed indices ``first_index .. first_index + n_seeds - 1``.

    Seed set ``j`` of a stability run uses ``first_index = j * n_seeds``: disjoint from every other set.
    ``timeout_s`` overrides the claim's ``cell_timeout_s`` (0 = no limit).
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    if first_index < 0:
        raise ValueError(f"first_index must be >= 0, got {first_index}")
    limit = claim.cell_timeout_s if timeout_s is None else timeout_s
    limit = None if not limit else float(limit)
    h = cfg.config_hash()
    cjson = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    ver = code_version(claim)
    return [
        CellSpec(claim.id, cjson, h, i, cell_seed(base_seed, claim.id, h, i), ver, limit)
        for i in range(first_index, first_index + n_seeds)
    ]


def _record(
    spec: CellSpec, status: str, blob: bytes | None, error: str | None, elapsed: float, worker: str = ""
) -> CellRecord:
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
        elapsed,
        worker,
    )


class CellTimeout(Exception):
    """Raised inside a serial cell by the alarm when it runs past its time limit."""


def execute_cell(spec: CellSpec, enforce_timeout: bool = False) -> CellRecord:
    """Run one cell and return its record (never raises for an experiment error).

    ``enforce_timeout`` arms a SIGALRM for the cell's limit (serial runs in the main thread); worker
    processes are limited from outside instead (their process is killed).
    """
    single_thread()
    claim = get_claim(spec.claim)
    cfg = claim.config.model_validate_json(spec.config_json)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    limit = spec.timeout_s if enforce_timeout and threading.current_thread() is threading.main_thread() else None
    t0 = time.perf_counter()
    try:
        if limit:
            signal.signal(signal.SIGALRM, _raise_timeout)
            signal.setitimer(signal.ITIMER_REAL, limit)
        seed_everything(spec.seed)
        table = claim.run(cfg, spec.seed, spec.seed_index)
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"experiment of {spec.claim} returned {type(table).__name__}, expected a pandas DataFrame")
        blob, status, error = table_to_bytes(table), "ok", None
    except ClaimSkipped as skip:
        blob, status, error = None, "skipped", str(skip)
    except ModuleNotFoundError as err:
        hint = OPTIONAL_MODULES.get((err.name or "").split(".")[0])
        if hint is None:
            blob, status, error = None, "failed", traceback.format_exc()
        else:
            blob, status, error = None, "skipped", f"needs the optional module {err.name!r}: {hint}"
    except CellTimeout:
        blob, status, error = None, "failed", _timeout_message(spec)
    except Exception:
        blob, status, error = None, "failed", traceback.format_exc()
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return _record(spec, status, blob, error, time.perf_counter() - t0, worker)


def _raise_timeout(signum, frame):
    raise CellTimeout()


def _timeout_message(spec: CellSpec) -> str:
    return (
        f"timed out: the cell ran longer than its limit of {spec.timeout_s:g} s (raise it with "
        "--cell-timeout SECONDS, or 0 for no limit)"
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


def _split_cached(cells: Sequence[CellSpec], store: ResultStore, force: bool) -> tuple[list[CellSpec], int]:
    todo: list[CellSpec] = []
    cached = 0
    finished: dict[tuple, set[int]] = {}
    for spec in cells:
        key = (spec.claim, spec.config_hash, spec.code_version)
        if key not in finished:
            finished[key] = set() if force else store.finished_seeds(*key)
        if spec.seed in finished[key]:
            cached += 1
        else:
            todo.append(spec)
    return todo, cached


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
    todo, summary.cached = _split_cached(cells, store, force)
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
                    record(execute_cell(spec, enforce_timeout=True), spec)
            else:
                _run_pool(todo, jobs, record)
        except KeyboardInterrupt:
            summary.interrupted = True
    return summary


# ------------------------------------------------------------------------------------------ worker pool
def _init_worker(parent_pid: int) -> None:
    """Worker start-up: one thread, and exit as soon as the coordinating process is gone."""
    single_thread()
    _die_with_parent(parent_pid)


def _die_with_parent(parent_pid: int) -> None:
    try:  # Linux: the kernel sends SIGKILL when the parent exits
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # anywhere: poll, in case the signal was not armed or the parent was reparented
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="aflab-parent-watch").start()


class _Worker:
    """One single-process executor: whatever happens to its process is charged to the one cell it runs."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.pool = self._new_pool()
        self.spec: CellSpec | None = None
        self.future: cf.Future | None = None
        self.started = 0.0

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=1, mp_context=self.ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )

    def submit(self, spec: CellSpec) -> None:
        self.spec, self.started = spec, time.monotonic()
        self.future = self.pool.submit(execute_cell, spec)

    def time_left(self) -> float | None:
        if self.spec is None or not self.spec.timeout_s:
            return None
        return self.spec.timeout_s - (time.monotonic() - self.started)

    def release(self) -> tuple[CellSpec, cf.Future]:
        spec, future = self.spec, self.future
        assert spec is not None and future is not None
        self.spec, self.future = None, None
        return spec, future

    def kill(self) -> None:
        for proc in list(getattr(self.pool, "_processes", {}).values()):
            proc.kill()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def restart(self) -> None:
        self.kill()
        self.pool = self._new_pool()


def _run_pool(todo: list[CellSpec], jobs: int, record: Callable[[CellRecord, CellSpec], None]) -> None:
    queue: deque[CellSpec] = deque(todo)
    deaths: dict[CellSpec, int] = {}
    ctx = mp.get_context("spawn")
    workers = [_Worker(ctx) for _ in range(min(jobs, len(todo)))]
    try:
        while queue or any(w.spec for w in workers):
            for w in workers:
                if w.spec is None and queue:
                    w.submit(queue.popleft())
            busy = [w for w in workers if w.spec is not None]
            limits = [t for t in (w.time_left() for w in busy) if t is not None]
            done, _ = cf.wait(
                [w.future for w in busy if w.future is not None],
                timeout=max(min(limits), 0.0) if limits else None,
                return_when=cf.FIRST_COMPLETED,
            )
            for w in busy:
                if w.future in done:
                    _collect(w, deaths, queue, record)
                elif (w.time_left() or 1.0) <= 0:
                    spec, _ = w.release()
                    w.restart()
                    record(_record(spec, "failed", None, _timeout_message(spec), spec.timeout_s or 0.0), spec)
    except KeyboardInterrupt:
        for w in workers:
            w.kill()
        raise
    for w in workers:
        w.pool.shutdown(wait=True)


def _collect(w: _Worker, deaths: dict[CellSpec, int], queue: deque, record) -> None:
    """A finished future: record it, or charge its worker's death to its cell and retry or give up."""
    spec, future = w.release()
    try:
        rec = future.result()
    except cf.process.BrokenProcessPool:
        w.restart()
        deaths[spec] = deaths.get(spec, 0) + 1
        if deaths[spec] >= MAX_WORKER_DEATHS:
            msg = (
                f"the worker process died {MAX_WORKER_DEATHS} times while running this cell (a crash in native "
                "code, the out-of-memory killer, or a kill signal)"
            )
            record(_record(spec, "failed", None, msg, 0.0), spec)
        else:
            queue.appendleft(spec)
        return
    record(rec, spec)


# ------------------------------------------------------------------------------------------------ Ray
def connect_ray(address: str, jobs: int):
    """``local``: start a local Ray; ``auto``: join a running cluster, else start locally; else an address."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray backend needs the 'ray' extra: pip install 'aflab[ray]'") from None
    if ray.is_initialized():
        return ray

    def start(**where: Any) -> None:
        env = plugin_runtime_env()
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False, runtime_env=env, **where)

    if address == "local":
        start(num_cpus=max(jobs, 1))
    elif address == "auto":
        try:
            start(address="auto")
        except (ConnectionError, RuntimeError):
            start(num_cpus=max(jobs, 1))
    else:
        start(address=address)
    return ray


def plugin_runtime_env() -> dict[str, dict[str, str]]:
    """The variables a Ray worker needs to find plugin claims (``AFLAB_PLUGINS`` and ``PYTHONPATH``)."""
    return {"env_vars": {k: v for k, v in os.environ.items() if k in ("AFLAB_PLUGINS", "PYTHONPATH")}}


def _run_ray(todo: list[CellSpec], address: str, jobs: int, record) -> None:
    """Each task enforces its own time limit (an alarm in the Ray worker), so queueing time does not count.

    The plugin variables go with every task too: Ray may already have been started (by us or by the user)
    before they were set, and a worker without them would not know a plugin's claims.
    """
    if not todo:
        return
    ray = connect_ray(address, jobs)
    remote = ray.remote(num_cpus=1, max_retries=MAX_WORKER_DEATHS - 1)(execute_cell)
    env = plugin_runtime_env()
    if env["env_vars"]:
        remote = remote.options(runtime_env=env)
    refs = {remote.remote(spec, True): spec for spec in todo}
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                spec = refs.pop(ref)
                try:
                    rec = ray.get(ref)
                except Exception as err:  # worker crash after retries
                    rec = _record(spec, "failed", None, f"ray task failed: {err}", 0.0)
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
