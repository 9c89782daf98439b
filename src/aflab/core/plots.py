"""Shared plotting helpers: one look for every figure, and PNG encoding for the report.

Figures are built with :class:`matplotlib.figure.Figure` (not pyplot), so nothing global leaks
between claims and figures are safe to build in worker processes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
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
    if not palette:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()
    return _palette_png(rendered_rgb(fig, dpi))


def rendered_rgb(fig: Figure, dpi: float):
    """``fig`` drawn at ``dpi`` as a PIL RGB image, read from the Agg canvas's own buffer.

    The same pixels as ``savefig(format="png", dpi=dpi)`` decoded again (tested), without the full-colour
    PNG that savefig compresses and the palette step would decode (with level-8 zlib, the quick report's 90
    claim figures encode in 31.5 CPU-s against 47.2: ``benchmarks/bench_report_figures.py``). The figure's
    dpi is restored afterwards."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    old_dpi = fig.dpi
    try:
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        size = canvas.get_width_height()
        return Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    finally:
        fig.set_dpi(old_dpi)


#: zlib level of the palette PNGs: level 8 is 2% larger than 9 (2.50 against 2.45 MB for the quick report's
#: figures) and 2.6x faster to compress (1.5 against 3.9 CPU-s); level 6 is 10% larger
PALETTE_PNG_LEVEL = 8


def _palette_png(img) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", compress_level=PALETTE_PNG_LEVEL)
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
    """:func:`figure_data_uri` of every figure, on ``jobs`` processes when there are enough figures."""
    with FigureEncoder(jobs if len(figs) >= 16 else 1) as enc:
        for i, fig in enumerate(figs):
            enc.submit(i, fig)
        uris = enc.results()
    return [uris[i] for i in range(len(figs))]


class FigureEncoder:
    """:func:`figure_data_uri` on ``jobs`` worker processes, fed while the caller draws the next figures.

    ``submit(key, fig)`` hands a finished figure over at once, so encoding (most of a report's figure time)
    overlaps with drawing the rest; ``results()`` returns ``{key: data URI}``. The figures travel pickled
    (aflab's own in-memory objects, never a user's file). If the pool cannot start or breaks, the figures
    not yet encoded are encoded here: the PNG bytes do not depend on the process (tested).
    """

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, int(jobs))
        self.pool: Any = None
        self.pending: dict[Any, tuple[bytes, Any]] = {}
        self.done: dict[Any, str] = {}
        self.submitted = 0

    def __enter__(self) -> FigureEncoder:
        if self.jobs > 1:
            import concurrent.futures as cf
            import multiprocessing

            try:
                self.pool = cf.ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"))
            except OSError:
                self.pool = None
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, key: Any, fig: Figure) -> None:
        self.submitted += 1
        if self.pool is None:
            self.done[key] = figure_data_uri(fig)
            return
        import pickle

        payload = pickle.dumps(fig)
        try:
            self.pending[key] = (payload, self.pool.submit(_encode_pickled, payload))
        except RuntimeError:  # a broken pool refuses new work: encode here from now on
            self.pool = None
            self.done[key] = _encode_pickled(payload)

    def results(self, on_result: Callable[[], object] | None = None) -> dict[Any, str]:
        """``{key: data URI}`` of every figure submitted; ``on_result()`` is called once per figure."""
        import concurrent.futures as cf

        tick = on_result or (lambda: None)
        for _ in self.done:
            tick()
        for key, (payload, future) in self.pending.items():
            try:
                self.done[key] = future.result()
            except cf.process.BrokenProcessPool:
                self.done[key] = _encode_pickled(payload)
            tick()
        self.pending = {}
        return dict(self.done)


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
