"""When a run has diverged, and the error that says so.

The Trainer watches two things. The training loss, every ``log_every`` steps: NaN/inf
there stops the epoch at once. And, at each epoch's end, before its metrics row and
checkpoints are written, the weights and the test loss: the training loss of a batch is
taken before its step, so a last step can leave the weights NaN/inf (or so large that
the model's outputs are) while every loss the epoch measured was finite. With lr 1e12,
one step of 64 images did: the run reported test loss NaN, exited 0, and its "best"
checkpoint held the wrecked weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cnnlab.formatting import first_few
from cnnlab.train.machine import cnnlab_program
from cnnlab.train.outcome import TrainingDiverged


def nonfinite_tensors(model: nn.Module) -> list[str]:
    """The names of ``model``'s floating-point parameters and buffers (BN statistics)
    holding a NaN or inf, in state_dict order; read back from the device once."""
    tensors = {name: t for name, t in model.state_dict().items() if t.is_floating_point()}
    if not tensors:
        return []
    finite = torch.stack([torch.isfinite(t).all() for t in tensors.values()]).tolist()
    return [name for name, ok in zip(tensors, finite, strict=True) if not ok]


def epoch_end_divergence(epoch: int, live: nn.Module, evaluated: nn.Module | None,
                         test_loss: float | None) -> str:
    """What says the run diverged at the end of ``epoch``: '' when nothing does.

    ``live``: the trained weights; ``evaluated``: the ones the epoch's evaluation scored
    (the EMA's, Lookahead's, or ``live`` itself), and ``test_loss`` its loss; None where
    it made none (``eval_every``). Alike on every rank under DDP: the weights and the
    buffers are the same there, and the test loss is all-reduced.
    """
    models = (live,) if evaluated is None or evaluated is live else (live, evaluated)
    for model in models:
        bad = nonfinite_tensors(model)
        if bad:
            return (f"the weights became NaN/inf at the end of epoch {epoch} "
                    f"({first_few(bad, 1)}; the training loss, taken before each step, "
                    "was finite)")
    if test_loss is not None and not math.isfinite(test_loss):
        # Finite weights whose outputs are not: logits past the range of the evaluation's
        # dtype (65504 in fp16), a model whose predictions mean nothing.
        return (f"the test loss became NaN/inf at epoch {epoch}'s evaluation (the weights "
                "are finite, the model's outputs on the test images are not)")
    return ""


class DivergenceChecks:
    """The divergence half of :class:`cnnlab.train.trainer.Trainer`, which sets every
    attribute used here."""

    def _check_finite(self, loss_sum: torch.Tensor, epoch: int, step: int) -> None:
        if not bool(torch.isfinite(loss_sum)):
            raise self._divergence(epoch, step)

    def _check_epoch_end(self, epoch: int, ev) -> None:
        """Before the epoch's metrics row and checkpoints are written: a checkpoint of
        wrecked weights (the "best" one, even: its accuracy can beat the first epoch's
        -1) would replace the last good one."""
        found = epoch_end_divergence(epoch, self.model, self.evaluated_model if ev else None,
                                     ev.loss if ev else None)
        if found:
            raise self._divergence(epoch, None, found)

    def _divergence(self, epoch: int, step: int | None, found: str = "") -> TrainingDiverged:
        # Alike on every rank, so from what every rank knows: rank 0 alone writes the
        # checkpoints (on a disk the others may not see). One is written at each epoch's
        # end, after these checks; a resumed run began from one.
        last = self.run_dir / "checkpoints" / "last.safetensors" if self.run_dir else None
        return TrainingDiverged.at(epoch, step, self.cfg.lr, last, found=found,
                                   written=self.epoch > 0 or self.resumed_from is not None,
                                   cli=cnnlab_program())  # --lr, or TrainConfig's lr
