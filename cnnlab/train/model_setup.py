"""The model as a run trains it: built for the data's size, classes and channels, then
its first convolution adapted (whitened, padded) as the config asks; and the loss it
trains on (:func:`training_loss`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data.dataset import ImageData
from cnnlab.models import get_model, model_info
from cnnlab.models.padded_stem import pad_stem_channels
from cnnlab.models.transfer import freeze_backbone, renew_classifier
from cnnlab.models.whitened_stem import whiten_stem
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.device import is_out_of_memory

# Training images whose patches set a whitened stem: enough for a 7x7x3 patch
# covariance (147 dimensions) from millions of patches, a few milliseconds on a GPU.
WHITENING_IMAGES = 5000


def check_model_overrides(model: str, overrides: dict) -> None:
    """Build ``model`` with a config's ``model_overrides`` on the meta device (no memory,
    no initialisation), so that a misspelled or impossible override fails when the
    config is checked, naming the options, not after the data has loaded."""
    from cnnlab.models._registry import UnknownModelError

    # get_model's own arguments come from elsewhere: as overrides they would be passed
    # twice when the model is built (a suggestion now offers num_classes for num_class).
    from_elsewhere = {"num_classes": "the data's classes",
                      "in_channels": "the data's channels",
                      "weights": "the weights field (--weights)",
                      "scratch_ops": "the scratch_ops field (--scratch-ops)"}
    for key in overrides:
        if key in from_elsewhere:
            raise ConfigError(f"model_overrides cannot set {key}: it comes from "
                              f"{from_elsewhere[key]}")
    try:
        with torch.device("meta"):
            get_model(model, **overrides)
    except UnknownModelError:
        return  # named where the model is built, with the closest names
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model_overrides {overrides}: {exc}") from None
    except Exception:  # noqa: BLE001 - a builder the meta device cannot run: build later
        return


def build_model(cfg: TrainConfig, num_classes: int, channels: int, image_size: int) -> nn.Module:
    """``cfg.model`` for ``num_classes`` classes and images of ``channels`` x ``image_size``."""
    overrides = dict(cfg.model_overrides)
    info = model_info(cfg.model)
    if image_size < info.min_input_size:
        raise ConfigError(
            f"{cfg.model} needs inputs of at least {info.min_input_size} pixels; the data "
            f"is {image_size}x{image_size}: pass --resize {info.min_input_size} (resize="
            f"{info.min_input_size} from Python) or more ({info.input_size[1]} is its design "
            "size)"
        )
    if info.sized_head and "image_size" not in overrides:
        overrides["image_size"] = image_size
    # Weights load at their own shape, then the head and first conv are adapted.
    try:
        model = get_model(cfg.model, num_classes=num_classes, in_channels=channels,
                          weights=cfg.weights or None, scratch_ops=cfg.scratch_ops,
                          **overrides)
    except RuntimeError as exc:  # the CPU allocator's failure, torch.OutOfMemoryError
        if not is_out_of_memory(exc):
            raise
        # Book networks size their classifier with one probe image of the input's size.
        asked = re.search(r"allocate (\d+) bytes", str(exc))
        why = f"one tensor alone needs {int(asked[1]) / 2**30:,.1f} GiB" if asked else \
            str(exc).strip().splitlines()[-1][:200]
        fix = "give a smaller --resize (resize=)" if cfg.resize else "choose a smaller model"
        raise ConfigError(f"{cfg.model} at {image_size}x{image_size} does not fit in memory "
                          f"even to build ({why}); {fix}") from None
    loaded = getattr(model, "pretrained_load", None)
    if loaded is not None and loaded.transform_input:
        # torchvision's GoogLeNet/Inception release turned the input transform on: the
        # run's config keeps it, so eval, predict, export and resume build the same net.
        cfg.model_overrides = {**cfg.model_overrides, "transform_input": True}
    if cfg.new_head and loaded is not None:  # resumed: no weights, the checkpoint's head
        model.pretrained_load = renew_classifier(model, num_classes, loaded)
    if cfg.freeze_backbone:
        freeze_backbone(model)
    if not info.builder.__module__.startswith("cnnlab."):  # cnnlab's own are tested
        check_own_model(model, cfg.model, num_classes, channels, image_size)
    return model


def check_own_model(model: nn.Module, name: str, num_classes: int, channels: int,
                    image_size: int) -> None:
    """A user's registered network run once on two blank images (eval mode, no gradient:
    no state changes, no random numbers drawn), so that what cnnlab needs of it fails
    now, named with the fix, rather than as a torch error deep in the first step or
    evaluation: that it takes the data's channels and size, and returns the logits, one
    per class, as a single tensor."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            # Two: a layer that normalises by the batch (BatchNorm1d without running
            # statistics) cannot take one, and the run's batches are larger.
            out = model(torch.zeros(2, channels, image_size, image_size))
    except Exception as exc:  # noqa: BLE001 - the user's code: any failure, named
        from cnnlab.inspect._input import torch_error  # (inspect builds on the models)

        # torch's own words, not a cnnlab Network's ModelInputError: its fix (get_model(...,
        # in_channels=1)) is what was done already, and the builder's is said here.
        cause = torch_error(exc)
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]
        raise ConfigError(
            f"{name} fails on the run's input, 2x{channels}x{image_size}x{image_size} on the CPU "
            f"({type(cause).__name__}: {first}). Its builder is given in_channels={channels} "
            f"and num_classes={num_classes} (the data's): build the network for them; for "
            "another size, resize the data (--resize, resize=)") from exc
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(
            f"{name}'s forward returns a {type(out).__name__}, not a tensor of logits: "
            "cnnlab trains, evaluates and exports a network that returns its logits alone, "
            "(N, classes) (in training mode a tuple (logits, auxiliary logits, ...) is "
            "taken, as GoogLeNet's). Return them alone, or wrap it: a module whose forward "
            "returns the logits part of what yours returns")
    if tuple(out.shape) != (2, num_classes):
        raise ConfigError(
            f"{name} gives logits of shape {tuple(out.shape)} for two images; the data has "
            f"{num_classes} classes, so (2, {num_classes}) is needed. Its builder is given "
            f"num_classes={num_classes}: size its classifier with it (and flatten the "
            "features before it)")


