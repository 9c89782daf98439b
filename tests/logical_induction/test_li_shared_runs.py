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


# -- the pi audits' runs ----------------------------------------------------------------------------------
PI_SMALL = E.PiAuditConfig(n_days=6, enum_depth=1, band_depth=1)
PI_AUDITS = (
    E.market_maker_certified_experiment,
    E.pi_digit_frequencies_experiment,
    E.limit_coherence_experiment,
    E.provability_induction_experiment,
    E.calibration_experiment,
    E.undecided_paths_experiment,
    E.non_exploitation_experiment,
)


def _audit_tables() -> list[pd.DataFrame]:
    return [audit(PI_SMALL, 0, 2) for audit in PI_AUDITS]


def test_pi_audits_read_the_same_tables_shared_or_not(tmp_path, monkeypatch):
    """Every pi audit's table, computed fresh (sharing off, empty in-process cache), then through the shared
    cache in a fresh in-process state (written), then read back with the in-process cache cleared again."""
    monkeypatch.setenv(E.RUN_CACHE_ENV, "off")
    E.pi_run.cache_clear()
    fresh = _audit_tables()
    monkeypatch.setenv(E.RUN_CACHE_ENV, str(tmp_path))
    E.pi_run.cache_clear()
    written = _audit_tables()
    names = sorted(p.name for p in tmp_path.iterdir())
    # the firm: prices, maker, resolved + the ledger non-exploitation reads; the no-floor firm: 3; the control: ledger
    assert sum(n.startswith(f"pi-firm-{PI_SMALL.config_hash()}-2-") for n in names) == 4
    assert sum(n.startswith(f"pi-firm-{E.without_floor(PI_SMALL).config_hash()}-2-") for n in names) == 3
    assert sum(n.startswith("pi-control-") for n in names) == 1 and len(names) == 8
    E.pi_run.cache_clear()
    read_back = _audit_tables()
    assert E.pi_run.cache_info().currsize == 0  # no market was run: every table came from the files
    for a, b, c in zip(fresh, written, read_back):
        assert len(a) > 0
        pd.testing.assert_frame_equal(b, a)
        pd.testing.assert_frame_equal(c, a)


def test_shared_pi_run_refuses_unknown_tables_and_names_what_was_not_requested(tmp_path, monkeypatch):
    monkeypatch.setenv(E.RUN_CACHE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="tables must be among"):
        E.shared_pi_run(PI_SMALL, 0, tables=("price",))
    run = E.shared_pi_run(PI_SMALL, 0, tables=("maker",))
    assert len(run.maker) == PI_SMALL.n_days
    with pytest.raises(KeyError, match="pass it in tables="):
        _ = run.ledger
