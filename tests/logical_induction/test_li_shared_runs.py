"""The introspection and self-trust audits share one market run through a disk cache: sharing must change
the cost only, never the tables (compared with a fresh computation with sharing off)."""

from __future__ import annotations

import pandas as pd
import pytest

from aflab.logical_induction import experiments as E

SMALL = E.IntrospectionConfig(n_days=5, enum_depth=1)


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, "off")
    E.introspection_run.cache_clear()
    return E.introspection_tables(SMALL, 1)


def test_shared_tables_equal_a_fresh_computation(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, str(tmp_path))
    E.introspection_run.cache_clear()
    first = E.introspection_tables(SMALL, 1)  # computes and writes
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.endswith(".parquet") for f in files)
    E.introspection_run.cache_clear()
    second = E.introspection_tables(SMALL, 1)  # reads back, no run
    for name in ("introspection", "self_trust"):
        assert len(fresh[name]) > 0
        pd.testing.assert_frame_equal(first[name], fresh[name])
        pd.testing.assert_frame_equal(second[name], fresh[name])
    assert E.introspection_experiment(SMALL, 0, 1).equals(second["introspection"])
    assert E.self_trust_experiment(SMALL, 0, 1).equals(second["self_trust"])


def test_other_configs_and_seeds_get_their_own_entries(tmp_path, monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, str(tmp_path))
    E.introspection_tables(SMALL, 1)
    E.introspection_tables(SMALL.model_copy(update={"introspection_weight": 0.0}), 1)
    E.introspection_tables(SMALL, 2)
    assert len(list(tmp_path.iterdir())) == 6


def test_a_damaged_file_is_recomputed(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, str(tmp_path))
    E.introspection_tables(SMALL, 1)
    for p in tmp_path.iterdir():
        p.write_bytes(b"not parquet")
    again = E.introspection_tables(SMALL, 1)
    pd.testing.assert_frame_equal(again["introspection"], fresh["introspection"])
    assert E.introspection_tables(SMALL, 1)["self_trust"].equals(fresh["self_trust"])


def test_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert E.run_cache_dir() is None
    E.introspection_tables(SMALL, 1)
    assert not list(tmp_path.iterdir())
