"""`cnnlab resume` and `cnnlab eval` hand every option to the library as typed, and
their defaults are the ones their help gives: the library call is stood in for, so
each check costs no training (mutation testing found options dropped on the way
unnoticed by the end-to-end tests)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnnlab.train
import cnnlab.train.evaluate
from cnnlab.cli import app

runner = CliRunner()


class Stop(ValueError):
    """Raised by a stand-in once it has the call: the command ends as for a bad run."""


@pytest.fixture
def calls(monkeypatch):
    """The keyword arguments each stood-in library call got, by its name."""
    got: dict[str, dict] = {}

    def resume(run, **kwargs):
        got["resume"] = {"run": run, **kwargs}
        raise Stop("stood in")

    def evaluate_run(run, data, data_root, which, device, tta_flip, tta_shift,
                     eval_subset, threads=None, progress=False):
        got["eval"] = dict(run=run, data=data, data_root=data_root, which=which,
                           device=device, tta_flip=tta_flip, tta_shift=tta_shift,
                           eval_subset=eval_subset, threads=threads, progress=progress)
        raise Stop("stood in")

    monkeypatch.setattr(cnnlab.train, "resume", resume)
    monkeypatch.setattr(cnnlab.train.evaluate, "evaluate_run", evaluate_run)
    return got


def test_resume_passes_each_option_on(tmp_path, calls):
    data = tmp_path / "data"
    result = runner.invoke(app, ["resume", str(tmp_path / "run"), "--epochs", "3",
                                 "--max-time", "60", "--data-root", str(data), "--device",
                                 "cpu", "--threads", "2", "--quiet"])
    assert result.exit_code == 1, result.output  # the stand-in's error, as a bad run's
    got = calls["resume"]
    assert (got["extra_epochs"], got["max_time"], got["data_root"], got["device"],
            got["quiet"], got["threads"]) == (3, 60.0, str(data), "cpu", True, 2)


def test_resume_leaves_what_was_not_typed_to_the_run(tmp_path, calls):
    runner.invoke(app, ["resume", str(tmp_path / "run")])
    got = calls["resume"]
    assert [got[k] for k in ("extra_epochs", "max_time", "data_root", "device", "quiet",
                             "threads")] == [None] * 6


def test_eval_passes_each_option_on(tmp_path, calls):
    data = tmp_path / "data"
    result = runner.invoke(app, ["eval", str(tmp_path / "run"), "--data", "synthetic",
                                 "--data-root", str(data), "--which", "last", "--device",
                                 "cpu", "--tta-flip", "--tta-shift", "2", "--eval-subset",
                                 "50", "--threads", "1"])
    assert result.exit_code == 1, result.output
    got = calls["eval"]
    assert (got["data"], got["data_root"], got["which"], got["device"], got["tta_flip"],
            got["tta_shift"], got["eval_subset"], got["threads"], got["progress"]) == (
        "synthetic", str(data), "last", "cpu", True, 2, 50, 1, True)


def test_eval_defaults_are_the_best_checkpoint_and_the_runs_own_settings(tmp_path, calls):
    runner.invoke(app, ["eval", str(tmp_path / "run")])
    got = calls["eval"]
    assert (got["which"], got["device"]) == ("best", "auto")
    assert [got[k] for k in ("data", "data_root", "tta_flip", "tta_shift", "eval_subset",
                             "threads")] == [None] * 6


@pytest.fixture
def trained_with(monkeypatch):
    """`cnnlab train`'s resolved config, and $CNNLAB_NO_FIGURES as the training saw it:
    the training itself stood in for."""
    import os

    from cnnlab.figures import NO_FIGURES_VARIABLE

    got: dict = {}

    def train(cfg, console=None):
        got.update(cfg=cfg, no_figures=os.environ.get(NO_FIGURES_VARIABLE))
        raise Stop("stood in")

    monkeypatch.setattr(cnnlab.train, "train", train)
    return got


TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu"]


def test_train_passes_off_and_zero_values_over_a_presets(tmp_path, trained_with):
    # fast sets flip, EMA and label smoothing: a flag saying off/0 must still win
    result = runner.invoke(app, [*TRAIN, "--preset", "fast", "--no-flip", "--ema-decay", "0",
                                 "--label-smoothing", "0", "--out-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    cfg = trained_with["cfg"]
    assert (cfg.flip, cfg.ema_decay, cfg.label_smoothing) == (False, 0.0, 0.0)


@pytest.mark.parametrize(("word", "value"), [("fft", "fft"), ("on", True), ("OFF", False)])
def test_scratch_ops_words_become_the_configs_values(tmp_path, trained_with, word, value):
    runner.invoke(app, [*TRAIN, "--scratch-ops", word, "--out-dir", str(tmp_path)])
    assert trained_with["cfg"].scratch_ops == value


@pytest.mark.parametrize(("before", "flags", "during"), [
    (None, [], None), (None, ["--no-figures"], "1"), ("1", ["--figures"], None),
    ("1", [], "1")])
def test_the_figures_flags_set_the_variable_for_this_run_alone(tmp_path, trained_with,
                                                               monkeypatch, before, flags,
                                                               during):
    import os

    from cnnlab.figures import NO_FIGURES_VARIABLE

    if before is None:
        monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(NO_FIGURES_VARIABLE, before)
    runner.invoke(app, [*TRAIN, *flags, "--out-dir", str(tmp_path)])
    assert trained_with["no_figures"] == during
    assert os.environ.get(NO_FIGURES_VARIABLE) == before  # put back after the run
