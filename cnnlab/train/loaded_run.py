"""A finished run read back: the model of one of its checkpoints, with the preprocessing
it trained with, for eval, predict and export (``cnnlab.train.run`` re-exports it); and
whether a run evaluated after a checkpoint, which says if its ``best`` was picked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.models import get_model, model_info
from cnnlab.models._registry import EXTERNAL_PREFIXES
from cnnlab.models.interop import load_state_dict_checked, model_to_load
from cnnlab.notices import CnnlabWarning, warn_user
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.device import select_device
from cnnlab.train.evaluate import Preprocess, check_tta_shift
from cnnlab.train.outcome import TrainResult, run_folder
from cnnlab.train.run_files import check_run_folder, start_again
from cnnlab.whole_imports import import_whole


def _check_same_data_kind(state: dict, cfg: TrainConfig, path: Path) -> None:
    """A checkpoint saved by a run on other data (Fashion-MNIST, a folder, synthetic) than
    config.yaml's was copied from another run: its classes would be read as this run's.
    Only the kind counts: a folder run moved with ``resume --data-root`` names another
    path in its later checkpoints."""
    from cnnlab.data import parse_spec

    saved = (state.get("config") or {}).get("data") if isinstance(state.get("config"),
                                                                   dict) else None
    try:
        theirs, ours = parse_spec(str(saved))[0], parse_spec(cfg.data)[0]
    except ValueError:  # an older checkpoint without its config, or a spec now unknown
        return
    if theirs != ours:
        raise ckpt.CheckpointError(
            f"{path} was saved by a run on {saved}, but config.yaml says {cfg.data}: "
            f"config.yaml was edited (set data: back to {saved}) or the file was copied "
            "from another run")


@dataclass(repr=False)
class LoadedRun:
    """A trained model read back from a run directory, ready for eval or predict.

    ``run_dir``: the run's folder; ``config``: its TrainConfig (config.yaml); ``model``:
    the network, in eval mode on the device asked for (its name: :attr:`model_name`);
    ``classes``: the class names, in label order (:attr:`num_classes` of them);
    ``preprocess``: how an image becomes the model's input (:attr:`input_shape`);
    ``checkpoint``: the file the weights came from; ``epoch``, ``step_in_epoch``: how far
    training had gone when it was written (epochs trained, then steps into the next).
    """

    run_dir: Path
    config: TrainConfig
    model: nn.Module
    classes: list[str]
    preprocess: Preprocess
    checkpoint: Path
    epoch: int | None = None  # epochs trained when the checkpoint was written ...
    step_in_epoch: int = 0  # ... and steps into the next (a time budget ends mid-epoch)

    @property
    def tta(self) -> tuple[bool, int]:
        """(flip, shift): the test-time views the run's reported accuracy averaged."""
        return self.config.tta_flip, self.config.tta_shift

    @property
    def data(self) -> str:
        """The dataset the run trained on (``folder:...`` images were decoded by fitting)."""
        return self.config.data

    @property
    def model_name(self) -> str:
        """The registered name of the run's network (``config.model``), as
        ``ModelSummary.model_name`` names it; ``model`` is the network itself."""
        return self.config.model

    @property
    def num_classes(self) -> int:
        """How many classes the model tells apart: ``len(classes)``."""
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image as the model takes it, after the run's resize (as
        ``ExportResult.input_shape``)."""
        pp = self.preprocess
        return pp.channels, pp.image_size, pp.image_size

    def __repr__(self) -> str:
        # What a notebook needs to see, not the whole TrainConfig and network; each name
        # reads back off the run (model= showed a name where .model is the network). A
        # checkpoint inside an epoch (Ctrl-C) says its step, as RunEvaluation's repr does:
        # epoch= alone read as the end of that epoch.
        step = f"step_in_epoch={self.step_in_epoch}, " if self.step_in_epoch else ""
        return (f"LoadedRun(run_dir={str(self.run_dir)!r}, model_name={self.model_name!r}, "
                f"checkpoint={self.checkpoint.name!r}, epoch={self.epoch}, {step}"
                f"num_classes={self.num_classes}, input_shape={self.input_shape})")


CHECKPOINTS = ("best", "last")


class CheckpointWarning(CnnlabWarning):
    """Another checkpoint than the one asked for is used (and why)."""


# Checkpoints up to this size (about 4M float32 weights, twice with an EMA) build their
# network as usual: drawing those weights costs less than importing torch's compiler.
_DRAWN_AT_MOST = 32 * 2**20


def check_which(which: str) -> None:
    """Refuse a checkpoint name other than best / last (a typo once loaded ``last``)."""
    if which not in CHECKPOINTS:
        raise ConfigError(f"unknown checkpoint {which!r} (--which, which=): choose best or last")


def load_run(run_dir: str | Path | TrainResult, which: str = "best", device: str = "cpu",
             pytorch_ops: bool = False) -> LoadedRun:
    """Model and preprocessing of a run (``run_dir``: its folder, or the TrainResult
    ``train()`` returned). ``which``: its ``"best"`` checkpoint (``last`` when there is no
    ``best`` yet) or its ``"last"``; anything else is a ConfigError.

    ``pytorch_ops`` builds the network from PyTorch's own layers even when the run
    trained on cnnlab's from-scratch ones (``scratch_ops``: the same weights under the
    same names), for what needs standard layers, such as ONNX export. ``device``: as
    anywhere in cnnlab ("cpu", "cuda", "cuda:N", "mps", or "auto" for the best there is),
    checked first.
    """
    check_which(which)
    dev = select_device(str(device))  # a torch error ("Expected one of cpu, cuda, ...") before
    run_dir = run_folder(run_dir, "load_run")
    check_run_folder(run_dir)
    path = run_dir / "checkpoints" / f"{which}.safetensors"
    if not path.exists():
        path = run_dir / "checkpoints" / "last.safetensors"
        if path.exists():
            warn_user(f"{run_dir} has no best checkpoint yet (stopped before its first "
                      "evaluation): using last", CheckpointWarning)
        elif (run_dir / "checkpoints").exists() and not (run_dir / "checkpoints").is_dir():
            raise ckpt.CheckpointError(
                f"{run_dir / 'checkpoints'} is a file where the run keeps its checkpoints "
                "folder: move it away, and the run's checkpoints back there")
        elif not (run_dir / "checkpoints").is_dir() or not any(
                (run_dir / "checkpoints").glob("*.safetensors")):
            raise ckpt.CheckpointError(
                f"{run_dir} has no checkpoint yet: the first is written at the end of its "
                "first epoch, so it is still in that epoch, or was stopped before it (then "
                f"{start_again(run_dir)})")
    groups, state = ckpt.load_checkpoint(path)
    ckpt.require_state(state, ("classes", "preprocess", *(
        key for key in ("epoch", "step_in_epoch") if key in state)), path)
    cfg = TrainConfig.load(run_dir / "config.yaml")
    if state.get("model_name") not in (None, cfg.model):
        raise ckpt.CheckpointError(
            f"{path} was saved from {state['model_name']!r}, but config.yaml says "
            f"{cfg.model!r}: config.yaml was edited (set model: back to "
            f"{state['model_name']}) or the file was copied from another run"
        )
    _check_same_data_kind(state, cfg, path)
    pp = Preprocess.from_dict(state["preprocess"])
    check_tta_shift(cfg.tta_shift, pp.image_size)  # every image would fail on it, one by one
    overrides = dict(cfg.model_overrides)
    if model_info(cfg.model).sized_head:
        overrides.setdefault("image_size", pp.image_size)
    build = dict(num_classes=len(state["classes"]), in_channels=pp.channels,
                 scratch_ops=False if pytorch_ops else cfg.scratch_ops, **overrides)
    large = path.stat().st_size > _DRAWN_AT_MOST
    if large or build["scratch_ops"] or cfg.model.startswith(EXTERNAL_PREFIXES):
        # Building it imports torch's compiler (the meta device's shape probe; the scratch
        # ops' check of what stayed unconverted; torchvision's own import): a Ctrl-C must
        # not cut that off.
        import_whole()
    if large:
        # Built without drawing weights: the checkpoint sets them all (over a second for
        # a VGG).
        model = model_to_load(cfg.model, **build)
    else:
        # A small network's weights are drawn in milliseconds, where the meta device's
        # build imports torch's compiler (a shape probe's batch norm): 1.5 s of CPU, a
        # third of `cnnlab eval` on lenet_modern. Drawn from a forked RNG: the caller's
        # global torch RNG is left as it was; the checkpoint sets every value.
        with torch.random.fork_rng(devices=[]):
            model = get_model(cfg.model, **build)
    # A "last" checkpoint evaluates the weights training evaluated: the EMA's, or
    # Lookahead's (slow + alpha (fast - slow)), kept beside the live ones.
    load_state_dict_checked(model, ckpt.evaluated_weights(groups), source=str(path))
    model.to(dev).eval()
    return LoadedRun(run_dir, cfg, model, list(state["classes"]), pp, path, state.get("epoch"),
                     state.get("step_in_epoch") or 0)


def evaluated_after(run_dir, epoch: int, step_in_epoch: int = 0) -> bool:
    """Whether the run evaluated its test split after ``epoch`` (and ``step_in_epoch``
    steps into the next): only then was the best checkpoint picked over a later one (a
    run stopped after its best epoch, or ending on it, was not; nor one a time budget
    cut mid-epoch and evaluated there, while its last checkpoint is that one). Its
    metrics.csv unreadable: assumed so, the cautious answer."""
    import csv

    from cnnlab.train.report_evaluation import checkpoint_position
    from cnnlab.train.runlog import MetricsLog

    if step_in_epoch and checkpoint_position(run_dir, "last") == (epoch, step_in_epoch):
        return False  # (resumed past it, the cut epoch's row is of a later evaluation)
    try:
        rows = MetricsLog.read(Path(run_dir) / "metrics.csv")
    except (OSError, UnicodeDecodeError, csv.Error):
        return True
    return any(r["epoch"] > epoch and isinstance(r.get("test_acc"), (int, float))
               and math.isfinite(r["test_acc"]) for r in rows)
