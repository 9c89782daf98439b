"""The result store: an embedded DuckDB file of finished cells and verdicts.

A *cell* is one (claim, config, seed) run. Cells are keyed by
``(claim, config_hash, seed, code_version)``; ``seed`` is the derived per-cell seed (it already
folds in the base seed and the seed index). Each finished cell is written in its own transaction
the moment it finishes, so an interrupted sweep (Ctrl-C, ``kill -9``) loses no finished cell and
the next run resumes from the store. Only the coordinating process writes; workers return results.

Tables are stored as Parquet bytes, so a stored result is exactly the DataFrame the experiment
returned (dtypes included).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

DEFAULT_STORE = Path("aflab-results") / "results.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    claim VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    code_version VARCHAR NOT NULL,
    seed_index INTEGER NOT NULL,
    config_json VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- 'ok', 'failed' or 'skipped' (an optional resource is absent)
    result BLOB,                      -- Parquet bytes of the cell's table (status 'ok')
    error VARCHAR,                    -- traceback (status 'failed') or reason (status 'skipped')
    elapsed_s DOUBLE,
    worker VARCHAR,
    finished_at TIMESTAMP,
    PRIMARY KEY (claim, config_hash, seed, code_version)
);
CREATE TABLE IF NOT EXISTS verdicts (
    claim VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    n_seeds INTEGER NOT NULL,
    label VARCHAR NOT NULL,
    numbers_json VARCHAR,
    reason VARCHAR,
    judged_at TIMESTAMP,
    PRIMARY KEY (claim, config_hash, code_version, n_seeds)
);
CREATE TABLE IF NOT EXISTS stability (
    claim VARCHAR NOT NULL,
    preset VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    n_sets INTEGER NOT NULL,
    result_json VARCHAR NOT NULL,     -- aflab.core.stability.StabilityResult as JSON
    measured_at TIMESTAMP,
    PRIMARY KEY (claim, preset, config_hash, code_version, n_sets)
);
"""


def table_to_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()


def bytes_to_table(blob: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(blob))


@dataclass(frozen=True)
class CellRecord:
    claim: str
    config_hash: str
    seed: int
    code_version: str
    seed_index: int
    config_json: str
    status: str
    result: bytes | None
    error: str | None
    elapsed_s: float
    worker: str


class StoreLockedError(RuntimeError):
    pass


class ResultStore:
    """A DuckDB-backed store. Use as a context manager; one writer process at a time."""

    def __init__(self, path: str | os.PathLike = DEFAULT_STORE, read_only: bool = False):
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise FileNotFoundError(f"no result store at {self.path} (run a claim first, or pass --store PATH)")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as err:
            raise StoreLockedError(
                f"result store {self.path} is in use by another aflab process ({err}); "
                "wait for it or pass --store OTHER_PATH"
            ) from None
        if not read_only:
            self.con.execute(_SCHEMA)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- cells -------------------------------------------------------------------------------
    def finished_seeds(self, claim: str, config_hash: str, code_version: str) -> set[int]:
        rows = self.con.execute(
            "SELECT seed FROM cells WHERE claim=? AND config_hash=? AND code_version=? AND status='ok'",
            [claim, config_hash, code_version],
        ).fetchall()
        return {int(r[0]) for r in rows}

    def put_cell(self, rec: CellRecord) -> None:
        """Insert or replace one cell, in its own transaction (atomic, durable on commit)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(
                "INSERT OR REPLACE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    datetime.now(UTC),
                ],
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def cell_tables(
        self, claim: str, config_hash: str, code_version: str, seeds: Iterable[int]
    ) -> list[tuple[int, int, pd.DataFrame, float]]:
        """(seed_index, seed, table, elapsed_s) of the finished cells among ``seeds``."""
        seeds = [int(s) for s in seeds]
        if not seeds:
            return []
        rows = self.con.execute(
            "SELECT seed_index, seed, result, elapsed_s FROM cells WHERE claim=? AND config_hash=? "
            "AND code_version=? AND status='ok' AND list_contains(?, seed) ORDER BY seed_index",
            [claim, config_hash, code_version, seeds],
        ).fetchall()
        return [(int(i), int(s), bytes_to_table(b), float(e or 0.0)) for i, s, b, e in rows]

    def failed_cells(
        self, claim: str, config_hash: str, code_version: str, status: str = "failed"
    ) -> list[tuple[int, str]]:
        """(seed_index, error) of the cells with this status ('failed' or 'skipped')."""
        return [
            (int(i), e)
            for i, e in self.con.execute(
                "SELECT seed_index, error FROM cells WHERE claim=? AND config_hash=? AND code_version=? "
                "AND status=? ORDER BY seed_index",
                [claim, config_hash, code_version, status],
            ).fetchall()
        ]

    def list_cells(self, claim: str | None = None) -> pd.DataFrame:
        q = (
            "SELECT claim, config_hash, code_version, status, count(*) AS cells, "
            "round(sum(elapsed_s), 3) AS elapsed_s, max(finished_at) AS last_finished "
            "FROM cells {where} GROUP BY ALL ORDER BY claim, last_finished"
        )
        if claim:
            return self.con.execute(q.format(where="WHERE claim=?"), [claim]).df()
        return self.con.execute(q.format(where="")).df()

    def export_tables(self, claim: str | None = None) -> pd.DataFrame:
        """All finished cells' tables, concatenated, with their keys and config as columns."""
        sql = (
            "SELECT claim, config_hash, code_version, seed_index, seed, config_json, result "
            "FROM cells WHERE status='ok'" + (" AND claim=?" if claim else "") + " ORDER BY claim, seed_index"
        )
        frames = []
        for c, h, v, i, s, cfg, blob in self.con.execute(sql, [claim] if claim else []).fetchall():
            t = bytes_to_table(blob)
            t.insert(0, "seed", s) if "seed" not in t.columns else None
            t.insert(0, "seed_index", i)
            t.insert(0, "config_json", cfg)
            t.insert(0, "code_version", v)
            t.insert(0, "config_hash", h)
            t.insert(0, "claim", c)
            frames.append(t)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # -- verdicts ----------------------------------------------------------------------------
    def put_verdict(
        self, claim: str, config_hash: str, code_version: str, n_seeds: int, label: str, numbers: dict, reason: str
    ) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?)",
            [
                claim,
                config_hash,
                code_version,
                n_seeds,
                label,
                json.dumps({k: _jsonable(v) for k, v in numbers.items()}),
                reason,
                datetime.now(UTC),
            ],
        )

    def latest_verdicts(self) -> dict[str, tuple[str, str, datetime]]:
        rows = self.con.execute(
            "SELECT claim, label, reason, judged_at FROM verdicts QUALIFY row_number() OVER "
            "(PARTITION BY claim ORDER BY judged_at DESC) = 1"
        ).fetchall()
        return {c: (l, r, t) for c, l, r, t in rows}

    # -- stability ---------------------------------------------------------------------------
    def put_stability(
        self, claim: str, preset: str, config_hash: str, code_version: str, n_sets: int, result_json: str
    ) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO stability VALUES (?,?,?,?,?,?,?)",
            [claim, preset, config_hash, code_version, n_sets, result_json, datetime.now(UTC)],
        )

    def stability_results(self) -> list[str]:
        """Every stored stability result (JSON), newest first."""
        if not self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name='stability'"
        ).fetchone()[0]:
            return []
        return [
            r[0] for r in self.con.execute("SELECT result_json FROM stability ORDER BY measured_at DESC").fetchall()
        ]


def _jsonable(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
