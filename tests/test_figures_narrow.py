"""Figures an HTML report shows read on a phone, on a laptop and on paper: no text in
them under 9 pt, each shown at the size it was drawn for and never shrunk below
SMALLEST_SHOWN of it (9 pt: 9 CSS px), and those that a phone's column must hold whole
drawn narrow enough for it. Measured from font sizes in points, figure widths and the
renderer's boxes, not from pixels."""

from __future__ import annotations

import re

import numpy as np

from cnnlab.figures import CSS_PX_PER_INCH, SMALLEST_SHOWN, embed_png, save_figure, subplots
from cnnlab.train import report_figures

PHONE_COLUMN = 390 - 32  # CSS px: a 390 px phone less the page's 1em padding each side
LAPTOP_COLUMN = 1000 - 32  # the run report's column on a 1000 px wide window
SMALLEST_PX = 9


def drawn(fig):
    """``fig`` laid out as it is saved: its renderer, after a draw by Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def smallest_pt(fig) -> float:
    from matplotlib.text import Text

    drawn(fig)
    return min(t.get_fontsize() for t in fig.findobj(Text)
               if t.get_text().strip() and t.get_visible())


def shown_px(fig, column: float) -> float:
    """The smallest text of ``fig`` in CSS px where a page shows it in ``column`` CSS px:
    at the size it was drawn for, shrunk to the column when wider, never below
    SMALLEST_SHOWN of it (the box scrolls)."""
    width = fig.get_figwidth() * CSS_PX_PER_INCH
    scale = max(SMALLEST_SHOWN, min(1.0, column / width))
    return smallest_pt(fig) * CSS_PX_PER_INCH / 72 * scale


HISTORY = [dict(epoch=e, train_loss=2 / e, test_loss=2.2 / e, train_acc=0.5 + e / 20,
                test_acc=0.45 + e / 20, lr=0.1) for e in range(1, 4)]
NOTES = dict(title="lenet_modern (no preset) on fashion-mnist, run 20261206-161216-lenet",
             train_note="mean over each epoch's batches, as the weights changed",
             test_note="after each epoch, trained weights",
             lr_plan=([0.5, 1, 2, 3], [0.1] * 4))
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]


def test_the_curves_text_reads_on_a_laptop_and_a_phone():
    # 13.5 inches with 8.3 pt legends: 8.3 px on a laptop, 3 px on a phone.
    fig = report_figures.curves_figure(HISTORY, **NOTES)
    assert smallest_pt(fig) >= 9
    assert shown_px(fig, LAPTOP_COLUMN) >= SMALLEST_PX
    assert shown_px(fig, PHONE_COLUMN) >= SMALLEST_PX
    box = fig.legends[0].get_window_extent(drawn(fig))  # the legend inside the figure
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width


def test_fashion_mnists_confusion_matrix_fits_a_phone_whole_and_reads(tmp_path):
    matrix = (np.full((10, 10), 12) + 900 * np.eye(10, dtype=int)).tolist()
    report_figures.plot_confusion(matrix, CLASSES, tmp_path / "confusion.png")
    fig = report_figures.confusion_figure(matrix, CLASSES, "test set, after epoch 3 of "
                                          "3, trained weights, the best checkpoint", 7.5,
                                          narrow=True)
    assert SMALLEST_SHOWN * fig.get_figwidth() * CSS_PX_PER_INCH <= PHONE_COLUMN
    assert shown_px(fig, PHONE_COLUMN) >= SMALLEST_PX
    title = fig.axes[0].title.get_window_extent(drawn(fig))
    assert 0 <= title.x0 and title.x1 <= fig.bbox.width  # wrapped, not cut off
    # Each count inside its cell: three digits fit.
    ax = fig.axes[0]
    renderer = drawn(fig)
    cell = ax.get_window_extent(renderer).width / 10
    assert max(t.get_window_extent(renderer).width for t in ax.texts) < cell


def test_the_design_figures_fit_a_phone_whole_and_read():
    from cnnlab.design.report import SpaceResult
    from cnnlab.design.report_figures import edf_figure, error_vs_macs_figure

    rng = np.random.default_rng(0)
    results = [SpaceResult(name, name, {"space": name}, {}, [
        {"error_pct": 30 + rng.normal(), "macs": m} for m in np.geomspace(1e5, 4e6, 20)])
        for name in ("anynetx_a", "anynetx_b", "anynetx_c")]
    caption = "Not comparable, trained or sampled differently (" + "a vs b; " * 20 + ")"
    for fig in (edf_figure(results, np.geomspace(1e5, 4e6, 4), caption, "fashion-mnist"),
                error_vs_macs_figure(results, caption, "fashion-mnist")):
        assert SMALLEST_SHOWN * fig.get_figwidth() * CSS_PX_PER_INCH <= PHONE_COLUMN
        assert shown_px(fig, PHONE_COLUMN) >= SMALLEST_PX
        renderer = drawn(fig)
        for legend in (ax.get_legend() for ax in fig.axes if ax.get_legend()):
            box = legend.get_window_extent(renderer)
            assert 0 <= box.x0 and box.x1 <= fig.bbox.width


def test_a_page_shows_a_figure_at_its_size_shrunk_at_most_to_smallest_shown(tmp_path):
    fig, _ = subplots(figsize=(12, 4))
    path = save_figure(fig, tmp_path / "curves.png")
    page = embed_png(path, alt="Training curves", caption="Loss and accuracy")
    (img,) = re.findall(r"<img [^>]*>", page)
    assert 'style="width:1152px;min-width:864px"' in img  # 12 inches, 75% of them
    assert 'alt="Training curves"' in img and 'aria-describedby="figure-curves"' in img
    assert re.search(r'<div class="figure-box"><img ', page)  # it scrolls, not the page
