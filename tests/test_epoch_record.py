"""An epoch's running sums and the test images each process evaluates (epoch_record,
run_data.evaluation_share): the pieces trainer.py's loop was split into."""

from __future__ import annotations

import torch

from cnnlab.data.dataset import ImageData
from cnnlab.train.distributed import DistInfo
from cnnlab.train.epoch_record import RunningSums, no_partial_epoch
from cnnlab.train.run_data import evaluation_share


def test_a_batch_counts_only_its_own_images_and_a_resume_adds_what_it_carried():
    sums = RunningSums(torch.device("cpu"), torch.float64)
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])  # predicts 0, 1, 0
    labels = torch.tensor([0, 0, 0])
    # The third row pads a rank's last batch under DDP: not this rank's image.
    sums.add(torch.tensor(0.5), logits, labels, own=2)
    assert (float(sums.loss_sum), float(sums.correct), float(sums.seen)) == (1.0, 1.0, 2.0)
    assert sums.means() == (0.5, 0.5)
    assert sums.totals(no_partial_epoch(), DistInfo()) == (1.0, 1.0, 2.0)
    carried = {"loss_sum": 3.0, "correct": 4.0, "seen": 6.0, "time": 1.0}
    assert sums.totals(carried, DistInfo()) == (4.0, 5.0, 8.0)
    # The checkpoint holds every rank's sums: rank 0 alone adds them before the all-reduce.
    assert sums.totals(carried, DistInfo(rank=1, world_size=1)) == (1.0, 1.0, 2.0)


def test_each_rank_evaluates_its_own_slice_of_the_evaluated_images():
    test = ImageData(torch.zeros(10, 1, 4, 4, dtype=torch.uint8), torch.arange(10))
    images, labels, evaluated = evaluation_share(test, None, DistInfo())
    assert (len(images), labels.tolist(), evaluated) == (10, list(range(10)), 10)
    _, labels, evaluated = evaluation_share(test, 7, DistInfo(rank=1, world_size=3))
    assert (labels.tolist(), evaluated) == ([1, 4], 7)  # of the first 7, every third
