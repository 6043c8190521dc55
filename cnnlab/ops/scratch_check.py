"""Which convolution, pooling and normalisation a model's forward still leaves to PyTorch.

:func:`~cnnlab.ops.modules.unconverted_modules` looks at a model's layers, but a
``forward`` may also call PyTorch's kernels itself: torchvision's DenseNet pools its
features with ``F.adaptive_avg_pool2d``, and a converted model would then be said to
run on cnnlab's ops when part of it does not. :func:`unconverted_calls` runs the model
once and records every such call, with the layer and the line of source that made it.

The run costs no arithmetic: the parameters, buffers and input are swapped for tensors
on the meta device (shapes only) for that one call, so the model's own tensors, running
statistics included, are left as they were, and the check takes milliseconds even for a
network of hundreds of millions of parameters.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

# The conv, pool and norm functions of torch and torch.nn.functional (linear, the
# activations and plain tensor maths have no from-scratch counterpart to stand for).
_WATCHED_NAMES = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "convolution",
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d",
    "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "batch_norm", "instance_norm", "group_norm", "layer_norm", "local_response_norm",
)


def _watched() -> dict[object, str]:
    """Function object -> the name a message prints (F's first: F.avg_pool2d is
    torch._C._nn.avg_pool2d, and F.conv2d is torch.conv2d)."""
    found: dict[object, str] = {}
    for prefix, namespace in (("F", F), ("torch", torch), ("torch._C._nn", torch._C._nn)):
        for name in _WATCHED_NAMES:
            func = getattr(namespace, name, None)
            if func is not None and func not in found:
                found[func] = f"{prefix}.{name}"
    return found


_WATCHED = _watched()
_OPS_DIR = os.path.dirname(os.path.abspath(__file__))  # cnnlab/ops: calls from here are ours
_THIS_FILE = os.path.abspath(__file__)
_TORCH_DIRS = (os.path.dirname(os.path.abspath(torch.__file__)) + os.sep,)


def _short(path: str) -> str:
    """``path`` from its package on (``torchvision/models/densenet.py``), for a message."""
    path = os.path.abspath(path)
    for root in sorted(sys.path, key=len, reverse=True):
        root = os.path.abspath(root or os.curdir) + os.sep
        if root != os.sep and path.startswith(root):
            return path[len(root):].replace(os.sep, "/")
    return path


class _Recorder(TorchFunctionMode):
    """Records each watched call that model code makes itself, as "layer (file:line)"."""

    def __init__(self, names: dict[int, str], ours: set):
        super().__init__()
        self.names = names  # id(module) -> its qualified name in the model
        self.ours = ours  # code objects of _quick's stand-ins
        self.calls: dict[str, list[str]] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _WATCHED:
            where = self._where()
            if where is not None:
                places = self.calls.setdefault(_WATCHED[func], [])
                if where not in places:
                    places.append(where)
        # Nested calls (F.max_pool2d calling torch.max_pool2d) run with this mode off:
        # each call is recorded once, by the name the model's code used.
        return func(*args, **(kwargs or {}))

    def _where(self) -> str | None:
        """The innermost layer of the model running the call and the line outside torch
        that made it. None for a call that cnnlab's ops make, or that a layer of
        torch.nn makes in its own forward (``unconverted_modules`` reports those)."""
        frame, site = sys._getframe(2), None
        while frame is not None:
            path = os.path.abspath(frame.f_code.co_filename)
            if frame.f_code in self.ours:  # a stand-in of _quick_layers
                return None
            if path == _THIS_FILE:  # back in unconverted_calls: the model's own forward
                break
            if os.path.dirname(path) == _OPS_DIR:
                return None
            if site is None and not path.startswith(_TORCH_DIRS):
                site = f"{_short(path)}:{frame.f_lineno}"
            owner = frame.f_locals.get("self")
            if isinstance(owner, nn.Module) and id(owner) in self.names:
                return None if site is None else f"{self.names[id(owner)] or '<model>'} ({site})"
            frame = frame.f_back
        return None if site is None else f"<model> ({site})"


def _quick(module: nn.Module):
    """For the trial forward, PyTorch's function standing in for a from-scratch layer,
    with its shapes and dtypes: cnnlab's ops are dozens of elementwise steps each, which
    the meta device runs in Python (1-2 s more for GoogLeNet), and which of them run is
    no concern of the check. None for other layers."""
    from cnnlab.ops.modules import AdaptiveAvgPool2d, Conv2d, Pool2d
    from cnnlab.ops.norm import BatchNorm

    m = module
    if type(m) is Conv2d:
        return lambda x: F.conv2d(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
    if isinstance(m, Pool2d) and m.mode == "max":
        return lambda x: F.max_pool2d(x, m.kernel_size, m.stride, m.padding, m.dilation,
                                      m.ceil_mode)
    if isinstance(m, Pool2d):
        return lambda x: F.avg_pool2d(x, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                      m.count_include_pad)
    if type(m) is AdaptiveAvgPool2d:
        return lambda x: F.adaptive_avg_pool2d(x, m.output_size)
    if type(m) is BatchNorm:
        return lambda x: x.clone()  # its output is its input's shape, dtype and layout
    return None


@contextmanager
def _quick_layers(model: nn.Module) -> Iterator[set]:
    """Each from-scratch layer of ``model`` computing with :func:`_quick` for a while
    (its ``forward`` shadowed on the instance); yields the stand-ins' code objects."""
    shadowed = []
    for module in model.modules():
        quick = _quick(module)
        if quick is not None and "forward" not in vars(module):
            module.forward = quick
            shadowed.append(module)
    try:
        yield {m.forward.__code__ for m in shadowed}
    finally:
        for module in shadowed:
            del module.forward