def weights_loaded(model: nn.Module, console=False) -> dict | None:
    """What loading ``--weights`` did, for the run's records: the file or release, whether
    the classifier is new (``classes``: the weights' class count and the model's where
    they differ; ``head_asked``: renewed by new_head), the first conv's channels adapted
    (weights', model's), how many of the weights' tensors were loaded and left out, and
    the parameter values frozen (--freeze-backbone) and left to train. None: trained from
    scratch, or resumed (the trainer then keeps its checkpoint's record).

    Said on ``console`` too (:func:`weights_loaded_lines`), as ``train(console=...)``
    takes it: None, standard error; False, the default: not said."""
    loaded = getattr(model, "pretrained_load", None)
    if loaded is None:
        return None
    channels, classes = loaded.input_channels, loaded.classes
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    record = {"source": loaded.source, "new_head": loaded.new_head,
              "input_channels": list(channels) if channels else None,
              "classes": list(classes) if classes else None, "head_asked": loaded.head_asked,
              "tensors_loaded": loaded.tensors_loaded,
              "tensors_left_out": loaded.tensors_left_out,
              "frozen_values": frozen,
              "trained_values": sum(p.numel() for p in model.parameters()) - frozen}
    say_weights_loaded(record, console)
    return record


def weights_loaded_words(record: dict | None) -> list[str]:
    """What loading the weights did (:func:`weights_loaded`'s record), in words: first
    where they came from, how many of their tensors were loaded and what became of the
    classifier, then each change fitting them to the model made (first conv, frozen
    backbone). None (from scratch): nothing. The console's lines at a run's start
    (:func:`weights_loaded_lines`) and the report's "starting weights" row are both
    made of these, so the two cannot disagree."""
    if not isinstance(record, dict):
        return []
    loaded, left_out = record.get("tensors_loaded"), record.get("tensors_left_out") or 0
    counted = "" if loaded is None else (
        f", all {loaded:,} tensors loaded" if not left_out
        else f", {loaded:,} of its {loaded + left_out:,} tensors loaded")
    classes = record.get("classes")
    if not record.get("new_head"):
        head = "its classifier kept (the class counts match; --new-head, new_head=True, renews it)"
    elif record.get("head_asked"):
        head = "a new classifier, as --new-head (new_head=True) asked (the weights' left out)"
    elif classes:
        head = (f"a new classifier for {classes[1]} classes (the weights' was for "
                f"{classes[0]}: left out)")
    elif left_out == 0 and loaded is not None:
        # A classifier kept fresh, yet none of the weights' tensors left out: they had
        # none there (a backbone export).
        head = "the weights have no classifier: the model's own, new"
    else:
        head = "a new classifier (the weights' has another shape: left out)"
    words = [f"{record.get('source')}{counted}; {head}"]
    channels = record.get("input_channels")
    if isinstance(channels, list) and len(channels) == 2:
        how = "summed" if channels[1] == 1 else "adapted"
        words.append(f"first conv's filters {how} from {channels[0]} input channels "
                     f"to {channels[1]}")
    if record.get("frozen_values"):
        words.append(f"backbone frozen: {record['frozen_values']:,} values; the "
                     f"classifier's {record.get('trained_values', 0):,} train")
    return words


