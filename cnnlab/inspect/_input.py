"""What :func:`cnnlab.inspect.summary` is asked to measure: a model and one sample's shape.

A notebook user writes the size in many ways; each is read here into a model, one
sample's (C, H, W) and the batch size, or refused with an error saying what to give:

- ``(C, H, W)``: one sample, as the CLI's ``--input CxHxW``.
- ``S``: a square ``(C, S, S)``, with C read off the model's first convolution.
- ``(N, C, H, W)``, a ``torch.Size`` or a tensor: a shape with the batch in front, as
  torchinfo takes it and as a real batch has it, so it is accepted as batch N rather
  than refused. Only a tensor's shape is used, never its values.
- nothing: the size the model was built for by ``get_model`` (it records it).

A sample has one dim more than the first convolution has spatial dims, which is how
(C, H, W) and (N, C, H, W) are told apart. A model without a convolution (an MLP)
takes a sequence as one sample's shape, whatever its length.

The model may be a registered name, which is built with ``get_model`` at that size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.formatting import counted
from cnnlab.ops.conv import is_whole

Sample = tuple[int, ...]

FORMS = ("input_size is one sample's (C, H, W), such as (1, 28, 28); or S for (C, S, S); "
         "or an (N, C, H, W) shape or tensor, for a batch of N")


@dataclass(frozen=True)
class FirstConv:
    """What a model's first convolution says about its input: channels (None while a lazy
    conv does not know them) and spatial dims (2 for Conv2d), so a sample is 1 + dims long."""

    channels: int | None
    dims: int


def first_conv_input(model: nn.Module) -> FirstConv | None:
    """What the model's first convolution (:func:`cnnlab.models._base.first_conv`) says
    about its input; None for a model without one, an MLP say."""
    from cnnlab.models._base import first_conv as find_first_conv

    found = find_first_conv(model)
    if found is None:
        return None
    conv = found[1]
    return FirstConv(conv.in_channels if conv.in_channels > 0 else None, len(conv.kernel_size))


def first_conv_channels(model: nn.Module) -> int | None:
    conv = first_conv_input(model)
    return conv.channels if conv else None


def unbatched_fix(shape: tuple[int, ...], channels: int | None, name: str | None) -> str:
    """The fix for a model's input of 3 dimensions ``shape``, told apart by the
    ``channels`` its first convolution takes: one image, one channels-last image, or a
    batch of one-channel images without their channel dim (torchvision's
    FashionMNIST.data[:8] is (8, 28, 28): "x.unsqueeze(0)" made it (1, 8, 28, 28), and
    the next error asked for a model of 8 channels). ``name``: the model's registered one."""
    batch = "a model takes a batch (N, C, H, W)"
    if channels is None or shape[0] == channels:
        return f"{batch}; for one image give x.unsqueeze(0)"
    if shape[-1] == channels:
        return (f"{batch}; for one channels-last image (H, W, C) give "
                "x.permute(2, 0, 1).unsqueeze(0)")
    takes = f"{batch}, and its first convolution takes {_channels(channels)}"
    if shape[-1] in (1, 3, 4) and min(shape[:-1]) > 4:
        # (H, W, C) of another channel count: an RGB photo for a grey model was told to
        # be 28 one-channel images of 28x3 pixels
        code = channels_converted(shape[-1], channels, batched=False)
        image = f"for one channels-last image of {_channels(shape[-1])} (H, W, C)"
        if code is not None:
            return f"{takes}: {image} give x.permute(2, 0, 1){code}.unsqueeze(0)"
        return (f"{takes}: {image}, convert it to {_channels(channels)}, then give "
                "x.permute(2, 0, 1).unsqueeze(0)")
    # (1, H, W), (3, H, W) or (4, H, W) reads as one grey or RGB(A) image as well: told only
    # "x.unsqueeze(1)", a grey model gave 3 answers for one photo, without a word
    fixes = [f"for one image of {_channels(shape[0])} (C, H, W), convert it to "
             f"{_channels(channels)}, then give x.unsqueeze(0)"] if shape[0] in (1, 3, 4) else []
    if shape[0] > 1:  # and a batch of grey images, FashionMNIST.data[:4] say
        images = f"for {shape[0]} one-channel images (N, H, W) give x.unsqueeze(1)"
        # (an exported model or a user's own module has no registered name to rebuild by)
        built = (f" (get_model({name!r}, in_channels=1))" if name else
                 f", or convert them to {_channels(channels)}")
        fixes.append(images if channels == 1 else f"{images} to a model built for them{built}")
    return (f"{batch}; " if channels == 1 else f"{takes}: ") + "; ".join(fixes)


def _channels(count: int) -> str:
    return counted(count, "channel")


