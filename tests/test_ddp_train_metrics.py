"""Train metrics under DDP count each image once: where the images do not divide among
the ranks, the loader pads a rank's last batch with images from the epoch's start, which
another rank trains on too."""

import json

import pytest
import torch
from ddp_helpers import launch_two_ranks, rank_script

from cnnlab.data.loader import DeviceLoader


@pytest.mark.parametrize("n, world_size", [(67, 2), (64, 2), (10, 3), (11, 4), (3, 4)])
def test_the_ranks_real_images_are_every_image_once(n, world_size):
    images = torch.zeros(n, 1, 2, 2, dtype=torch.uint8)
    labels = torch.arange(n)
    counted = []
    for rank in range(world_size):
        loader = DeviceLoader(images, labels, 4, rank=rank, world_size=world_size, seed=5)
        order = loader.indices(3)
        totals = 0
        for batch in range(len(loader)):
            own, total = loader.real_samples(batch)  # a batch's real images come first
            counted += order[4 * batch:4 * batch + own].tolist()
            totals += total
        assert totals == n  # every rank knows the step's count on all ranks alike
    assert sorted(counted) == list(range(n))


@pytest.mark.slow
def test_two_ranks_count_a_padded_image_once_in_train_accuracy(tmp_path):
    # 67 images on 2 ranks: rank 1's last batch ends in a repeat of the epoch's first
    # image. Counted, train accuracy was (correct + 0 or 1) / 68, not correct / 67. With
    # the weights held (no optimizer step) and a model without batch norm or dropout, the
    # epoch's train accuracy is the accuracy of the starting weights on the 67 images.
    script = rank_script(tmp_path, "ddp_metrics.py", SCRIPT)
    code, stderr = launch_two_ranks(tmp_path, str(script), str(tmp_path))
    assert code == 0 or "terminate called without an active exception" in stderr, \
        stderr[-3000:]
    said = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert said["train_acc"] == pytest.approx(said["expected"], abs=1e-12)
    assert said["seen"] == pytest.approx(67, abs=1e-6)


SCRIPT = r"""
import json
import os
import sys

import torch
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.distributed import end_distributed
from cnnlab.train.trainer import Trainer

out = sys.argv[1]
with open(f"{out}/pid{os.environ['RANK']}.txt", "w", encoding="utf-8") as fh:
    fh.write(str(os.getpid()))
Trainer._optimizer_step = lambda self: self.optimizer.zero_grad(set_to_none=True)
data = make_synthetic(num_train=67, num_test=8, seed=2)
cfg = TrainConfig(model="lenet_d2l", data="synthetic", epochs=1, batch_size=16,
                  device="cpu", quiet=True, threads=1)
trainer = Trainer(cfg, data)
row = trainer.fit().history[0]
if trainer.dist.is_main:
    correct = 0
    with torch.no_grad():
        for x, y in trainer._loader(data.train.images, data.train.labels, train=False):
            correct += int((trainer.model(x).argmax(dim=1) == y).sum())
    said = {"train_acc": row["train_acc"], "expected": correct / 67,
            "seen": row["images_per_s"] * row["epoch_time_s"]}
    with open(f"{out}/metrics.json", "w", encoding="utf-8") as fh:
        json.dump(said, fh)
end_distributed()
"""
