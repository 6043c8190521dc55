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


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_figure_that_failed_to_draw_is_drawn_by_the_next_resume(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("matplotlib failed")

    with monkeypatch.context() as m:
        m.setattr(outputs_module, "plot_curves", broken)
        # Data given to train(): resumed from Python (`cnnlab resume` refuses such a run).
        with pytest.warns(FigureWarning, match=r"could not draw .*curves\.png .*resume\(.*"
                                               r"data=\.\.\.\) from Python.* draws it"):
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


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_resume_refused_its_data_does_not_first_say_it_writes_the_outputs(tmp_path,
                                                                            monkeypatch):
    # "writing them now" came, then the refusal: nothing was written.
    import warnings

    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train.config import ConfigError

    with monkeypatch.context() as m:
        m.setattr(outputs_module, "plot_curves", lambda *a, **k: 1 / 0)
        with pytest.warns(FigureWarning):
            small_run(tmp_path, monkeypatch, epochs=1, threads=1, run_name="run")
    other = make_synthetic(num_train=128, num_test=32, seed=2)
    with warnings.catch_warnings(record=True) as said, pytest.raises(ConfigError, match="data"):
        warnings.simplefilter("always")
        resume(tmp_path / "run", data=other)
    assert not [w for w in said if "writing them now" in str(w.message)]


def figures_shown(run) -> int:
    return (run / "report.html").read_text(encoding="utf-8").count("data:image/png")


def test_the_advice_to_resume_or_start_again_fits_where_the_data_came_from(tmp_path):
    # `cnnlab resume RUN` was advised for a run of data given to train(), which it refuses;
    # `cnnlab train --config` would train that one on the data its config names.
    from cnnlab.train.run_files import resume_words, start_again

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    assert resume_words(run) == f"`cnnlab resume {run}`"
    assert f"cnnlab train --config {run / 'config.yaml'}" in start_again(run)
    (run / "data.json").write_text("{}", encoding="utf-8")
    assert resume_words(run).startswith(f"resume({str(run)!r}, data=...) from Python")
    assert "train(TrainConfig.load(" in start_again(run) and "cnnlab train" not in start_again(run)
    spaced = tmp_path / "my run"  # pasted whole into a shell
    spaced.mkdir()
    (spaced / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    assert resume_words(spaced) == f"`cnnlab resume '{spaced}'`"
    assert f"cnnlab train --config '{spaced / 'config.yaml'}'" in start_again(spaced)
