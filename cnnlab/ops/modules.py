"""Layers built on the from-scratch ops, and a switch that puts them into any model.

:class:`Conv2d`, :class:`MaxPool2d`, :class:`AvgPool2d` (both :class:`Pool2d`),
:class:`AdaptiveAvgPool2d` and :class:`~cnnlab.ops.norm.BatchNorm` take the same
arguments and hold the same parameters and buffers, under the same names, as
their ``torch.nn`` counterparts, so state_dicts load either way.

:func:`convert_to_scratch` swaps those layers into an existing model in place,
keeping every module name and the very same parameter and buffer tensors, so
the state_dict (keys and values) and any optimizer built on the parameters are
unchanged. Only exact ``torch.nn`` types are swapped: a subclass may override
``forward`` (weight standardisation, say), and replacing it would change the
model. What it cannot swap is reported by :func:`unconverted_modules`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.pooling import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _LPPoolNd,
    _MaxPoolNd,
    _MaxUnpoolNd,
)

from cnnlab.notices import SetupWarning, warn_user
from cnnlab.ops._from_scratch import FromScratch
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d
from cnnlab.ops.conv import IntPair, Padding, as_pair, conv2d, is_whole, resolve_padding
from cnnlab.ops.fast_pool import MaxPool2x2
from cnnlab.ops.fft import fft_conv2d
from cnnlab.ops.norm import BatchNorm
from cnnlab.ops.pool import check_pool_args, pool2d
from cnnlab.ops.scratch_check import unconverted_calls


class Conv2d(FromScratch, nn.Module):
    """A 2-D convolution layer on :func:`~cnnlab.ops.conv2d` (or ``fft_conv2d``).

    Arguments (``in_channels``, ``out_channels``, ``kernel_size``, ``stride``,
    ``padding``, ``dilation``, ``groups``, ``bias``, ``device``, ``dtype``), parameters
    (``weight`` (C_out, C_in / groups, kh, kw), ``bias`` (C_out,)) and initialisation
    are those of ``nn.Conv2d``; with the same seed both draw the same weights.
    ``padding_mode`` is "zeros" only (others are a ValueError). ``fft=True`` computes it
    by the convolution theorem.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        fft: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d supports padding_mode='zeros' only, not {padding_mode!r}")
        if not is_whole(groups) or groups < 1:
            raise ValueError(f"groups must be a positive whole number, got {groups!r}")
        groups = int(groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride, self.dilation = as_pair(stride, "stride"), as_pair(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else as_pair(padding, "padding")
        resolve_padding(self.padding, self.kernel_size, self.stride, self.dilation)  # fail now
        self.groups, self.padding_mode, self.fft = groups, padding_mode, fft
        factory = {"device": device, "dtype": dtype}
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = nn.Parameter(torch.empty(shape, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw new weights as ``nn.Conv2d`` does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        # nn.Conv2d's scheme, in its order (weight first), so a seed gives equal weights:
        # kaiming-uniform with a=sqrt(5).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_torch(cls, conv: nn.Conv2d, fft: bool = False) -> Conv2d:
        """A Conv2d holding ``conv``'s own parameter tensors (not copies); ``fft`` as for
        the constructor."""
        if conv.padding_mode != "zeros":
            raise ValueError(f"cannot convert {conv}: padding_mode={conv.padding_mode!r}")
        with torch.device("meta"):  # skip allocating and initialising throwaway weights
            new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, conv.bias is not None, fft=fft)
        new.weight = conv.weight
        new.bias = conv.bias
        return new.train(conv.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        op = fft_conv2d if self.fft else conv2d
        return op(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def counted_flops(self, output: torch.Tensor) -> int:
        """The FLOPs torch's counter counts for the ``nn.Conv2d`` this layer stands for,
        given its ``output`` (2 per multiply-accumulate, the bias not counted), whichever
        method computed it:
        the shift method's in-place products escape the counter, on a padded grid, and
        FFTs are not counted at all. ``cnnlab summary`` reports these."""
        return 2 * output.numel() * self.weight[0].numel()

    def extra_repr(self) -> str:
        # nn.Conv2d's wording: its printout is the same but for the "scratch" mark
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text + (", fft=True" if self.fft else "")


class Pool2d(FromScratch, nn.Module):
    """Max or average pooling on :func:`~cnnlab.ops.pool2d`; no parameters.

    ``mode`` is "max" or "avg"; ``kernel_size``, ``stride`` (None: the kernel size),
    ``padding``, ``dilation``, ``ceil_mode`` and ``count_include_pad`` mean what they
    mean for ``nn.MaxPool2d`` / ``nn.AvgPool2d`` (:func:`~cnnlab.ops.pool2d` checks them).
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        mode: str = "max",
        dilation: IntPair = 1,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ):
        super().__init__()
        check_pool_args(kernel_size, stride, padding, mode, dilation)  # fail now, not in forward
        # As nn's pooling keeps it: no stride means the window (it printed "stride=None").
        stride = kernel_size if stride is None else stride
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.mode, self.dilation, self.ceil_mode = mode, dilation, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool2d(x, self.kernel_size, self.stride, self.padding, self.mode, self.dilation,
                      self.ceil_mode, self.count_include_pad)

    def counted_flops(self, output: torch.Tensor) -> int:
        """0, whatever the ``output``: torch's counter counts no pooling (see
        :meth:`Conv2d.counted_flops`)."""
        return 0

    def extra_repr(self) -> str:
        # nn.MaxPool2d's and nn.AvgPool2d's wording, as Conv2d's, so a converted model
        # prints as the original but for the "scratch" mark; an average pool's settings
        # beyond nn's three are added where they differ from the default (its printout
        # had shown a dilation it cannot have and hidden count_include_pad=False).
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if type(self) is Pool2d:  # the class name does not say which pooling
            text = f"mode={self.mode!r}, {text}"
        if self.mode == "max":
            return text + f", dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        return text + ("" if self.count_include_pad else ", count_include_pad=False")


class MaxPool2d(Pool2d):
    """``nn.MaxPool2d``'s arguments (without ``return_indices``), from scratch: see
    :class:`Pool2d` for ``kernel_size``, ``stride``, ``padding``, ``dilation``,
    ``ceil_mode``."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, dilation: IntPair = 1, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, "max", dilation, ceil_mode)


class AvgPool2d(Pool2d):
    """``nn.AvgPool2d``'s arguments (without ``divisor_override``), from scratch: see
    :class:`Pool2d` for ``kernel_size``, ``stride``, ``padding``, ``ceil_mode``,
    ``count_include_pad``."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, "avg", 1, ceil_mode, count_include_pad)


class AdaptiveAvgPool2d(FromScratch, nn.Module):
    """``nn.AdaptiveAvgPool2d`` on :func:`~cnnlab.ops.adaptive_pool.adaptive_avg_pool2d`: an
    ``output_size`` of S or (H, W) (None keeps that axis's size)."""

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    counted_flops = Pool2d.counted_flops  # averaging bins is no layer's MACs

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# ---------------------------------------------------------------- conversion


def _pool_from_torch(pool: nn.Module) -> nn.Module | None:
    # In the pool's own mode, as the conv and norm swaps are: a model converted after
    # .eval() had its pools alone back in training mode.
    if type(pool) in (nn.MaxPool2d, MaxPool2x2) and not pool.return_indices:
        new = MaxPool2d(pool.kernel_size, pool.stride, pool.padding, pool.dilation,
                        pool.ceil_mode)
    elif type(pool) is nn.AvgPool2d and pool.divisor_override is None:
        new = AvgPool2d(pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode,
                        pool.count_include_pad)
    elif type(pool) is nn.AdaptiveAvgPool2d:
        new = AdaptiveAvgPool2d(pool.output_size)
    else:
        return None
    return new.train(pool.training)


def _batch_norm_from_torch(bn: nn.Module) -> BatchNorm | None:
    if type(bn) not in (nn.BatchNorm1d, nn.BatchNorm2d):
        return None
    # BatchNorm1d takes (N, C) and (N, C, L): leave the rank open (num_dims=None).
    num_dims = 4 if type(bn) is nn.BatchNorm2d else None
    new = BatchNorm(bn.num_features, num_dims=num_dims, eps=bn.eps, momentum=bn.momentum,
                    affine=bn.affine, track_running_stats=bn.track_running_stats)
    # Hand over the very same tensors (values, device, dtype and identity kept).
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        setattr(new, name, getattr(bn, name))
    return new.train(bn.training)


def scratch_equivalent(module: nn.Module, fft: bool = False) -> nn.Module | None:
    """The from-scratch replacement for one layer, sharing its tensors; None if there is none."""
    if type(module) is nn.Conv2d and module.padding_mode == "zeros":
        return Conv2d.from_torch(module, fft=fft)
    return _pool_from_torch(module) or _batch_norm_from_torch(module)


def convert_to_scratch(model: nn.Module, fft: bool = False, strict: bool = False,
                       input_size: tuple[int, ...] | None = None) -> nn.Module:
    """Replace, in place, every layer that has a from-scratch equivalent; returns ``model``.

    Swaps ``nn.Conv2d`` (zero padding), ``nn.MaxPool2d`` (without indices),
    ``nn.AvgPool2d`` (without divisor override), ``nn.AdaptiveAvgPool2d`` and
    ``nn.BatchNorm1d/2d`` for the classes above, recursively, under the same names
    and sharing the same parameter and buffer tensors. A module that appears twice
    gets one replacement, still shared. Hooks registered on replaced modules are
    not carried over.

    What stays PyTorch's is then reported (a warning): the layers it could not swap
    (:func:`unconverted_modules`) and, where the input size is known, the calls a
    ``forward`` makes to PyTorch's convolution, pooling or normalisation functions
    itself, named by layer and line (:func:`~cnnlab.ops.scratch_check.unconverted_calls`,
    a forward on the meta device: no arithmetic, the model's tensors untouched).

    Args:
        model: converted in place (pass ``copy.deepcopy(model)`` to keep the original).
        fft: make the convolutions (also those already from scratch) use
            :func:`~cnnlab.ops.fft_conv2d`.
        strict: raise a TypeError instead of warning when anything is left to PyTorch
            (a forward the check cannot run is warned of: its layers are converted).
        input_size: one sample's (C, H, W), for checking the forward's calls; by default
            the size a registered model is built for (``get_model`` records it), and
            without either only the layers are checked.
    """
    if scratch_equivalent(model, fft) is not None:
        raise TypeError(f"convert_to_scratch converts a model's submodules in place, but the "
                        f"model itself is a {type(model).__name__}; wrap it in nn.Sequential")
    replaced: dict[int, nn.Module] = {}
    for parent in list(model.modules()):
        # _modules, not named_children(), which yields a module registered under two
        # names once: the second name kept PyTorch's layer (and strict refused the model).
        for name, child in list(parent._modules.items()):
            if child is None:  # a slot registered empty (nn.Module allows it)
                continue
            if id(child) not in replaced:
                replaced[id(child)] = scratch_equivalent(child, fft) or child
            if replaced[id(child)] is not child:
                setattr(parent, name, replaced[id(child)])
    for module in model.modules():
        if isinstance(module, Conv2d):  # converted now or earlier: all follow ``fft``
            module.fft = fft
    problems = []
    left = unconverted_modules(model)
    if left:
        listing = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in left.items())
        problems.append(f"left these layers to PyTorch: {listing}")
    input_size = input_size or getattr(model, "cnnlab_input_size", None)
    if input_size is not None:
        problems.extend(_calls_left(model, tuple(input_size)))
    if problems:
        message = "convert_to_scratch " + "; and ".join(problems)
        if strict:
            raise TypeError(message)
        warn_user(message, SetupWarning)
    return model


def _calls_left(model: nn.Module, input_size: tuple[int, ...]) -> list[str]:
    """What :func:`convert_to_scratch` says of the forward's own calls to PyTorch. A
    forward the check cannot run is warned of, never refused (``strict`` is about what
    is left, and the converted layers are not in doubt)."""
    try:
        calls = unconverted_calls(model, input_size)
    except Exception as exc:  # noqa: BLE001 - any failure of the trial forward is reported
        warn_user(f"convert_to_scratch converted the layers but could not check the calls a "
                  f"forward makes itself: its trial forward of a {'x'.join(map(str, input_size))}"
                  f" input on the meta device (shapes, no values) raised {type(exc).__name__}: "
                  f"{exc}. The forward reads a value (.item(), float(), an if on a tensor), "
                  "keeps a tensor outside its parameters and buffers (register_buffer puts it "
                  "in), or takes another input size (input_size=)", SetupWarning)
        return []
    if not calls:
        return []
    listing = "; ".join(f"{func} in {', '.join(places)}" for func, places in calls.items())
    return [f"left these calls in forward code to PyTorch's functions (only a layer can be "
            f"swapped; make each call a layer, e.g. nn.AdaptiveAvgPool2d): {listing}"]


# Layer families a "from-scratch" model would be expected to implement itself.
_SPATIAL_KINDS = (_ConvNd, _NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm,
                  _MaxPoolNd, _AvgPoolNd, _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd, _LPPoolNd,
                  _MaxUnpoolNd)


def unconverted_modules(model: nn.Module) -> dict[str, list[str]]:
    """``model``'s convolution, pooling and normalisation layers still run by PyTorch:
    type name -> the modules' qualified names ("<model>" for the model itself).

    Only modules are seen: an op called functionally inside a ``forward`` (say
    ``F.adaptive_avg_pool2d``) is invisible here and stays PyTorch's;
    :func:`~cnnlab.ops.scratch_check.unconverted_calls` finds those.
    """
    left: dict[str, list[str]] = {}
    for name, module in model.named_modules():
        if isinstance(module, _SPATIAL_KINDS):
            left.setdefault(type(module).__name__, []).append(name or "<model>")
    return left
