"""Figures for slides and papers: CNNLAB_FIGURE_FORMATS writes every figure cnnlab draws
as vector files too, beside its PNG, and PDFs carry TrueType text (journals refuse Type 3
fonts). Read from the files written, not from the code that writes them."""

from __future__ import annotations

import re
import warnings

import pytest

from cnnlab import figures
from cnnlab.figures import FORMATS_VARIABLE, save_figure, subplots
from cnnlab.notices import FigureWarning


def small_figure():
    fig, ax = subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [3, 1, 2], label="test")
    ax.set(xlabel="epoch", title="Loss")
    return fig


def kinds(path) -> str:
    """What a written file is, by its first bytes."""
    head = path.read_bytes()[:200]
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"%PDF"):
        return "pdf"
    return "svg" if b"<svg" in head or b"<?xml" in head else "other"


def test_without_the_variable_only_the_file_asked_for_is_written(monkeypatch, tmp_path):
    monkeypatch.delenv(FORMATS_VARIABLE, raising=False)
    save_figure(small_figure(), tmp_path / "curves.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_the_variable_writes_each_format_beside_the_png(monkeypatch, tmp_path):
    # Before: a run's plots/, a design analysis and the zoo were PNG at 150 dpi only, and
    # nothing gave them as vector files for a slide or a paper.
    monkeypatch.setenv(FORMATS_VARIABLE, " SVG, .pdf ")
    out = save_figure(small_figure(), tmp_path / "plots" / "curves.png")
    assert out == tmp_path / "plots" / "curves.png"
    written = {p.name: kinds(p) for p in (tmp_path / "plots").iterdir()}
    assert written == {"curves.png": "png", "curves.svg": "svg", "curves.pdf": "pdf"}


def test_a_pdf_holds_truetype_text_not_type3(monkeypatch, tmp_path):
    # matplotlib's default embeds Type 3 fonts, which IEEE's and ACM's PDF checkers refuse.
    monkeypatch.delenv(FORMATS_VARIABLE, raising=False)
    pdf = save_figure(small_figure(), tmp_path / "compare.pdf").read_bytes()
    assert not re.search(rb"/Subtype\s*/Type3", pdf)
    assert re.search(rb"/FontFile2", pdf)  # an embedded TrueType font program


def test_an_unknown_format_is_warned_of_and_the_others_still_written(monkeypatch, tmp_path):
    monkeypatch.setenv(FORMATS_VARIABLE, "pdf,jpeg2000")
    with pytest.warns(FigureWarning, match=r"CNNLAB_FIGURE_FORMATS.*jpeg2000.*svg, pdf"):
        save_figure(small_figure(), tmp_path / "edf.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edf.pdf", "edf.png"]
    with warnings.catch_warnings():  # once per value, not once per figure
        warnings.simplefilter("error")
        save_figure(small_figure(), tmp_path / "error_vs_macs.png")


def test_a_runs_figures_and_the_misclassified_grid_come_as_vectors(monkeypatch, tmp_path):
    # The figures a run's report draws go through save_figure: curves, confusion matrix
    # and the image grid (image_grid) alike.
    import torch

    from cnnlab.train.report_examples import plot_examples
    from cnnlab.train.report_figures import plot_confusion, plot_curves

    monkeypatch.setenv(FORMATS_VARIABLE, "svg")
    rows = [dict(epoch=e, train_loss=1.0 / e, test_loss=1.1 / e, train_acc=0.5 + e / 10,
                 test_acc=0.45 + e / 10, lr=0.1) for e in (1, 2)]
    plot_curves(rows, tmp_path / "curves.png")
    plot_confusion([[3, 1], [0, 4]], ["cat", "dog"], tmp_path / "confusion.png")
    plot_examples(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), [(0, 0, 1), (1, 1, 0)],
                  ["cat", "dog"], tmp_path / "misclassified.png")
    for name in ("curves", "confusion", "misclassified"):
        assert kinds(tmp_path / f"{name}.svg") == "svg"
        assert kinds(tmp_path / f"{name}.png") == "png"


def test_formats_asked_are_read_once_per_value(monkeypatch):
    monkeypatch.setenv(FORMATS_VARIABLE, "pdf pdf eps")
    assert figures.extra_formats() == ("pdf", "eps")
    monkeypatch.setenv(FORMATS_VARIABLE, "")
    assert figures.extra_formats() == ()
