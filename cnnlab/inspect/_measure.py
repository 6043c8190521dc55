"""The measuring behind :func:`cnnlab.inspect.summary`: two passes, row roll-up, the flow line.

- :func:`shape_pass`: eval mode, no grad, forward hooks on every module under
  :class:`~torch.utils.flop_counter.FlopCounterMode`. Each hook reads the counter's running
  total on entry and exit; a module's own FLOPs are what ran between the two minus what its
  child modules took, so every counted op lands in exactly one module (the innermost one
  running) and per-layer counts add up to the total at any display depth.
- :func:`saved_activation_bytes`: the unique storages autograd keeps for backward, under
  :func:`~torch.autograd.graph.saved_tensors_hooks` (``cnnlab bench memory`` counts with
  it too); :func:`training_memory` runs it in train mode and restores BatchNorm buffers
  and the RNG state afterwards.
- :func:`rolled_rows` partitions the modules into table rows; :func:`flow` reads the
  resolution changes off the shape pass's call events.

Nothing here knows the public result types (``summary.py`` builds those from what is
returned), so this module imports nothing from the package and cannot form a cycle.
"""

from __future__ import annotations

import itertools
import sys
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.autograd.graph import saved_tensors_hooks
from torch.utils.flop_counter import FlopCounterMode

Shape = tuple[int, ...]


@dataclass(eq=False)
class Node:
    """What the hooks learn about one module (shared modules appear once)."""

    name: str
    module: nn.Module
    depth: int
    is_leaf: bool
    params: int = 0
    trainable: int = 0
    order: int | None = None  # rank of its first call
    calls: int = 0
    own_flops: int = 0
    output_shapes: list[Shape] = field(default_factory=list)
    output_bytes: int = 0


# A module's call: its node, the shape of its first input and of its first output.
Event = tuple[Node, Shape | None, Shape | None]


class ForwardFailed(Exception):
    """The shape pass's forward raised; ``where`` is the innermost module still running
    (None when it failed before any module was entered). The original error is the cause."""

    def __init__(self, where: Node | None):
        super().__init__("forward pass failed" if where is None
                         else f"forward pass failed in module {where.name or '<model>'!r}")
        self.where = where


# --------------------------------------------------------------------------- input


def default_device_dtype(model: nn.Module, device, dtype) -> tuple[torch.device, torch.dtype]:
    """``device``/``dtype`` where given, else those of the model's first floating tensor."""
    ref = next((t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()),
               None)
    if device is None:
        device = ref.device if ref is not None else torch.device("cpu")
    if dtype is None:
        dtype = ref.dtype if ref is not None else torch.float32
    return torch.device(device), dtype


def random_input(input_size, batch_size, device, dtype) -> torch.Tensor:
    if not input_size or any(s < 1 for s in input_size):
        raise ValueError(f"input_size must be positive sizes such as (1, 28, 28), "
                         f"not {input_size}")
    if torch.device(device).type == "meta":  # shapes alone: no values drawn on the CPU
        return torch.empty(batch_size, *input_size, device="meta", dtype=dtype)
    # A private generator leaves the global RNG stream untouched.
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch_size, *input_size, generator=gen).to(device=device, dtype=dtype)


# --------------------------------------------------------------------------- passes


