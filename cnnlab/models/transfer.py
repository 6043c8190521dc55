"""Transfer learning: pretrained weights adapted to the model asked for, and the
backbone/head split fine-tuning uses.

Weights keep the shape they were saved with (ImageNet's 1000 classes, RGB), so
:func:`load_pretrained` adapts them: a new classifier where the class count differs,
and the first convolution's filters summed over the colour channels for grey input.
Where the weights come from (a file, a state_dict, torchvision or timm by name) is
:mod:`cnnlab.models.pretrained`'s.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import nn

from cnnlab.models._registry import ModelInfo
from cnnlab.models.interop import best_named, load_state_dict_checked
from cnnlab.models.pretrained import (
    TV_AUX_KEYS,
    PretrainedWeights,
    TorchvisionNet,
    classifier_name,
    first_conv_name,
    read_pretrained,
)

# --- adapting and loading ------------------------------------------------------------

@dataclass(frozen=True)
class PretrainedLoad:
    """What :func:`load_pretrained` did, for messages and tests."""

    source: str
    new_head: bool  # the model's own classifier kept: the weights' had another shape, or none
    input_channels: tuple[int, int] | None  # (weights, model) when the first conv was adapted
    transform_input: bool = False  # torchvision's GoogLeNet/Inception input re-mapping set on
    tensors_loaded: int = 0  # the weights' tensors now in the model (adapted or not)
    tensors_left_out: int = 0  # the rest: a classifier renewed, auxiliary heads not built
    classes: tuple[int, int] | None = None  # (weights', model's) where the classifier differs
    head_asked: bool = False  # renewed by renew_classifier (--new-head), not for its shape


def load_pretrained(model: nn.Module, weights, info: ModelInfo,
                    auto_transform_input: bool = True) -> PretrainedLoad:
    """Load ``weights`` into ``model`` (built at the shape it should end up with).

    Keys are renamed through the registry's torchvision key map when that fits the
    model better; the classifier is kept fresh where the weights' one has another
    shape (a new class count); the first convolution is adapted where the channel
    count differs (:func:`adapt_input_conv`). Anything else that does not fit is a
    :class:`~cnnlab.models.interop.WeightsMismatchError` listing the keys.
    """
    loaded = read_pretrained(info, weights)
    source = loaded.source
    state = _to_model_keys(model, loaded.state, info)
    given = dict(state)  # as they came, before the head and first conv are adapted
    unused = getattr(model, "unused_weight_prefixes", ())
    state = {k: v for k, v in state.items() if not (unused and k.startswith(unused))}
    own = model.state_dict()
    fresh = _keep_fresh_head(model, own, state)
    channels = None
    key = f"{first_conv_name(model)}.weight"
    if key in state and key in own and state[key].ndim == 4 \
            and state[key].shape[1] != own[key].shape[1]:
        channels = (state[key].shape[1], own[key].shape[1])
        state[key] = adapt_input_conv(state[key], own[key].shape[1])
    # Modules that version their state (torchvision's MNASNet) read the version from
    # metadata, which safetensors files and renamed keys lose; the weights were saved
    # by the same code, so the model's own versions apply.
    state = OrderedDict(state)
    state._metadata = getattr(own, "_metadata", None)
    load_state_dict_checked(model, state, source=source)
    # ``auto_transform_input=False``: the caller chose transform_input; it stays.
    transform = auto_transform_input and transform_input_as_the_weights(
        model, info, loaded, given)
    taken = len(state) - len(fresh)
    return PretrainedLoad(source, bool(fresh), channels, transform, tensors_loaded=taken,
                          tensors_left_out=len(given) - taken,
                          classes=_class_counts(model, given) if fresh else None)


def transform_input_as_the_weights(model: nn.Module, info: ModelInfo,
                                   loaded: PretrainedWeights, given: dict) -> bool:
    """torchvision's released GoogLeNet and Inception-v3 weights expect its
    ``transform_input`` (ImageNet-normalised input re-mapped to the [-1, 1] scale they
    were trained on), which torchvision turns on whenever it loads them. cnnlab does the
    same for a 3-channel model given that release: by name (``weights="DEFAULT"``), or
    the file torchvision downloads (recognised by its hash). A cnnlab run's checkpoint
    (``loaded.recorded``: its run's model_overrides) says itself whether its run
    re-mapped the input. Any other weights do not say, and are not guessed at: their
    auxiliary heads tell nothing (torchvision drops the release's after loading it, and
    its own GoogLeNet trains with them and without the transform), so the model keeps
    its default, with a warning where the weights may descend from the release
    (:func:`_warn_transform_input_unknown`).

    ``given``: the weights under the model's keys, before any adapting; returns whether
    the transform was turned on."""
    target = model.body if isinstance(model, TorchvisionNet) else model
    if info.torchvision_name not in TV_AUX_KEYS or not hasattr(target, "transform_input"):
        return False
    conv_name = first_conv_name(model)
    conv = model.get_submodule(conv_name)
    conv_weight = given.get(f"{conv_name}.weight")
    from_rgb = (conv.in_channels if conv_weight is None else conv_weight.shape[1]) == 3
    if loaded.recorded is not None:
        if not loaded.recorded.get("transform_input"):
            return False
        whose = "these weights (a run's that re-mapped RGB input)"
    elif loaded.release is not None:
        whose = f"torchvision's released weights ({loaded.release})"
    else:
        if from_rgb and conv.in_channels == 3:
            aux = TV_AUX_KEYS[info.torchvision_name]
            has_aux = any(k.removeprefix("body.").startswith(aux) for k in given)
            head = f"{classifier_name(model)}.weight"
            classes = given[head].shape[0] if head in given else None
            _warn_transform_input_unknown(info, loaded.source, has_aux, classes)
        return False
    if conv.in_channels != 3:
        if not from_rgb:  # weights of another model of these channels (a cnnlab run's)
            return False

        from cnnlab.notices import SetupWarning, warn_user

        warn_user(
            f"{info.name}: {whose} expect its transform_input (each "
            "RGB channel re-mapped apart), which a model of "
            f"{conv.in_channels} input channel(s) cannot apply: it starts from a function "
            "near, not equal to, torchvision's on the same image (training adapts it)",
            SetupWarning)
        return False
    target.transform_input = True
    return True


# The release's class count: ImageNet's.
_RELEASE_CLASSES = 1000


def _warn_transform_input_unknown(info: ModelInfo, source: str, has_aux: bool,
                                  classes: int | None) -> None:
    """Said where RGB weights of unknown origin may descend from torchvision's release:
    they have its 1000 classes, or lack auxiliary heads (torchvision drops the release's
    after loading it, so a model built with the release and saved has none). A
    torchvision GoogLeNet trained from scratch keeps its auxiliary heads (its default)
    and mostly has another class count: that common case stays quiet."""
    if has_aux and classes not in (None, _RELEASE_CLASSES):
        return
    from cnnlab.notices import SetupWarning, warn_user

    warn_user(
        f"{info.name}: loaded {source} with transform_input=False (the model's default); "
        "whether these weights expect it cannot be told from them. If they are "
        "torchvision's released weights, or were saved from a torchvision model built "
        f"with them (torchvision.models.{info.torchvision_name}(weights=...)), pass "
        "transform_input=True (get_model(..., transform_input=True); for cnnlab train, "
        "`model_overrides: {transform_input: true}` in a --config file); if they were "
        "trained without it, pass transform_input=False, which also silences this",
        SetupWarning)


def _to_model_keys(model: nn.Module, state: dict, info: ModelInfo) -> dict:
    """The weights under the model's names: as they are (a cnnlab checkpoint), through
    whichever key map (torchvision's, pycls's for RegNets) names more of them, and
    without a training wrapper's prefix (DDP's ``module.``: :func:`best_named`)."""
    maps = [info.torchvision_key_map] if info.torchvision_key_map else []
    if info.family in ("regnet", "anynet"):
        from cnnlab.models.regnet import pycls_regnet_key

        maps.append(pycls_regnet_key)
    return best_named(state, model.state_dict().keys(), maps)


def _heads(model: nn.Module) -> list[str]:
    """The classifier's module name and the auxiliary classifiers' (GoogLeNet's)."""
    main = classifier_name(model)
    return ([main] if main is not None else []) + list(getattr(model, "auxiliary_heads", ()))


def _keep_fresh_head(model: nn.Module, own: dict, state: dict) -> set[str]:
    """Replace the weights' classifier by the model's own where their shapes differ, or
    the weights have none (and so the auxiliary classifiers a model lists in
    ``auxiliary_heads``); returns the keys that now hold the model's own values."""
    fresh = set()
    for head in _heads(model):
        prefix = head + "."
        theirs = {k: v.shape for k, v in state.items() if k.startswith(prefix)}
        ours = {k: v.shape for k, v in own.items() if k.startswith(prefix)}
        if theirs == ours:
            continue
        for k in theirs:
            del state[k]
        state.update({k: own[k] for k in ours})
        fresh |= set(ours)
    return fresh


def _class_counts(model: nn.Module, weights: dict) -> tuple[int, int] | None:
    """(the weights' class count, the model's), read off the classifier's weight."""
    key = f"{classifier_name(model)}.weight"
    theirs, ours = weights.get(key), model.state_dict().get(key)
    if theirs is None or ours is None or theirs.ndim != 2:
        return None
    return theirs.shape[0], ours.shape[0]


def renew_classifier(model: nn.Module, num_classes: int, load: PretrainedLoad
                     ) -> PretrainedLoad:
    """Give ``model``, loaded from pretrained weights as ``load`` says, a new classifier
    (and new auxiliary ones) where loading kept the weights' own, their class count being
    the model's: ImageNet weights fine-tuned on another 1000 classes, or a head started
    over. The new head is the one the model's builder makes
    (``reset_classifier(num_classes)``). Returns the record of the load, updated."""
    if load.new_head:  # renewed already, for another class count
        return load
    state = model.state_dict()
    heads = tuple(h + "." for h in _heads(model))
    renewed = sum(1 for k in state if heads and k.startswith(heads))
    model.reset_classifier(num_classes)
    return replace(load, new_head=True, head_asked=True,
                   tensors_loaded=load.tensors_loaded - renewed,
                   tensors_left_out=load.tensors_left_out + renewed)


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """First-conv filters ``(out, c, kh, kw)`` remade for ``in_channels`` inputs.

    Each filter keeps its sum over the channels, so an input whose channels are all
    equal gets the response the weights give to that value in all ``c`` channels: for
    one channel (the sum), a grey image gives exactly the RGB filters' response to it
    copied into every channel. Fewer channels than ``c``: the weights' channel ``i`` is
    added into new channel ``i % in_channels``. More: the channels repeat cyclically,
    each copy divided by how many copies its channel has (``in_channels / c`` for a
    multiple of ``c``; RGB to 4 channels repeats R, halved, and keeps G and B).
    """
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    c = weight.shape[1]
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    if in_channels < c:
        return torch.stack([weight[:, i::in_channels].sum(dim=1) for i in range(in_channels)],
                           dim=1)
    idx = torch.arange(in_channels) % c
    if in_channels % c == 0:  # the rule below, computed as cnnlab always has for these
        # counts, so weights adapted before are the same to the last bit
        return weight[:, idx] * (c / in_channels)
    # Counted on the CPU (idx is there; a meta tensor cannot count), used where weight is.
    copies = torch.bincount(idx, minlength=c)[idx].to(weight.device, weight.dtype)
    return weight[:, idx] / copies.view(1, -1, 1, 1)


# --- fine-tuning -------------------------------------------------------------------

def split_backbone_head(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(backbone parameters, classifier parameters), in ``model.parameters()`` order.

    The classifiers are the main one and those a model lists in ``auxiliary_heads``
    (GoogLeNet's): :func:`load_pretrained` renews them alike for a new class count, so
    they learn alike (a frozen random auxiliary classifier would only add a fixed term
    to the training loss)."""
    prefix = classifier_name(model)
    if prefix is None:
        raise ValueError(f"cannot tell the classifier of {type(model).__name__} from its "
                         "backbone (it has no get_classifier())")
    heads = [prefix, *getattr(model, "auxiliary_heads", ())]
    head = {id(p) for name in heads for p in model.get_submodule(name).parameters()}
    if not head:
        raise ValueError(f"{type(model).__name__} has no classifier parameters "
                         "(built with num_classes=0?)")
    params = list(model.parameters())
    return [p for p in params if id(p) not in head], [p for p in params if id(p) in head]


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients everywhere but the classifiers (:func:`split_backbone_head`);
    returns how many values froze.

    Norm layers still update their running statistics in training mode, which lets a
    frozen ImageNet backbone adjust to the new data's statistics.
    """
    backbone, _ = split_backbone_head(model)
    for p in backbone:
        p.requires_grad_(False)
    return sum(p.numel() for p in backbone)
