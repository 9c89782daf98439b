"""Shared plotting helpers: one look for every figure, and PNG encoding for the report.

Figures are built with :class:`matplotlib.figure.Figure` (not pyplot), so nothing global leaks
between claims and figures are safe to build in worker processes.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

PALETTE = ("#1b6ca8", "#d1495b", "#66a182", "#edae49", "#6c4f70", "#2e4057", "#8d96a3", "#00798c")


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.6, **kw) -> tuple[Figure, Any]:
    """A figure with ``nrows x ncols`` axes, tight layout and the aflab colour cycle."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    for ax in axes.flat if hasattr(axes, "flat") else [axes]:
        ax.set_prop_cycle(color=PALETTE)
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def figure_png(fig: Figure, dpi: int = 110, palette: bool = False) -> bytes:
    """PNG bytes of ``fig`` (no pyplot, no global backend). ``palette=True`` quantizes to 256 colours, which
    line plots survive unchanged to the eye at a third of the size (used for the report)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if not palette:
        return buf.getvalue()
    from PIL import Image

    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


#: the report's figure column at a 1400 px window, and the smallest text height a reader should get there
REPORT_COLUMN_PX = 950
MIN_TEXT_PX = 9.0


def make_legible(fig: Figure, column_px: float = REPORT_COLUMN_PX, min_px: float = MIN_TEXT_PX) -> Figure:
    """Raise every text's size so it is at least ``min_px`` pixels tall when ``fig`` is shown ``column_px`` wide.

    A figure ``W`` inches wide shown at ``column_px`` pixels draws a ``s``-point font ``s/72 * column_px / W``
    pixels tall, so a four-panel figure (20 in) needs 13.6 pt where a one-panel one (5 in) needs 3.4 pt.
    """
    from matplotlib.text import Text

    width_in = fig.get_figwidth()
    min_pt = min_px * 72.0 * width_in / column_px
    for text in fig.findobj(Text):
        if text.get_text() and float(text.get_fontsize()) < min_pt:
            text.set_fontsize(min_pt)
    return fig


def encode_figures(figs: list[Figure], jobs: int = 1) -> list[str]:
    """:func:`figure_data_uri` of every figure, on ``jobs`` processes when there are enough figures.

    The figures travel to the workers pickled (aflab's own in-memory objects, never a user's file); if a
    worker pool cannot start, they are encoded here. The PNG bytes do not depend on the process.
    """
    jobs = max(1, min(jobs, len(figs) // 8))
    if jobs == 1:
        return [figure_data_uri(f) for f in figs]
    import concurrent.futures as cf
    import multiprocessing
    import pickle

    payloads = [pickle.dumps(f) for f in figs]
    try:
        with cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            return list(ex.map(_encode_pickled, payloads, chunksize=max(1, len(figs) // (4 * jobs))))
    except (OSError, cf.process.BrokenProcessPool):
        return [figure_data_uri(f) for f in figs]


def _encode_pickled(payload: bytes) -> str:
    import pickle

    return figure_data_uri(pickle.loads(payload))


def figure_data_uri(fig: Figure, max_dpi: int = 160) -> str:
    """A figure as a palette-PNG data URI for the self-contained report, its text legible at full column width.

    The resolution follows the figure's width so that the PNG is about the column's width in pixels (no
    wasted bytes on wide multi-panel figures, no blur on narrow ones).
    """
    make_legible(fig)
    dpi = int(min(max_dpi, max(60, 1.25 * REPORT_COLUMN_PX / fig.get_figwidth())))
    return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi, palette=True)).decode()
