"""Evaluation (loss, accuracy, per-class accuracy, confusion), the input pipeline spec,
and a finished run scored again (``evaluate_run``, what ``cnnlab eval`` prints).

``Preprocess`` records how images are turned into model input during training, so
evaluation, ``cnnlab eval`` and ``cnnlab predict`` feed the model exactly the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data.augment import translate
from cnnlab.data.dataset import DatasetSplits
from cnnlab.data.folder_names import reencoded_names_problem, same_names
from cnnlab.formatting import first_few, percent_text
from cnnlab.notices import SetupWarning, warn_user
from cnnlab.progress import counting_bar
from cnnlab.train.config import ConfigError
from cnnlab.train.device import (
    autocast_context,
    count_dtype,
    resolve_amp,
    select_device,
    sum_dtype,
    torch_threads,
)
from cnnlab.train.distributed import DistInfo, all_reduce_sum
from cnnlab.train.outcome import checkpoint_when
from cnnlab.train.report_evaluation import accuracy_words as accuracy_words
from cnnlab.train.report_evaluation import describe_tta


@dataclass
class Preprocess:
    """How an image becomes a run's model input: ``channels`` (1 or 3), scaled to
    [0, 1], resized to ``image_size`` square, then normalised per channel by ``mean`` and
    ``std`` (on the 0..1 scale; None: not), in ``channels_last`` memory format or not."""

    channels: int
    image_size: int  # square side the model sees
    mean: list[float] | None  # per channel, on the 0..1 scale; None: no normalisation
    std: list[float] | None
    channels_last: bool = False

    def to_dict(self) -> dict:
        """The fields as JSON types, as a checkpoint and an export's sidecar keep them."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Preprocess:
        """The Preprocess :meth:`to_dict` gave ``values`` for."""
        return cls(**values)

    def black_level(self) -> list[float]:
        """Per channel, what a black (0) pixel becomes: what training's translation
        pads with, so test-time shifts pad with the same."""
        if self.mean is None:
            return [0.0] * self.channels
        return [-m / s for m, s in zip(self.mean, self.std, strict=True)]


_STATS_CHUNK = 1 << 24  # pixel values channel_stats moves to the device at once (16 MB)


