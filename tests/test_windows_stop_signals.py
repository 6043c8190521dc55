"""Ctrl-Break (Windows' SIGBREAK) heard by a loop that stops on signals, recreated on
Linux: SIGUSR1 stands in for SIGBREAK, and, like it, ends a process that set no handler."""

from __future__ import annotations

import os
import signal
import time

import pytest

from cnnlab import interrupts


@pytest.fixture
def sigbreak(monkeypatch):
    """A platform with SIGBREAK. Its default, ending the process, replaced by a record
    (the tests would end pytest else); the record lists what no one else heard."""
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    unheard: list[int] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: unheard.append(signum))
    yield unheard
    signal.signal(signal.SIGUSR1, before)


def _deliver(sig: signal.Signals) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.05)  # the handler runs at the next bytecode boundary, in this thread


def test_ctrl_break_reaches_a_stop_handler_as_sigterm(sigbreak):
    heard = []  # as the Trainer records it: the signal's name
    previous = interrupts.hear_stop_signals(
        lambda signum, frame: heard.append(signal.Signals(signum).name))
    try:
        _deliver(signal.SIGUSR1)  # Ctrl-Break
        _deliver(signal.SIGTERM)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert heard == ["SIGTERM", "SIGTERM"]  # 143, as Terminated has it: no SIGBREAK status
    assert sigbreak == []
    assert set(previous) == {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1}
    _deliver(signal.SIGUSR1)  # the handler before is back
    assert sigbreak == [signal.SIGUSR1]


def test_only_sigint_and_sigterm_where_the_platform_has_no_sigbreak(monkeypatch):
    monkeypatch.delattr(signal, "SIGBREAK", raising=False)
    previous = interrupts.hear_stop_signals(lambda signum, frame: None)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    assert set(previous) == {signal.SIGINT, signal.SIGTERM}


def test_nothing_is_set_off_the_main_thread():
    import threading

    got = []
    worker = threading.Thread(
        target=lambda: got.append(interrupts.hear_stop_signals(lambda s, f: None)))
    worker.start()
    worker.join()
    assert got == [{}]


def test_ctrl_break_during_training_saves_the_checkpoint(tmp_path, sigbreak, monkeypatch):
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, TrainingInterrupted, train
    from cnnlab.train.trainer import Trainer

    step = Trainer._optimizer_step

    def step_then_ctrl_break(self):
        step(self)
        _deliver(signal.SIGUSR1)

    monkeypatch.setattr(Trainer, "_optimizer_step", step_then_ctrl_break)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    with pytest.raises(TrainingInterrupted) as stopped:
        train(cfg, data=make_synthetic(num_train=64, num_test=32, seed=3))
    assert sigbreak == []  # the loop heard it, not the default that ends the process
    assert stopped.value.signal_name == "SIGTERM"
    assert interrupts.interrupted_status(stopped.value) == 143
    assert (tmp_path / "r" / "checkpoints" / "last.safetensors").exists()


def test_ctrl_break_while_the_report_is_written_waits_for_the_report(tmp_path, sigbreak,
                                                                     monkeypatch):
    # Training had heard Ctrl-Break, but the summary and report after it listened for
    # SIGTERM alone: Ctrl-Break there ended the process, the trained run left with no report.
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, TrainingInterrupted, run_outputs, train

    write_report = run_outputs.write_report

    def ctrl_break_first(*args, **kwargs):
        _deliver(signal.SIGUSR1)
        return write_report(*args, **kwargs)

    monkeypatch.setattr(run_outputs, "write_report", ctrl_break_first)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    with pytest.raises(TrainingInterrupted, match="stopped by SIGTERM after the run ended"):
        train(cfg, data=make_synthetic(num_train=64, num_test=32, seed=3))
    assert sigbreak == []  # recorded, not left to the default that ends the process
    assert (tmp_path / "r" / "report.html").is_file()
