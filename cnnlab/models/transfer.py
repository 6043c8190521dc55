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
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.models._registry import ModelInfo
from cnnlab.models.interop import load_state_dict_checked
from cnnlab.models.pretrained import (
    TV_AUX_KEYS,
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
    new_head: bool  # the weights' classifier had another shape; the model's own is kept
    input_channels: tuple[int, int] | None  # (weights, model) when the first conv was adapted
    transform_input: bool = False  # torchvision's GoogLeNet/Inception input re-mapping set on


def load_pretrained(model: nn.Module, weights, info: ModelInfo,
                    auto_transform_input: bool = True) -> PretrainedLoad:
    """Load ``weights`` into ``model`` (built at the shape it should end up with).

    Keys are renamed through the registry's torchvision key map when that fits the
    model better; the classifier is kept fresh where the weights' one has another
    shape (a new class count); the first convolution is adapted where the channel
    count differs (:func:`adapt_input_conv`). Anything else that does not fit is a
    :class:`WeightsMismatchError` listing the keys.
    """
    state, source, recorded = read_pretrained(info, weights)
    state = _to_model_keys(model, state, info)
    given_keys = list(state)
    unused = getattr(model, "unused_weight_prefixes", ())
    state = {k: v for k, v in state.items() if not (unused and k.startswith(unused))}
    own = model.state_dict()
    new_head = _keep_fresh_head(model, own, state)
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
    transform = auto_transform_input and _transform_input_as_the_weights(
        model, info, given_keys, from_rgb=channels is not None and channels[0] == 3,
        recorded=recorded)
    return PretrainedLoad(source, new_head, channels, transform)


def _transform_input_as_the_weights(model: nn.Module, info: ModelInfo, keys: list[str],
                                    from_rgb: bool = False,
                                    recorded: dict | None = None) -> bool:
    """torchvision's released GoogLeNet and Inception-v3 weights expect its
    ``transform_input`` (ImageNet-normalised input re-mapped to the [-1, 1] scale they
    were trained on), which torchvision turns on whenever it loads them. cnnlab does the
    same for a 3-channel model given that release, recognised by the auxiliary heads
    saved in it (a grey model's summed first filters cannot re-map channels apiece).
    A cnnlab run's checkpoint (``recorded``: its run's model_overrides) says itself
    whether its run re-mapped the input; its auxiliary heads say nothing."""
    target = model.body if isinstance(model, TorchvisionNet) else model
    if info.torchvision_name not in TV_AUX_KEYS or not hasattr(target, "transform_input"):
        return False
    conv = model.get_submodule(first_conv_name(model))
    aux = TV_AUX_KEYS[info.torchvision_name]
    if recorded is not None:
        if not recorded.get("transform_input"):
            return False
    # Keys as torchvision names them, or behind TorchvisionNet's "body.".
    elif not any(k.removeprefix("body.").startswith(aux) for k in keys):
        return False
    if conv.in_channels != 3:
        if not from_rgb:  # weights of another model of these channels (a cnnlab run's)
            return False

        from cnnlab.notices import SetupWarning, warn_user

        whose = "these weights (a run's that re-mapped RGB input)" if recorded is not None \
            else "torchvision's released weights"
        warn_user(
            f"{info.name}: {whose} expect its transform_input (each "
            "RGB channel re-mapped apart), which a model of "
            f"{conv.in_channels} input channel(s) cannot apply: it starts from a function "
            "near, not equal to, torchvision's on the same image (training adapts it)",
            SetupWarning)
        return False
    target.transform_input = True
    return True


def _to_model_keys(model: nn.Module, state: dict, info: ModelInfo) -> dict:
    """The weights under the model's names: as they are (a cnnlab checkpoint), or through
    whichever key map (torchvision's, pycls's for RegNets) names more of them."""
    maps = [info.torchvision_key_map] if info.torchvision_key_map else []
    if info.family in ("regnet", "anynet"):
        from cnnlab.models.regnet import pycls_regnet_key

        maps.append(pycls_regnet_key)
    own = model.state_dict().keys()
    best, matched = state, sum(k in own for k in state)
    for key_map in maps:
        mapped = {key_map(k): v for k, v in state.items()}
        if sum(k in own for k in mapped) > matched:
            best, matched = mapped, sum(k in own for k in mapped)
    return best


def _keep_fresh_head(model: nn.Module, own: dict, state: dict) -> bool:
    """Replace the weights' classifier by the model's own where their shapes differ (and
    so the auxiliary classifiers a model lists in ``auxiliary_heads``)."""
    renewed = False
    main = classifier_name(model)
    for head in ([main] if main is not None else []) + list(getattr(model, "auxiliary_heads", ())):
        prefix = head + "."
        theirs = {k: v.shape for k, v in state.items() if k.startswith(prefix)}
        ours = {k: v.shape for k, v in own.items() if k.startswith(prefix)}
        if theirs == ours:
            continue
        for k in theirs:
            del state[k]
        state.update({k: own[k] for k in ours})
        renewed = True
    return renewed


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """First-conv filters ``(out, c, kh, kw)`` remade for ``in_channels`` inputs.

    One channel: the sum over the ``c`` channels, so a grey image gives exactly the
    response the RGB-trained filters give to that grey copied into every channel.
    Other counts: the channels repeated cyclically and scaled by ``c / in_channels``,
    which keeps the response to an input whose channels are all equal.
    """
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    idx = torch.arange(in_channels) % weight.shape[1]
    return weight[:, idx] * (weight.shape[1] / in_channels)


# --- fine-tuning -------------------------------------------------------------------

def split_backbone_head(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(backbone parameters, classifier parameters), in ``model.parameters()`` order."""
    prefix = classifier_name(model)
    if prefix is None:
        raise ValueError(f"cannot tell the classifier of {type(model).__name__} from its "
                         "backbone (it has no get_classifier())")
    head = {id(p) for p in model.get_submodule(prefix).parameters()}
    if not head:
        raise ValueError(f"{type(model).__name__} has no classifier parameters "
                         "(built with num_classes=0?)")
    params = list(model.parameters())
    return [p for p in params if id(p) not in head], [p for p in params if id(p) in head]


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients everywhere but the classifier; returns how many values froze.

    Norm layers still update their running statistics in training mode, which lets a
    frozen ImageNet backbone adjust to the new data's statistics.
    """
    backbone, _ = split_backbone_head(model)
    for p in backbone:
        p.requires_grad_(False)
    return sum(p.numel() for p in backbone)