def channel_stats(images: torch.Tensor, device: torch.device | str | None = None
                  ) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images N x C x H x W, on the 0..1 scale (a
    channel that never changes gets std 1: see below), counted on ``device`` (two busy
    CPU cores take 0.3 s for Fashion-MNIST, which a speedrun pays every run).

    Exact, so the same for every thread count, device and chunk size: each channel's
    values are counted (256 integer counts), and the mean and variance worked out of
    the counts in Python's integers, rounded once. Float32 sums were not: how a CPU
    splits a sum among its threads changes its rounding, so Fashion-MNIST's std read
    0.35302424664715787 with one thread and 0.3530242504107987 with two, and a resume
    with another ``--threads`` normalised its batches differently."""
    # A chunk at a time: the whole split on a GPU that only just holds the loader's copy
    # would be twice the images. Apple's MPS counts on the CPU (its int64 support is
    # partial before macOS 13.3).
    where = torch.device("cpu") if torch.device(device or "cpu").type == "mps" else device
    channels = images.shape[1]
    per_image = max(images[0].numel(), 1) if len(images) else 1
    counts = torch.zeros(channels, 256, dtype=torch.int64, device=where)
    for chunk in images.split(max(1, _STATS_CHUNK // per_image)):
        chunk = chunk.to(where)
        for c in range(channels):
            counts[c] += torch.bincount(chunk[:, c].reshape(-1), minlength=256)
    mean, std = [], []
    for row in counts.tolist():
        n = sum(row)
        total = sum(v * k for v, k in enumerate(row))
        squares = sum(v * v * k for v, k in enumerate(row))
        if n == 0:  # an empty split: mean 0, std 1
            mean.append(0.0)
            std.append(1.0)
            continue
        mean.append(total / (255 * n))
        # n * sum(x^2) - sum(x)^2 has no cancellation in integers, and is 0 exactly for
        # a constant channel; divided by n - 1 as Tensor.std divides. A channel that
        # never changes (colour images with no blue in them) has std 0, which
        # normalisation cannot divide by: it is centred and left unscaled (std 1), the
        # same zero in every image.
        var = (n * squares - total * total) / (255 ** 2 * n * max(n - 1, 1))
        std.append(math.sqrt(var) if var > 0 else 1.0)
    return mean, std


def tta_views(flip: bool, shift: int = 0) -> list[tuple[int, int, bool, float]]:
    """``(dy, dx, mirrored, weight)`` of each view test-time augmentation averages.

    With ``shift`` the image is also seen moved ``shift`` pixels down-right and
    up-left (airbench's choice of two diagonal shifts): the unshifted view keeps half
    the weight, each shifted one a quarter. ``flip`` adds each view's mirror image at
    the same total weight. No flip and no shift: the image alone.
    """
    shifts = [(0, 0, 1.0)]
    if shift:
        shifts = [(0, 0, 0.5), (shift, shift, 0.25), (-shift, -shift, 0.25)]
    mirrors = (False, True) if flip else (False,)
    return [(dy, dx, m, w / len(mirrors)) for dy, dx, w in shifts for m in mirrors]


def tta_logits(model, x: torch.Tensor, views: list[tuple[int, int, bool, float]],
               border: torch.Tensor) -> torch.Tensor:
    """The weighted average of ``model``'s float logits over ``views`` of the batch ``x``
    (:func:`tta_views`); shifted views are padded with ``border`` (1, C, 1, 1).

    Small inputs' views go through the model as one batch (in eval mode each image's
    logits do not depend on the others'): one forward's kernel launches instead of one
    per view, which on a GPU is most of a small network's evaluation time. Large ones
    (ImageNet-sized batches) go view by view, so evaluation needs no more memory than
    one view's forward."""
    if len(views) == 1 and views[0][:3] == (0, 0, False):
        return model(x).float()

    def view(dy: int, dx: int, mirrored: bool) -> torch.Tensor:
        moved = translate(x, dy, dx, border) if dy or dx else x
        return torch.flip(moved, dims=(3,)) if mirrored else moved

    if len(views) * x.numel() > _ONE_BATCH_ELEMENTS:  # each view made as it is used
        return sum(w * model(view(dy, dx, m)).float() for dy, dx, m, w in views)
    # (torch.cat keeps its inputs' layout: channels_last views stay channels_last.)
    stacked = torch.cat([view(dy, dx, m) for dy, dx, m, _ in views])
    logits = model(stacked).float().unflatten(0, (len(views), len(x)))
    weights = torch.tensor([w for *_, w in views], device=logits.device)
    return torch.einsum("v,vnc->nc", weights, logits)


# Input elements up to which all views of a batch are stacked into one forward: 2^24
# floats (64 MB), e.g. 512 Fashion-MNIST images x 6 views is 2.4M.
_ONE_BATCH_ELEMENTS = 1 << 24


def check_tta_shift(shift: int, image_size: int) -> None:
    """Refuse a test-time shift that is negative or moves the image out of view, before
    any work is done (not at the first evaluation, which may be epochs away)."""
    if not 0 <= shift < image_size:
        raise ConfigError(f"tta_shift={shift} does not fit the model's {image_size}-pixel "
                          "input: use a shift of a few pixels (1 or 2), or 0 for none")


@dataclass(repr=False)
class EvalResult:
    """One evaluation: mean cross-entropy ``loss`` and ``acc`` (a fraction) over ``count``
    images, ``per_class_acc`` in label order, and ``confusion[i][j]``: images of class i
    predicted as class j."""

    loss: float
    acc: float
    per_class_acc: list[float]  # NaN for a class with no test images (no accuracy)
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    count: int

    def __repr__(self) -> str:
        # A notebook cell's last value (``evaluate_run(...).result``): it printed ten
        # accuracies to 16 digits and the whole matrix on one line. Labelled and short,
        # as TrainResult's; the fields hold every digit.
        shown = ", ".join(f"{a:.3f}" for a in self.per_class_acc[:_CLASSES_SHOWN])
        more = ", ..." if len(self.per_class_acc) > _CLASSES_SHOWN else ""
        n = len(self.confusion)
        return (f"EvalResult(acc={self.acc:.4f}, loss={self.loss:.4f}, count={self.count}, "
                f"per_class_acc=[{shown}{more}] ({n} classes), confusion={n}x{n} "
                "(confusion[i][j]: images of class i predicted as j))")


_CLASSES_SHOWN = 10  # per-class accuracies a repr lists (Fashion-MNIST's all)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    num_classes: int,
    device: torch.device,
    amp: str = "off",
    tta_flip: bool = False,
    dist_info: DistInfo | None = None,
    tta_shift: int = 0,
    fill: list[float] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> EvalResult:
    """One pass over ``loader`` in eval mode; sums are kept on the device until the end.

    Test-time augmentation averages the logits of several views of each image
    (:func:`tta_views`): with ``tta_flip`` the image and its horizontal mirror, with
    ``tta_shift`` also copies moved diagonally by that many pixels, their border
    filled with ``fill`` (per channel; :meth:`Preprocess.black_level`, 0 if None).
    Under DDP each rank evaluates its shard and the sums are all-reduced. ``on_batch``:
    told each batch's image count as it is queued (a progress bar).
    """
    views = tta_views(tta_flip, tta_shift)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=sum_dtype(device))
    confusion = torch.zeros(num_classes * num_classes, device=device, dtype=count_dtype(device))
    border = torch.tensor(fill if fill is not None else [0.0], device=device).view(1, -1, 1, 1)
    ones = torch.ones(0, device=device, dtype=confusion.dtype)
    try:  # a batch the model cannot take (ModelInputError) leaves it in its mode too
        for x, y in loader:
            with autocast_context(device, amp):
                logits = tta_logits(model, x, views, border)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").to(loss_sum.dtype)
            pred = logits.argmax(dim=1)
            # index_add_ into the fixed-size matrix: bincount on a GPU reads its input's
            # maximum back to the host (a sync per batch) to size its output.
            if len(ones) < len(y):  # once, at the first (largest) batch
                ones = torch.ones(len(y), device=device, dtype=confusion.dtype)
            confusion.index_add_(0, y * num_classes + pred, ones[: len(y)])
            if on_batch is not None:
                on_batch(len(y))
    finally:
        model.train(was_training)
    if dist_info is not None:
        all_reduce_sum(loss_sum, dist_info)
        all_reduce_sum(confusion, dist_info)
    matrix = confusion.view(num_classes, num_classes).cpu()
    count = int(matrix.sum())
    correct = int(matrix.diag().sum())
    # Exact, in Python floats. A class with no test image (a small split, an eval subset)
    # has no accuracy: NaN (0.0 had read as "every image of it missed").
    per_class = [hit / total if total else math.nan for hit, total in zip(
        matrix.diag().tolist(), matrix.sum(dim=1).tolist(), strict=True)]
    return EvalResult(
        loss=float(loss_sum) / max(count, 1),
        acc=correct / max(count, 1),
        per_class_acc=per_class,
        confusion=matrix.tolist(),
        count=count,
    )


