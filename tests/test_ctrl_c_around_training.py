"""Ctrl-C just before the training loop or just after it: the trainer listens from the
moment the run folder is being filled, and a finished run's report is written whole."""

from __future__ import annotations

import signal

import pytest

import cnnlab.train.run_outputs as outputs_module
import cnnlab.train.trainer as trainer_module
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingInterrupted, train

pytestmark = pytest.mark.usefixtures("pythons_ctrl_c")


def train_tiny(tmp_path, epochs: int = 1):
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=epochs, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="run")
    try:
        return train(cfg, data=make_synthetic(num_train=64, num_test=32))
    except KeyboardInterrupt:  # caught here: let through, it would end the test session
        pytest.fail("Ctrl-C escaped as a bare KeyboardInterrupt")


def ctrl_c_before(function):
    def wrapped(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # as Ctrl-C reaches the main thread
        return function(*args, **kwargs)

    return wrapped


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_ctrl_c_while_the_report_is_written_waits_for_the_report(tmp_path, monkeypatch):
    # It came after the loop stopped listening: the run was trained, its report never
    # written (nothing writes it later), and the command ended without a word.
    monkeypatch.setattr(outputs_module, "write_report",
                        ctrl_c_before(outputs_module.write_report))
    with pytest.raises(TrainingInterrupted, match="after the run ended; its report was "
                                                  "written first: .*report.html"):
        train_tiny(tmp_path)
    run = tmp_path / "run"
    for name in ("report.html", "summary.json", "plots/curves.png", "plots/confusion.png"):
        assert (run / name).is_file(), name
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_ctrl_c_while_the_metrics_log_opens_stops_at_a_resumable_checkpoint(tmp_path,
                                                                            monkeypatch):
    # Opening the log (TensorBoard's import) came before the trainer listened: Ctrl-C then
    # left a folder holding config.yaml alone, which `cnnlab resume` refuses.
    monkeypatch.setattr(trainer_module, "MetricsLog", ctrl_c_before(trainer_module.MetricsLog))
    with pytest.raises(TrainingInterrupted, match="stopped by SIGINT before epoch 1's first "
                                                  "step; checkpoint saved"):
        train_tiny(tmp_path, epochs=3)
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").is_file()


def test_ctrl_c_during_the_last_evaluation_is_not_dropped(tmp_path, monkeypatch):
    # The loop heard it, but no step was left to stop at: the run ended as if finished,
    # with status 0, and the Ctrl-C was lost.
    monkeypatch.setattr(trainer_module.Trainer, "_evaluate",
                        ctrl_c_before(trainer_module.Trainer._evaluate))
    with pytest.raises(TrainingInterrupted, match="stopped by SIGINT after the run ended; its "
                                                  "report was written first"):
        train_tiny(tmp_path)
    assert (tmp_path / "run" / "report.html").is_file()


def test_sigterm_while_the_report_is_written_waits_for_the_report(tmp_path, monkeypatch):
    # `timeout` or a scheduler's SIGTERM there ended the process at once (status 143),
    # the report never written.
    def sigterm_first(*args, **kwargs):
        signal.raise_signal(signal.SIGTERM)
        return write_report(*args, **kwargs)

    def escaped(signum, frame):  # in place of the default, which would end the session
        raise AssertionError("SIGTERM reached the process while the report was written")

    write_report = outputs_module.write_report
    monkeypatch.setattr(outputs_module, "write_report", sigterm_first)
    previous = signal.signal(signal.SIGTERM, escaped)
    try:
        with pytest.raises(TrainingInterrupted, match="stopped by SIGTERM after the run ended"):
            train_tiny(tmp_path)
        assert signal.getsignal(signal.SIGTERM) is escaped  # put back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (tmp_path / "run" / "report.html").is_file()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_metrics_log_closes_waits_for_the_report(tmp_path, monkeypatch,
                                                                      sig):
    # Closing TensorBoard's writer came after the loop's handlers were put back: SIGTERM
    # ended the process (143) and SIGINT the command (130, without a word), the trained
    # run left with no summary or report, and finished, so no resume wrote them.
    def escaped(signum, frame):  # in place of the default, which would end the session
        raise AssertionError(f"{signal.Signals(signum).name} reached the process while the "
                             "metrics log closed")

    close = trainer_module.MetricsLog.close

    def signal_first(self):
        signal.raise_signal(sig)
        return close(self)

    monkeypatch.setattr(trainer_module.MetricsLog, "close", signal_first)
    previous = signal.signal(sig, escaped)
    try:
        with pytest.raises(TrainingInterrupted, match=f"stopped by {sig.name} after the run "
                                                      "ended; its report was written first"):
            train_tiny(tmp_path)
    finally:
        signal.signal(sig, previous)
    assert (tmp_path / "run" / "report.html").is_file()
