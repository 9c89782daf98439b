"""The folder store: atomic files, readers during writes, migration of old DuckDB stores, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aflab.cli import app
from aflab.core import get_claim
from aflab.core.evaluate import run_claims
from aflab.core.store import ResultStore, StoreError, read_cell

runner = CliRunner()


def _old_duckdb_store(path, claim_id="core.selfcheck"):
    """An old single-file store (the schema aflab used before the folder store), with one finished cell."""
    import duckdb

    from aflab.core.runner import execute_cell, plan_cells

    claim = get_claim(claim_id)
    (spec,) = plan_cells(claim, claim.make_config("quick"), 1)
    rec = execute_cell(spec)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE cells (claim VARCHAR, config_hash VARCHAR, seed BIGINT, code_version VARCHAR, "
        "seed_index INTEGER, config_json VARCHAR, status VARCHAR, result BLOB, error VARCHAR, "
        "elapsed_s DOUBLE, worker VARCHAR, finished_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,now())",
        [
            rec.claim,
            rec.config_hash,
            rec.seed,
            rec.code_version,
            rec.seed_index,
            rec.config_json,
            rec.status,
            rec.result,
            rec.error,
            rec.elapsed_s,
            rec.worker,
        ],
    )
    con.execute(
        "CREATE TABLE verdicts (claim VARCHAR, config_hash VARCHAR, code_version VARCHAR, n_seeds INTEGER, "
        "label VARCHAR, numbers_json VARCHAR, reason VARCHAR, judged_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO verdicts VALUES (?,?,?,1,'supported','{\"z\": 1.0}','ok',now())",
        [rec.claim, rec.config_hash, rec.code_version],
    )
    con.close()
    return rec


def test_old_duckdb_store_is_refused_with_the_fix_and_migrates(tmp_path):
    old = tmp_path / "results.duckdb"
    rec = _old_duckdb_store(old)
    with pytest.raises(StoreError, match="--migrate"):
        ResultStore(old)
    res = runner.invoke(app, ["list", "--store", str(old)])
    assert res.exit_code == 2 and "--migrate" in res.output
    res = runner.invoke(app, ["results", "--migrate", str(old), "--store", str(tmp_path / "new")])
    assert res.exit_code == 0, res.output
    with ResultStore(tmp_path / "new", read_only=True) as st:
        assert st.finished_seeds(rec.claim, rec.config_hash, rec.code_version) == {rec.seed}
        assert st.latest_verdicts()[rec.claim][0] == "supported"


def test_legacy_file_inside_the_default_folder_is_migrated_on_open(tmp_path):
    folder = tmp_path / "aflab-results"
    folder.mkdir()
    rec = _old_duckdb_store(folder / "results.duckdb")
    with ResultStore(folder) as st:
        assert st.finished_seeds(rec.claim, rec.config_hash, rec.code_version) == {rec.seed}
    assert (folder / "results.duckdb.migrated").is_file() and not (folder / "results.duckdb").exists()


def test_garbage_store_paths_get_one_clear_error(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage" * 10)
    for args in (["list"], ["results"], ["run", "core.selfcheck"], ["report", "--only", "core"]):
        res = runner.invoke(app, [*args, "--store", str(junk)])
        assert res.exit_code == 2, (args, res.output)
        assert "is a file" in res.output and "Traceback" not in res.output


def test_a_cell_file_is_the_experiment_table_plus_its_provenance(tmp_path):
    claim = get_claim("core.selfcheck")
    with ResultStore(tmp_path / "s") as st:
        run_claims([(claim, claim.make_config("quick"), "quick", 2)], st, progress=False)
        files = st.cell_files(claim.id)
    assert len(files) == 2 and not any(p.name.startswith(".") for p in files)
    table, meta = read_cell(files[0])
    assert list(table.columns) == ["batch", "mean", "n"]
    assert meta["claim"] == claim.id and json.loads(meta["config_json"])["n_samples"] == 20_000
    assert meta["status"] == "ok" and meta["elapsed_s"] >= 0


def test_readers_see_verdicts_while_another_process_holds_the_store(tmp_path):
    claim = get_claim("core.selfcheck")
    with ResultStore(tmp_path / "s") as writer:
        run_claims([(claim, claim.make_config("quick"), "quick", 2)], writer, progress=False)
        res = runner.invoke(app, ["list", "--store", str(tmp_path / "s")])  # the writer is still open
        assert res.exit_code == 0 and "supported" in res.output
        res = runner.invoke(app, ["results", "--store", str(tmp_path / "s")])
        assert res.exit_code == 0 and "ok" in res.output
