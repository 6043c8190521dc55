"""Layer-by-layer complexity of a network: output shapes, parameters, MACs, memory.

``summary(model, (C, H, W))`` runs the model twice on one random batch:

1. An eval-mode, no-grad *shape pass* under :class:`torch.utils.flop_counter.FlopCounterMode`,
   with forward hooks on every module. Each hook reads the counter's running total on entry
   and exit; a module's own MACs are what ran between the two minus what its child modules
   took. Every counted op therefore lands in exactly one module (the innermost one running),
   so per-layer MACs add up to the total exactly, at any display depth. Eval mode makes
   BatchNorm work at batch 1 and keeps running statistics untouched.
2. A train-mode *memory pass* with autograd on, under
   :func:`torch.autograd.graph.saved_tensors_hooks`, summing the unique storages autograd
   keeps for backward (parameters, buffers and the input are excluded: they are counted
   elsewhere). BatchNorm buffers and the RNG state are restored afterwards, so a summary has
   no side effects. Where train mode cannot run (BatchNorm over a single value per channel at
   batch 1), the pass falls back to eval mode and says so.

MACs follow torchvision's "GFLOPS" column and pycls (ANCHORS §3): one multiply-add per
weight use in convolutions and matrix products; FlopCounterMode reports 2 FLOPs per MAC,
and element-wise work (bias, BatchNorm, activations, pooling) is not counted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from rich import box
from rich.console import Console, Group
from rich.table import Table
from torch import nn
from torch.autograd.graph import saved_tensors_hooks
from torch.utils.flop_counter import FlopCounterMode

Shape = tuple[int, ...]


class SummaryError(RuntimeError):
    """The model could not run on the requested input; names the module that failed."""


@dataclass
class LayerRow:
    """One row of the table: a module, with its children rolled up when depth hides them.

    ``own`` rows hold only what a container does itself, outside its children (a parameter
    it owns directly, a functional matmul in its ``forward``), so that rows always add up.
    """

    name: str  # qualified module name ("layer1.0.conv1"); "" for the model itself
    type: str
    depth: int  # 0 for the model, 1 for its children, ...
    output_shapes: list[Shape]  # of the first call, batch included; [] if never called
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int  # bytes of the tensors output by the leaf modules in this row
    calls: int
    own: bool = False

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None


@dataclass
class SummaryTotals:
    params: int
    trainable_params: int
    macs: int
    param_bytes: int
    input_bytes: int
    # Sum of every leaf module's output: simple, but counts in-place outputs and views too.
    forward_activation_bytes: int
    # What autograd really keeps for backward at this batch size; None on the meta device.
    training_activation_bytes: int | None
    training_pass_mode: str | None  # "train", or "eval" when train mode could not run

    def megabytes(self) -> dict[str, float | None]:
        """The byte totals in MB (10^6 bytes, as torchinfo and most papers quote them)."""
        return {k.replace("_bytes", "_mb"): None if v is None else v / 1e6
                for k, v in asdict(self).items() if k.endswith("_bytes")}


@dataclass
class ModelSummary:
    model_name: str
    input_size: Shape
    batch_size: int
    dtype: str
    depth: int | None
    rows: list[LayerRow]
    totals: SummaryTotals
    flow: list[Shape]  # per-sample shapes where the resolution changes (see _flow)

    def flow_str(self) -> str:
        return " → ".join("x".join(map(str, s)) for s in self.flow)

    def to_table(self) -> Table:
        t = self.totals
        frozen = t.trainable_params != t.params
        table = Table(
            title=f"{self.model_name}  ·  input {fmt_shape(self.input_size)}"
            f"  ·  batch {self.batch_size}  ·  {self.dtype}",
            box=box.SIMPLE_HEAD,
            show_footer=True,
        )
        table.add_column("Layer", footer="Total", no_wrap=True)
        table.add_column("Type", no_wrap=True)
        table.add_column("Output shape")
        table.add_column("Params", justify="right", footer=fmt_count(t.params))
        if frozen:
            table.add_column("Trainable", justify="right", footer=fmt_count(t.trainable_params))
        table.add_column("MACs", justify="right", footer=fmt_count(t.macs))
        table.add_column("Activations", justify="right",
                         footer=fmt_bytes(t.forward_activation_bytes))
        for r in self.rows:
            label = r.name or r.type
            label = "  " * max(r.depth - 1, 0) + label + (" (own)" if r.own else "")
            cells = [label, r.type, fmt_shapes(r.output_shapes), fmt_count(r.params)]
            if frozen:
                cells.append(fmt_count(r.trainable_params))
            cells += [fmt_count(r.macs), fmt_bytes(r.activation_bytes)]
            table.add_row(*cells)
        return table

    def totals_table(self) -> Table:
        t = self.totals
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("Parameters", f"{t.params:,} ({t.trainable_params:,} trainable)")
        grid.add_row("MACs", f"{fmt_count(t.macs)} ({t.macs:,}) at batch {self.batch_size}")
        grid.add_row("Parameter size", fmt_bytes(t.param_bytes))
        grid.add_row("Input size", fmt_bytes(t.input_bytes))
        grid.add_row("Forward activations",
                     f"{fmt_bytes(t.forward_activation_bytes)} (sum of layer outputs)")
        grid.add_row("Training activations", "not measured on the meta device"
                     if t.training_activation_bytes is None else
                     f"{fmt_bytes(t.training_activation_bytes)} "
                     f"(saved for backward, {t.training_pass_mode} mode)")
        grid.add_row("Flow", self.flow_str())
        return grid

    def renderable(self) -> Group:
        return Group(self.to_table(), self.totals_table())

    def __str__(self) -> str:
        buf = io.StringIO()
        console = Console(file=buf, width=200, no_color=True, highlight=False,
                          force_terminal=False, emoji=False)
        console.print(self.renderable())
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())

    def to_dict(self) -> dict:
        totals = asdict(self.totals) | self.totals.megabytes()
        return {
            "model": self.model_name,
            "input_size": list(self.input_size),
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "depth": self.depth,
            "flow": [list(s) for s in self.flow],
            "flow_str": self.flow_str(),
            "rows": [asdict(r) | {"output_shapes": [list(s) for s in r.output_shapes]}
                     for r in self.rows],
            "totals": totals,
        }


def summary(
    model: nn.Module,
    input_size: Sequence[int],
    *,
    depth: int | None = None,
    batch_size: int = 1,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> ModelSummary:
    """Per-layer output shapes, parameters, MACs and activation memory of ``model``.

    Args:
        model: any ``nn.Module`` taking one image batch; its mode, buffers and the global
            RNG state are left as they were.
        input_size: one sample's shape, (C, H, W).
        depth: ``None`` shows every leaf module; ``1`` the model's children with their
            descendants rolled up; ``0`` one row for the whole model.
        batch_size: batch used for shapes, MACs and memory (all scale with it).
        device, dtype: of the random input; default: those of the model's parameters
            (CPU, float32 for a model without any). ``"meta"`` works for shapes and MACs.
    """
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be None or >= 0, not {depth}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    input_size = tuple(int(s) for s in input_size)
    device, dtype = _default_device_dtype(model, device, dtype)
    x = _random_input(input_size, batch_size, device, dtype)

    nodes, events, total_flops = _shape_pass(model, x)
    leaf_bytes = sum(n.output_bytes for n in nodes if n.is_leaf)
    params = {id(p): p for p in model.parameters()}.values()
    totals = SummaryTotals(
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        macs=total_flops // 2,
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        input_bytes=x.numel() * x.element_size(),
        forward_activation_bytes=leaf_bytes,
        training_activation_bytes=None,
        training_pass_mode=None,
    )
    if x.device.type != "meta":  # meta tensors share no real storage to tell apart
        totals.training_activation_bytes, totals.training_pass_mode = _training_memory(model, x)
    return ModelSummary(
        model_name=getattr(model, "cnnlab_name", type(model).__name__),
        input_size=input_size,
        batch_size=batch_size,
        dtype=str(dtype).removeprefix("torch."),
        depth=depth,
        rows=_build_rows(nodes, depth),
        totals=totals,
        flow=_flow(model, x, events),
    )


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Parameters of ``model``, shared ones counted once (as ``model.parameters()`` yields)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: Sequence[int], batch_size: int = 1) -> int:
    """MACs of one eval-mode forward pass; cheap on a model built on the meta device."""
    device, dtype = _default_device_dtype(model, None, None)
    x = _random_input(tuple(input_size), batch_size, device, dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


# --------------------------------------------------------------------------- passes


@dataclass(eq=False)
class _Node:
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


def _default_device_dtype(model, device, dtype):
    ref = next((t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()),
               None)
    if device is None:
        device = ref.device if ref is not None else torch.device("cpu")
    if dtype is None:
        dtype = ref.dtype if ref is not None else torch.float32
    return torch.device(device), dtype


def _random_input(input_size, batch_size, device, dtype) -> torch.Tensor:
    if not input_size or any(s < 1 for s in input_size):
        raise ValueError(f"input_size must be positive sizes such as (1, 28, 28), "
                         f"not {input_size}")
    # A private generator leaves the global RNG stream untouched.
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch_size, *input_size, generator=gen).to(device=device, dtype=dtype)


def _shape_pass(model: nn.Module, x: torch.Tensor):
    nodes = _make_nodes(model)
    stack: list[list] = []  # [node, flops at entry, flops taken by child calls, input shape]
    events: list[tuple[_Node, Shape | None, Shape | None]] = []
    counter = FlopCounterMode(display=False)

    def pre_hook(node):
        def hook(module, args, kwargs):
            if node.order is None:
                node.order = sum(n.order is not None for n in nodes)
            shape = _first_shape((args, kwargs))
            stack.append([node, counter.get_total_flops(), 0, shape])
        return hook

    def post_hook(node):
        def hook(module, args, kwargs, output):
            # Frames above ours belong to children that raised and were caught by the model;
            # their ops stay inside our inclusive count and become our own.
            while stack and stack[-1][0] is not node:
                stack.pop()
            _, start, children, in_shape = stack.pop()
            inclusive = counter.get_total_flops() - start
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
        handles.append(node.module.register_forward_hook(post_hook(node), with_kwargs=True))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(x)
    except Exception as e:
        where = stack[-1][0] if stack else None
        place = f" in module {where.name or '<model>'!r} ({type(where.module).__name__})" \
            if where else ""
        raise SummaryError(f"forward pass on input {fmt_shape(x.shape[1:])} failed{place}: "
                           f"{e}") from e
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return nodes, events, counter.get_total_flops()


def _make_nodes(model: nn.Module) -> list[_Node]:
    nodes, seen_params = [], set()
    for name, module in model.named_modules():
        node = _Node(name, module, name.count(".") + 1 if name else 0,
                     is_leaf=next(module.children(), None) is None)
        # Each parameter belongs to the first module that holds it: tied weights count once.
        for p in module.parameters(recurse=False):
            if id(p) not in seen_params:
                seen_params.add(id(p))
                node.params += p.numel()
                node.trainable += p.numel() if p.requires_grad else 0
        nodes.append(node)
    return nodes


def _training_memory(model: nn.Module, x: torch.Tensor) -> tuple[int, str]:
    """Bytes of the unique storages autograd saves for backward, and the mode used."""
    exclude = {_storage_key(t) for t in (*model.parameters(), *model.buffers(), x)}
    buffers = {k: b.detach().clone() for k, b in model.state_dict(keep_vars=True).items()
               if not isinstance(b, nn.Parameter)}
    was_training = model.training
    devices = [x.device] if x.device.type == "cuda" else []
    saved: dict[tuple, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _storage_key(t)
        if key not in exclude:
            saved[key] = t.untyped_storage().nbytes()
        return t

    try:
        for mode in ("train", "eval"):
            model.train(mode == "train")
            saved.clear()
            try:
                with torch.random.fork_rng(devices=devices), torch.enable_grad(), \
                        saved_tensors_hooks(pack, lambda t: t):
                    model(x)
            except ValueError:  # BatchNorm: "Expected more than 1 value per channel"
                if mode == "eval":
                    raise
                continue
            return sum(saved.values()), mode
    finally:
        model.train(was_training)
        with torch.no_grad():  # undo running-statistics updates of the train-mode pass
            for k, v in model.state_dict(keep_vars=True).items():
                if k in buffers:
                    v.copy_(buffers[k])
    raise AssertionError("unreachable")


def _storage_key(t: torch.Tensor) -> tuple:
    return (t.device, t.untyped_storage().data_ptr())


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


def _build_rows(nodes: list[_Node], depth: int | None) -> list[LayerRow]:
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
            params, trainable, flops, nbytes = rolled[n.name]
            rows.append((key, _row(n, params, trainable, flops, nbytes, own=False)))
        elif n.depth < limit and (n.params or n.own_flops):
            rows.append((key, _row(n, n.params, n.trainable, n.own_flops, 0, own=True)))
    return [row for _, row in sorted(rows, key=lambda kr: kr[0])]


def _row(n: _Node, params, trainable, flops, nbytes, own) -> LayerRow:
    return LayerRow(name=n.name, type=type(n.module).__name__, depth=n.depth,
                    output_shapes=list(n.output_shapes), params=params,
                    trainable_params=trainable, macs=flops // 2, activation_bytes=nbytes,
                    calls=n.calls, own=own)


def _self_and_ancestors(name: str) -> list[str]:
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts), -1, -1)]


def _sort_keys(nodes: list[_Node]) -> list[tuple[int, int, int]]:
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


def _flow(model: nn.Module, x: torch.Tensor, events) -> list[Shape]:
    """Per-sample shapes where the network changes resolution, e.g. for VGG-11 at 224:
    1x224x224 → 64x112x112 → ... → 512x7x7 → 25088 → 4096 → 4096 → 10.

    The network is read as a chain of *units*: the model's children, looking through plain
    containers (``nn.Sequential`` with its stock forward, ``ModuleList``, ``ModuleDict``).
    A residual or inception block is one unit, so the flow shows stage outputs, not the
    inside of a bottleneck. Walking each unit's input and output, a shape is kept when its
    spatial size (all but the channel dim) or its rank changes (a functional flatten shows up
    as the next unit's input), and after every ``nn.Linear``.
    """
    units = _flow_units(model)
    flow: list[Shape] = [tuple(x.shape[1:])]
    for node, in_shape, out_shape in events:
        if id(node.module) not in units:
            continue
        for shape, force in ((in_shape, False),
                             (out_shape, isinstance(node.module, nn.Linear))):
            if shape is not None and len(shape) > 1:
                shape = shape[1:]
                if force or _new_stage(flow[-1], shape):
                    flow.append(shape)
    final = events[-1][2] if events else None  # the model's own output comes last
    if final is not None and tuple(final[1:]) != flow[-1]:
        flow.append(tuple(final[1:]))
    return flow


def _flow_units(model: nn.Module) -> set[int]:
    units, todo = set(), list(model.children())
    while todo:
        m = todo.pop()
        plain_sequential = isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward
        if plain_sequential or isinstance(m, (nn.ModuleList, nn.ModuleDict)):
            todo.extend(m.children())
        else:
            units.add(id(m))
    return units


def _new_stage(a: Shape, b: Shape) -> bool:
    a, b = _squeeze_tail(a), _squeeze_tail(b)
    if len(a) != len(b):
        return True
    if len(b) == 1:
        return a != b
    return a[1:] != b[1:]


def _squeeze_tail(s: Shape) -> Shape:
    # 512x1x1 and its flattened 512 are the same stage.
    while len(s) > 1 and s[-1] == 1:
        s = s[:-1]
    return s


# --------------------------------------------------------------------------- formatting


def fmt_count(n: int) -> str:
    """1234567 -> '1.23M' (decimal prefixes, as parameter and MAC counts are quoted)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


def fmt_shapes(shapes: list[Shape]) -> str:
    return ", ".join(f"[{', '.join(map(str, s))}]" for s in shapes) if shapes else "-"
