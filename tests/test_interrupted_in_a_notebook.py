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


def test_a_stop_after_the_run_ended_offers_no_resume():
    # The report was being written: every epoch trained, nothing to continue.
    late = TrainingInterrupted("stopped by SIGINT after the run ended; its report was "
                               "written first: runs/x/report.html", run_dir=Path("runs/x"),
                               signal_name="SIGINT")
    assert late._render_traceback_() == [f"TrainingInterrupted: {late}"]
