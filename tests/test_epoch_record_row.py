"""An epoch's metrics.csv row from its sums, and the accuracy the sums count, by hand.

Written against mutants of cnnlab/train/epoch_record.py the suite let through (session
35's mutation report): the accuracy counted argmin for argmax (E7: the existing case had
as many hits either way), and columns of the row from the wrong number (E13-E23).
"""

from __future__ import annotations

import math

import pytest
import torch

from cnnlab.train.distributed import DistInfo
from cnnlab.train.epoch_record import RunningSums, epoch_row, no_partial_epoch
from cnnlab.train.evaluate import EvalResult


def test_a_prediction_counts_as_correct_where_its_largest_logit_is_the_label():
    sums = RunningSums(torch.device("cpu"), torch.float64)
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 1.0, 3.0], [0.0, 5.0, 1.0]])  # 0, 2, 1
    sums.add(torch.tensor(0.25), logits, torch.tensor([0, 2, 2]), own=3)
    sums.add(torch.tensor(1.0), logits[:1], torch.tensor([1]), own=1)  # a miss
    assert sums.totals(no_partial_epoch(), DistInfo()) == (0.25 * 3 + 1.0, 2.0, 4.0)
    assert sums.means() == (pytest.approx(1.75 / 4), 0.5)


def row(ev):
    # 8 images, 6 right, summed loss 12; 4 s of training and 1 s of evaluation in this
    # epoch, 20 s and 26 s (training; training and evaluation) of the run so far.
    return epoch_row(3, (12.0, 6.0, 8.0), ev, lr=0.05, epoch_time=4.0, eval_time=1.0,
                     train_time=20.0, wall_time=26.0, device=torch.device("cpu"))


def test_each_column_of_an_epochs_row_is_the_number_it_names():
    ev = EvalResult(loss=0.7, acc=0.9, per_class_acc=[0.9], confusion=[[9]], count=10)
    got = row(ev)
    peak = got.pop("peak_memory_mb")
    assert got == {"epoch": 3, "train_loss": 1.5, "train_acc": 0.75, "test_loss": 0.7,
                   "test_acc": 0.9, "lr": 0.05, "images_per_s": 2.0, "epoch_time_s": 4.0,
                   "elapsed_s": 20.0, "eval_time_s": 1.0, "wall_s": 26.0}
    assert peak > 0 or math.isnan(peak)  # the process's peak (NaN where none is told)


def test_an_epoch_not_evaluated_has_nan_test_columns_not_zeros():
    got = row(None)
    assert math.isnan(got["test_loss"]) and math.isnan(got["test_acc"])
    assert (got["train_loss"], got["train_acc"]) == (1.5, 0.75)
