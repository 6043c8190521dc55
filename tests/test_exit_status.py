"""A command a signal stopped exits 128 + the signal's number, as a shell reports a process
the signal ended and as job schedulers (SLURM, Kubernetes, systemd) read it: 130 for
Ctrl-C, 143 for SIGTERM. Every interrupted command exited 130, a scheduler's SIGTERM
included (cnnlab.interrupts.interrupted_status)."""

from __future__ import annotations

import os
import signal

import pytest
import typer
from typer.testing import CliRunner

from cnnlab import interrupts
from cnnlab.cli import app
from cnnlab.train import TrainingInterrupted

STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_training_run_stopped_by_a_signal_exits_with_its_status(tmp_path, monkeypatch,
                                                                  pythons_ctrl_c, sig):
    from cnnlab.train.trainer import Trainer

    step = Trainer._optimizer_step

    def signalled(self):  # the signal as the OS delivers it: to the handler in place
        step(self)
        signal.getsignal(sig)(sig, None)

    monkeypatch.setattr(Trainer, "_optimizer_step", signalled)
    result = invoke("train", "lenet_modern", "--data", "synthetic", "--train-subset", "128",
                    "--eval-subset", "32", "--batch-size", "32", "--device", "cpu", "--quiet",
                    "--epochs", "1", "--log-every", "1", "--out-dir", tmp_path,
                    "--run-name", "run")
    assert result.exit_code == STATUS[sig], result.output
    said = " ".join(result.output.split())
    assert f"stopped by {sig.name} at epoch 1, step 1 of 4; checkpoint saved" in said
    assert f"Resume with: cnnlab resume {tmp_path / 'run'}" in said


@pytest.mark.parametrize("at", ["lenet_d2l", "lenet_modern"], ids=["before-any-row",
                                                                   "after-a-row"])
def test_a_bench_stopped_by_sigterm_exits_143(monkeypatch, at):
    import cnnlab.bench.throughput as tp

    real = tp.measure

    def measure(name, *args, **kw):
        if name == at:
            os.kill(os.getpid(), signal.SIGTERM)  # sigterm_as_interrupt's handler takes it
        return real(name, *args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    result = invoke("bench", "throughput", "--models", "lenet_d2l,lenet_modern",
                    "--batch-size", "2", "--steps", "1", "--device", "cpu")
    assert result.exit_code == 143, result.output
    assert "interrupted" in result.output


def test_a_sweep_stopped_by_sigterm_exits_143_and_says_how_to_go_on(tmp_path, monkeypatch):
    from design_helpers import TermedPool, shaped_spec

    from cnnlab.design import runner
    from cnnlab.design.store import TrialStore

    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: TermedPool(finish=False))
    monkeypatch.setattr(runner, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    result = invoke("design", "run", "--resume", tmp_path)
    assert result.exit_code == 143, result.output
    assert f"Continue with: cnnlab design run --resume {tmp_path}" in " ".join(
        result.output.split())


def test_sigterm_that_reaches_typer_uncaught_exits_143(monkeypatch):
    # A SIGTERM no command caught (one that came while a sweep put its trials back):
    # typer ends every KeyboardInterrupt with 130.
    import cnnlab.cli
    from cnnlab import command_line

    bare = typer.Typer()

    @bare.command()
    def stopped() -> None:
        interrupts.sigterm_as_interrupt()()  # the flag cleared, the handler put back
        raise interrupts.Terminated

    monkeypatch.setattr(cnnlab.cli, "main", lambda: bare([], standalone_mode=True))
    with pytest.raises(SystemExit) as stop:
        command_line.main()
    assert stop.value.code == 143


def test_the_status_is_the_signal_the_exception_names_and_one_sigterm_is_not_the_next():
    def status_of(exc: BaseException) -> int:  # asked in the except block, as commands do
        try:
            raise exc
        except BaseException:
            return interrupts.interrupted_status()

    interrupts.sigterm_as_interrupt()()  # no SIGTERM in the latest block (an earlier test's)
    wrapped = RuntimeError("export failed")  # a library made the interrupt an error
    wrapped.__context__ = interrupts.Terminated()
    termed_run = TrainingInterrupted("stopped", signal_name="SIGTERM")
    unknown_run = TrainingInterrupted("stopped")  # signal_name None: not known
    silent = RuntimeError("sweep stopped")  # says nothing of a signal

    assert status_of(interrupts.Terminated()) == status_of(wrapped) == 143
    assert status_of(termed_run) == 143
    assert status_of(KeyboardInterrupt()) == status_of(unknown_run) == status_of(silent) == 130
    put_back = interrupts.sigterm_as_interrupt()
    try:  # a SIGTERM in a block: asked without an exception that says, it is that one
        with pytest.raises(interrupts.Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        put_back()
    assert interrupts.interrupted_status() == status_of(silent) == 143
    # ... but not a Ctrl-C after it, nor anything in the next block
    assert status_of(KeyboardInterrupt()) == status_of(unknown_run) == 130
    interrupts.sigterm_as_interrupt()()
    assert interrupts.interrupted_status() == status_of(silent) == 130
