"""The figures and reports read for everyone: series told apart by more than hue, text in
contrast with what is under it, tick labels apart, legends off the data, and HTML pages
with a language, image descriptions and figure captions. Read from the Figures' artists
and the pages' markup."""

from __future__ import annotations

import itertools
import re

import pytest
from design_helpers import kept_figures
from matplotlib.backends.backend_agg import FigureCanvasAgg
from test_bench_zoo_report import ZOO
from test_design_report import sweep
from test_report_page import run_with_epochs

import cnnlab.design.report as design_report
from cnnlab.bench import zoo_report
from cnnlab.figures import (
    PALETTE,
    bubble_style,
    contrast_ratio,
    save_figure,
    series_style,
    si_log_axis,
    subplots,
    text_colour_on,
)
from cnnlab.train import report_figures
from cnnlab.train.report import _STYLE, write_report


def renderer(fig):
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def looks(lines) -> list[tuple]:
    return [(line.get_linestyle(), line.get_marker()) for line in lines]


def test_the_first_series_differ_in_colour_line_style_and_marker_together():
    styles = [series_style(i) for i in range(49)]
    assert len({tuple(sorted(s.items())) for s in styles}) == 49
    for a, b in itertools.pairwise(styles):  # neighbours differ in every way at once
        assert a["color"] != b["color"] and a["linestyle"] != b["linestyle"]
        assert a["marker"] != b["marker"]
    assert len({(s["color"], s["marker"]) for s in (series_style(i, lines=False)
                                                    for i in range(49))}) == 49


def test_groups_of_bubbles_past_the_palette_differ_in_the_plot_and_in_its_legend():
    # Round bubbles whose area carries a value: past the 7 colours, only the fill can
    # tell groups apart, and a legend's mark must show it (a dashed rim did not).
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    fig, ax = subplots()
    groups = 3 * len(PALETTE)
    plotted, keyed = set(), set()
    for i in range(groups):
        scatter, handle = bubble_style(i)
        dots = ax.scatter([1], [i], s=200, **scatter)
        plotted.add((tuple(dots.get_facecolor().round(3).ravel()),
                     tuple(dots.get_edgecolor().round(3).ravel())))
        mark = Line2D([], [], marker="o", linestyle="", **handle)
        keyed.add((to_rgba(mark.get_markerfacecolor(), mark.get_alpha()),
                   to_rgba(mark.get_markeredgecolor(), mark.get_alpha())))
    assert len(plotted) == len(keyed) == groups


def test_train_and_test_curves_differ_in_line_style_and_every_axis_is_labelled(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5 + e / 10,
                "test_loss": 1.1 / e, "test_acc": 0.45 + e / 10, "lr": 0.1 / e}
               for e in (1, 2, 3)]
    fig = report_figures.curves_figure(history)
    loss, acc = fig.axes[:2]
    for ax in (loss, acc):  # by colour alone (blue, orange) before
        (train_look, test_look) = looks(ax.lines)
        assert train_look[0] != test_look[0] and train_look[1] != test_look[1]
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_compared_runs_differ_in_line_style_and_marker_not_hue_alone(tmp_path):
    from compare_helpers import FINISHED, make_run, three_epochs

    from cnnlab.train import compare_runs

    paths = [make_run(tmp_path, f"run-{i}", three_epochs(0.5, 0.6, 0.7 + i / 100), FINISHED,
                      lr=0.1 + i / 100, seed=i) for i in range(4)]
    fig = compare_runs(paths).figure(x="epoch")
    for ax in fig.axes:  # four solid lines with the same dot, by hue alone, before
        assert len(set(looks(ax.lines))) == len(ax.lines) == 4
        assert len({look[0] for look in looks(ax.lines)}) == 4
        assert ax.get_xlabel() and ax.get_ylabel()


