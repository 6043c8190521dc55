"""A SIGTERM while a run's model is being built (seconds, for a large one) stops it as
Ctrl-C does; either, until the first step (config.yaml and data.json being written
included), leaves no run folder: nothing was there a command could continue."""

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


def test_a_ctrl_c_while_config_yaml_is_written_leaves_no_run_folder(tmp_path, monkeypatch):
    # The folder was left holding config.yaml alone: `resume` called it no resumable run,
    # and the user had to find it and delete it.
    real_save = TrainConfig.save

    def save_then_ctrl_c(self, path):
        real_save(self, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainConfig, "save", save_then_ctrl_c)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                      quiet=True, out_dir=str(tmp_path / "runs"), run_name="r")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, data=make_synthetic(num_train=64, num_test=16, seed=0), console=False)
    assert not (tmp_path / "runs").exists()


def test_a_sigterm_while_data_json_is_written_leaves_no_run_folder(tmp_path, monkeypatch):
    # Between the model built and the first step a SIGTERM ended the process outright.
    def record_then_sigterm(run_dir, data):
        (run_dir / "data.json").write_text("{}", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM was not delivered")

    monkeypatch.setattr(run_module, "write_data_record", record_then_sigterm)
    previous = signal.signal(signal.SIGTERM, lambda *args: (_ for _ in ()).throw(_Killed))
    try:
        cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                          quiet=True, out_dir=str(tmp_path / "runs"), run_name="r")
        with pytest.raises(Terminated):
            train(cfg, data=make_synthetic(num_train=64, num_test=16, seed=0), console=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not (tmp_path / "runs").exists()
