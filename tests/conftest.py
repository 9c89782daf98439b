"""Shared fixtures: a temporary result store and a plugin claim module for harness tests."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# runs shared between claims' cells (logical induction) go to a folder of this test session, never to the
# user's ~/.cache/aflab/runs: a test must not read tables an earlier run left there, nor leave its own
if "AFLAB_RUN_CACHE" not in os.environ:
    os.environ["AFLAB_RUN_CACHE"] = tempfile.mkdtemp(prefix="aflab-test-runs-")
    atexit.register(shutil.rmtree, os.environ["AFLAB_RUN_CACHE"], True)


PLUGIN_SOURCE = textwrap.dedent('''
    """Test-only claims used by the harness tests (loaded through AFLAB_PLUGINS)."""
    import os, time
    import numpy as np, pandas as pd
    from pydantic import Field
    from aflab.core import Claim, ClaimConfig, ClaimSkipped, Verdict, register

    class SlowConfig(ClaimConfig):
        delay_s: float = Field(0.0, ge=0, le=60)
        crash_index: int = Field(-1, ge=-1, description="this seed index kills its own process")
        fail_seed_index: int = Field(-1, ge=-1)
        marker_dir: str = ""
        skip: bool = False

    def experiment(cfg, seed, seed_index=0):
        if seed_index == cfg.crash_index:
            os.kill(os.getpid(), 9)
        if cfg.skip:
            raise ClaimSkipped("the test resource is absent: pip install nothing-real")
        if cfg.marker_dir:
            # one file per invocation: lets a test count how often each cell really ran
            path = os.path.join(cfg.marker_dir, f"{seed}.{os.getpid()}.{time.time_ns()}")
            open(path, "w").write(str(os.getpid()))
        time.sleep(cfg.delay_s)
        rng = np.random.default_rng(seed)
        x = rng.normal(size=50)
        if cfg.fail_seed_index >= 0 and np.isclose(x[0], np.random.default_rng(seed).normal()) and \\
                seed % 3 == cfg.fail_seed_index % 3:
            raise RuntimeError("deliberate failure for the test")
        return pd.DataFrame({"i": np.arange(50), "x": x, "torch_like": rng.random(50)})

    def verdict(cfg, table):
        m = float(table["x"].mean())
        return Verdict("supported" if abs(m) < 1 else "refuted", {"mean": m}, f"mean {m:.3f}")

    register(Claim(id="testplugin.slow", statement="test-only", source="tests", config=SlowConfig,
                   experiment=experiment, verdict=verdict, presets={"quick": {}, "full": {}},
                   seeds={"quick": 4, "full": 4}, kind="check"))
''')


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("plugin")
    (d / "aflab_test_plugin.py").write_text(PLUGIN_SOURCE)
    return d


@pytest.fixture(scope="session")
def plugin_env(plugin_dir) -> dict:
    """Environment for subprocesses (and this process) that loads the test plugin claims."""
    env = dict(os.environ)
    env["AFLAB_PLUGINS"] = "aflab_test_plugin"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH", "")]))
    env["AFLAB_SYSTEMS"] = "core"
    return env


@pytest.fixture(scope="session")
def plugin_loaded(plugin_dir, plugin_env):
    sys.path.insert(0, str(plugin_dir))
    os.environ["AFLAB_PLUGINS"] = "aflab_test_plugin"
    os.environ["PYTHONPATH"] = plugin_env["PYTHONPATH"]
    import aflab_test_plugin  # noqa: F401  (registers testplugin.slow)

    from aflab.core.claims import get_claim

    return get_claim("testplugin.slow")


@pytest.fixture
def store(tmp_path):
    from aflab.core.store import ResultStore

    with ResultStore(tmp_path / "results.duckdb") as st:
        yield st


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the claim contract's coverage: how many registered claims passed every contract test."""
    reports = [
        r
        for key in ("passed", "failed", "skipped")
        for r in terminalreporter.stats.get(key, [])
        if ("test_claim_contract.py::" in getattr(r, "nodeid", "") and "[" in r.nodeid and r.when == "call")
        or ("test_claim_contract.py::" in getattr(r, "nodeid", "") and r.outcome == "skipped" and "[" in r.nodeid)
    ]
    if not reports:
        return
    per_claim: dict[str, set[str]] = {}
    for r in reports:
        claim_id = r.nodeid.rsplit("[", 1)[1].rstrip("]")
        per_claim.setdefault(claim_id, set()).add(r.outcome)
    from aflab.core.claims import all_claims

    # the denominator is the claims the contract was parametrized over (every claim registered at collection;
    # a test plugin registered later in this process is not one of them)
    kinds = {c.id: c.kind for c in all_claims()}
    ok = [c for c, outcomes in per_claim.items() if "failed" not in outcomes]
    n_claims = sum(kinds.get(c) == "claim" for c in ok)
    terminalreporter.write_sep(
        "-",
        f"claim contract: {len(ok)}/{len(per_claim)} registered claims pass ({n_claims} claims, "
        f"{len(ok) - n_claims} checks); {len(per_claim) - len(ok)} fail",
    )