@dataclass
class RunEvaluation:
    """A run's model scored on a test split (:func:`evaluate_run`): the ``result`` (an
    EvalResult), the ``classes`` in label order, the test-time ``views`` averaged (flip,
    shift), the ``checkpoint`` file scored, written after ``epoch`` epochs and
    ``step_in_epoch`` steps into the next, of the run's planned ``epochs`` (None where
    not recorded); ``picked_on_this_split``: a ``best`` checkpoint scored on the split it
    was picked on over a later evaluated epoch (its accuracy flatters it), and
    ``test_images``: the split's size (more than scored with ``eval_subset``)."""

    result: EvalResult
    classes: list[str]
    views: tuple[bool, int]  # (flip, shift): the test-time views averaged
    checkpoint: Path
    epoch: int | None  # epochs trained when that checkpoint was written ...
    step_in_epoch: int  # ... and steps into the next
    epochs: int  # the run's plan
    picked_on_this_split: bool = False
    test_images: int | None = None  # in the split scored (more than scored: eval_subset)

    # The repr shows acc=, loss= and count=, so a user reads them here first (they were
    # only at .result.acc, an AttributeError otherwise).
    @property
    def acc(self) -> float:
        """Top-1 accuracy on the images scored, a fraction (``.result.acc``)."""
        return self.result.acc

    @property
    def test_acc(self) -> float:
        """:attr:`acc`, by the name TrainResult (and summary.json) give a test accuracy."""
        return self.result.acc

    @property
    def count(self) -> int:
        """Images scored (``.result.count``; :meth:`images` says it in words)."""
        return self.result.count

    @property
    def loss(self) -> float:
        """Mean cross-entropy on the images scored (``.result.loss``)."""
        return self.result.loss

    @property
    def per_class_acc(self) -> dict[str, float]:
        """Class name -> accuracy, as ``TrainResult.per_class_acc`` and summary.json give
        it (``.result.per_class_acc``: the same, in the classes' order, unnamed)."""
        return dict(zip(self.classes, self.result.per_class_acc, strict=True))

    def when(self) -> str:
        """How far the run had trained when the checkpoint was written, in words."""
        return checkpoint_when(self.epoch, self.step_in_epoch, self.epochs)

    def headline(self) -> str:
        """The result in one line, as ``cnnlab eval`` prints it."""
        picked = ("; picked as the epoch that scored highest on this test split, so "
                  "optimistic here: the last checkpoint (--which last) gives a number not "
                  "chosen on it" if self.picked_on_this_split else "")
        return (f"test accuracy {percent_text(self.result.acc)} on {self.images()} "
                f"(test-time augmentation: {describe_tta(*self.views)}; checkpoint "
                f"{self.checkpoint.stem}, {self.when()}{picked})")

    def images(self) -> str:
        """The images scored: "10,000 images", or "the first 1,000 of 10,000 test
        images" (eval_subset: a prefix of the split, the part a run with eval_subset
        scored, not a sample of each class)."""
        count, whole = self.result.count, self.test_images
        if whole is not None and count < whole:
            return f"the first {count:,} of {whole:,} test images"
        return f"{count:,} images"

    def __repr__(self) -> str:
        # print()'s line (a notebook shows _repr_html_): the numbers, not the confusion
        # matrix, each under a name it reads back by (images= and when= were methods).
        step = f"step_in_epoch={self.step_in_epoch}, " if self.step_in_epoch else ""
        return (f"RunEvaluation(acc={self.acc:.4f}, loss={self.loss:.4f}, "
                f"count={self.count}, checkpoint={str(self.checkpoint)!r}, "
                f"epoch={self.epoch}, {step}epochs={self.epochs}, views={self.views})")

    def _repr_html_(self) -> str:
        """In a notebook: the headline, then per true class its accuracy and where its
        images went (report_evaluation.evaluation_html)."""
        from cnnlab.train.report_evaluation import evaluation_html

        return evaluation_html(self)

    def class_table(self, every: bool = False) -> list[tuple[str, list[tuple[str, str]]]]:
        """``cnnlab eval``'s per-class rows, (class, accuracy in words), as (heading,
        rows) groups: every class under no heading (``every``, or 30 classes or fewer),
        else those of lowest and of highest accuracy (report_evaluation.listed_classes)."""
        from cnnlab.train.report_evaluation import listed_classes

        words = dict(zip(self.classes, map(accuracy_words, self.result.per_class_acc),
                         strict=True))
        return [(heading, [(name, words[name]) for name in names])
                for heading, names in listed_classes(self.per_class_acc, every)]


