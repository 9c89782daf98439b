"""The result store: a folder of Parquet and JSON files, one file per finished cell, with DuckDB on top.

Layout (``--store DIR``, default ``./aflab-results``)::

    cells/<claim>/<config_hash>/<code_version>/seed=<seed>.parquet       a finished cell's table
    failures/<claim>/<config_hash>/<code_version>/seed=<seed>.json       a failed or skipped cell
    verdicts/<claim>/<config_hash>/<code_version>/n=<n_seeds>.json       a verdict
    stability/<claim>/<preset>/<config_hash>/<code_version>/sets=<n>.json

A *cell* is one (claim, config, seed) run, keyed by ``(claim, config_hash, seed, code_version)``;
``seed`` is the derived per-cell seed (it folds in the base seed and the seed index). The cell's keys,
config, elapsed time and worker travel in the Parquet file's key-value metadata, so a stored result is
exactly the DataFrame the experiment returned (dtypes included) plus its provenance.

Every file is written to a temporary name in its final folder and renamed into place (``os.replace``):
a reader sees a whole file or none, a ``kill -9`` loses at most the cells in flight, and any number of
readers (``aflab list``, ``aflab results``, a report) work while a sweep writes -- there is no lock.
Exports and ad-hoc queries go through DuckDB's ``read_parquet`` over the files.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

DEFAULT_STORE = Path("aflab-results")
_META_KEY = b"aflab.cell"
#: (metadata key, export column) of the keys put in front of exported tables
EXPORT_KEYS = (
    ("claim", "claim"),
    ("config_hash", "config_hash"),
    ("code_version", "code_version"),
    ("seed_index", "seed_index"),
    ("seed", "cell_seed"),
)
_SAFE = re.compile(r"[^A-Za-z0-9._+=-]")


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
    status: str  # 'ok', 'failed' or 'skipped' (an optional resource is absent)
    result: bytes | None  # Parquet bytes of the cell's table (status 'ok')
    error: str | None  # traceback (failed) or reason (skipped)
    elapsed_s: float
    worker: str

    def meta(self) -> dict:
        return {
            "claim": self.claim,
            "config_hash": self.config_hash,
            "seed": self.seed,
            "code_version": self.code_version,
            "seed_index": self.seed_index,
            "config_json": self.config_json,
            "status": self.status,
            "error": self.error,
            "elapsed_s": self.elapsed_s,
            "worker": self.worker,
            "finished_at": datetime.now(UTC).isoformat(),
        }


class StoreError(RuntimeError):
    """The store path cannot be used (a file where a folder is needed, an old single-file store, unreadable)."""


def _part(text: str) -> str:
    """A path component from a key (claim ids, hashes and versions are already safe; anything else is escaped)."""
    return _SAFE.sub("_", text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """A folder of per-cell files (see the module docstring). Cheap to open; safe to read while a sweep writes."""

    def __init__(self, path: str | os.PathLike = DEFAULT_STORE, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if self.path.is_file():
            raise StoreError(_file_store_message(self.path))
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no result store at {self.path} (run a claim first, or pass --store PATH)")
        if not read_only:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"cannot create the result store folder {self.path}: {err}") from None
            legacy = self.path / "results.duckdb"
            if legacy.is_file():
                migrate_duckdb_store(legacy, self)
                legacy.rename(legacy.with_suffix(".duckdb.migrated"))

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: every write is already complete on disk."""

    # -- paths -------------------------------------------------------------------------------
    def _dir(self, kind: str, *keys: str) -> Path:
        return self.path.joinpath(kind, *(_part(k) for k in keys))

    def _cell_path(self, claim: str, config_hash: str, code_version: str, seed: int) -> Path:
        return self._dir("cells", claim, config_hash, code_version) / f"seed={int(seed)}.parquet"

    def _failure_path(self, claim: str, config_hash: str, code_version: str, seed: int) -> Path:
        return self._dir("failures", claim, config_hash, code_version) / f"seed={int(seed)}.json"

    # -- cells -------------------------------------------------------------------------------
    def finished_seeds(self, claim: str, config_hash: str, code_version: str) -> set[int]:
        folder = self._dir("cells", claim, config_hash, code_version)
        return {int(p.stem.split("=", 1)[1]) for p in _files(folder, ".parquet")}

    def put_cell(self, rec: CellRecord) -> None:
        """Store one cell atomically: a Parquet file for 'ok' (its failure record, if any, removed), else a JSON."""
        if self.read_only:
            raise StoreError(f"the store {self.path} was opened read-only")
        if rec.status == "ok":
            import pyarrow.parquet as pq

            table = pq.read_table(io.BytesIO(rec.result or b""))
            meta = dict(table.schema.metadata or {})
            meta[_META_KEY] = json.dumps(rec.meta()).encode()
            buf = io.BytesIO()
            pq.write_table(table.replace_schema_metadata(meta), buf)
            atomic_write_bytes(self._cell_path(rec.claim, rec.config_hash, rec.code_version, rec.seed), buf.getvalue())
            self._failure_path(rec.claim, rec.config_hash, rec.code_version, rec.seed).unlink(missing_ok=True)
        else:
            path = self._failure_path(rec.claim, rec.config_hash, rec.code_version, rec.seed)
            atomic_write_bytes(path, json.dumps(rec.meta(), indent=1).encode())

    def cell_tables(
        self, claim: str, config_hash: str, code_version: str, seeds: Iterable[int]
    ) -> list[tuple[int, int, pd.DataFrame, float]]:
        """(seed_index, seed, table, elapsed_s) of the finished cells among ``seeds``, by seed index."""
        out = []
        for seed in {int(s) for s in seeds}:
            path = self._cell_path(claim, config_hash, code_version, seed)
            if path.is_file():
                table, meta = read_cell(path)
                out.append((int(meta["seed_index"]), seed, table, float(meta.get("elapsed_s") or 0.0)))
        return sorted(out, key=lambda r: r[0])

    def failed_cells(
        self, claim: str, config_hash: str, code_version: str, status: str = "failed"
    ) -> list[tuple[int, str]]:
        """(seed_index, error) of the cells with this status ('failed' or 'skipped')."""
        rows = []
        for path in _files(self._dir("failures", claim, config_hash, code_version), ".json"):
            meta = _read_json(path)
            if meta and meta.get("status") == status:
                rows.append((int(meta["seed_index"]), str(meta.get("error") or "")))
        return sorted(rows)

    def iter_cells(self, claim: str | None = None) -> Iterator[dict]:
        """Metadata of every stored cell, finished or failed (no tables read)."""
        import pyarrow.parquet as pq

        for kind, suffix in (("cells", ".parquet"), ("failures", ".json")):
            root = self.path / kind / (_part(claim) if claim else "")
            for path in _walk(root, suffix):
                if suffix == ".json":
                    meta = _read_json(path)
                else:
                    try:
                        raw = (pq.read_metadata(path).metadata or {}).get(_META_KEY)
                    except OSError:
                        continue
                    meta = json.loads(raw) if raw else None
                if meta:
                    yield {**meta, "path": str(path)}

    def list_cells(self, claim: str | None = None) -> pd.DataFrame:
        """One row per (claim, config, code version, status): how many cells, their time, the last finish."""
        rows = list(self.iter_cells(claim))
        cols = ["claim", "config_hash", "code_version", "status", "cells", "elapsed_s", "last_finished"]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame(rows)
        g = df.groupby(["claim", "config_hash", "code_version", "status"], as_index=False).agg(
            cells=("seed", "size"), elapsed_s=("elapsed_s", "sum"), last_finished=("finished_at", "max")
        )
        g["elapsed_s"] = g["elapsed_s"].round(3)
        return g.sort_values(["claim", "last_finished"])[cols].reset_index(drop=True)

    def cell_files(self, claim: str | None = None) -> list[Path]:
        return sorted(_walk(self.path / "cells" / (_part(claim) if claim else ""), ".parquet"))

    # -- verdicts ----------------------------------------------------------------------------
    def put_verdict(
        self, claim: str, config_hash: str, code_version: str, n_seeds: int, label: str, numbers: dict, reason: str
    ) -> None:
        record = {
            "claim": claim,
            "config_hash": config_hash,
            "code_version": code_version,
            "n_seeds": n_seeds,
            "label": label,
            "numbers": {k: _jsonable(v) for k, v in numbers.items()},
            "reason": reason,
            "judged_at": datetime.now(UTC).isoformat(),
        }
        path = self._dir("verdicts", claim, config_hash, code_version) / f"n={int(n_seeds)}.json"
        atomic_write_bytes(path, json.dumps(record, indent=1).encode())

    def latest_verdicts(self) -> dict[str, tuple[str, str, datetime]]:
        """claim -> (label, reason, judged_at) of its most recent verdict."""
        latest: dict[str, tuple[str, str, datetime]] = {}
        for path in _walk(self.path / "verdicts", ".json"):
            rec = _read_json(path)
            if not rec:
                continue
            when = datetime.fromisoformat(rec["judged_at"])
            if rec["claim"] not in latest or when > latest[rec["claim"]][2]:
                latest[rec["claim"]] = (rec["label"], rec.get("reason", ""), when)
        return latest

    # -- stability ---------------------------------------------------------------------------
    def put_stability(
        self, claim: str, preset: str, config_hash: str, code_version: str, n_sets: int, result_json: str
    ) -> None:
        path = self._dir("stability", claim, preset, config_hash, code_version) / f"sets={int(n_sets)}.json"
        atomic_write_bytes(path, result_json.encode())

    def stability_results(self) -> list[str]:
        """Every stored stability result (JSON), newest first."""
        paths = sorted(_walk(self.path / "stability", ".json"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.read_text() for p in paths]

    # -- export ------------------------------------------------------------------------------
    def export_claim(self, claim: str) -> pd.DataFrame:
        """One claim's finished tables, concatenated by DuckDB (columns unioned by name), keys in front."""
        import duckdb

        files = [str(f) for f in self.cell_files(claim)]
        if not files:
            return pd.DataFrame()
        con = duckdb.connect()
        try:
            df = con.execute("SELECT * FROM read_parquet(?, union_by_name=true, filename=true)", [files]).df()
        finally:
            con.close()
        meta = {f: read_cell_meta(Path(f)) for f in files}
        names = df.pop("filename")
        for key, column in EXPORT_KEYS[::-1]:
            if column not in df.columns:
                df.insert(0, column, [meta[f][key] for f in names])
        return df

    def export_long(self, claim: str | None = None) -> pd.DataFrame:
        """Every finished table as one long tidy table: keys, ``row``, ``variable``, and ``value`` (numbers) or
        ``text`` (strings) -- one shared schema for claims whose tables share no column."""
        frames = []
        for path in self.cell_files(claim):
            table, meta = read_cell(path)
            table = table.reset_index(drop=True).rename_axis("row").reset_index()
            long = table.melt(id_vars="row", var_name="variable", value_name="raw")
            numeric = pd.to_numeric(long["raw"].where(~long["raw"].map(lambda v: isinstance(v, str))), errors="coerce")
            long["value"] = numeric.astype(float)
            long["text"] = long["raw"].where(long["raw"].map(lambda v: isinstance(v, str))).astype("string")
            long = long.drop(columns="raw")
            for key, column in EXPORT_KEYS[::-1]:
                long.insert(0, column, meta[key])
            frames.append(long)
        cols = [c for _, c in EXPORT_KEYS] + ["row", "variable", "value", "text"]
        return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

    def claims(self) -> list[str]:
        root = self.path / "cells"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def read_cell(path: Path) -> tuple[pd.DataFrame, dict]:
    """A stored cell's table (exactly as the experiment returned it) and its metadata."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    return table.replace_schema_metadata(
        {k: v for k, v in (table.schema.metadata or {}).items() if k != _META_KEY}
    ).to_pandas(), meta


def read_cell_meta(path: Path) -> dict:
    import pyarrow.parquet as pq

    return json.loads((pq.read_metadata(path).metadata or {}).get(_META_KEY, b"{}"))


def _files(folder: Path, suffix: str) -> list[Path]:
    """The finished files in one folder (temporary files of writes in progress are never listed)."""
    try:
        return [p for p in folder.iterdir() if p.name.endswith(suffix) and not p.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _walk(root: Path, suffix: str) -> Iterator[Path]:
    if not root.is_dir():
        return
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.endswith(suffix) and not name.startswith("."):
                yield Path(dirpath) / name


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _jsonable(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def _file_store_message(path: Path) -> str:
    if path.suffix == ".duckdb" or _is_duckdb_file(path):
        return (
            f"{path} is a single-file DuckDB store from an older aflab; stores are now folders. Convert it with "
            f"`aflab results --migrate {path} --store {path.with_suffix('')}` and pass --store "
            f"{path.with_suffix('')} from now on"
        )
    return f"--store {path} is a file, not a result-store folder; pass a folder (it is created if missing)"


def _is_duckdb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16)[8:12] == b"DUCK"
    except OSError:
        return False


def migrate_duckdb_store(old: str | os.PathLike, store: ResultStore) -> int:
    """Copy every cell and verdict of an old single-file DuckDB store into ``store``; return the cells copied."""
    import duckdb

    old = Path(old)
    try:
        con = duckdb.connect(str(old), read_only=True)
    except duckdb.Error as err:
        raise StoreError(f"cannot read the old store {old}: {err}") from None
    n = 0
    try:
        for row in con.execute(
            "SELECT claim, config_hash, seed, code_version, seed_index, config_json, status, "
            "result, error, elapsed_s, worker FROM cells"
        ).fetchall():
            claim, config_hash, seed, version, index, config_json, status, blob, error, elapsed, worker = row
            store.put_cell(
                CellRecord(
                    claim,
                    config_hash,
                    int(seed),
                    version,
                    int(index),
                    config_json,
                    status,
                    blob,
                    error,
                    float(elapsed or 0.0),
                    worker or "",
                )
            )
            n += 1
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "verdicts" in tables:
            for c, h, v, k, label, nums, reason, _ in con.execute("SELECT * FROM verdicts").fetchall():
                store.put_verdict(c, h, v, k, label, json.loads(nums or "{}"), reason or "")
    finally:
        con.close()
    return n