def shape_pass(model: nn.Module, x: torch.Tensor) -> tuple[list[Node], list[Event], int]:
    """One hooked eval-mode forward: the nodes, the call events in order, the total FLOPs.

    Raises :class:`ForwardFailed` (caused by the model's own error) if the forward raises.
    A model with lazy layers (``nn.LazyConv2d``, as the book writes its networks) gets
    their shapes from one forward first, as the book's own first call gives them.
    """
    if any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()):
        was_training = model.training
        try:  # the RNG its initialisation draws from left as it was (summary's promise)
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                model.eval()(x)
        except Exception as e:
            raise ForwardFailed(None) from e
        finally:
            model.train(was_training)
    nodes = _make_nodes(model)
    # [node, flops at entry, flops taken by child calls, input shape, error being handled]
    stack: list[list] = []
    failed: tuple[BaseException, Node] | None = None  # an error and where it was raised
    events: list[Event] = []
    counter, first_calls = FlopCounterMode(display=False), itertools.count()
    # A from-scratch layer (cnnlab.ops) says what torch counts for the layer it stands
    # for; the difference from what its own ops counted is carried here.
    correction = 0

    def total() -> int:
        return counter.get_total_flops() + correction

    def pre_hook(node):
        def hook(module, args, kwargs):
            if node.order is None:
                node.order = next(first_calls)
            shape = _first_shape((args, kwargs))
            # The error being handled as it starts: another one at its end is its own.
            stack.append([node, total(), 0, shape, sys.exc_info()[1]])
        return hook

    def post_hook(node):
        def hook(module, args, kwargs, output):
            # A child that raised left its frame as it raised (below); none stays above ours.
            while stack and stack[-1][0] is not node:
                stack.pop()
            nonlocal correction, failed
            _, start, children, in_shape, handling = stack.pop()
            raised = sys.exc_info()[1]
            if raised is not None and raised is not handling:
                # Called as it raises (always_call): its ops become its caller's, and a
                # sibling run after the caller catches it counts with the caller, not here.
                if failed is None or not _caused_by(raised, failed[0]):
                    # the innermost module the error left (a model that raises it again
                    # in its own words, as a cnnlab Network's ModelInputError, is not it)
                    failed = (raised, node)
                return None
            inclusive = total() - start
            if hasattr(module, "counted_flops") and isinstance(output, torch.Tensor):
                counted = module.counted_flops(output)
                correction += counted - (inclusive - children)
                inclusive = children + counted
            node.own_flops += inclusive - children
            if stack:
                stack[-1][2] += inclusive
            tensors = _tensors(output)
            if node.calls == 0:
                node.output_shapes = [tuple(t.shape) for t in tensors]
            node.calls += 1
            node.output_bytes += sum(t.numel() * t.element_size() for t in tensors)
            events.append((node, in_shape, tuple(tensors[0].shape) if tensors else None))
        return hook

    handles = []
    for node in nodes:
        handles.append(node.module.register_forward_pre_hook(pre_hook(node), with_kwargs=True))
        handles.append(node.module.register_forward_hook(post_hook(node), with_kwargs=True,
                                                         always_call=True))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(x)
    except Exception as e:
        raise ForwardFailed(failed[1] if failed and _caused_by(e, failed[0]) else None) from e
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return nodes, events, total()


def _caused_by(error: BaseException, raised: BaseException) -> bool:
    """Whether ``error`` is ``raised``, or was raised from it (``raise ... from``)."""
    while error is not None:
        if error is raised:
            return True
        error = error.__cause__
    return False


def _make_nodes(model: nn.Module) -> list[Node]:
    nodes, seen_params = [], set()
    for name, module in model.named_modules():
        node = Node(name, module, name.count(".") + 1 if name else 0,
                    is_leaf=next(module.children(), None) is None)
        # Each parameter belongs to the first module that holds it: tied weights count once.
        for p in module.parameters(recurse=False):
            if id(p) not in seen_params:
                seen_params.add(id(p))
                node.params += p.numel()
                node.trainable += p.numel() if p.requires_grad else 0
        nodes.append(node)
    return nodes


