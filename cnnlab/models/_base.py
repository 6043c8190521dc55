"""The interface every cnnlab model shares, and the initialisations builders use.

Trainer, summary, CLI and tests only rely on these five members, so any network
(book form, standard form, from-scratch ops) plugs into the same tools:

- ``forward_features(x)``: the body, image batch -> feature map (or vector).
- ``forward_head(x, pre_logits=False)``: feature map -> logits; with
  ``pre_logits=True`` stop just before the final linear layer, returning
  ``num_features`` values per sample (used for transfer learning and probes).
- ``get_classifier()``: the classifier module (the final linear layer, or the
  Sequential ending in it): pretrained loading and fine-tuning tell head from
  backbone by it.
- ``reset_classifier(num_classes)``: replace the final linear layer.
- ``num_features``: the width of the vector the final linear layer reads.

Module names are part of the checkpoint format (they become state_dict keys), so
standard variants keep torchvision's names (``fc``, ``classifier``) and each family
implements the head members around them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

from cnnlab.models._registry import ModelOptionError, keyword_options
from cnnlab.ops.conv import autocast_on, is_whole


class Network(nn.Module):
    """Base class: subclasses implement ``forward_features`` and the head members.

    Every cnnlab model has this interface (timm's): ``model(x)`` is
    ``forward_head(forward_features(x))``; ``num_features`` is the width of the
    vector the classifier reads.
    """

    num_features: int

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature maps of the batch ``x`` (N, C, H, W), before the head."""
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Logits (N, classes) from ``forward_features``' output ``x``; with
        ``pre_logits``, the (N, num_features) vectors the classifier would read."""
        raise NotImplementedError

    def get_classifier(self) -> nn.Module:
        """The final layer, which makes the logits."""
        raise NotImplementedError

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier by a fresh one for ``num_classes`` classes, initialised
        as the builder initialised the network (transfer to a new dataset)."""
        raise NotImplementedError

    # The initialisation the whole network got (kaiming_init, ...), which init_head gives
    # every new head, so reset_classifier makes the head the builder would have made.
    # None: PyTorch's default Linear init. Set per instance by initialise, the one way a
    # family initialises its network; no family overrides init_head.
    head_init = None

    def initialise(self, init: Callable[[nn.Module], nn.Module]) -> Network:
        """Apply ``init`` (kaiming_init, xavier_init, ...) to the whole network and keep
        it for the heads reset_classifier makes later. Returns the network."""
        init(self)
        self.head_init = init
        return self

    def init_head(self, head: nn.Module) -> nn.Module:
        """``head``, a fresh classifier, initialised as the builder initialised this
        network's; returned."""
        return head if self.head_init is None else self.head_init(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.fx.Proxy) or torch.compiler.is_compiling():
            return self.forward_unchecked(x)  # no try under a tracer
        try:
            return self.forward_unchecked(x)
        # IndexError: torchvision's transform_input reads x[:, 1] and x[:, 2] of one channel
        except (RuntimeError, ValueError, IndexError) as exc:
            if isinstance(exc, (ModelInputError, torch.OutOfMemoryError)):
                raise  # an inner model's own words; memory, whatever the input
            # A notebook's model(images[:8]) on a dataset's uint8 pixels, one image without
            # its batch dim or a channels-last array failed deep in torch ("Input type
            # (unsigned char) and bias type (float) should be the same"). Only a failed
            # forward is looked at, so a working one costs nothing.
            hint = input_hint(self, x)
            if hint is None:
                raise
            name = getattr(self, "cnnlab_name", None) or type(self).__name__
            raise ModelInputError(f"{name} cannot take this input, {described(x)}: "
                                  f"{hint}") from exc

    def forward_unchecked(self, x: torch.Tensor):
        """What ``forward`` computes, ``forward_head(forward_features(x))``; ``forward``
        runs it and, where it fails, names what is wrong with ``x``. A family whose forward
        returns more (GoogLeNet's auxiliary logits in training) overrides this, so its
        inputs are checked as every model's are."""
        return self.forward_head(self.forward_features(x))


class ModelInputError(ValueError, RuntimeError):
    """An input a model cannot take (shape, dtype, device, channels), saying how to make
    one it can. A ValueError, and the RuntimeError torch raised for it before."""


def input_hint(model: nn.Module, x: object) -> str | None:
    """How to turn ``x``, which ``model`` failed on, into the (N, C, H, W) float batch on
    the model's device that it takes; None where ``x`` looks right (the failure is
    elsewhere, and the model's own error says it)."""
    if not isinstance(x, torch.Tensor):
        return None
    # (inspect imports the models)
    from cnnlab.inspect._input import first_conv_channels, shape_problem, unbatched_fix

    if x.dim() == 3:  # one image, or a batch without its channel dim: the model tells
        return unbatched_fix(tuple(x.shape), first_conv_channels(model),
                             getattr(model, "cnnlab_name", None))
    hint = layout_hint(x)
    if hint is not None:
        return hint

    problem = shape_problem(model, tuple(x.shape[1:]))
    if problem is not None:
        return _shape_fix(model, problem, x)
    param = next(model.parameters(), None)
    if param is not None and x.device != param.device:
        return f"the model is on {param.device}: move the input, x.to({str(param.device)!r})"
    if (param is not None and param.is_floating_point() and x.dtype != param.dtype
            and not autocast_on(x)):  # autocast takes a half input to float32 weights
        return (f"the model's parameters are {str(param.dtype).removeprefix('torch.')}: "
                f"give x.to({param.dtype}) or convert the model")
    return None


def layout_hint(x: torch.Tensor) -> str | None:
    """The fix for an ``x`` that is no float (N, C, H, W) batch, which no model takes (an
    exported one either: :class:`cnnlab.onnx_run.OnnxModel`); None for one that is."""
    if x.dim() in (2, 3):
        one = "x[None, None]" if x.dim() == 2 else "x.unsqueeze(0)"
        return f"a model takes a batch (N, C, H, W); for one image give {one}"
    if x.dim() != 4:
        return f"a model takes a batch (N, C, H, W), not {x.dim()} dimensions"
    if not x.is_floating_point():
        return ("pixels as a dataset holds them (0..255) are converted first: x.float() / "
                "255, then normalised as the model trained (a run's preprocess does both)")
    return None


def described(x: torch.Tensor) -> str:
    """``x`` as a ModelInputError names it: shape, dtype and device."""
    return f"shape {tuple(x.shape)}, {str(x.dtype).removeprefix('torch.')} on {x.device}"


def _shape_fix(model: nn.Module, problem, x: torch.Tensor) -> str:
    """A :class:`cnnlab.inspect._input.ShapeProblem` of a batch ``x``, and its fix."""
    if problem.kind == "channels-last":
        from cnnlab.inspect._input import channels_converted

        has, wants = x.shape[-1], problem.channels
        convert = channels_converted(has, wants, batched=True)
        if convert is None:
            convert = f", its {has} channels converted to {wants}"
        return (f"it takes {problem.channels} channel(s) first, (N, C, H, W), and this looks "
                f"channels-last (N, H, W, C): give x.permute(0, 3, 1, 2){convert}")
    if problem.kind == "channels":
        own = getattr(model, "cnnlab_name", None)
        named = repr(own) if own else "name"
        return (f"its first convolution takes {problem.channels} channel(s), this input has "
                f"{x.shape[1]}: build the model for them (get_model({named}, "
                f"in_channels={x.shape[1]})) or convert the images")
    name, least = model.cnnlab_name, problem.least
    if problem.kind == "built for":  # resizing to the least would fail in its classifier
        size = "x".join(map(str, problem.built[1:]))
        return (f"{name} takes images of at least {least}x{least} pixels, and this one was "
                f"built for {size} (its classifier reads that size only): resize them to "
                f"{size}, or to a side S of at least {least} and build one for it: "
                f"get_model({name!r}, image_size=S)")
    return (f"{name} takes images of at least {least}x{least} pixels: resize them "
            "(torch.nn.functional.interpolate, or a run's --resize)")


class PooledFcNet(Network):
    """``avgpool`` (global average pooling) -> flatten -> ``fc``.

    The head of ResNet (book, torchvision and pre-activation forms), AnyNet/RegNet and
    the book's GoogLeNet (torchvision's adds a dropout before ``fc``, so it is a plain
    :class:`Network`); ``num_features`` is the width of the pooled vector. Subclasses
    set ``avgpool``, ``fc`` and ``num_features``; the names are torchvision's, so
    state_dicts match.
    A fresh head gets the builder's init (:meth:`Network.init_head`).
    """

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        self.fc = self.init_head(linear_head(self.num_features, num_classes))


class FlattenClassifierNet(Network):
    """``features`` -> optional ``avgpool`` -> flatten -> ``classifier``.

    The layout of LeNet, AlexNet and VGG, in the book and in torchvision alike:
    ``classifier`` is an ``nn.Sequential`` whose last layer is the final linear layer,
    so the pre-logits output is everything before it. Subclasses set ``features``,
    ``classifier`` and ``num_features`` (and ``avgpool`` if they pool before
    flattening); a fresh head gets the builder's init (:meth:`Network.init_head`).
    """

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        # getattr: a registered submodule lives in _modules, so a class-level default
        # would shadow it.
        avgpool = getattr(self, "avgpool", None)
        if avgpool is not None:
            # PyTorch's pool only: cnnlab's from-scratch one (ops) pools any sizes on MPS.
            size = avgpool.output_size if isinstance(avgpool, nn.AdaptiveAvgPool2d) else None
            x = adaptive_pool(avgpool, x, size)
        x = torch.flatten(x, 1)
        self._check_flattened(x)
        return self.classifier[:-1](x) if pre_logits else self.classifier(x)

    def _check_flattened(self, x: torch.Tensor) -> None:
        """Without a pool before it (the book's LeNet, AlexNet, VGG), the classifier's first
        layer is sized for the input size the network was built for: another size failed
        deep in torch ("mat1 and mat2 shapes cannot be multiplied (1x256 and 6400x4096)")."""
        if (isinstance(x, torch.fx.Proxy) or torch.jit.is_tracing()
                or torch.compiler.is_compiling()):
            return  # a tracer records the graph: a branch on its shapes would break it
        first = next((m for m in self.classifier if hasattr(m, "in_features")), None)
        if first is not None and x.shape[1] != first.in_features:
            raise ValueError(
                f"{type(self).__name__}'s classifier reads {first.in_features:,} features, "
                f"what the input size it was built for flattens to, but this input gives "
                f"{int(x.shape[1]):,}: build the model for this size (get_model(name, "
                "image_size=SIZE); `cnnlab train --resize` does so) or feed images of the "
                "size it was built for")

    def get_classifier(self) -> nn.Module:
        return self.classifier[-1]

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier[-1] = self.init_head(linear_head(self.num_features, num_classes))


def build_from_config(cfg, cls: type[nn.Module], num_classes: int, in_channels: int,
                      **overrides) -> nn.Module:
    """``cls(cfg, num_classes, in_channels)`` with the overrides applied: the builder of
    every family that keeps its architecture in a config dataclass and passes the rest
    to the constructor.

    An override names a field of the config dataclass ``cfg`` (``depths=(2, 4)``), set
    with ``dataclasses.replace``, or a keyword argument of ``cls`` (``norm_layer``,
    ``zero_init_residual``), passed to it. Anything else is a :class:`ModelOptionError`
    listing both, which ``get_model`` reports under the model's name.
    """
    fields = [f.name for f in dataclasses.fields(cfg)]
    keywords = keyword_options(cls)
    unknown = sorted(set(overrides) - set(fields) - set(keywords))
    if unknown:
        raise ModelOptionError(type(cfg).__name__, unknown[0], sorted({*fields, *keywords}))
    cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if k in fields})
    return cls(cfg, num_classes, in_channels,
               **{k: v for k, v in overrides.items() if k not in fields})


