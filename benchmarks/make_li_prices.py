"""Generate the logical-induction price table that ``updating.li-prices-martingale`` reads.

The ``updating`` system must not import ``logical_induction`` (a system never imports another), so the
prices it audits come from a table written once by the logical-induction CLI and committed as
``src/aflab/data/li_prices_pi.parquet``. This script runs ``aflab li run pi --days DAYS --seed S --out DIR``
for ``S = 0 .. STRETCHES-1`` (stretch ``S`` reads the digits of pi from place ``1000 S + 1``: disjoint
stretches, so each is an independent market run) and keeps the columns the audit needs:

    stretch (int), day (int), sentence (str), label (str), price (float), decided (int), revealed_on (int)

    python benchmarks/make_li_prices.py [--stretches 50] [--days 150] [--out src/aflab/data/li_prices_pi.parquet] [--append]

It records the aflab version, the LI command line and the code commit in the Parquet metadata. About
10-15 CPU-s per stretch of 150 days (the whole table: ~6 CPU-min; the machine was shared when it was made).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ["stretch", "day", "sentence", "label", "price", "decided", "revealed_on"]


def run_stretch(stretch: int, days: int, workdir: Path) -> pd.DataFrame:
    """One LI market run through the CLI; its prices table with a ``stretch`` column."""
    out = workdir / f"stretch{stretch}"
    aflab = Path(sys.executable).with_name("aflab")
    cmd = [str(aflab), "li", "run", "pi", "--days", str(days), "--seed", str(stretch), "--out", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    prices = pd.read_parquet(out / "prices.parquet")
    return prices.assign(stretch=stretch)[COLUMNS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stretches", type=int, default=50)
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--out", type=Path, default=Path("src/aflab/data/li_prices_pi.parquet"))
    ap.add_argument("--append", action="store_true", help="keep the stretches already in --out, add the missing ones")
    args = ap.parse_args()
    t0 = time.perf_counter()
    frames, have = [], set()
    if args.append and args.out.exists():
        old = pd.read_parquet(args.out)
        if int(old["day"].max()) != args.days:
            raise SystemExit(f"--append: {args.out} holds {int(old['day'].max())} days, not --days {args.days}")
        frames, have = [old[COLUMNS]], set(old["stretch"].unique().tolist())
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.stretches):
            if s in have:
                continue
            frames.append(run_stretch(s, args.days, Path(tmp)))
            print(f"stretch {s}: {len(frames[-1])} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
    table = pd.concat(frames, ignore_index=True).sort_values(["stretch", "day"], kind="stable", ignore_index=True)
    table = table.astype({"stretch": "int16", "day": "int16", "decided": "int8", "revealed_on": "int32"})
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    from aflab import __version__

    meta = {
        "source": f"aflab li run pi --days {args.days} --seed <stretch> (logical_induction CLI)",
        "stretches": args.stretches,
        "days": args.days,
        "aflab_version": __version__,
        "commit": commit,
    }
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"aflab_li_prices": json.dumps(meta)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, args.out, compression="zstd", use_dictionary=True)
    print(
        f"wrote {len(table)} rows to {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
