"""A figure the Python API returns, resized for a slide or a paper column with matplotlib's
own ``fig.set_size_inches`` (drawn smaller, its 9 pt text reads larger once the figure
fills the slide), keeps its title inside the figure: the title was wrapped once, for the
width the figure was made at, and ran off both sides of a narrower one."""

from __future__ import annotations

import pytest
from compare_helpers import make_run, three_epochs
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnnlab.train import compare_runs
from cnnlab.train.report_figures import curves_figure


def title_inside(fig, inches: tuple[float, float]) -> None:
    fig.set_size_inches(*inches)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = fig._suptitle.get_window_extent(canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (box, fig.bbox)
    assert box.y1 <= fig.bbox.height


ROWS = [dict(epoch=e, train_loss=1.0 / e, test_loss=1.1 / e, train_acc=0.5 + e / 10,
             test_acc=0.45 + e / 10, lr=0.1) for e in (1, 2, 3)]


@pytest.mark.parametrize("inches", [(8, 3.6), (6.5, 3.2)])
def test_a_runs_curves_resized_keep_their_title_inside(inches):
    title = ("lenet_modern (preset fast) on fashion-mnist, run "
             "20261206-051435-lenet_modern-a-long-name-for-the-lr-study")
    title_inside(curves_figure(ROWS, title=title), inches)


def test_a_comparison_resized_for_a_slide_keeps_its_title_inside(tmp_path):
    # comparison.figure() set to 7 inches: "2 runs of lenet_modern on fashion-mnist,
    # differing in preset, batch_size, optimizer and 9 more settings" lost both ends.
    runs = [make_run(tmp_path, f"run-{i}", three_epochs(0.5, 0.8, 0.7 + i / 100),
                     model="lenet_modern", lr=0.1 + i / 10, seed=i, batch_size=64 + i,
                     weight_decay=1e-4 * (i + 1), momentum=0.8 + i / 10)
            for i in range(2)]
    fig = compare_runs(runs).figure()
    assert len(fig._suptitle.get_text()) > 60  # wide enough to matter
    title_inside(fig, (6, 3.4))
