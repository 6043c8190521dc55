"""The training bar after a stop, and how often a notebook's line is redrawn."""

import io

from rich.console import Console
from test_notebook_progress import _row, notebook  # noqa: F401 (the fixture)

from cnnlab.train.outcome import TrainingInterrupted
from cnnlab.train.train_progress import TrainProgress


def test_a_stop_in_an_epochs_evaluation_leaves_that_epochs_bar_finished():
    # A Ctrl-C while epoch 1 was evaluated stops the run at the top of epoch 2, before
    # its bar begins: epoch 1's finished bar was set back to 0/47, as if never started.
    console = Console(file=io.StringIO(), force_terminal=True, force_interactive=True,
                      width=120)
    try:
        with TrainProgress(3, 47, console=console) as bar:
            bar.start_epoch(1)
            bar.update(47, 1.0, 0.5, 1000.0)
            bar.end_epoch(_row(1))
            raise TrainingInterrupted("stopped", epoch=2, step_in_epoch=0)
    except TrainingInterrupted:
        pass
    assert bar.progress.tasks[-1].completed == 47


def test_a_notebook_line_is_redrawn_at_most_five_times_a_second(notebook):  # noqa: F811
    # Each redraw is a message to the notebook's front end: log_every=1 on a GPU sent
    # hundreds a second. The epoch's start, its first step and its end always show.
    console, shown = notebook
    with TrainProgress(1, 1000, console=console) as bar:
        bar.start_epoch(1)
        handle, redraws = bar.line._handle, []
        update = handle.update
        handle.update = lambda data, raw=False: (redraws.append(data), update(data, raw))
        for step in range(1, 1001):  # well under 0.2 s
            bar.update(step, 1.0, 0.5, 1e5)
        assert shown[-1].startswith("epoch 1/1  1/1,000  loss")  # the first step at once
        bar.end_epoch(_row(1))
    assert len(redraws) <= 3  # the first step, perhaps one more, the epoch's end
    assert shown[-1].startswith("epoch 1/1") and "test loss 0.9000" in shown[-1]
