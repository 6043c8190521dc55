"""A SIGTERM while a run's model is being built (seconds, for a large one) stops it as
Ctrl-C does: the run folder made for it goes, as nothing was written there."""

import os
import signal

import pytest

import cnnlab.train.run as run_module
from cnnlab.data.synthetic import make_synthetic
from cnnlab.interrupts import Terminated
from cnnlab.train import TrainConfig, train


class _Killed(Exception):
    """What SIGTERM raises here without the fix (rather than end the test process)."""


def test_a_sigterm_while_the_model_is_built_leaves_no_empty_run_folder(tmp_path,
                                                                       monkeypatch):
    def building(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM was not delivered")

    monkeypatch.setattr(run_module, "Trainer", building)

    def killed(*args):
        raise _Killed

    previous = signal.signal(signal.SIGTERM, killed)
    try:
        cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                          quiet=True, out_dir=str(tmp_path / "runs"), run_name="r")
        with pytest.raises(Terminated):  # a KeyboardInterrupt: the CLI exits 143
            train(cfg, data=make_synthetic(num_train=64, num_test=16, seed=0), console=False)
        assert signal.getsignal(signal.SIGTERM) is killed  # put back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not (tmp_path / "runs").exists()
