"""Batch norm given a training batch of one image: torch's "Expected more than 1 value per
channel when training" named neither the cause (--batch-size 1, or an epoch of one image
a process: 2 images on 2 torchrun processes, which one process trains as a batch of 2)
nor the fix; now the error says both."""

import json

import pytest
from ddp_helpers import RANK_SCRIPT_HEAD, launch_two_ranks, rank_script

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.distributed import one_image_batch_error
from cnnlab.train.trainer import Trainer

TORCH_WORDS = "Expected more than 1 value per channel when training, got input size [1, 120]"


def _config(**fields) -> TrainConfig:
    # lenet_modern: BatchNorm1d after its first linear layer, which refuses one image
    return TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                       quiet=True, threads=1, **fields)


def _refusal(cfg: TrainConfig, train_images: int, tmp_path) -> str:
    data = make_synthetic(num_train=train_images, num_test=4, seed=2)
    with pytest.raises(ValueError) as caught:
        Trainer(cfg, data, run_dir=tmp_path / "run").fit()
    return str(caught.value)


def test_a_batch_size_of_one_is_named_with_its_fix(tmp_path):
    said = _refusal(_config(batch_size=1), 8, tmp_path)
    assert said == ("--batch-size 1: the model's batch norm cannot normalise a training "
                    "batch of one image; give --batch-size 2 or more")


def test_an_epoch_of_one_image_is_named_with_its_fix(tmp_path):
    said = _refusal(_config(batch_size=8, train_subset=1), 8, tmp_path)
    assert said == ("1 training image: the model's batch norm cannot normalise a training "
                    "batch of one image; train on at least 2 images")


def test_the_words_for_processes_of_one_image_each():
    said = one_image_batch_error(ValueError(TORCH_WORDS), 64, 2, 2)
    assert str(said) == ("2 training images over 2 processes, one each: the model's batch "
                         "norm cannot normalise a training batch of one image; train on at "
                         "least 4 images, or run fewer processes")
    assert one_image_batch_error(ValueError("another"), 1, 2, 2) is None


def test_another_value_error_of_the_forward_is_left_as_it_was(tmp_path, monkeypatch):
    from torch import nn

    def wrong(self, x):
        raise ValueError("a model's own complaint")

    monkeypatch.setattr(nn.Sequential, "forward", wrong)
    with pytest.raises(ValueError, match="^a model's own complaint$"):
        Trainer(_config(batch_size=4), make_synthetic(num_train=8, num_test=4, seed=2),
                run_dir=tmp_path / "run").fit()


@pytest.mark.slow
def test_two_ranks_of_one_image_each_say_so(tmp_path):
    # One process trains these 2 images as a batch of 2; each of 2 ranks gets one.
    script = rank_script(tmp_path, "one_image.py", RANK_SCRIPT_HEAD + SCRIPT)
    code, stderr = launch_two_ranks(tmp_path, str(script), str(tmp_path))
    assert code != 0
    for rank in (0, 1):
        said = json.loads((tmp_path / f"said{rank}.json").read_text(encoding="utf-8"))
        assert said.startswith("2 training images over 2 processes, one each:"), said
        assert said.endswith("train on at least 4 images, or run fewer processes")


SCRIPT = """
import json

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.trainer import Trainer

cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                  quiet=True, threads=1, batch_size=8)
try:
    Trainer(cfg, make_synthetic(num_train=2, num_test=4, seed=2)).fit()
    said = "trained"
except ValueError as exc:
    said = str(exc)
with open(f"{out}/said{rank}.json", "w", encoding="utf-8") as fh:
    json.dump(said, fh)
raise SystemExit(1)
"""
