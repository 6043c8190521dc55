"""--no-figures on a run that got every test image right: the misclassified images are
not among the figures skipped (there are none to draw), and a resume is not sent to
draw them."""

from __future__ import annotations

import json

from test_report42_perfect_model import perfect_run, words


def test_a_perfect_run_without_figures_names_no_misclassified_images_skipped(tmp_path):
    run = perfect_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["figures_skipped"] == ["curves.png", "confusion.png"]
    text = words((run / "report.html").read_text(encoding="utf-8"))
    assert "The figures (curves.png and confusion.png) were not drawn" in text