def tick_gaps(fig) -> list[float]:
    """Pixels between neighbouring tick labels drawn on each axis (negative: overlap)."""
    r = renderer(fig)
    gaps = []
    for ax in fig.axes:
        for axis, lo, hi in ((ax.xaxis, "x0", "x1"), (ax.yaxis, "y0", "y1")):
            boxes = sorted((t.get_window_extent(r) for t in axis.get_ticklabels()
                            if t.get_visible() and t.get_text()), key=lambda b: getattr(b, lo))
            gaps += [getattr(b, lo) - getattr(a, hi) for a, b in itertools.pairwise(boxes)]
    return gaps


@pytest.mark.parametrize("lo, hi", [(300e3, 2.9e6), (122e3, 945e3), (2.1e6, 19e6)])
def test_log_tick_labels_on_a_narrow_figure_never_touch(lo, hi):
    # Ticked 1-9 x 10^k across a decade at 6.5 inches: '700K800K900K1M' ran together.
    from cnnlab.design.macs_axis import label_macs_axis

    fig, ax = subplots(figsize=(6.5, 4.4))
    ax.scatter([lo, hi], [1, 2])
    ax.set_xscale("log")
    si_log_axis(ax.xaxis, lo, hi)  # under a decade each: ticked 1-9 x 10^k
    ax.set_xlim(lo, hi)
    fig.tight_layout()
    assert min(tick_gaps(fig)) >= 2
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(shown) >= 3  # thinned, not emptied
    fig, ax = subplots(figsize=(6.5, 4.4))  # the design report's own axis, thinned too
    ax.scatter([lo, hi], [1, 2])
    ax.set_xscale("log")
    label_macs_axis(ax, lo, hi)
    from cnnlab.figures import spaced_si_labels

    spaced_si_labels(ax.xaxis)
    fig.tight_layout()
    assert min(tick_gaps(fig)) >= 2
    ends = [t.get_text() for t, v in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
            if any(v == pytest.approx(end) for end in ax.get_xlim())]
    assert all(ends)  # a tick at an end of the band stays labelled
    assert len(ends) == 2 or (lo, hi) == (300e3, 2.9e6)  # a decade and more: log ticks


def test_confusion_counts_contrast_with_their_cells(tmp_path, monkeypatch):
    drawn = []
    real = report_figures.save_figure
    monkeypatch.setattr(report_figures, "save_figure",
                        lambda fig, *a, **k: drawn.append(fig) or real(fig, *a, **k))
    # Shares from 0 to 1 in steps of 0.05: the mid blues had white text at 2.6:1.
    n = 21
    matrix = [[i if j == 0 else (20 - i if j == 1 else 0) for j in range(n)] for i in range(n)]
    report_figures.plot_confusion(matrix, [f"c{i}" for i in range(n)], tmp_path / "c.png")
    (ax, _bar) = drawn[0].axes
    image = ax.images[0]
    cells = [t for t in ax.texts if t.get_text().isdigit()]
    assert len(cells) == n * n
    for t in cells:
        j, i = (round(v) for v in t.get_position())
        background = image.cmap(image.norm(image.get_array()[i, j]))
        assert contrast_ratio(t.get_color(), background) >= 4.5, (t.get_text(), background)
    assert text_colour_on("white") == "black" and text_colour_on("#08306b") == "white"


def test_zoo_values_in_a_series_colour_read_on_white_and_ticks_never_touch():
    fig = zoo_report.accuracy_figure(ZOO)
    (ax,) = fig.axes
    coloured = [t for t in ax.texts if t.get_color() not in ("black", "k")]
    assert coloured  # the book's values, in its colour
    for t in coloured:  # orange C1 was 2.5:1
        assert contrast_ratio(t.get_color(), "white") >= 4.5, t.get_text()
    assert min(tick_gaps(fig)) >= 2
    for key in ("macs", "params"):
        fig = zoo_report.cost_figure(ZOO, key)
        assert min(tick_gaps(fig)) >= 2
        assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()