def unconverted_calls(model: nn.Module, input_size: tuple[int, ...]) -> dict[str, list[str]]:
    """The convolution, pooling and normalisation functions of PyTorch that the code of
    ``model``'s forward calls itself (``F.adaptive_avg_pool2d(x, 1)`` in a ``forward``):
    function name -> where, as "layer (file:line)", the innermost layer of ``model``
    running the call ("<model>" for its own forward) and the line that made it.

    The calls a layer of ``torch.nn`` makes in its own forward are left out (it is
    listed by :func:`~cnnlab.ops.modules.unconverted_modules`, by type), and so are
    those cnnlab's ops make. A subclass with a forward of its own (torchvision's
    ``LayerNorm2d``) shows in both: here, where it calls PyTorch.

    ``input_size`` is one sample's shape, (C, H, W). A batch of 2 goes through on the
    meta device (see the module docstring) once in training mode and once in evaluation
    mode (GoogLeNet's auxiliary heads run in training only), each layer's own mode
    restored afterwards; forward hooks on the model run too. Raises what the forward
    raises when it cannot run on the meta device (a ``.item()``, a tensor kept outside
    the parameters and buffers).
    """
    names = {id(m): name for name, m in model.named_modules(remove_duplicate=False)}
    tensors = {name: torch.empty_like(t, device="meta") for name, t in itertools.chain(
        model.named_parameters(remove_duplicate=False),
        model.named_buffers(remove_duplicate=False)) if t is not None}
    # In the parameters' dtype (a model in float64 refuses a float32 input).
    dtype = next((t.dtype for t in tensors.values() if t.is_floating_point()),
                 torch.get_default_dtype())
    x = torch.empty((2, *input_size), device="meta", dtype=dtype)
    modes = [(m, m.training) for m in model.modules()]
    try:
        with _quick_layers(model) as ours:
            recorder = _Recorder(names, ours)
            for training in (True, False):
                model.train(training)
                with torch.no_grad(), recorder:
                    functional_call(model, tensors, (x,), tie_weights=False)
    finally:
        for module, training in modes:
            module.training = training
    return recorder.calls
