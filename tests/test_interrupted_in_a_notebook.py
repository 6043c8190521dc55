"""A run stopped by the notebook's stop button, as the cell shows it."""

from pathlib import Path

from cnnlab.train import TrainingInterrupted


def test_a_notebook_shows_a_stopped_run_as_its_message_and_the_python_way_on():
    # IPython showed ten frames of cnnlab's training loop, then a message naming only
    # the command line's `cnnlab resume`: in a notebook, resume() is the way on.
    stopped = TrainingInterrupted("stopped by SIGINT at epoch 2, step 23 of 47; checkpoint "
                                  "saved. Resume with: cnnlab resume runs/cut",
                                  run_dir=Path("runs/cut"), signal_name="SIGINT", epoch=2,
                                  step_in_epoch=23)
    assert stopped._render_traceback_() == [
        "TrainingInterrupted: stopped by SIGINT at epoch 2, step 23 of 47; checkpoint saved. "
        "Resume with: cnnlab resume runs/cut",
        "From Python: resume('runs/cut') continues it (resume from cnnlab.train)"]
    unsaved = TrainingInterrupted("stopped by SIGINT; checkpoint saved")  # no folder
    assert unsaved._render_traceback_() == [
        "TrainingInterrupted: stopped by SIGINT; checkpoint saved"]
