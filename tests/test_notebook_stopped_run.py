"""A run stopped in its first epoch, as a notebook shows it: the cell's line, then the
result read back."""

import math

import pytest
from resume_helpers import signal_after_steps, small_run
from test_notebook_progress import notebook  # noqa: F401 (the fixture: IPython stood in)

from cnnlab.train import TrainingInterrupted, read_result


def test_a_run_stopped_before_its_first_evaluation_reads_back_with_no_best_accuracy(
        tmp_path, monkeypatch):
    # read_result showed "best_test_acc=-1.0000": the trainer's start value, no accuracy.
    signal_after_steps(monkeypatch, 2)
    with pytest.raises(TrainingInterrupted):
        small_run(tmp_path, monkeypatch, epochs=2, run_name="cut")
    result = read_result(tmp_path / "cut")
    assert math.isnan(result.best_test_acc) and "best_test_acc=nan" in repr(result)


def test_a_notebook_line_says_where_the_steps_stopped(notebook):  # noqa: F811
    # The line showed its last update, "0/47" for an epoch cut at step 30 (log_every 50),
    # as if the run had never started.
    from cnnlab.train.train_progress import TrainProgress

    console, shown = notebook
    with pytest.raises(TrainingInterrupted):
        with TrainProgress(2, 47, console=console) as bar:
            bar.start_epoch(1)
            raise TrainingInterrupted("stopped", epoch=1, step_in_epoch=30)
    assert shown == ["epoch 1/2  30/47  stopped here"]
