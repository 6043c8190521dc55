"""The progress bar's text, the epoch line and the TensorBoard curves: the edges hand-mutation
testing (session 41, mutation42) found unpinned."""

from __future__ import annotations

from rich.progress import MofNCompleteColumn, TextColumn

from cnnlab.train.train_progress import bar_columns


def test_a_field_that_fits_the_terminal_exactly_is_shown():
    # "epoch 3/3" is 9 columns: a 9-column terminal shows it whole, and nothing else fits.
    columns = bar_columns(len("epoch 3/3"), 3, 5)
    assert len(columns) == 1 and isinstance(columns[0], TextColumn)
    assert "epoch" in columns[0].text_format
    # one column more leaves room for no other field ("5/5" needs a space and 3)
    assert len(bar_columns(len("epoch 3/3") + 3, 3, 5)) == 1
    wider = bar_columns(len("epoch 3/3") + 4, 3, 5)
    assert [type(c) for c in wider] == [TextColumn, MofNCompleteColumn]


def _epoch_line(steps_done=None, **changes) -> str:
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    row = {"epoch": 3, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.6,
           "test_acc": 0.75, "images_per_s": 1234.4, "epoch_time_s": 2712.4, **changes}
    out = io.StringIO()
    TrainProgress(3, 40, quiet=True, console=Console(file=out, width=300)).end_epoch(
        row, steps_done=steps_done)
    return out.getvalue().strip()


def test_an_epoch_line_says_a_whole_epoch_plainly_and_its_time_as_the_report_does():
    line = _epoch_line()
    assert line == ("epoch 3/3  train loss 0.5000 acc 0.8000  test loss 0.6000 acc 0.7500"
                    "  1,234 img/s  45.2 min")
    assert _epoch_line(steps_done=40) == line  # every step done: not "stopped at step 40"
    assert "(stopped at step 39 of 40)" in _epoch_line(steps_done=39)
    assert "test: not evaluated" in _epoch_line(test_acc=float("nan"))


def test_the_bar_starts_with_dashes_not_nan_before_the_first_update():
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    console = Console(file=io.StringIO(), force_terminal=True, force_interactive=True,
                      width=120)
    progress = TrainProgress(2, 10, console=console)
    assert progress.progress is not None  # a live bar
    progress.start_epoch(1)
    fields = progress.progress.tasks[-1].fields
    assert (fields["loss"], fields["acc"], fields["ips"]) == ("-", "-", "-")


def test_a_silent_progress_prints_no_epoch_line(capsys):
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    row = {"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.6,
           "test_acc": 0.75, "images_per_s": 10.0, "epoch_time_s": 1.0}
    TrainProgress(1, 4, console=False).end_epoch(row)  # train(console=False)
    out = io.StringIO()
    TrainProgress(1, 4, console=Console(file=out), silent=True).end_epoch(row)  # rank 1
    assert capsys.readouterr().err == "" and out.getvalue() == ""


class _Writer:
    """SummaryWriter's calls, kept."""

    def __init__(self):
        self.scalars = []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def flush(self):
        pass


def test_a_rows_unmeasured_columns_make_no_point_on_their_curves():
    from cnnlab.train.tensorboard_log import TensorBoardLog

    log = TensorBoardLog(_Writer())
    log.add_row({"epoch": 2, "train_loss": 0.5, "test_loss": float("nan"),
                 "test_acc": float("nan"), "lr": "", "peak_memory_mb": None})
    assert log.writer.scalars == [("train/loss", 0.5, 2)]


def test_without_tensorboard_a_run_has_no_events_log_and_no_error(tmp_path, monkeypatch):
    import sys

    from cnnlab.train.tensorboard_log import TensorBoardLog

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    assert TensorBoardLog.open(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_the_lowest_classes_text_keeps_a_class_name_in_one_code_span():
    from cnnlab.train.report_evaluation import ranked_classes
    from cnnlab.train.tensorboard_log import _lowest_words

    accuracies = {f"c{i:02d}": 0.5 + i / 100 for i in range(40)}
    accuracies["odd`name"] = 0.0  # a backtick would end the span early
    words = _lowest_words(ranked_classes(accuracies), accuracies)
    assert words.startswith("10 lowest of 41 classes: `oddname` 0.0%, `c00` 50.0%, ")
