"""What a training cell shows in a Jupyter notebook without ipywidgets (no live bar)."""

import io
import sys
import types

import pytest
from rich.console import Console


class _Handle:
    def __init__(self, shown, index):
        self.shown, self.index = shown, index

    def update(self, data, raw=False):
        assert raw
        self.shown[self.index] = data["text/plain"]


@pytest.fixture
def notebook(monkeypatch):
    """A notebook's console, and the outputs its cell shows (IPython's display stood in)."""
    import importlib.util

    import rich.console

    shown = []

    def display(data, raw=False, display_id=False):
        assert raw and display_id
        shown.append(data["text/plain"])
        return _Handle(shown, len(shown) - 1)

    ipython = types.ModuleType("IPython")
    ipython.display = types.ModuleType("IPython.display")
    ipython.display.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython.display)
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    return Console(file=io.StringIO()), shown


def _row(epoch):
    return dict(epoch=epoch, train_loss=1.0, train_acc=0.5, test_loss=0.9, test_acc=0.6,
                images_per_s=2500.0, epoch_time_s=1.5)


def test_a_notebook_cell_shows_the_epoch_at_once_and_its_steps_in_one_line(notebook):
    # Without ipywidgets the cell stayed blank until the first epoch ended (a ResNet on a
    # CPU: minutes, as if hung); each epoch now shows one line, redrawn, no frames left.
    from cnnlab.train.train_progress import TrainProgress

    console, shown = notebook
    with TrainProgress(2, 40, console=console) as bar:
        assert bar.shows_steps  # so the trainer calls update()
        bar.start_epoch(1)
        assert shown == ["epoch 1/2  0/40"]  # before any step
        bar.update(20, 1.2345, 0.5, 1234.0)
        assert shown == ["epoch 1/2  20/40  loss 1.2345  acc 0.500  1,234 img/s"]
        bar.end_epoch(_row(1))
        bar.start_epoch(2)
        bar.update(40, 1.0, 0.6, 2000.0)
        bar.end_epoch(_row(2))
    assert len(shown) == 2 and [line[:10] for line in shown] == ["epoch 1/2 ", "epoch 2/2 "]
    assert all("train loss 1.0000 acc 0.5000  test loss 0.9000" in line for line in shown)
    assert console.file.getvalue() == ""  # nothing printed besides


def test_quiet_in_a_notebook_keeps_one_plain_line_an_epoch(notebook):
    from cnnlab.train.train_progress import TrainProgress

    console, shown = notebook
    bar = TrainProgress(1, 40, quiet=True, console=console)
    assert not bar.shows_steps
    bar.start_epoch(1)
    assert shown == []
