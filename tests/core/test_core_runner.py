"""Runner and store: caching, failures, pool == serial, resume after killed workers / sweeps, Ray."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from aflab.core.evaluate import run_claims
from aflab.core.runner import gather_table, plan_cells, run_cells
from aflab.core.store import ResultStore


def _tables(store, cells):
    table, _ = gather_table(store, cells)
    return table.sort_values(["seed", "i"]).reset_index(drop=True)


def test_cache_hit_and_force(plugin_loaded, store, tmp_path):
    marker = tmp_path / "m"
    marker.mkdir()
    cfg = plugin_loaded.make_config("quick", {"marker_dir": str(marker)})
    cells = plan_cells(plugin_loaded, cfg, 3)
    s1 = run_cells(cells, store, progress=False)
    assert (s1.done, s1.cached, s1.failed) == (3, 0, 0)
    s2 = run_cells(cells, store, progress=False)
    assert (s2.done, s2.cached) == (0, 3)
    assert len(list(marker.iterdir())) == 3  # nothing recomputed
    s3 = run_cells(cells, store, progress=False, force=True)
    assert s3.done == 3 and len(list(marker.iterdir())) == 6


def test_failing_cell_records_traceback_and_sweep_goes_on(plugin_loaded, store):
    cfg = plugin_loaded.make_config("quick", {"fail_seed_index": 0})
    cells = plan_cells(plugin_loaded, cfg, 12)
    expected_fail = sum(c.seed % 3 == 0 for c in cells)
    assert 0 < expected_fail < 12, "seed derivation should give a mix for this test"
    summary = run_cells(cells, store, progress=False)
    assert summary.failed == expected_fail and summary.done == 12 - expected_fail
    assert all("deliberate failure" in err for _, err in summary.failures)
    failed = store.failed_cells(plugin_loaded.id, cells[0].config_hash, cells[0].code_version)
    assert len(failed) == expected_fail and "Traceback" in failed[0][1]
    outcomes, _ = run_claims([(plugin_loaded, cfg, "quick", 12)], store, progress=False)
    assert outcomes[0].verdict is None and "did not finish" in outcomes[0].error


def test_pool_equals_serial(plugin_loaded, tmp_path):
    cfg = plugin_loaded.make_config("quick")
    cells = plan_cells(plugin_loaded, cfg, 4, base_seed=7)
    with ResultStore(tmp_path / "a.duckdb") as a, ResultStore(tmp_path / "b.duckdb") as b:
        run_cells(cells, a, jobs=1, progress=False)
        run_cells(list(reversed(cells)), b, jobs=2, progress=False)
        pd.testing.assert_frame_equal(_tables(a, cells), _tables(b, cells))


def test_selfcheck_pool_equals_serial_via_run_claims(tmp_path):
    from aflab.core import get_claim

    claim = get_claim("core.selfcheck")
    cfg = claim.make_config("quick")
    with ResultStore(tmp_path / "a.duckdb") as a, ResultStore(tmp_path / "b.duckdb") as b:
        (oa,), _ = run_claims([(claim, cfg, "quick", 3)], a, n_jobs=1, progress=False)
        (ob,), _ = run_claims([(claim, cfg, "quick", 3)], b, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(oa.table, ob.table)
    assert oa.verdict == ob.verdict and oa.verdict.label == "supported"
    assert set(oa.figures) == {"running_mean"}


def _aflab(args, env, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "aflab.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _wait_for(pred, timeout=60.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_killed_worker_is_survived(plugin_env, tmp_path):
    """kill -9 one pool worker mid-sweep: the pool is rebuilt and every cell still finishes."""
    marker = tmp_path / "m"
    marker.mkdir()
    store = tmp_path / "s.duckdb"
    proc = _aflab(
        [
            "run",
            "testplugin.slow",
            "--seeds",
            "6",
            "--jobs",
            "2",
            "--store",
            str(store),
            "--set",
            "delay_s=1.0",
            "--set",
            f"marker_dir={marker}",
        ],
        plugin_env,
    )
    assert _wait_for(lambda: any(marker.iterdir())), "no cell started"
    victim = int(next(marker.iterdir()).read_text())
    os.kill(victim, signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "6 done" in out.replace("\n", " ") or "cells: 6 done" in out
    with ResultStore(store, read_only=True) as st:
        df = st.list_cells()
    assert int(df.loc[df.status == "ok", "cells"].sum()) == 6


def test_killed_sweep_resumes_without_losing_finished_cells(plugin_env, tmp_path):
    """kill -9 the whole sweep (coordinator and workers) after some cells finished; rerun resumes."""
    marker = tmp_path / "m"
    marker.mkdir()
    store = tmp_path / "s.duckdb"
    args = [
        "run",
        "testplugin.slow",
        "--seeds",
        "8",
        "--jobs",
        "1",
        "--store",
        str(store),
        "--set",
        "delay_s=0.4",
        "--set",
        f"marker_dir={marker}",
    ]
    proc = _aflab(args, plugin_env, start_new_session=True)
    assert _wait_for(lambda: len(list(marker.iterdir())) >= 4, timeout=90)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    started_before = len(list(marker.iterdir()))
    assert started_before < 8
    proc2 = _aflab(args, plugin_env)
    out, _ = proc2.communicate(timeout=120)
    assert proc2.returncode == 0, out
    with ResultStore(store, read_only=True) as st:
        df = st.list_cells()
    assert int(df.loc[df.status == "ok", "cells"].sum()) == 8
    total_runs = len(list(marker.iterdir()))
    # every cell ran once, plus at most the one cell that was in flight when killed
    assert total_runs <= 8 + 1, total_runs
    done, cached = map(int, re.search(r"cells: (\d+) done, (\d+) cached", out).groups())
    assert cached >= started_before - 1 and done + cached == 8


def test_ray_backend_matches_serial(plugin_loaded, tmp_path, monkeypatch):
    """Ray is started *before* the plugin variables exist (as when an earlier sweep started it): the tasks
    must still carry them, or the workers would not know the plugin's claims."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'aflab[ray]')")
    cfg = plugin_loaded.make_config("quick")
    cells = plan_cells(plugin_loaded, cfg, 4, base_seed=3)
    saved = {k: os.environ[k] for k in ("AFLAB_PLUGINS", "PYTHONPATH") if k in os.environ}
    ray.shutdown()
    for k in saved:
        monkeypatch.delenv(k)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    for k, v in saved.items():
        monkeypatch.setenv(k, v)
    try:
        with ResultStore(tmp_path / "a.duckdb") as a, ResultStore(tmp_path / "b.duckdb") as b:
            run_cells(cells, a, jobs=1, progress=False)
            summary = run_cells(cells, b, jobs=2, ray_address="local", progress=False)
            assert summary.done == 4 and summary.failed == 0
            pd.testing.assert_frame_equal(_tables(a, cells), _tables(b, cells))
    finally:
        ray.shutdown()