def weights_loaded_lines(record: dict | None) -> list[str]:
    """:func:`weights_loaded_words` as a run says them when it starts: "weights: " and
    what was loaded, then the changes on one line. None (from scratch): no line."""
    words = weights_loaded_words(record)
    if not words:
        return []
    lines = [f"weights: {words[0]}"]
    if len(words) > 1:
        changes = "; ".join(words[1:])
        lines.append(changes[0].upper() + changes[1:])
    return lines


def say_weights_loaded(record: dict | None, console=None) -> None:
    """Print :func:`weights_loaded_lines` where a run's progress goes: ``console`` as
    ``train(console=...)`` takes it (None: standard error; False: nothing)."""
    if console is False or not record:
        return
    from rich.console import Console

    out = console or Console(stderr=True, soft_wrap=True)
    for line in weights_loaded_lines(record):
        out.print(line, highlight=False, markup=False, emoji=False)  # "w:ok:.pt" as written


def training_loss(out, y: torch.Tensor, label_smoothing: float
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, the loss training minimises) of a model's training forward ``out``: its
    logits' cross-entropy, plus, for GoogLeNet with aux_logits (``out`` is (logits, aux2,
    aux1)), each auxiliary classifier's, weighted by 0.3 as in the paper."""
    if not isinstance(out, tuple):
        return out, F.cross_entropy(out, y, label_smoothing=label_smoothing)
    logits, *aux = out
    for i, extra in enumerate(aux, 1):
        if extra is not None and getattr(extra, "shape", None) != logits.shape:
            # A network of the user's returning (logits, features), say: cross-entropy
            # of its features failed as "Target 8 is out of bounds".
            raise ConfigError(
                f"the model's training forward returns a tuple whose item {i} is "
                f"{_shape_words(extra)}, not logits shaped as item 0's {tuple(logits.shape)}"
                ": cnnlab reads a tuple as (logits, auxiliary logits, ...), each weighted 0.3 "
                "in the loss, as GoogLeNet's. Return the logits alone from forward (other "
                "outputs from a method of their own)")
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    for aux_logits in aux:
        if aux_logits is not None:
            loss = loss + 0.3 * F.cross_entropy(aux_logits, y, label_smoothing=label_smoothing)
    return logits, loss


def _shape_words(value) -> str:
    shape = getattr(value, "shape", None)
    return f"shaped {tuple(shape)}" if shape is not None else f"a {type(value).__name__}"


def warn_of_a_small_input(name: str, image_size: int) -> None:
    """A 224-pixel ImageNet network trains on 28x28 images, but its stem (stride 2, then
    a max-pool) leaves it a 7x7 map at once: it trains, poorly, without a word. Said
    when a run starts (not again on resume, nor once per torchrun process)."""

    from cnnlab.models import list_models
    from cnnlab.notices import SetupWarning, warn_user

    info = model_info(name)
    design = info.input_size[1]
    if info.variant != "standard" or image_size * 4 > design \
            or image_size < info.min_input_size:  # refused as too small, with its own words
        return

    small = f"{name}_small"
    instead = (f"{small} (the same network with a stem for small images)"
               if small in list_models() else "a model made for small images (resnet18_small, "
               "the *_d2l networks, speednet)")
    warn_user(f"{name} was designed for {design}x{design} inputs and sees "
              f"{image_size}x{image_size} here: its stem shrinks them at once. Use "
              f"{instead}, or --resize {design} (resize={design}; slow)", SetupWarning)


def adapt_stem(model: nn.Module, cfg: TrainConfig, channels_last: bool, train: ImageData,
               unaugmented_batches: Callable[[torch.Tensor, torch.Tensor],
                                             Iterable[tuple[torch.Tensor, torch.Tensor]]]) -> None:
    """Whiten, then pad, the first convolution as ``cfg`` asks.

    ``unaugmented_batches(images, labels)``: (inputs, labels) batches of those images
    prepared as the model sees them (scaled, resized, normalised), never augmented;
    whitening reads WHITENING_IMAGES of the ``train`` split through it.
    """
    if cfg.whiten_stem:
        # Every k-th training image, spread over the split: cnnlab's datasets come
        # shuffled (folder.split_indices), but data given to train() may be in any
        # order, class by class say, and the first images would then miss classes.
        every = max(1, len(train.images) // WHITENING_IMAGES)
        batches = unaugmented_batches(train.images[::every][:WHITENING_IMAGES],
                                      train.labels[::every][:WHITENING_IMAGES])
        try:
            whiten_stem(model, (x for x, _ in batches))
        except ValueError as exc:
            raise ConfigError(f"whiten_stem: {exc}") from exc
    if cfg.pad_stem_channels:
        try:
            pad_stem_channels(model, cfg.pad_stem_channels, channels_last)
        except ValueError as exc:
            raise ConfigError(f"pad_stem_channels={cfg.pad_stem_channels}: {exc}") from exc
