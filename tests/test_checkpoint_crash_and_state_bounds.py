"""A checkpoint write that fails part way leaves the previous checkpoint loadable; every
rank's generators and Lookahead's evaluated weights are kept; the state checks take every
state training writes (epoch 0, a 4-channel or 8192-pixel input) and refuse what none
writes (a bool count, 8193)."""

import json

import pytest
import torch

from cnnlab.train import checkpoint as ckpt


def test_a_write_failing_half_way_leaves_the_previous_checkpoint_and_its_copy(
        tmp_path, monkeypatch):
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.full((64,), 1.0)}, {"epoch": 1})
    real_save = ckpt.save_file

    def cut_short(tensors, filename, metadata=None):  # a disk error, or the power going
        real_save(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as fh:
            fh.truncate(40)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ckpt, "save_file", cut_short)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(path, {"w": torch.full((64,), 2.0)}, {"epoch": 2})
    groups, state = ckpt.load_checkpoint(path)
    assert state["epoch"] == 1 and torch.all(groups["model"]["w"] == 1.0)
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.safetensors"]


def test_other_ranks_generators_are_saved_beside_this_ones(tmp_path):
    # Under torchrun rank 0 writes every rank's states: without them a resumed rank 1
    # draws other dropout masks than the uninterrupted run's.
    theirs = {"rng.rank1.torch": torch.arange(5, dtype=torch.uint8)}
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.zeros(1)}, {"epoch": 1}, other_ranks_rng=theirs)
    rng = ckpt.load_checkpoint(path)[0]["rng"]
    assert torch.equal(rng["rng.rank1.torch"], theirs["rng.rank1.torch"])
    assert torch.equal(rng["rng.torch"], torch.get_rng_state())


def test_lookaheads_evaluated_weights_are_kept_and_are_the_ones_read_back_as_evaluated(
        tmp_path):
    # ``last`` of a Lookahead run without an EMA: eval and predict use the weights its
    # next sync would give, not the live fast ones.
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.zeros(2)}, {"epoch": 1},
                         eval_state={"w": torch.ones(2)})
    groups = ckpt.load_checkpoint(path)[0]
    assert torch.equal(ckpt.evaluated_weights(groups)["w"], torch.ones(2))
    assert torch.equal(ckpt.weights_from_checkpoint(path)[0]["w"], torch.ones(2))
    ckpt.save_checkpoint(path, {"w": torch.zeros(2)}, {"epoch": 1},
                         ema_state={"w": torch.full((2,), 3.0)})
    assert torch.equal(ckpt.evaluated_weights(ckpt.load_checkpoint(path)[0])["w"],
                       torch.full((2,), 3.0))


def test_a_tensor_named_without_its_part_is_refused_by_name(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "last.safetensors"
    save_file({"model": torch.zeros(1)}, str(path),
              metadata={ckpt.STATE_KEY: json.dumps({"epoch": 1})})
    with pytest.raises(ckpt.CheckpointError, match="a tensor named 'model' is in none of"):
        ckpt.load_checkpoint(path)


KEYS = ("epoch", "step_in_epoch", "best_test_acc", "train_time", "preprocess")
STATE = {"epoch": 3, "step_in_epoch": 7, "best_test_acc": 0.5, "train_time": 1.0,
         "preprocess": {"channels": 1, "image_size": 28, "mean": None, "std": None}}


@pytest.mark.parametrize("change", [
    {"epoch": 0, "step_in_epoch": 3},  # stopped inside the first epoch
    {"step_in_epoch": 0},
    {"preprocess": {"channels": 4, "image_size": 8192, "mean": [0.5] * 4, "std": [0.2] * 4,
                    "channels_last": True}},  # RGBA photos, the largest side allowed
    {"best_test_acc": 0, "train_time": 0},
], ids=["epoch-0", "step-0", "rgba-8192", "zero-numbers"])
def test_every_state_training_writes_passes_the_checks(tmp_path, change):
    ckpt.require_state({**STATE, **change}, KEYS, tmp_path / "last.safetensors")


@pytest.mark.parametrize(("change", "named"), [
    ({"epoch": True}, "epoch = true"),
    ({"step_in_epoch": -1}, "step_in_epoch = -1"),
    ({"preprocess": {"channels": 1, "image_size": 8193, "mean": None, "std": None}},
     "preprocess ="),
    ({"preprocess": {"channels": 5, "image_size": 28, "mean": None, "std": None}},
     "preprocess ="),
    ({"train_time": "1"}, "train_time = \"1\""),
], ids=["bool-epoch", "negative-step", "side-8193", "5-channels", "text-time"])
def test_a_state_no_training_writes_is_refused_by_name(tmp_path, change, named):
    with pytest.raises(ckpt.CheckpointError, match="holds what no training writes") as info:
        ckpt.require_state({**STATE, **change}, KEYS, tmp_path / "last.safetensors")
    assert named in str(info.value)
