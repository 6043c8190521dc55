"""What a training run ends with: its result, or the two ways it stops early.

Kept apart from the Trainer so that callers (the CLI, the zoo, design sweeps) can name
them without the training loop; ``cnnlab.train`` re-exports all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RuntimeError):
    """SIGINT/SIGTERM: a checkpoint was saved and the run can be resumed."""


@dataclass
class TrainResult:
    run_dir: Path | None
    history: list[dict]
    final: dict
    best_test_acc: float
    train_time_s: float
    per_class_acc: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    stopped: str | None = None  # "max_time" when the time budget ended the run
    # Test images the accuracies were measured on, and in the test split (eval_subset).
    eval_images: int | None = None
    test_images: int | None = None

    @property
    def eval_scope(self) -> str:
        """'' when the whole test split was evaluated, else which part of it."""
        if self.eval_images is None or self.eval_images == self.test_images:
            return ""
        return f"first {self.eval_images:,} of {self.test_images:,} test images"