def require_whole(owner: str, name: str, value, least: int = 1) -> None:
    """A ValueError naming ``owner.name`` unless ``value`` (a number, or a sequence of them
    such as one per stage) is whole numbers >= ``least``. Without it a builder took 1.5
    blocks as 1 (int()), a depth of 0 as 1 (the first block is always built) and a width
    of 0 or less failed deep in torch ("Trying to create tensor with negative dimension")."""
    many = isinstance(value, (tuple, list))
    values = value if many else (value,)
    # Plain ints first, without is_whole's ABC check: a design sweep validates thousands
    # of drawn configs, and the check per value was a tenth of a RegNetX draw's time.
    if all(type(v) is int for v in values):
        if min(values, default=least) >= least:
            return
    elif all(is_whole(v) and v >= least for v in values):
        return
    what = "whole numbers" if many else "a whole number"
    raise ValueError(f"{owner}.{name} must be {what} >= {least}, got {value!r}")


def adaptive_pool(pool: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                  output_size: int | tuple[int | None, int | None] | None) -> torch.Tensor:
    """``pool(x)`` for an adaptive pool to ``output_size``. Apple's MPS refuses one whose
    input is not a multiple of its output ("Adaptive pool MPS: input sizes must be
    divisible by output sizes", every torch release; pytorch/pytorch#96056): VGG's 7x7
    pool after a map of 2 to 5 (--resize 64 to 160). There it pools on the CPU, the
    gradient following the copies."""
    if isinstance(x, torch.fx.Proxy):  # torch.fx traces the pool; no device to ask
        return pool(x)
    if refused_on(x.device, tuple(x.shape[-2:]), output_size):
        return pool(x.cpu()).to(x.device)
    return pool(x)