def saved_activation_bytes(model: nn.Module, forward: Callable[[], Any],
                           inputs: Iterable[torch.Tensor] = ()) -> tuple[int, Any]:
    """(bytes autograd saves for backward while ``forward()`` runs, its output): the one
    counter of training activations, behind ``summary``'s "Training activations" and
    ``cnnlab bench memory``.

    Every tensor an op (or a checkpoint, for its inputs) saves is seen, on any device.
    Each storage counts once: several ops often save views of one buffer (a ReLU's output
    is also the next conv's input). Counted are the storages still held for backward
    when ``forward()`` returns: a branch computed and dropped (a probe, a head whose
    output is not returned) frees what it saved, and counting it had made the number
    larger than what a training step keeps. Not counted: ``model``'s parameters and
    buffers, which are not activations; ``inputs``, where both callers pass the input
    batch: the caller holds it whether autograd saves it or not, and ``summary`` shows it
    on its own line ("Input size"); and what is kept for backward outside saved tensors,
    such as the RNG state a ``torch.utils.checkpoint`` stores (5,056 bytes each on a
    CPU). The output keeps its graph, so the caller can run backward.
    """
    exclude = {_storage_key(t) for t in (*model.parameters(), *model.buffers(), *inputs)}
    # storage -> (its bytes, the saved tensors viewing it). Autograd holds what the pack
    # hook returns for as long as the graph node that saved it lives, so a weak reference
    # tells, at the end, which storages backward still needs.
    saved: dict[tuple, tuple[int, list[weakref.ref]]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        # Detached (same storage, no grad_fn; backward does not need it): an op's output
        # returned as it is closes a loop, output -> grad_fn -> saved output, that no
        # garbage collection breaks, so a graph never run backward (summary's) leaked.
        t = t.detach()
        # Sparse and other non-strided tensors have no storage; an empty one holds nothing.
        if t.layout == torch.strided and t.untyped_storage().nbytes():
            key = _storage_key(t)
            if key not in exclude:
                nbytes, refs = saved.get(key, (0, []))
                if not any(r() is not None for r in refs):  # new, or a freed one's address
                    nbytes, refs = t.untyped_storage().nbytes(), []
                saved[key] = (nbytes, [*refs, weakref.ref(t)])
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    held = sum(nbytes for nbytes, refs in saved.values() if any(r() is not None for r in refs))
    return held, out


def training_memory(model: nn.Module, x: torch.Tensor) -> tuple[int, str]:
    """:func:`saved_activation_bytes` of ``model(x)`` (the input not counted), and the
    mode used: train, or eval where train mode cannot run (BatchNorm over a single value
    per channel at batch 1). BatchNorm buffers (or the tensors a from-scratch BatchNorm
    keeps as plain attributes) and the RNG state are restored afterwards.
    """
    # Every buffer (non-persistent ones too) and tensor kept as a plain attribute (the book's
    # from-scratch BatchNorm rebinds its moving_mean and moving_var there): one rebound is put
    # back; only a changed one is written to (an unchanged expanded view or inference tensor
    # refuses a write): a buffer by value (NaN as NaN, meta: none; BatchNorm bumps no version;
    # quantized or sparse, which isclose cannot compare, written back), an attribute by version.
    buffers = [(m, name, b, b.detach().clone()) for m in model.modules()
               for name, b in m._buffers.items() if b is not None]
    attributes = [(m, name, value, value.detach().clone(), _version(value))
                  for m in model.modules() for name, value in list(vars(m).items())
                  if isinstance(value, torch.Tensor)]
    was_training = model.training
    devices = [x.device] if x.device.type == "cuda" else []
    try:
        for mode in ("train", "eval"):
            model.train(mode == "train")
            try:
                with torch.random.fork_rng(devices=devices), torch.enable_grad():
                    nbytes, _ = saved_activation_bytes(model, lambda: model(x), (x,))
            except ValueError:  # BatchNorm: "Expected more than 1 value per channel"
                if mode == "eval":
                    raise
                continue
            return nbytes, mode
    finally:
        model.train(was_training)
        with torch.no_grad():  # undo running-statistics updates of the train-mode pass
            for module, name, value, saved in buffers:
                module._buffers[name] = value
                try:
                    same = value.is_meta or bool(value.isclose(saved, 0, 0, True).all())
                except (RuntimeError, NotImplementedError):
                    same = False
                if not same:
                    value.copy_(saved)
            for module, name, value, saved, version in attributes:
                setattr(module, name, value)
                if _version(value) != version:
                    value.copy_(saved)
    raise AssertionError("unreachable")


def _version(t: torch.Tensor) -> int | None:
    """``t``'s count of in-place changes; None for an inference tensor, which keeps none
    (and cannot be changed outside inference mode)."""
    try:
        return t._version
    except RuntimeError:
        return None


def _storage_key(t: torch.Tensor) -> tuple | None:
    """One storage, whichever view of it ``t`` is; None for a sparse one, which has none."""
    return (t.device, t.untyped_storage().data_ptr()) if t.layout == torch.strided else None


def _tensors(obj) -> list[torch.Tensor]:
    """Tensors inside nested tuples / lists / dicts (models with several outputs)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    return []


def _first_shape(obj) -> Shape | None:
    tensors = _tensors(obj)
    return tuple(tensors[0].shape) if tensors else None


# --------------------------------------------------------------------------- rows


class RowCounts(NamedTuple):
    """One table row before formatting: a node and what it shows (rolled up or its own)."""

    node: Node
    params: int
    trainable: int
    flops: int
    leaf_bytes: int  # bytes output by the leaf modules inside this row
    own: bool  # only what a container does itself, outside its children


def rolled_rows(nodes: list[Node], depth: int | None) -> list[RowCounts]:
    """Rows that partition the model, so every column sums to its total."""
    limit = float("inf") if depth is None else depth
    rolled = {n.name: [0, 0, 0, 0] for n in nodes}  # params, trainable, flops, leaf bytes
    for n in nodes:
        own = (n.params, n.trainable, n.own_flops, n.output_bytes if n.is_leaf else 0)
        for anc in _self_and_ancestors(n.name):
            rolled[anc] = [a + b for a, b in zip(rolled[anc], own, strict=True)]
    rows = []
    for key, n in zip(_sort_keys(nodes), nodes, strict=True):
        if n.depth == limit or (n.is_leaf and n.depth < limit):
            rows.append((key, RowCounts(n, *rolled[n.name], own=False)))
        elif n.depth < limit and (n.params or n.own_flops):
            rows.append((key, RowCounts(n, n.params, n.trainable, n.own_flops, 0, own=True)))
    return [row for _, row in sorted(rows, key=lambda kr: kr[0])]


def _self_and_ancestors(name: str) -> list[str]:
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts), -1, -1)]


def _sort_keys(nodes: list[Node]) -> list[tuple[int, int, int]]:
    # Execution order; a module never called (an unused auxiliary head) goes right after
    # the called module registered before it.
    keys, last = [], -1
    for i, n in enumerate(nodes):
        if n.order is not None:
            last = n.order
            keys.append((n.order, 0, i))
        else:
            keys.append((last, 1, i))
    return keys


# --------------------------------------------------------------------------- flow


def flow(model: nn.Module, x: torch.Tensor, events: list[Event]) -> list[Shape]:
    """Per-sample shapes where the network changes resolution, e.g. for VGG-11 at 224:
    1x224x224 → 64x112x112 → ... → 512x7x7 → 25088 → 4096 → 4096 → 10.

    The network is read as a chain of *units*: the model's children, looking through plain
    containers (``nn.Sequential`` with its stock forward, ``ModuleList``, ``ModuleDict``).
    A residual or inception block is one unit, so the flow shows stage outputs, not the
    inside of a bottleneck. Walking each unit's input and output, a shape is kept when its
    spatial size (all but the channel dim) or its rank changes (a functional flatten shows up
    as the next unit's input), after every ``nn.Linear``, and after a block (a unit with
    layers of its own) that changes the channels: ResNet-50's first stage shows its 64 to
    256 at 56x56, a dense block its growth, where the stage's first shape alone had hidden
    them; a lone conv's channels still count for nothing (VGG's flow is its blocks').
    """
    units = _flow_units(model)
    shapes: list[Shape] = [tuple(x.shape[1:])]
    for node, in_shape, out_shape in events:
        if id(node.module) not in units:
            continue
        block = next(node.module.children(), None) is not None
        for shape, is_output in ((in_shape, False), (out_shape, True)):
            if shape is not None and len(shape) > 1:
                shape = shape[1:]
                widened = is_output and block and len(shape) == len(shapes[-1]) > 1 \
                    and shape != shapes[-1]
                if (is_output and isinstance(node.module, nn.Linear)) or widened \
                        or _new_stage(shapes[-1], shape):
                    shapes.append(shape)
    final = events[-1][2] if events else None  # the model's own output comes last
    if final is not None and tuple(final[1:]) != shapes[-1]:
        shapes.append(tuple(final[1:]))
    return shapes


def _flow_units(model: nn.Module) -> set[int]:
    # A wrapper names the children that hold the network (a tv: model's torchvision
    # body): looked through, or its whole flow would be one unit (3x224x224 → 512 → 1000).
    looked_through = getattr(model, "flow_looks_through", ())
    units, todo = set(), [grandchild for name, child in model.named_children()
                          for grandchild in (child.children() if name in looked_through
                                             else [child])]
    while todo:
        m = todo.pop()
        plain_sequential = isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward
        # A ModuleList or ModuleDict with a forward of its own (torchvision's dense block)
        # is a block, not a container to look through.
        plain_list = isinstance(m, (nn.ModuleList, nn.ModuleDict)) and \
            type(m).forward is nn.Module.forward
        if plain_sequential or plain_list:
            todo.extend(m.children())
        else:
            units.add(id(m))
    return units


def _new_stage(a: Shape, b: Shape) -> bool:
    """Whether ``b`` starts a new stage after ``a``: another resolution (channels alone do
    not count, at 1x1 as at 56x56: a dense block's layers at 1x1 each showed), a vector
    of another length, or a flattened map (not its 512x1x1 map flattened to 512)."""
    if len(a) == len(b):
        return a[1:] != b[1:] if len(b) > 1 else a != b
    return _squeeze_tail(a) != _squeeze_tail(b)


def _squeeze_tail(s: Shape) -> Shape:
    # 512x1x1 and its flattened 512 are the same stage.
    while len(s) > 1 and s[-1] == 1:
        s = s[:-1]
    return s
