"""Which weights a Trainer evaluates, and the TrainResult it returns with them.

Apart from trainer.py, whose loop only asks for an evaluation (``Trainer._evaluate``):
which weights are scored is a choice of the run's options, not of the loop. They are
the live weights, the weight EMA's (``--ema-decay``), or, with Lookahead alone, where
its next sync would put them (``--lookahead-steps``).
"""

from __future__ import annotations

from torch import nn

from cnnlab.train.distributed import share_rank0_buffers
from cnnlab.train.outcome import TrainResult, best_accuracy


class EvaluatedWeights:
    """The evaluation half of :class:`cnnlab.train.trainer.Trainer`, which sets every
    attribute used here (``evaluated_model`` and ``last_eval`` once it has evaluated)."""

    def _evaluation_model(self) -> nn.Module:
        if self.ema is None and self.lookahead is not None:
            return self.lookahead.evaluated_weights(self.model, self.eval_model)
        if self.ema is None:
            return self.model
        self.eval_model.load_state_dict(self.ema.state_dict())
        share_rank0_buffers(self.eval_model, self.dist)  # ranks' EMA BN statistics differ
        return self.eval_model

    def _evaluated_model(self) -> nn.Module:
        """The weights the last evaluation scored (the last epoch always evaluates)."""
        evaluated = getattr(self, "evaluated_model", None)
        return evaluated if evaluated is not None else self._evaluation_model()

    def _finish(self, history: list[dict], stopped: str | None) -> TrainResult:
        """The run's TrainResult: ``history`` (metrics.csv's rows), the last evaluation's
        per-class accuracy and confusion matrix, and ``stopped`` ("max_time" or None)."""
        ev = getattr(self, "last_eval", None)
        per_class = dict(zip(self.classes, ev.per_class_acc, strict=True)) if ev else {}
        return TrainResult(
            run_dir=self.run_dir, history=history, final=history[-1] if history else {},
            best_test_acc=best_accuracy(self.best_test_acc), train_time_s=self.train_time,
            per_class_acc=per_class, confusion=ev.confusion if ev else [], stopped=stopped,
            eval_images=self.eval_images, test_images=len(self.data.test),
            preprocess=self.preprocess, model=self._evaluated_model().eval(),
        )