def refused_on(device: torch.device, size: tuple[int, int],
               output_size: int | tuple[int | None, int | None] | None) -> bool:
    """Whether ``device`` refuses an adaptive pool from ``size`` to ``output_size``. On
    the safe side: MPS also takes an input smaller than the output when the output is a
    multiple of it (1 to 7, 2 to 6), which this sends to the CPU too (a copy each way in
    a few small models: VGG at 32 pixels, AlexNet at 64 to 128), not knowing since which
    release it does."""
    if device.type != "mps" or output_size is None:
        return False
    sizes = (output_size, output_size) if isinstance(output_size, int) else output_size
    return any(out is not None and n % out for n, out in zip(size, sizes, strict=True))


def linear_head(in_features: int, num_classes: int) -> nn.Module:
    """The final classifier layer; ``num_classes=0`` leaves the pre-logits features as
    the output (timm's convention for a headless model)."""
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0, got {num_classes}")
    return nn.Linear(in_features, num_classes) if num_classes else nn.Identity()


def xavier_init(model: nn.Module) -> nn.Module:
    """The book's ``init_cnn``: Xavier-uniform weights on every Conv2d and Linear.

    The book gets it from ``apply_init``, which runs a forward pass first to
    materialise its lazy layers (the ``net.apply(init_cnn)`` in some of its
    constructors meets still-lazy layers and does nothing); our layers are built
    materialised, so this applies at once. Biases keep PyTorch's default, as in the
    book.
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
    return model


def kaiming_init(model: nn.Module, zero_init_last_bn: bool = False,
                 zero_conv_bias: bool = True) -> nn.Module:
    """He (fan-out) init for convs, BN to identity, small normal for linear layers.

    The scheme torchvision's ResNet and VGG and pycls's AnyNet use. ``zero_init_last_bn``
    zeroes the final BN gamma of each residual block (blocks mark it by setting
    ``bn.is_last_bn = True``), which makes each block start as the identity.
    ``zero_conv_bias=False`` keeps PyTorch's default conv biases (torchvision's and
    pycls's RegNet leave their squeeze-excitation biases so; VGG zeroes its).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None and zero_conv_bias:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)
    if zero_init_last_bn:
        for m in model.modules():
            if getattr(m, "is_last_bn", False):
                nn.init.zeros_(m.weight)
    return model


