"""The report's figure encoding: the canvas-buffer path draws the pixels savefig writes, and the streaming
encoder gives the same data URIs on worker processes, in-process, and after its pool breaks."""

from __future__ import annotations

import concurrent.futures as cf
import io

import numpy as np
import pytest
from PIL import Image

from aflab.core.plots import FigureEncoder, figure_data_uri, new_figure, rendered_rgb


def _figure(k: int = 1):
    fig, axes = new_figure(ncols=2)
    axes[0].plot(np.arange(10), np.arange(10) * k, label="line")
    axes[0].set_title("a title that constrained layout must fit")
    axes[0].legend()
    axes[1].scatter(np.linspace(0, 1, 50), np.sin(np.linspace(0, 6, 50)) * k)
    axes[1].set_xlabel("x")
    return fig


@pytest.mark.parametrize("dpi", [60, 97, 160])
def test_the_canvas_buffer_holds_the_pixels_savefig_writes(dpi):
    buf = io.BytesIO()
    _figure().savefig(buf, format="png", dpi=dpi)
    saved = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    fig = _figure()
    drawn = np.asarray(rendered_rgb(fig, dpi))
    assert drawn.shape == saved.shape and np.array_equal(drawn, saved)
    assert fig.dpi == 100  # the figure's own resolution is given back


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_encoder_gives_the_same_uris_on_workers_and_in_process(jobs):
    ticks = []
    with FigureEncoder(jobs) as enc:
        for k in range(3):
            enc.submit(("claim", k), _figure(k + 1))
        pooled = enc.results(on_result=lambda: ticks.append(1))
    assert pooled == {("claim", k): figure_data_uri(_figure(k + 1)) for k in range(3)}
    assert len(ticks) == enc.submitted == 3  # the progress bar's count: once per figure, either way


class _BrokenPool:
    """A pool whose every future died with its worker (what a killed encoding process leaves)."""

    def submit(self, fn, *args):
        future: cf.Future = cf.Future()
        future.set_exception(cf.process.BrokenProcessPool("a worker died"))
        return future

    def shutdown(self, **kwargs):
        pass


def test_figures_a_broken_pool_lost_are_encoded_in_process():
    with FigureEncoder(2) as enc:
        enc.pool.shutdown()
        enc.pool = _BrokenPool()
        enc.submit("a", _figure())
        assert enc.results() == {"a": figure_data_uri(_figure())}
