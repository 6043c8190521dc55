"""CNNLAB_NO_FIGURES and `--no-figures`: a run's outputs without its figures (~90% of a
tiny run's time), a report and summary that say so and name none that is not there, and a
later `cnnlab resume RUN` that draws them, training nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from resume_helpers import count_steps, small_run
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.figures import NO_FIGURES_VARIABLE, figures_skipped
from cnnlab.train import resume
from cnnlab.train.loaded_run import CheckpointWarning
from cnnlab.train.report import FIGURES

runner = CliRunner()


def summary_of(run) -> dict:
    return json.loads((run / "summary.json").read_text(encoding="utf-8"))


def images_in(run) -> int:
    return (run / "report.html").read_text(encoding="utf-8").count("data:image/png")


def test_a_run_without_figures_says_so_and_a_resume_draws_them(tmp_path, monkeypatch):
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    small_run(tmp_path, monkeypatch, epochs=1, threads=1, run_name="run")
    run = tmp_path / "run"
    assert not list((run / "plots").glob("*.png"))
    summary = summary_of(run)
    assert summary["figures_not_drawn"] == list(FIGURES)  # what a resume draws
    assert summary["figures_skipped"] == list(FIGURES)  # by choice, not for a fault
    page = (run / "report.html").read_text(encoding="utf-8")
    assert images_in(run) == 0
    assert "<h2>Figures</h2>" in page and NO_FIGURES_VARIABLE in page
    # small_run gives its data to train(): the command to draw them is resume() in Python
    assert "resume(" in page and "data=...) from Python" in page

    monkeypatch.delenv(NO_FIGURES_VARIABLE)
    steps = count_steps(monkeypatch)
    # Skipped by choice, not "could not be drawn", as a figure that failed is told
    with pytest.warns(CheckpointWarning, match=r"but its figures were skipped when it ended "
                                               r"\(--no-figures, CNNLAB_NO_FIGURES\): "
                                               "writing them now"):
        resume(run)
    assert steps["n"] == 0
    assert sorted(p.name for p in (run / "plots").glob("*.png")) == sorted(FIGURES)
    summary = summary_of(run)
    assert "figures_not_drawn" not in summary and "figures_skipped" not in summary
    assert images_in(run) == len(FIGURES)
    assert "<h2>Figures</h2>" not in (run / "report.html").read_text(encoding="utf-8")


def test_skipping_the_figures_removes_an_earlier_draws(tmp_path, monkeypatch):
    # A resume with --no-figures after a run that drew them: the old figures are of an
    # earlier checkpoint, and neither plots/ nor the report may show them as this one's.
    monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    small_run(tmp_path, monkeypatch, epochs=1, threads=1, run_name="run")
    run = tmp_path / "run"
    assert (run / "plots" / "curves.png").is_file()
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    resume(run, extra_epochs=1)
    assert not list((run / "plots").glob("*.png"))
    assert images_in(run) == 0 and summary_of(run)["figures_skipped"] == list(FIGURES)


@pytest.mark.parametrize(("value", "skipped"), [
    ("", False), ("0", False), ("false", False), ("No", False), ("off", False),
    ("1", True), ("yes", True), ("true", True)])
def test_which_values_of_the_variable_skip_the_figures(monkeypatch, value, skipped):
    monkeypatch.setenv(NO_FIGURES_VARIABLE, value)
    assert figures_skipped() is skipped


TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--epochs", "1", "--threads", "1", "--train-subset", "128", "--eval-subset", "32",
         "--preset", "none"]


def test_the_no_figures_flag_skips_them_and_prints_how_to_draw_them(tmp_path, monkeypatch):
    monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", "run",
                                 "--no-figures"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert summary_of(run)["figures_skipped"] == list(FIGURES)
    assert f"cnnlab resume {run}" in result.output and "figures skipped" in result.output
    # How this command writes its outputs, not part of the run's recipe.
    assert "figures" not in yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    assert f"`cnnlab resume {run}`" in (run / "report.html").read_text(encoding="utf-8")


def test_the_figures_flag_draws_them_where_the_variable_is_set(tmp_path, monkeypatch):
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", "run",
                                 "--no-figures"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    result = runner.invoke(app, ["resume", str(run), "--figures"])
    assert result.exit_code == 0, result.output
    assert "figures_skipped" not in summary_of(run) and images_in(run) == len(FIGURES)
    assert "figures skipped" not in result.output