def test_skipped_claim_is_reported_as_skipped_not_passed(plugin_loaded, store):
    cfg = plugin_loaded.make_config("quick", {"skip": True})
    (o,), summary = run_claims([(plugin_loaded, cfg, "quick", 2)], store, progress=False)
    assert summary.skipped == 2 and summary.failed == 0 and summary.ok
    assert o.label == "skipped" and o.verdict is None and "pip install nothing-real" in o.skipped
    # skipped cells are not cached: the next run tries again (the resource may have been installed)
    _, again = run_claims([(plugin_loaded, cfg, "quick", 2)], store, progress=False)
    assert again.cached == 0 and again.skipped == 2


def test_one_crashing_cell_is_charged_alone(plugin_loaded, store):
    """A cell that kills its worker every time is recorded failed once; the 59 others finish (pool of 2)."""
    cfg = plugin_loaded.make_config("quick", {"crash_index": 17})
    cells = plan_cells(plugin_loaded, cfg, 60)
    summary = run_cells(cells, store, jobs=2, progress=False)
    assert (summary.done, summary.failed) == (59, 1)
    ((spec, error),) = summary.failures
    assert spec.seed_index == 17 and "died 3 times" in error


@pytest.mark.parametrize("jobs", [1, 2])
def test_cell_timeout_is_recorded_with_its_reason(plugin_loaded, store, jobs):
    cfg = plugin_loaded.make_config("quick", {"delay_s": 20.0})
    slow = plan_cells(plugin_loaded, cfg, 1, timeout_s=0.5)
    fast = plan_cells(plugin_loaded, plugin_loaded.make_config("quick"), 2, timeout_s=30)
    t0 = time.time()
    summary = run_cells(slow + fast, store, jobs=jobs, progress=False)
    assert time.time() - t0 < 15
    assert (summary.done, summary.failed) == (2, 1)
    assert "timed out" in summary.failures[0][1] and "--cell-timeout" in summary.failures[0][1]


def test_workers_exit_when_the_coordinator_is_killed(plugin_env, tmp_path):
    marker = tmp_path / "m"
    marker.mkdir()
    args = [
        "run",
        "testplugin.slow",
        "--seeds",
        "4",
        "--jobs",
        "2",
        "--store",
        str(tmp_path / "s"),
        "--set",
        "delay_s=30",
        "--set",
        f"marker_dir={marker}",
    ]
    proc = _aflab(args, plugin_env, start_new_session=True)
    assert _wait_for(lambda: len(list(marker.iterdir())) >= 2, timeout=90), "workers did not start"
    workers = {int(p.read_text()) for p in marker.iterdir()}
    os.kill(proc.pid, signal.SIGKILL)  # the coordinator only, not its process group
    proc.wait()

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as fh:  # a zombie is dead too
            return fh.read().split()[2] == "Z"

    assert _wait_for(lambda: all(gone(p) for p in workers), timeout=5), "orphaned workers still running"


@pytest.mark.slow
def test_twenty_kills_lose_no_finished_cell_and_show_no_partial_file(plugin_env, tmp_path):
    from aflab.core.store import read_cell

    store = tmp_path / "s"
    args = ["run", "testplugin.slow", "--seeds", "40", "--jobs", "2", "--store", str(store), "--set", "delay_s=0.15"]
    rng = __import__("random").Random(0)
    seen: set[str] = set()
    for _ in range(20):
        proc = _aflab(args, plugin_env, start_new_session=True)
        time.sleep(rng.uniform(0.8, 2.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        visible = {str(p) for p in (store / "cells").rglob("*.parquet") if not p.name.startswith(".")}
        assert seen <= visible, "a finished cell was lost"
        for path in visible:
            read_cell(__import__("pathlib").Path(path))  # whole, readable files only
        seen = visible
    out, _ = _aflab(args, plugin_env).communicate(timeout=180)
    with ResultStore(store, read_only=True) as st:
        df = st.list_cells()
    assert int(df.loc[df.status == "ok", "cells"].sum()) == 40, out