@pytest.fixture
def design_figures(tmp_path, monkeypatch):
    """The design report's figures by file name, and its page, for three sweeps."""
    figures = kept_figures(monkeypatch)
    sweeps = [sweep(tmp_path / name, [base + k for k in range(4)])
              for name, base in (("a", 30.0), ("b", 20.0), ("c", 25.0))]
    design_report.analyze(sweeps, tmp_path / "r", resamples=50)
    return figures, (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_design_figures_tell_spaces_apart_and_keep_legends_off_the_data(design_figures):
    figures, _ = design_figures
    for ax in figures["edf.png"].axes:
        assert len({line.get_linestyle() for line in ax.lines}) == 3  # all solid before
    (scatter,) = figures["error_vs_macs.png"].axes
    markers = [c.get_paths()[0].vertices.tobytes() for c in scatter.collections]
    assert len(set(markers)) == 3  # one marker shape per space, not dots of three hues
    for fig in figures.values():
        r = renderer(fig)
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None:  # inside, at the lower right, it hid an EDF's tail
                assert not legend.get_window_extent(r).overlaps(ax.get_window_extent(r))
            assert ax.get_xlabel()
        assert min(tick_gaps(fig)) >= 2


def images(page: str) -> list[str]:
    return re.findall(r"<img [^>]*>", page)


def test_the_design_page_has_a_language_and_says_what_each_figure_shows(design_figures):
    _, page = design_figures
    assert re.search(r'<html lang="?en', page) and "<title>" in page
    alts = [re.search(r'alt="([^"]*)"', img).group(1) for img in images(page)]
    assert len(alts) == 2 and all(len(alt) > 40 for alt in alts)  # was "edf"
    assert page.count("<figcaption") == 2


def test_the_run_page_has_a_language_captions_and_readable_grey(tmp_path):
    summary = run_with_epochs(tmp_path, [0.7, 0.8], [300, 400])
    for name in ("curves", "confusion", "misclassified"):
        save_figure(subplots()[0], tmp_path / "plots" / f"{name}.png")
    page = write_report(tmp_path, summary).read_text(encoding="utf-8")
    assert re.search(r"<html lang=\"?en", page)
    alts = [re.search(r'alt="([^"]*)"', img).group(1) for img in images(page)]
    # Names a screen reader says, not the files' ("curves"); the captions describe.
    assert alts == ["Training curves", "Confusion matrix", "Misclassified test images"]
    captions = re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", page)
    assert len(captions) == 3
    assert "dashed" in captions[0] and "80.0%" in captions[0]
    assert "Most often confused: cat predicted as dog (100 images)" in captions[1]
    for img, caption_id in zip(images(page), re.findall(r'<figcaption id="([^"]+)"', page),
                               strict=True):
        assert f'aria-describedby="{caption_id}"' in img
    assert page.index("<h2>Training curves</h2>") < page.index("figure-curves")
    for colour in re.findall(r"color:(#[0-9a-f]{3,6})", _STYLE):  # #777 was 4.48:1
        assert contrast_ratio(colour, "white") >= 4.5, colour


def test_the_zoo_keys_a_family_past_the_palettes_colours_apart_from_the_first():
    # The book's 8 families: the 8th's key was the 1st's (same colour, both filled).
    families = ["lenet", "alexnet", "vgg", "nin", "googlenet", "resnet", "densenet", "regnet"]
    rows = [{**ZOO[0], "model": f"{f}_d2l", "family": f, "macs": 10 ** (6 + i / 3)}
            for i, f in enumerate(families)]
    ax = zoo_report.cost_figure(rows, "macs").axes[0]
    (key,) = [a for a in ax.artists if a.get_title().get_text() == "family"]
    marks = {(h.get_color(), h.get_markerfacecolor(), h.get_markeredgecolor())
             for h in key.legend_handles}
    assert len(marks) == len(families)
