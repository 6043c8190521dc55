"""--no-figures holds for its own command: a later train in the same process (a notebook,
a script calling the CLI twice) drew no figures though it never asked. And a finished run
whose figures were skipped, resumed where CNNLAB_NO_FIGURES is still set, is refused with
the way to draw them: the resume said "writing them now", drew nothing, and said to
resume again."""

from __future__ import annotations

import json
import os

import pytest
from resume_helpers import small_run
from test_figures_skipped import TRAIN, images_in, summary_of
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.figures import NO_FIGURES_VARIABLE
from cnnlab.train import resume
from cnnlab.train.report import FIGURES
from cnnlab.train.run import RunFinished

runner = CliRunner()


def test_the_flag_is_put_back_when_its_command_ends(tmp_path, monkeypatch):
    monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    first = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", "a",
                                "--no-figures"])
    assert first.exit_code == 0, first.output
    assert NO_FIGURES_VARIABLE not in os.environ
    second = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", "b"])
    assert second.exit_code == 0, second.output
    assert images_in(tmp_path / "b") == len(FIGURES)
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")  # --figures, where it is set: set again after
    third = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", "c",
                                "--figures"])
    assert third.exit_code == 0, third.output
    assert images_in(tmp_path / "c") == len(FIGURES)
    assert os.environ[NO_FIGURES_VARIABLE] == "1"


def trained_without_figures(tmp_path, monkeypatch, name: str):
    """A finished CLI run, CNNLAB_NO_FIGURES set (and left set); its folder and output."""
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path), "--run-name", name])
    assert result.exit_code == 0, result.output
    return tmp_path / name, " ".join(result.output.split())


def refused_resume(run, *flags: str) -> str:
    """What `cnnlab resume RUN` says refusing a finished run, which it leaves alone."""
    refused = runner.invoke(app, ["resume", str(run), *flags])
    assert refused.exit_code != 0
    said = " ".join(refused.output.split())
    assert "writing them now" not in said
    return said


def test_a_finished_run_resumed_with_figures_still_skipped_is_told_how_to_draw_them(
        tmp_path, monkeypatch):
    run, told = trained_without_figures(tmp_path, monkeypatch, "run")
    # Exported here, so the note names it and the flag a plain resume would need
    assert (f"note: figures skipped (CNNLAB_NO_FIGURES set); `cnnlab resume {run} --figures` "
            "draws them") in told
    said = refused_resume(run)
    assert ("Its figures are not drawn (curves.png, confusion.png and misclassified.png), "
            "and figures are skipped here too (--no-figures, or CNNLAB_NO_FIGURES set): "
            f"`cnnlab resume {run} --figures` (from Python: resume({str(run)!r}) with "
            "CNNLAB_NO_FIGURES unset) draws them, training nothing") in said
    drawn = runner.invoke(app, ["resume", str(run), "--figures"])
    assert drawn.exit_code == 0, drawn.output
    assert images_in(run) == len(FIGURES) and "figures_skipped" not in summary_of(run)


def test_a_given_data_run_is_told_the_python_call(tmp_path, monkeypatch):
    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    run = small_run(tmp_path, monkeypatch, epochs=1, threads=1, run_name="run").run_dir
    with pytest.raises(RunFinished, match=r"set\): resume\('.*', data=\.\.\.\) with "
                                          "CNNLAB_NO_FIGURES unset, from Python draws them"):
        resume(run)


def test_a_folder_with_a_space_is_quoted_and_a_failed_figure_is_not_drawn_again(
        tmp_path, monkeypatch):
    # The command pasted whole ("my run" split in two); and a figure that failed to draw,
    # resumed where figures are skipped, is refused too: it said "writing them now",
    # drew nothing, and said to resume again.
    run, _ = trained_without_figures(tmp_path, monkeypatch, "my run")
    summary = summary_of(run)
    summary["figures_not_drawn"] = ["curves.png"]  # as a figure that failed leaves it
    del summary["figures_skipped"]
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    said = refused_resume(run, "--no-figures")
    assert (f"Its figures are not drawn (curves.png), and figures are skipped here too "
            f"(--no-figures, or CNNLAB_NO_FIGURES set): `cnnlab resume '{run}' --figures`") \
        in said