def channels_converted(has: int, wants: int, batched: bool) -> str | None:
    """Code to paste after a tensor of images of ``has`` channels first ((N, C, H, W)
    where ``batched``, else (C, H, W)) that makes them ``wants`` channels: grey to RGB,
    RGB or RGBA to grey, RGBA to RGB; "" for as many; None for a count without a usual
    conversion. (Permuted alone, RGB for a grey model still has 3 channels.)"""
    if has == wants:
        return ""
    if has == 1:
        return f".expand({'-1, ' if batched else ''}{wants}, -1, -1)"
    first_three, to_grey = ("[:, :3]", ".mean(1, keepdim=True)") if batched else \
        ("[:3]", ".mean(0, keepdim=True)")
    return {(3, 1): to_grey, (4, 1): first_three + to_grey, (4, 3): first_three}.get(
        (has, wants))


@dataclass(frozen=True)
class ShapeProblem:
    """Why one sample's (C, H, W) does not suit a model, read off the model alone:
    ``kind`` "channels-last" (an (H, W, C) whose last dim is the channels the first
    convolution takes), "channels" (another count), "too small" (a side below the
    registry's least) or "built for" (below it, for a model whose classifier reads the
    one size it was built for, ``built``)."""

    kind: str
    channels: int | None = None
    least: int | None = None
    built: tuple[int, ...] | None = None


def shape_problem(model: nn.Module, sample: Sample) -> ShapeProblem | None:
    """What is wrong with ``sample`` for ``model``, for the two places that say it with
    their own fix: summary's input_size (:func:`failure_hint`) and a model's forward on a
    tensor (:func:`cnnlab.models._base.input_hint`). None where the shape looks right."""
    channels = first_conv_channels(model)
    if channels is not None and channels != sample[0]:
        # Channels-last also where they are another count than the model's (an RGB photo
        # for a grey model): told it had 28 channels, a user was asked to build a model of
        # 28 (the rule check_min_input and unbatched_fix read (H, W, C) by)
        last = sample[-1] == channels or (len(sample) == 3 and sample[-1] <= 4 < min(sample[:-1]))
        return ShapeProblem("channels-last" if last else "channels", channels=channels)
    info = _registered(getattr(model, "cnnlab_name", None))
    if info is None or len(sample) != 3 or min(sample[1:]) >= info.min_input_size:
        return None
    built = getattr(model, "cnnlab_input_size", None)
    if info.sized_head and built is not None:  # its classifier reads one size only
        return ShapeProblem("built for", least=info.min_input_size, built=tuple(built))
    return ShapeProblem("too small", least=info.min_input_size)


def failure_hint(model: nn.Module, sample: Sample) -> str:
    """What to try when ``model`` failed on one ``sample`` (C, H, W): the channels its
    first convolution takes, or, for a model built by ``get_model`` (its ``cnnlab_name``),
    the smallest side it takes (``summary(get_model("alexnet_d2l"), (1, 28, 28))`` ended
    in torch's "Output size is too small", with nothing to say what size would do)."""
    problem = shape_problem(model, sample)
    if problem is None:
        return ""
    if problem.kind == "channels-last":  # "try (1, 28, 1)" kept the mistake in it
        return (f". Its first convolution takes {_channels(problem.channels)}, and this shape "
                f"looks channels-last (H, W, C): try input_size ({problem.channels}, "
                f"{', '.join(map(str, sample[:-1]))})")
    if problem.kind == "channels":
        return (f". Its first convolution takes {_channels(problem.channels)}: try input_size "
                f"({problem.channels}, {', '.join(map(str, sample[1:]))})")
    name, least = model.cnnlab_name, problem.least
    said = f". {name} takes inputs of at least {least}x{least} pixels"
    if problem.kind == "built for":
        return (f"{said}, and this one was built for {'x'.join(map(str, problem.built))} "
                f"(what summary(model) alone uses); summary({name!r}, ({sample[0]}, {least}, "
                f"{least})) builds one for that size")
    return f"{said}: try input_size ({sample[0]}, {least}, {least})"


def torch_error(cause: BaseException) -> BaseException:
    """The error a forward met: torch's own, not the ModelInputError a cnnlab model turns
    it into (whose fix is for a tensor x; summary says its own, for input_size)."""
    from cnnlab.models import ModelInputError

    return cause.__cause__ if isinstance(cause, ModelInputError) and cause.__cause__ else cause


def _registered(name):
    """The registry's entry for a model's ``cnnlab_name``; None for a model of one's own,
    or a name the registry no longer resolves (timm gone)."""
    if not isinstance(name, str):
        return None
    from cnnlab.models import model_info

    try:
        return model_info(name)
    except Exception:
        return None


def resolve(model: nn.Module | str, input_size, batch_size: int | None
            ) -> tuple[nn.Module, Sample, int]:
    """The model to run, one sample's shape and the batch size, from summary's arguments."""
    if isinstance(model, str):
        return _build_named(model, input_size, batch_size)
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary takes an nn.Module or a registered model name such as "
                        f"'lenet_d2l', not {type(model).__name__}")
    if input_size is None:
        built = getattr(model, "cnnlab_input_size", None)
        if built is None:
            raise ValueError(f"summary needs input_size for this {type(model).__name__}: only "
                             f"a model built by get_model knows the size it was made for. "
                             f"Give (C, H, W), e.g. summary(model, (1, 28, 28))")
        return model, tuple(built), batch_size or 1
    sample, batch = sample_shape(input_size, first_conv_input(model))
    return model, sample, _batch(input_size, batch, batch_size)


