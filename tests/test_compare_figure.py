"""The legend of `cnnlab compare --plot`: inside the saved figure however long the runs'
labels are, and as before where they are short."""

from __future__ import annotations

import pytest
from compare_helpers import FINISHED, make_run, three_epochs
from PIL import Image

from cnnlab.figures import DPI, save_figure
from cnnlab.train import compare_runs
from cnnlab.train.compare_figure import FIGURE_SIZE


def legend_and_figure_boxes(fig):
    """The legend's box and the figure's, in pixels, as the saved file lays them out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()  # the constrained layout places the legend when drawn
    renderer = canvas.get_renderer()
    (legend,) = fig.legends
    return legend.get_window_extent(renderer), fig.bbox


def lenet_runs(root, names: list[str]):
    """Runs told apart by their model and preset among more settings: the legend names
    each by its folder, model and preset ("...: lenet_modern, no preset")."""
    recipes = [dict(model="lenet_bn_d2l", preset="book"), dict(model="lenet_modern"),
               dict(model="lenet_modern", preset="fast"), dict(model="lenet_bn", preset="book")]
    return [make_run(root, name, three_epochs(0.5, 0.8, 0.7 + i / 100), FINISHED,
                     lr=0.1 + i / 100, seed=i, batch_size=64 + i, **recipes[i % 4])
            for i, name in enumerate(names)]


@pytest.mark.parametrize("runs, folder", [
    (4, "20261206-051435-lenet_modern"),  # the README's runs/*lenet*: 3 columns ran off
    (6, "20261206-051435-lenet_modern"),
    (3, "a-sweep-of-learning-rates-named-at-length-" * 5),  # too long for one column
])
def test_the_legend_lies_inside_the_saved_figure(tmp_path, runs, folder):
    paths = lenet_runs(tmp_path, [f"{folder}-{i}" for i in range(runs)])
    comparison = compare_runs(paths, target=0.9)
    assert len(comparison.labels()[0]) > 50  # labels long enough to matter
    fig = comparison.figure(x="time")
    out = save_figure(fig, tmp_path / "c.png", layout=False)
    legend, figure = legend_and_figure_boxes(fig)
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1, (legend, figure)
    assert figure.y0 <= legend.y0 and legend.y1 <= figure.y1, (legend, figure)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[-1] == "target 90%"
    assert any("\n" in t for t in texts) == (len(folder) > 100)
    assert ["".join(t.split()) for t in texts[:-1]] == \
        ["".join(label.split()) for label in comparison.labels()]  # wrapped, not cut
    with Image.open(out) as png:  # the file is the figure, grown to hold the legend
        width, height = png.size
    assert width == FIGURE_SIZE[0] * DPI and abs(height - fig.get_figheight() * DPI) < 1
    # The axes keep their room: the figure grows by what a taller legend takes.
    axes_bottom = min(ax.get_window_extent(fig.canvas.get_renderer()).y0 for ax in fig.axes)
    assert axes_bottom > legend.y1


def test_short_labels_keep_three_columns_and_the_figures_size(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.7), lr=0.1)
    b = make_run(tmp_path, "b", three_epochs(0.6, 0.6, 0.9), lr=0.05)
    fig = compare_runs([a, b], target=0.75).figure()
    assert fig.legends[0]._ncols == 3
    assert tuple(fig.get_size_inches()) == FIGURE_SIZE
    legend, figure = legend_and_figure_boxes(fig)
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1