def evaluate_run(run_dir: str | os.PathLike[str], data: str | DatasetSplits | None = None,
                 data_root: str | os.PathLike[str] | None = None, which: str = "best",
                 device: str = "auto",
                 tta_flip: bool | None = None, tta_shift: int | None = None,
                 eval_subset: int | None = None, threads: int | None = None,
                 progress: bool = False) -> RunEvaluation:
    """A run's model (``run_dir``: its folder, or the TrainResult ``train()`` returned) on
    the test split of its data (or of ``data``: a spec such as "fashion-mnist", or splits
    loaded in Python, as ``train(cfg, data=...)`` takes them): the result, the class
    names, the (flip, shift) test-time views used and the checkpoint scored (``which``,
    or ``last`` where a run has no ``best`` yet).
    ``tta_flip`` and ``tta_shift`` default to the run's own. The model is fed as training
    evaluated it: the same loader (batches, resize, normalisation, memory layout) and
    precision, so on the same device the accuracy is the one the run reported for that
    checkpoint (over its whole test split: a run with ``eval_subset`` measured only part
    of it). ``data_root`` alone: where the run's data is now, as for ``resume`` (for a
    ``folder:PATH`` run, the folder's new place); the run's config.yaml is not changed.
    ``eval_subset``: the first N test images only, as a run with ``eval_subset`` N scored
    itself (its reported numbers then repeat). ``threads``: torch's CPU threads while it
    evaluates (None: as they are; put back after, as ``resume(threads=...)`` does).
    ``progress``: a bar of the images scored (on a terminal; 10,000 take minutes on a CPU)."""
    # Imported here: these modules build on this one (Preprocess, evaluate).
    from cnnlab.train import run as training_runs  # by module: tests patch its loader
    from cnnlab.train.loaded_run import evaluated_after, load_run
    from cnnlab.train.outcome import run_folder
    from cnnlab.train.run_data import make_loader, warn_of_a_changed_test_split
    from cnnlab.train.run_files import check_run_data, move_data

    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ConfigError(f"threads {threads}: give a whole number of CPU threads, 1 or more")
    run_dir = run_folder(run_dir, "evaluate_run")  # a TrainResult stands for its folder
    dev = select_device(device)
    run = load_run(run_dir, which=which, device=str(dev))
    cfg = run.config
    tta_flip = cfg.tta_flip if tta_flip is None else tta_flip
    tta_shift = cfg.tta_shift if tta_shift is None else tta_shift
    if isinstance(data, DatasetSplits):  # chosen in Python: scored as given
        if data_root:
            raise ConfigError("data_root says where a data spec's files are; data given as "
                              "DatasetSplits is already loaded: leave data_root out")
        splits = data
    else:
        if data:
            cfg.data, cfg.data_root = data, data_root
        elif data_root:
            cfg = move_data(cfg, data_root)  # read from there, this once
        else:
            check_run_data(cfg, run.run_dir)  # its folder moved: name --data-root
        cfg.channels = run.preprocess.channels  # a folder decoded as the model takes it
        splits = training_runs.load_training_data(cfg, test_only=True)
        if not data:  # its own data: the data train() was given, if it was
            training_runs.check_evaluated_data(run.run_dir, splits)
            warn_of_a_changed_test_split(run.checkpoint, splits)
    if not same_names(splits.classes, run.classes):  # accents encoded otherwise: the same
        # Same count is not enough: scores for another dataset's classes, reported under
        # the run's names, would be meaningless.
        if reencoded := reencoded_names_problem(splits.classes, run.classes):
            raise ValueError(f"{splits.name}: {reencoded}")
        raise ValueError(
            f"{splits.name} has the classes [{first_few(splits.classes)}], but the run was "
            f"trained on [{first_few(run.classes)}]; evaluate it on data with the same classes, in "
            "the same order")
    pp = run.preprocess
    if splits.test.images.shape[1] != pp.channels:  # given from Python: a conv's error
        raise ValueError(
            f"{splits.name} has images of {splits.test.images.shape[1]} channel(s); the run's "
            f"model takes {pp.channels}: load them so (load_dataset(SPEC, channels="
            f"{pp.channels}) for a folder), or evaluate it on data of its channels")
    check_tta_shift(tta_shift, pp.image_size)
    model = run.model
    if pp.channels_last:  # as the trainer laid out the model it evaluated
        model = model.to(memory_format=torch.channels_last)
    if eval_subset is not None and (isinstance(eval_subset, bool) or eval_subset < 1):
        raise ConfigError(f"eval_subset {eval_subset}: give a number of test images, 1 or more")
    images, labels = splits.test.images[:eval_subset], splits.test.labels[:eval_subset]
    loader = make_loader(cfg, pp, images, labels, train=False, device=dev, dist=DistInfo())
    with torch_threads(threads), counting_bar("scoring test images", len(images),
                                              progress) as scored:
        result = evaluate(model, loader, len(run.classes), dev, resolve_amp(cfg.amp, dev),
                          tta_flip=tta_flip, tta_shift=tta_shift, fill=pp.black_level(),
                          on_batch=scored)
    if eval_subset is None and not data and cfg.eval_subset and cfg.eval_subset < len(images):
        # As `cnnlab eval` said, a script says it too: 45.6% here beside the 49.2% the
        # run reported, with no word of why, read as a bug.
        warn_user(f"{run.run_dir}: the run itself measured its accuracy on its first "
                  f"{cfg.eval_subset:,} test images (eval_subset), so its numbers differ from "
                  f"these, of all {len(images):,}; eval_subset={cfg.eval_subset} (cnnlab eval "
                  f"--eval-subset {cfg.eval_subset}) repeats them", SetupWarning)
    picked = (run.checkpoint.stem == "best" and not data and run.epoch is not None
              and evaluated_after(run.run_dir, run.epoch, run.step_in_epoch))
    return RunEvaluation(result, run.classes, (tta_flip, tta_shift), run.checkpoint,
                         run.epoch, run.step_in_epoch, cfg.epochs, picked, len(splits.test))