def sample_shape(input_size, conv: FirstConv | None) -> tuple[Sample, int | None]:
    """One sample's shape and the batch the size itself gives (None for a sample).

    With a first convolution the rank tells a sample (C, H, W) from a batch (N, C, H, W).
    Without one (an MLP) a sequence is taken as one sample, whatever its length, and a
    tensor as a batch, as the model itself would take it.
    """
    if isinstance(input_size, torch.Tensor):
        if conv is None and input_size.dim() >= 2:
            return tuple(input_size.shape[1:]), int(input_size.shape[0])
        if conv is not None and input_size.dim() not in (conv.dims + 1, conv.dims + 2):
            raise ValueError(f"summary reads the shape of an (N, C, H, W) or (C, H, W) tensor, "
                             f"got one of shape {tuple(input_size.shape)}")
        input_size = tuple(input_size.shape)
    if is_whole(input_size):
        if conv is None:  # an MLP, say: a side means nothing to it
            raise ValueError(f"input_size={input_size} means (C, {input_size}, {input_size}), "
                             f"but this model has no convolution to read C off; give one "
                             f"sample's shape: (C, H, W) for images (e.g. (1, {input_size}, "
                             f"{input_size})), or ({input_size},) if {input_size} is its "
                             f"number of input features")
        if conv.channels is None:
            raise ValueError(f"input_size={input_size} means (C, {input_size}, {input_size}), "
                             f"but C cannot be read off this model's first convolution (a "
                             f"lazy one); give (C, H, W), e.g. (3, {input_size}, "
                             f"{input_size})")
        input_size = (conv.channels, *(input_size,) * conv.dims)
    if not isinstance(input_size, Sequence) or isinstance(input_size, str) \
            or not all(is_whole(s) for s in input_size):
        raise TypeError(f"{FORMS}; got {input_size!r}")
    size = tuple(int(s) for s in input_size)
    if not size or min(size) < 1:
        raise ValueError(f"{FORMS}, with every size >= 1; got {size}")
    if conv is None:
        return size, None
    if len(size) == conv.dims:
        c = "C" if conv.channels is None else conv.channels
        raise ValueError(f"input_size {size} has no channels: give (C, H, W), e.g. "
                         f"({c}, {', '.join(map(str, size))})")
    if len(size) not in (conv.dims + 1, conv.dims + 2):
        raise ValueError(f"{FORMS}; got {size}")
    return (size[1:], size[0]) if len(size) == conv.dims + 2 else (size, None)


def _batch(input_size, from_size: int | None, batch_size: int | None) -> int:
    if from_size is not None and batch_size is not None and from_size != batch_size:
        raise ValueError(f"input_size {tuple(getattr(input_size, 'shape', input_size))} has a "
                         f"batch of {from_size} but batch_size={batch_size}; give one sample's "
                         f"(C, H, W) with batch_size, or the batch's shape alone")
    return from_size or batch_size or 1


def check_min_input(name: str, sample: Sample, least: int, option: str = "input") -> None:
    """Refuse a (C, H, W) ``sample`` for registered model ``name`` that reads as
    channels-last (no image has more than 4 channels), or is smaller than its ``least``
    side, before it is built (a pooling layer's "output size is too small" otherwise)."""
    if len(sample) != 3:
        return
    said = f"{option} {'x'.join(map(str, sample))}"
    if sample[-1] <= 4 < min(sample[:-1]):
        # (28, 28, 1): "too small" alone misled, and where the model could take 28x1 a
        # network of 28 input channels was summarised as asked
        turned = (sample[-1], *sample[:-1])
        meant = "x".join(map(str, turned)) if option.startswith("--") else str(turned)
        raise ValueError(f"{said} reads as C x H x W, {sample[0]} channels of "
                         f"{sample[1]}x{sample[2]}: for {sample[-1]} channel(s) give {meant}")
    if min(sample[1:]) < least:
        raise ValueError(f"{said} is too small for {name} (at least {least}x{least} pixels)")


def _build_named(name: str, input_size, batch_size: int | None
                 ) -> tuple[nn.Module, Sample, int]:
    from cnnlab.models import get_model, model_info

    info = model_info(name)
    if input_size is None:
        sample, batch = tuple(info.input_size), None
    else:
        sample, batch = sample_shape(input_size, FirstConv(info.input_size[0], 2))
    check_min_input(name, sample, info.min_input_size)
    options = {}
    if sample[0] != info.input_size[0]:
        options["in_channels"] = sample[0]
    if info.sized_head and sample[1:] != tuple(info.input_size[1:]):
        options["image_size"] = sample[1:]  # its classifier is sized for the image
    # Its initialisation on a fork of the RNG: a look at a model's summary must not change
    # the weights a seeded notebook draws next (summary's promise; the named case broke it).
    with torch.random.fork_rng(devices=[]):
        model = get_model(name, **options)
    return model, sample, _batch(input_size, batch, batch_size)

