"""Refusals of a resume, a load and a first train that no other test reached (found by a
branch-coverage run of the whole suite): a damaged optimizer state or data record, a
checkpoint that is not there or holds no JSON object, and data of one class given from
Python. Each must name the file or the data, and say what to do."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from resume_helpers import small_run
from safetensors.torch import load_file, save_file

from cnnlab.data import DataError
from cnnlab.data.dataset import DatasetSplits, ImageData
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import ConfigError, TrainConfig, resume, train
from cnnlab.train import checkpoint as ckpt


def _rewrite_state(path, edit) -> None:
    """Rewrite checkpoint ``path`` with ``edit`` applied to its training state (tensors
    kept as they are), as a hand-edited or damaged file would hold it."""
    tensors = load_file(str(path))
    state = ckpt.read_state(path)
    edit(state)
    save_file(tensors, str(path), metadata={ckpt.STATE_KEY: json.dumps(state)})


def test_a_checkpoint_whose_optimizer_state_cannot_be_restored_is_named(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    last = run / "checkpoints" / "last.safetensors"
    # torch's own ValueError ("loaded state dict has a different number of parameter
    # groups") names neither the file nor what to do.
    _rewrite_state(last, lambda state: state["optimizer"].update(param_groups=[]))
    with pytest.raises(ckpt.CheckpointError) as caught:
        resume(run, extra_epochs=1, console=False)
    said = str(caught.value)
    assert str(last) in said, said
    assert "optimizer, schedule or scaler state cannot be restored" in said, said
    assert "a damaged or hand-made checkpoint" in said, said


def test_a_damaged_data_record_is_named_on_resume(tmp_path, monkeypatch):
    result = small_run(tmp_path, monkeypatch, epochs=1)
    record = result.run_dir / "data.json"
    assert record.is_file()  # data given from Python is recorded with the run
    record.write_text("{not json", encoding="utf-8")
    data = make_synthetic(num_train=128, num_test=32, seed=1)
    with pytest.raises(DataError) as caught:
        resume(result.run_dir, data=data, extra_epochs=1, console=False)
    said = str(caught.value)
    assert str(record) in said and "cannot be read" in said, said
    assert "a damaged or hand-edited file" in said, said


def test_load_checkpoint_of_a_missing_file_names_the_path(tmp_path):
    gone = tmp_path / "checkpoints" / "last.safetensors"
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found: .*last.safetensors"):
        ckpt.load_checkpoint(gone)


@pytest.mark.parametrize("read", [ckpt.read_state, ckpt.load_checkpoint])
def test_a_checkpoint_whose_state_is_json_but_not_an_object_is_refused(tmp_path, read):
    path = tmp_path / "last.safetensors"
    save_file({"model.w": torch.zeros(2)}, str(path), metadata={ckpt.STATE_KEY: "[1, 2]"})
    with pytest.raises(ckpt.CheckpointError) as caught:
        read(path)
    said = str(caught.value)
    assert str(path) in said and "training state is not a JSON object" in said, said


def test_data_of_one_class_given_from_python_is_refused_before_a_folder_is_made(tmp_path):
    data = make_synthetic(num_train=16, num_test=8, seed=0)
    one = DatasetSplits("mine", ImageData(data.train.images, torch.zeros(16, dtype=torch.long)),
                        ImageData(data.test.images, torch.zeros(8, dtype=torch.long)),
                        ["only"], data.source)
    cfg = TrainConfig(model="lenet_modern", epochs=1, device="cpu", quiet=True,
                      out_dir=str(tmp_path / "runs"))
    with pytest.raises(ConfigError, match=r"mine has 1 class \(only\); a classifier needs at "
                                          r"least two"):
        train(cfg, data=one, console=False)
    assert not (tmp_path / "runs").exists()


def test_curves_of_a_result_with_no_finished_epoch_say_so(tiny_run):
    from cnnlab.train import read_result

    result = read_result(tiny_run)
    result.history = []  # as a run stopped in its first epoch reads back
    with pytest.raises(ValueError, match="no epoch has finished: there is nothing to plot"):
        result.curves()
