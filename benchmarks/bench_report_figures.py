"""The report's figure encoding, against the path it replaced, in the same run (run by hand).

    python benchmarks/bench_report_figures.py [--store PATH] [--figures N]

Every figure is encoded twice, each time from a freshly drawn copy (a drawn figure caches its text layout):

* **before**: ``savefig`` to a full-colour PNG, decode it, quantize to 256 colours (median cut), save the
  palette PNG with ``optimize=True`` (zlib level 9 and filter search) -- what ``figure_data_uri`` did;
* **after**: ``core.plots.rendered_rgb`` (the Agg canvas's own RGBA buffer, no PNG round trip), the same
  quantization, zlib level 8 (``PALETTE_PNG_LEVEL``).

Printed: CPU-s of each path, the ratio, how many figures came out pixel-identical after quantization (all
must), and the bytes. ``--store``: the figures of every claim judged from a quick report's store (what the
report draws); without it ``--figures`` synthetic multi-panel figures (lines, scatter, legends, titles).

Measured 2026-12-08 on a 2-core AMD EPYC (AVX2): the 90 claim figures of a quick report's store 47.2 -> 31.5
CPU-s (1.50x), 90/90 pixel-identical, 2,447,721 -> 2,503,549 bytes; 30 synthetic figures 13.0 -> 8.2 (1.59x),
30/30 identical. In the quick report the work after the last cell went 64 -> 42 s of wall
(docs/architecture.md).
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aflab.core import plots


def before(fig, dpi: int) -> tuple[bytes, np.ndarray]:
    """The replaced path: savefig PNG -> decode -> quantize -> optimize=True."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    q = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    q.save(out, format="PNG", optimize=True)
    return out.getvalue(), np.asarray(q.convert("RGB"))


def after(fig, dpi: int) -> tuple[bytes, np.ndarray]:
    """The report's path now: canvas buffer -> quantize -> zlib level 8."""
    data = plots.figure_png(fig, dpi, palette=True)
    return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def synthetic_figures(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    figs = []
    for k in range(n):
        fig, axes = plots.new_figure(ncols=1 + k % 3)
        for j, ax in enumerate(np.atleast_1d(axes)):
            x = np.linspace(0, 1, 200)
            for c in range(3):
                ax.plot(x, np.sin((c + 1) * 6 * x + j) + 0.1 * rng.normal(size=x.size), label=f"series {c}")
            ax.scatter(rng.random(60), rng.random(60) * 2 - 1, s=8)
            ax.set_title(f"panel {j}: a title the layout must fit")
            ax.set_xlabel("x")
            ax.legend()
        figs.append(fig)
    return figs


def store_figures(store_path: str) -> list:
    from aflab.core.claims import all_claims
    from aflab.core.evaluate import run_claims
    from aflab.core.store import ResultStore

    claims = all_claims()
    jobs = [(c, c.make_config("quick"), "quick", c.n_seeds("quick")) for c in claims]
    with ResultStore(store_path) as store:
        outcomes, _ = run_claims(jobs, store, progress=False, draw_figures=True)
    return [fig for o in outcomes for fig in o.figures.values()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", default=None, help="a quick report's store: encode the claims' own figures")
    ap.add_argument("--figures", type=int, default=30, help="synthetic figures without --store (default 30)")
    args = ap.parse_args()
    if args.store and not Path(args.store).exists():
        ap.error(f"--store {args.store}: no such store; give the --store folder of an `aflab report --quick` run")
    if not args.store and args.figures < 1:
        ap.error(f"--figures must be at least 1, got {args.figures}")
    build = (lambda: store_figures(args.store)) if args.store else (lambda: synthetic_figures(args.figures))
    first, second = build(), build()
    cpu = {"before": 0.0, "after": 0.0}
    size = {"before": 0, "after": 0}
    same = 0
    for f_old, f_new in zip(first, second):
        plots.make_legible(f_old)
        plots.make_legible(f_new)
        dpi = int(min(160, max(60, 1.25 * plots.REPORT_COLUMN_PX / f_old.get_figwidth())))
        t = time.process_time()
        data_old, px_old = before(f_old, dpi)
        cpu["before"] += time.process_time() - t
        t = time.process_time()
        data_new, px_new = after(f_new, dpi)
        cpu["after"] += time.process_time() - t
        size["before"] += len(data_old)
        size["after"] += len(data_new)
        same += px_old.shape == px_new.shape and bool(np.array_equal(px_old, px_new))
    n = len(first)
    print(f"{n} figures ({'claims of ' + args.store if args.store else 'synthetic'})\n")
    print("| path | CPU s | bytes |\n|---|---|---|")
    for k in ("before", "after"):
        print(f"| {k} | {cpu[k]:.1f} | {size[k]:,} |")
    print(f"\nratio before/after: {cpu['before'] / cpu['after']:.2f}x; pixel-identical: {same}/{n}")
    if same != n:
        raise SystemExit("figures differ between the two paths")


if __name__ == "__main__":
    main()
