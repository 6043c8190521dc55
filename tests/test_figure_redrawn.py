"""A figure that failed to draw when a run ended (a matplotlib error, a full disk) is
drawn by a later `cnnlab resume`, which trains nothing: before, the run counted as
finished, a resume was refused, and nothing ever drew the figure."""

from __future__ import annotations

import json

import pytest
from resume_helpers import count_steps, small_run

import cnnlab.train.run_outputs as outputs_module
from cnnlab.notices import FigureWarning
from cnnlab.train import resume
from cnnlab.train.loaded_run import CheckpointWarning


def test_a_figure_that_failed_to_draw_is_drawn_by_the_next_resume(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("matplotlib failed")

    with monkeypatch.context() as m:
        m.setattr(outputs_module, "plot_curves", broken)
        with pytest.warns(FigureWarning, match=r"could not draw .*curves\.png .*`cnnlab "
                                               r"resume .*` draws it"):
            small_run(tmp_path, monkeypatch, epochs=1, threads=1, run_name="run")
    run = tmp_path / "run"
    assert not (run / "plots" / "curves.png").exists()
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["figures_not_drawn"] == ["curves.png"]
    shown_before = figures_shown(run)

    steps = count_steps(monkeypatch)
    # Was "was stopped while its summary and report were written": not what happened.
    with pytest.warns(CheckpointWarning, match=r"but curves\.png could not be drawn when it "
                                               r"ended: writing them now"):
        resume(run)  # data: small_run's, which load_training_data now gives
    assert steps["n"] == 0
    assert (run / "plots" / "curves.png").is_file()
    assert "figures_not_drawn" not in json.loads((run / "summary.json").read_text(
        encoding="utf-8"))
    assert figures_shown(run) == shown_before + 1  # the report shows it now


def figures_shown(run) -> int:
    return (run / "report.html").read_text(encoding="utf-8").count("data:image/png")
