"""A run's TensorBoard events (``tensorboard --logdir runs``), by epoch as metrics.csv:
its columns as curves, and each evaluation's per-class accuracy.

Up to CLASSES_LISTED_WHOLE (30) classes every class has its own curve,
``class_acc/<name>``. Past that, one curve per class is a page of 1,000 charts nobody
can read (and 52 KiB of events an epoch), so an epoch writes instead what answers the
questions asked of many classes: how the accuracies spread (the histogram
``class_acc/all_classes``, in the Histograms and Distributions tabs), the worst class's
and the mean over classes as two curves (``class_acc/lowest``, ``class_acc/mean``: the
mean weighs each class alike, where test/acc weighs each image), and which classes are
the lowest (``class_acc/lowest_classes`` in the Text tab, CLASSES_AT_EACH_END of them
with their accuracies).

A run trained before this rule and resumed keeps the per-class curves of its earlier
epochs; its later epochs have the four tags above.
"""

from __future__ import annotations

import math
from pathlib import Path

# Each metrics.csv column's TensorBoard tag: TensorBoard draws the tags that share what
# comes before "/" in one panel, so a unit goes after it ("elapsed/s", "wall/s",
# "peak/memory_mb" and four more had each made a panel of one chart, "wall" among them).
TENSORBOARD_TAGS = {"train_loss": "train/loss", "train_acc": "train/acc", "lr": "lr/lr",
                    "test_loss": "test/loss", "test_acc": "test/acc",
                    "images_per_s": "time/images_per_s", "epoch_time_s": "time/epoch_s",
                    "elapsed_s": "time/elapsed_s", "eval_time_s": "time/eval_s",
                    "wall_s": "time/wall_s", "peak_memory_mb": "memory/peak_mib"}
# The per-class panel; past 30 classes these tags in it, not one per class.
CLASS_PANEL = "class_acc"
MANY_CLASSES_TAGS = {"histogram": f"{CLASS_PANEL}/all_classes",
                     "lowest": f"{CLASS_PANEL}/lowest", "mean": f"{CLASS_PANEL}/mean",
                     "named": f"{CLASS_PANEL}/lowest_classes"}


class TensorBoardLog:
    """The run's event ``writer`` (torch's SummaryWriter), as :meth:`open` makes it."""

    def __init__(self, writer):
        self.writer = writer

    @classmethod
    def open(cls, run_dir: Path, purge_step: int | None = None) -> TensorBoardLog | None:
        """The log of ``run_dir``; None where tensorboard is not installed (it is a
        dependency, but cnnlab stays usable without it). ``purge_step``: the first epoch
        this process writes (a resume: TensorBoard drops what an earlier process wrote
        from there on)."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return cls(SummaryWriter(log_dir=str(run_dir), purge_step=purge_step))

    def add_row(self, row: dict) -> None:
        """A metrics.csv row's numbers, at its epoch (a NaN, not evaluated, left out)."""
        step = int(row["epoch"])
        for key, tag in TENSORBOARD_TAGS.items():
            value = row.get(key)
            if value != "" and value is not None and not math.isnan(float(value)):
                self.writer.add_scalar(tag, float(value), step)
        self.writer.flush()

    def add_class_accuracies(self, epoch: int, classes: list[str],
                             per_class_acc: list[float]) -> None:
        """An evaluation's per-class accuracy (NaN: a class with no test image): a curve
        per class, or past CLASSES_LISTED_WHOLE classes the spread, the lowest, the mean
        and the lowest classes named (the module's docstring)."""
        from cnnlab.train.report_evaluation import ranked_classes

        accuracies = dict(zip(classes, per_class_acc, strict=True))
        ranked = ranked_classes(accuracies)
        if ranked is None:
            for name, acc in accuracies.items():
                self.writer.add_scalar(f"{CLASS_PANEL}/{name}", acc, epoch)
            return
        scored = [acc for acc in per_class_acc if acc == acc]  # (acc == acc: not NaN)
        if not scored:  # no class had a test image: nothing to draw
            return
        import numpy as np

        self.writer.add_histogram(MANY_CLASSES_TAGS["histogram"], np.asarray(scored), epoch,
                                  bins=np.linspace(0.0, 1.0, 21))  # 5-point steps
        self.writer.add_scalar(MANY_CLASSES_TAGS["lowest"], min(scored), epoch)
        self.writer.add_scalar(MANY_CLASSES_TAGS["mean"], sum(scored) / len(scored), epoch)
        self.writer.add_text(MANY_CLASSES_TAGS["named"], _lowest_words(ranked, accuracies),
                             epoch)

    def close(self) -> None:
        self.writer.close()


def _lowest_words(ranked, accuracies: dict[str, float]) -> str:
    """The lowest classes as TensorBoard's Text tab shows them (Markdown), e.g.
    "10 lowest of 1,000 classes: `c0007` 0.0%, `c0912` 0.0%, ...". Names in code spans:
    a class named ``*x*`` is no emphasis (a backtick in one is dropped)."""
    names = ", ".join(f"`{name.replace('`', '')}` {accuracies[name]:.1%}"
                      for name in ranked.lowest)
    unscored = f" ({len(ranked.unscored):,} with no test image)" if ranked.unscored else ""
    return f"{len(ranked.lowest)} lowest of {ranked.total:,} classes{unscored}: {names}"