def first_conv(model: nn.Module) -> tuple[str, nn.Module] | None:
    """The model's first convolution and its name; None for a model without one (an MLP).

    Any kind of convolution counts, so the one found is never a later one by mistake: a
    module with an int ``in_channels`` and a tuple ``kernel_size`` (``nn.Conv1d/2d/3d``,
    a lazy conv whose ``in_channels`` is still 0, cnnlab's from-scratch Conv2d, which is
    no ``nn.Conv2d``). Registration order stands for the order of the forward pass, as it
    does in every cnnlab and torchvision model. Callers add the checks their use needs.
    """
    return next(((n, m) for n, m in model.named_modules()
                 if isinstance(getattr(m, "in_channels", None), int)
                 and isinstance(getattr(m, "kernel_size", None), tuple)), None)


def replace_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` at the dotted path ``name`` of ``model`` (what nn.Module.set_submodule
    does from torch 2.5 on; pyproject admits torch 2.4)."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if not isinstance(getattr(parent, child, None), nn.Module):
        raise AttributeError(f"{type(model).__name__} has no submodule {name!r}")
    setattr(parent, child, module)


def plain_first_convolution(model: nn.Module, purpose: str) -> tuple[str, nn.Conv2d]:
    """The model's first convolution (:func:`first_conv`) and its name, if it is a plain
    ``nn.Conv2d`` with ``groups=1``; otherwise a ``ValueError`` naming it and ``purpose``
    ("padding")."""
    found = first_conv(model)
    if found is None:
        raise ValueError(f"{type(model).__name__} has no convolution for {purpose}")
    name, conv = found
    if type(conv) is not nn.Conv2d or conv.groups != 1:  # from-scratch, grouped, padded
        kind = f"{type(conv).__module__}.{type(conv).__name__}"
        raise ValueError(f"the first convolution ({name}) is {kind} with groups="
                         f"{getattr(conv, 'groups', 1)}; only a plain nn.Conv2d with "
                         f"groups=1 allows {purpose}")
    return name, conv


class InputTooSmallError(ValueError, RuntimeError):
    """An image_size a network's poolings and kernels shrink to nothing. A ValueError (a
    setting to change) and the RuntimeError torch raised for it before, for callers that
    caught that."""


@torch.no_grad()
def flattened_size(module: nn.Module, in_channels: int,
                   image_size: int | tuple[int, int]) -> int:
    """How many features ``module`` gives one ``in_channels`` x ``image_size`` image, once
    flattened (``image_size``: H and W, or one int for both).

    Book variants whose classifier flattens a feature map use this at construction
    to size their first Linear layer, instead of the book's LazyLinear: the model is
    then complete (parameter count, init) before it ever sees data.
    """
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    input_shape = (in_channels, *size)
    was_training = module.training
    module.eval()
    try:
        out = module(torch.zeros(1, *input_shape))
    except RuntimeError as exc:
        # Too many poolings or too large a kernel for this size: torch names the layer's
        # sizes ("Output size is too small"), not the image_size that was asked for.
        # (Older torch, 2.4, says it as a layer's "negative dimension".)
        if not any(words in str(exc) for words in (
                "too small", "Kernel size can't be greater", "negative dimension")):
            raise
        raise InputTooSmallError(
            f"image_size {input_shape[-2]}x{input_shape[-1]} is too small for this network: "
            f"its convolutions and poolings shrink it to nothing ({exc}); build it for a "
            "larger image_size, or with fewer poolings or smaller kernels") from exc
    finally:
        module.train(was_training)
    return out[0].numel()
