"""What an epoch of training adds up to: the sums its steps keep, and its metrics.csv row.

The bookkeeping half of an epoch, kept out of trainer.py so that the loop there reads as
the training itself (forward, backward, optimizer step, when to stop). The sums stay on
the device: adding a batch to them never waits for it; they are read back only where a
number is needed (a log point's progress bar and NaN check, the epoch's end).
"""

from __future__ import annotations

import math

import torch

from cnnlab.train.device import peak_memory_mb
from cnnlab.train.distributed import DistInfo, all_reduce_sum


def no_partial_epoch() -> dict[str, float]:
    """A ``Trainer.partial`` carrying nothing over: no part of the coming epoch trained
    yet. (An interrupted or budget-cut epoch carries its sums and time to a resume.)"""
    return {"loss_sum": 0.0, "correct": 0.0, "seen": 0.0, "time": 0.0}


class RunningSums:
    """One epoch's training loss (summed over images), correct predictions and images
    seen so far, on ``device``, in ``dtype`` (:func:`cnnlab.train.device.sum_dtype`:
    float64, float32 on Apple's MPS, which has none)."""

    def __init__(self, device: torch.device, dtype: torch.dtype):
        self.loss_sum = torch.zeros((), device=device, dtype=dtype)
        self.correct = torch.zeros_like(self.loss_sum)
        self.seen = torch.zeros_like(self.loss_sum)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor,
            own: int) -> None:
        """A batch's mean ``loss``, and its ``logits`` against the labels ``y``: counting
        its first ``own`` images only, each image once (under DDP the repeats that pad a
        rank's last batch are not this rank's)."""
        with torch.no_grad():
            self.loss_sum += loss.detach().to(self.loss_sum.dtype) * own
            # In the sums' dtype: no int64 reduction (MPS before macOS 13.3 warns).
            self.correct += (logits[:own].argmax(dim=1) == y[:own]).sum(dtype=self.correct.dtype)
            self.seen += own

    def means(self) -> tuple[float, float]:
        """(mean loss, accuracy) so far, on this process: two reads from the device."""
        return float(self.loss_sum / self.seen), float(self.correct / self.seen)

    def totals(self, carried: dict[str, float], dist: DistInfo) -> tuple[float, float, float]:
        """(loss sum, correct, seen) of the whole epoch: every rank's sums, plus what a
        resumed part of it ``carried`` over (``Trainer.partial``). The checkpoint holds
        all ranks' sums already, so rank 0 alone adds them, or the all-reduce on ``dist``
        would count them world_size times."""
        sums = torch.stack([self.loss_sum, self.correct, self.seen])
        if dist.is_main:
            sums += torch.tensor([carried["loss_sum"], carried["correct"], carried["seen"]],
                                 dtype=sums.dtype, device=sums.device)
        all_reduce_sum(sums, dist)
        loss_total, correct_total, seen_total = sums.tolist()
        return loss_total, correct_total, seen_total


def epoch_row(epoch: int, totals: tuple[float, float, float], ev, *, lr: float,
              epoch_time: float, eval_time: float, train_time: float, wall_time: float,
              device: torch.device) -> dict:
    """The metrics.csv row of ``epoch``, from its ``totals`` (:meth:`RunningSums.totals`)
    and its evaluation ``ev`` (None where ``eval_every`` skipped it: test columns NaN).
    ``lr``: the rate of the epoch's last step; ``epoch_time`` and ``eval_time``: the
    epoch's training and evaluation seconds; ``train_time`` and ``wall_time``: the run's
    so far (training; training plus evaluation); ``device``: whose peak memory it says."""
    loss_total, correct_total, seen_total = totals
    return {
        "epoch": epoch,
        "train_loss": loss_total / max(seen_total, 1),
        "train_acc": correct_total / max(seen_total, 1),
        "test_loss": ev.loss if ev else math.nan,  # NaN: not evaluated (eval_every)
        "test_acc": ev.acc if ev else math.nan,
        "lr": lr,
        "images_per_s": seen_total / max(epoch_time, 1e-9),
        "epoch_time_s": epoch_time,
        "elapsed_s": train_time,
        "eval_time_s": eval_time,
        # Training plus evaluation so far: the clock a time-to-accuracy result uses.
        "wall_s": wall_time,
        "peak_memory_mb": peak_memory_mb(device),
    }
