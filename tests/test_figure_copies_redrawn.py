"""A figure drawn again leaves no SVG/PDF copy of the earlier drawing beside it: asked
for once (CNNLAB_FIGURE_FORMATS=svg,pdf), they stayed after a resume or a new analysis
without the variable, and no longer matched the PNG beside them."""

from __future__ import annotations

from test_design_report import sweep

from cnnlab.design.report import analyze
from cnnlab.train.run_outputs import _draw


def test_a_runs_figure_drawn_again_takes_its_earlier_copies_away(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_FIGURE_FORMATS", raising=False)
    plots = tmp_path / "run" / "plots"
    plots.mkdir(parents=True)
    for name in ("curves.png", "curves.svg", "curves.pdf", "confusion.svg"):
        (plots / name).write_text("earlier", encoding="utf-8")
    assert _draw(plots / "curves.png", lambda out: out.write_text("new", encoding="utf-8"),
                 [])
    assert sorted(p.name for p in plots.iterdir()) == ["confusion.svg", "curves.png"]


def test_a_design_analysis_made_again_takes_its_earlier_copies_away(tmp_path, monkeypatch):
    a = sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0])
    b = sweep(tmp_path / "b", [20.0, 21.0, 22.0, 23.0])
    monkeypatch.setenv("CNNLAB_FIGURE_FORMATS", "svg")
    analyze([a, b], tmp_path / "r", resamples=50)
    assert (tmp_path / "r" / "edf.svg").is_file()
    monkeypatch.delenv("CNNLAB_FIGURE_FORMATS")
    analyze([a, b], tmp_path / "r", resamples=50)
    assert not list((tmp_path / "r").glob("*.svg"))
    assert (tmp_path / "r" / "edf.png").is_file()
