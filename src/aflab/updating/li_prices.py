"""The logical-induction price table this system audits, read from a Parquet file (never from
``aflab.logical_induction``: a system does not import another).

The package ships ``aflab/data/li_prices_pi.parquet``, written once by ``benchmarks/make_li_prices.py``
with the logical-induction CLI (``aflab li run pi --days 150 --seed S`` for stretches ``S = 0 .. 49``:
disjoint stretches of the digits of pi, each an independent market run). Any table with the same columns
can be audited instead (``aflab updating li-residual --prices FILE``), e.g. prices exported from a longer
run: ``stretch, day, sentence, label, price, decided`` (``decided == -1`` while undecided).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd

REQUIRED = {"stretch": "i", "day": "i", "sentence": "O", "label": "O", "price": "f", "decided": "i"}
SHIPPED = "li_prices_pi.parquet"


def shipped_path() -> Path | None:
    """The packaged table, or None when this install lacks it (a wheel built without the data file)."""
    path = Path(str(resources.files("aflab.data").joinpath(SHIPPED)))
    return path if path.is_file() else None


def read_prices(path: str | Path, stretches: list[int] | None = None) -> pd.DataFrame:
    """Read a price table, keeping only ``stretches`` (all when None); raise ValueError naming a missing or
    mistyped column (the file is parsed as Parquet, never evaluated)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"price table {path} does not exist")
    import pyarrow.parquet as pq

    def parquet(read):
        try:
            return read()
        except Exception as err:  # pyarrow raises several types for a bad file
            raise ValueError(f"cannot read {path} as Parquet: {err}") from None

    # the columns first: the stretch filter on a table without that column fails with pyarrow's own message
    _require_columns(path, set(parquet(lambda: pq.read_schema(path).names)))
    filters = [("stretch", "in", list(stretches))] if stretches is not None else None
    table = parquet(lambda: pd.read_parquet(path, filters=filters))
    for col, kind in REQUIRED.items():
        got = table[col].dtype.kind
        if kind == "O" and got not in "OSUT" and str(table[col].dtype) not in ("string", "str", "category"):
            raise ValueError(f"column {col!r} of {path} must hold strings, got {table[col].dtype}")
        if kind in "if" and got not in ("if" if kind == "f" else "iu"):
            raise ValueError(f"column {col!r} of {path} must be numeric ({kind}), got {table[col].dtype}")
    if ((table["price"] < 0) | (table["price"] > 1)).any():
        raise ValueError(f"column 'price' of {path} must lie in [0, 1]")
    return table.astype({"sentence": str, "label": str})


def _require_columns(path: Path, names: set[str]) -> None:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ValueError(f"price table {path} lacks the column {missing[0]!r}; needed: {', '.join(REQUIRED)}")


def available_stretches(path: str | Path) -> list[int]:
    """The stretch ids a table holds (read from the one column)."""
    return sorted(int(s) for s in pd.read_parquet(path, columns=["stretch"])["stretch"].unique())


def provenance(path: str | Path) -> dict:
    """What made the table (the generator's metadata), or {} for a foreign table."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"aflab_li_prices")
    return json.loads(raw) if raw else {}
