"""The figures outside the report pages' own (the misclassified grid, `data show`, the
zoo, the speedrun ablation) draw no text under 9 pt, keep long names clear of each other
and inside the figure, and the grid a run report shows reads whole on a phone. Measured
from font sizes and the renderer's boxes, not from pixels."""

from __future__ import annotations

import torch
from matplotlib.text import Text
from test_figures_narrow import (
    CLASSES,
    PHONE_COLUMN,
    SMALLEST_PX,
    drawn,
    smallest_pt,
)

from cnnlab import figures
from cnnlab.figures import CSS_PX_PER_INCH, SMALLEST_SHOWN

LONG_CLASSES = ["golden_retriever_puppies", "labrador", "german_shepherd_dog_adult", "x"]


def assert_apart_and_inside(fig, boxes) -> None:
    """No two boxes overlap, each inside the figure."""
    for i, a in enumerate(boxes):
        assert 0 <= a.x0 and a.x1 <= fig.bbox.width and 0 <= a.y0 and a.y1 <= fig.bbox.height
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two labels overlap"


def grids_drawn(monkeypatch) -> list:
    """The Figures image_grid saves from now on (it draws and saves in one call)."""
    kept, real = [], figures.save_figure

    def keep(fig, *args, **kwargs):
        kept.append(fig)
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(figures, "save_figure", keep)
    return kept


def test_the_misclassified_grid_reads_whole_on_a_phone_long_names_apart(monkeypatch, tmp_path):
    # Before: 8 images a row, 13.2 inches, 8 pt titles: 8 px on a laptop, a 950 px box
    # scrolled on a phone, and golden_retriever_puppies ran into its neighbours.
    from cnnlab.train.report_examples import plot_examples

    kept = grids_drawn(monkeypatch)
    images = torch.zeros(8, 1, 28, 28, dtype=torch.uint8)
    title = "First 8 misclassified images of the test set, after epoch 3 of 3, trained weights"
    for classes in (CLASSES, LONG_CLASSES):
        n = len(classes)
        found = [(i, i % n, (i + 1) % n) for i in range(8)]
        plot_examples(images, found, classes, tmp_path / "misclassified.svg", title=title)
        fig = kept[-1]
        width = fig.get_figwidth() * CSS_PX_PER_INCH
        assert SMALLEST_SHOWN * width <= PHONE_COLUMN  # whole on a phone, at 75% or more
        points = smallest_pt(fig)  # 9 pt at 75%: 9 CSS px
        assert points * CSS_PX_PER_INCH / 72 * min(1, PHONE_COLUMN / width) >= SMALLEST_PX
        renderer = drawn(fig)
        titles = [*fig.texts, *(ax.title for ax in fig.axes)]  # the heading, each cell's
        assert_apart_and_inside(fig, [t.get_window_extent(renderer) for t in titles
                                      if t.get_text()])
        said = fig.axes[0].get_title().replace("\n", "")
        assert said == f"true: {classes[0]}pred: {classes[1]}"  # broken into lines, not cut


def test_data_show_titles_are_9pt_and_a_long_folder_name_stays_in_its_cell(monkeypatch,
                                                                          tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from cnnlab.cli import app

    for name in LONG_CLASSES:
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (40 * i, 90, 200)).save(
                tmp_path / "images" / name / f"{i}.png")
    kept = grids_drawn(monkeypatch)
    result = CliRunner().invoke(app, ["data", "show", f"folder:{tmp_path / 'images'}", "--n",
                                      "8", "--image-size", "8", "--out",
                                      str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    fig = kept[-1]
    assert smallest_pt(fig) >= 9  # was 7 pt: 10 pixels at the grid's 100 dpi
    renderer = drawn(fig)
    assert_apart_and_inside(fig, [ax.title.get_window_extent(renderer) for ax in fig.axes
                                  if ax.get_title()])


def test_the_zoo_figures_text_is_9pt_and_the_footnote_clear_of_the_axis_label():
    from test_bench_zoo_report import ZOO, row

    from cnnlab.bench import zoo_report

    rows = ZOO + [row("regnety_800mf_with_squeeze_excitation", "regnet", 0.915, None,
                      6_000_000, 200_000_000, 96, 2000)]
    fig = zoo_report.accuracy_figure(rows)
    assert smallest_pt(fig) >= 9  # value labels and legend were 8 pt
    for key in ("macs", "params"):
        fig = zoo_report.cost_figure(rows, key)
        assert smallest_pt(fig) >= 9  # names 8 pt, the start-up footnote 7 pt
        renderer = drawn(fig)
        ax = fig.axes[0]
        (foot,) = [t for t in fig.texts if t.get_text().startswith("†")]
        assert not foot.get_window_extent(renderer).overlaps(
            ax.xaxis.label.get_window_extent(renderer))
        # the names' text (an annotation's own box spans its leader line too)
        assert_apart_and_inside(fig, [Text.get_window_extent(t, renderer) for t in ax.texts])


def test_the_speedrun_charts_changed_recipe_lines_fit_its_width(tmp_path):
    # Five changes from the recipe made one red line of 1.4 times the chart's width:
    # both its ends were cut off.
    from test_speedrun_ablation import runs

    from cnnlab.bench.speedrun import FULL_RECIPE, ablation_rows, plot_ablation

    changes = ["epochs 2 (recipe: 14)", "batch_size 256 (recipe: 512)", "lr 0.1 (recipe: 0.4)",
               "label_smoothing 0.0 (recipe: 0.1)", "model resnet18_d2l (recipe: lenet_modern)"]
    fig = plot_ablation(ablation_rows({FULL_RECIPE: runs(0.902), "no weight EMA": runs(0.897)}),
                        tmp_path / "ab.png", {"model": "lenet_modern", "device": "cpu",
                                              "epochs": 2, "changes": changes})
    assert smallest_pt(fig) >= 9
    renderer = drawn(fig)
    header = [t.get_window_extent(renderer) for t in fig.texts]
    assert_apart_and_inside(fig, header)
    red = " ".join(t.get_text() for t in fig.texts if t.get_color() == "darkred")
    assert red.startswith("Changed from the recipe: epochs 2") and "lenet_modern)" in red
    lowest = min(box.y0 for box in header)
    assert lowest > fig.axes[0].title.get_window_extent(renderer).y1  # above the panels


def test_a_name_with_two_dollar_signs_is_broken_as_drawn():
    # Measured as a formula: "cost_$5_to_$10" raised matplotlib's ParseSyntaxException in
    # `cnnlab data show` and the misclassified grid.
    from cnnlab.figures import fitted

    assert fitted("cost_$5_to_$10", 0.5).replace("\n", "") == "cost_$5_to_$10"
