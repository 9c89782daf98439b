"""CLI start-up: `aflab --help` and `aflab list --ids` against `import aflab.core`, in one run.

Targets (issues 12 and 18): `aflab --help` <= 1.3x the time of `python -c "import aflab.core"`, and <= 0.7 s on
the 2-core machine; neither imports torch or a system module (tests/core/test_core_house_style.py checks that).
Each command is run as a fresh process `--repeats` times; the median wall time is reported.

    python benchmarks/bench_cli_startup.py [--repeats 9] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def median_wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args()
    n = 3 if args.quick else args.repeats
    base = median_wall([sys.executable, "-c", "import aflab.core"], n)
    rows = [("python -c 'import aflab.core' (baseline)", base)]
    for label, cmd in (
        ("aflab --help", [str(BIN / "aflab"), "--help"]),
        ("aflab --version", [str(BIN / "aflab"), "--version"]),
        ("aflab list --ids", [str(BIN / "aflab"), "list", "--ids"]),
    ):
        rows.append((label, median_wall(cmd, n)))
    print(f"| command | median wall s ({n} runs) | ratio to import aflab.core |")
    print("|---|---|---|")
    for label, t in rows:
        print(f"| {label} | {t:.3f} | {t / base:.2f}x |")
    help_s = rows[1][1]
    print(f"\n`aflab --help`: {help_s / base:.2f}x the baseline (target <= 1.3x), {help_s:.2f} s (target <= 0.7 s)")


if __name__ == "__main__":
    main()
