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
   still holds for backward when the forward returns (parameters and the input are
   excluded: "Parameter size" and "Input size" count them; buffers, BatchNorm's running
   statistics, are in no total). BatchNorm buffers (a from-scratch BatchNorm's plain
   tensor attributes too) and the RNG state are restored afterwards, so a summary has
   no side effects. Where train mode cannot run (BatchNorm over a single value per
   channel at batch 1), the pass falls back to eval mode and says so.

The passes, the roll-up into rows and the flow line live in :mod:`cnnlab.inspect._measure`;
this module holds the public result types, :func:`summary` and the rendering.

MACs follow torchvision's "GFLOPS" column exactly: one multiply-add per weight use in
convolutions and matrix products; FlopCounterMode reports 2 FLOPs per MAC, and element-wise
work (bias, BatchNorm, activations, pooling) is not counted. pycls (ANCHORS §3) also counts
the bias adds of its linear layers, so its RegNet numbers are a few thousand higher
(RegNetX: +1,000, the classifier's; RegNetY-400MF: +6,208 with the SE layers'), 0.002%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from rich import box
from rich.console import Group
from rich.table import Table
from torch import nn

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    format_bytes,
    format_count,
    left_out_caption,
    rich_as_text,
    without_columns,
)
from cnnlab.inspect._input import failure_hint, resolve, torch_error
from cnnlab.inspect._layout import fmt_row_shapes, fmt_shape, shapes_by_call, shorten_layer_names
from cnnlab.inspect._measure import (
    ForwardFailed,
    RowCounts,
    Shape,
    default_device_dtype,
    flow,
    random_input,
    rolled_rows,
    shape_pass,
    training_memory,
)
from cnnlab.inspect._render import summary_html, summary_latex, summary_markdown
from cnnlab.whole_imports import import_whole


class SummaryError(RuntimeError):
    """The model could not run on the requested input; names the module that failed."""


@dataclass
class LayerRow:
    """One row of the table: a module, with its children rolled up when depth hides them:
    its qualified ``name`` ("layer1.0.conv1"; "" for the model itself), class ``type``,
    ``depth`` (0 for the model, 1 for its children, ...), ``output_shapes`` (of its first
    call, batch included; [] if never called), ``params`` (``trainable_params`` of them),
    ``macs``, ``activation_bytes`` (the outputs of the leaf modules in the row) and how
    many ``calls`` it had in one forward pass, with each one's first output shape
    (``call_shapes``: torchvision's bottleneck ReLU, run 3 times, shows [1, 64|256, 56, 56]).

    ``own`` rows hold only what a container does itself, outside its children (a parameter
    it owns directly, a functional matmul in its ``forward``), so that rows always add up.
    """

    name: str
    type: str
    depth: int
    output_shapes: list[Shape]
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int
    calls: int
    own: bool = False
    call_shapes: list[Shape] = field(default_factory=list)

    @property
    def output_shape(self) -> Shape | None:
        """The first output's shape; None if never called."""
        return self.output_shapes[0] if self.output_shapes else None


@dataclass
class SummaryTotals:
    """A summary's totals: ``params`` (``trainable_params`` of them), ``macs`` (multiply-
    adds at the input size and batch), and sizes in bytes: ``param_bytes``,
    ``input_bytes``, ``forward_activation_bytes`` (every leaf module's output: simple, but
    in-place outputs and views count too) and ``training_activation_bytes`` (what autograd
    really keeps for backward at this batch size; None on the meta device, measured in
    ``training_pass_mode``: "train", or "eval" when train mode could not run).
    :meth:`mebibytes` gives the sizes in MiB, :meth:`megabytes` in MB."""

    params: int
    trainable_params: int
    macs: int
    param_bytes: int
    input_bytes: int
    forward_activation_bytes: int
    training_activation_bytes: int | None
    training_pass_mode: str | None

    def megabytes(self) -> dict[str, float | None]:
        """The byte totals in MB (10^6 bytes, as torchinfo and most papers quote them)."""
        return self._in_units("_mb", 1e6)

    def mebibytes(self) -> dict[str, float | None]:
        """The byte totals in MiB (2^20 bytes), the binary units the table shows."""
        return self._in_units("_mib", 2**20)

    def _in_units(self, suffix: str, unit: float) -> dict[str, float | None]:
        return {k.replace("_bytes", suffix): None if v is None else v / unit
                for k, v in asdict(self).items() if k.endswith("_bytes")}


# What the JSON's size fields count. The table's KiB/MiB are binary; *_mb, decimal MB,
# stays for readers written before *_mib was (its name never said which MB it meant).
SIZE_UNITS = {"*_bytes": "bytes", "*_mib": "MiB (2^20 bytes), as the table shows sizes",
              "*_mb": "MB (10^6 bytes, as torchinfo and most papers quote them)"}


@dataclass
class ModelSummary:
    """What :func:`summary` returns: the layer table (``rows``), the ``totals``, the
    ``flow`` of per-sample shapes where the resolution changes, and what it measured:
    ``model_name``, ``input_size`` (one sample's), ``batch_size``, ``dtype``, the table's
    ``depth``, and the ``source`` of a registered model (its paper; "" for any other).
    Printed (``str``), in a notebook (HTML), for slides (:meth:`to_markdown`,
    :meth:`to_latex`) or as JSON (:meth:`to_dict`): the table."""

    model_name: str
    input_size: Shape
    batch_size: int
    dtype: str
    depth: int | None
    rows: list[LayerRow]
    totals: SummaryTotals
    flow: list[Shape]  # see _measure.flow
    source: str = ""

    def flow_str(self) -> str:
        """The flow as text: "1x28x28 → 6x14x14 → ... → 10" (LeNet: its first conv's
        6x28x28 keeps the resolution, so the flow skips it), the "Resolution flow" line."""
        return " → ".join("x".join(map(str, s)) for s in self.flow)

    def title(self) -> str:
        """The table's title: model, input, batch and dtype."""
        return (f"{self.model_name}  ·  input {fmt_shape(self.input_size)}  ·  "
                f"batch {self.batch_size}  ·  {self.dtype}")

    TEXT_COLUMNS = ("Layer", "Type", "Output shape")  # the others are numbers

    def table_cells(self) -> tuple[list[str], list[tuple[int, list[str]]], list[str]]:
        """The layer table as text: header, rows as (indent level, cells), footer.

        :meth:`to_table` (terminal) and :meth:`_repr_html_` (notebook) lay out these same
        cells; the first three columns are text, the others numbers.
        """
        t = self.totals
        frozen = t.trainable_params != t.params
        trainable = ["Trainable"] if frozen else []
        header = ["Layer", "Type", "Output shape", "Params", *trainable, "MACs", "Activations"]
        footer = ["Total", "", "", format_count(t.params),
                  *([format_count(t.trainable_params)] if frozen else []),
                  format_count(t.macs), format_bytes(t.forward_activation_bytes)]
        rows = []
        for r in self.rows:
            label = (r.name or r.type) + (" (own)" if r.own else "")
            # A module run twice (torchvision's one ReLU per block) counts both outputs.
            kind = r.type + (f" ({r.calls} calls)" if r.calls > 1 else "")
            cells = [label, kind, fmt_row_shapes(r.output_shapes, r.call_shapes),
                     format_count(r.params),
                     *([format_count(r.trainable_params)] if frozen else []),
                     format_count(r.macs), format_bytes(r.activation_bytes)]
            rows.append((max(r.depth - 1, 0), cells))
        return header, rows, footer

    def to_table(self, width: int | None = None) -> Table:
        """The layer table for rich; given a console's ``width``, without the columns
        that do not fit (the activations first, then the trainable counts and the
        types), which its caption names: at 80 columns every shape had been folded."""
        header, rows, footer = self.table_cells()
        cells = [["  " * indent + row[0], *row[1:]] for indent, row in rows] + [footer]
        left_out = columns_left_out(header, cells, width, ["Activations", "Trainable", "Type"])
        header, cells = without_columns(header, cells, left_out)
        widths = fitted_widths(header, cells, width)
        cells, widths, shortened = shorten_layer_names(header, cells, widths, width)
        caption = left_out_caption(left_out, width, "--json")
        if shortened:
            caption = (caption + "; " if caption else f"at {width} columns: ") + \
                "long layer names shortened to their end (…), whole in --json"
        table = Table(title=self.title(), box=box.SIMPLE_HEAD, show_footer=True,
                      caption=caption, caption_justify="left")
        for name, total, column_width in zip(header, cells[-1], widths, strict=True):
            table.add_column(name, footer=total, width=column_width,
                             justify="left" if name in self.TEXT_COLUMNS else "right",
                             no_wrap=name in ("Layer", "Type"))
        for row in cells[:-1]:
            table.add_row(*row)
        return table

    def totals_lines(self) -> list[tuple[str, str]]:
        """The totals as (label, words), as the terminal, a slide and a report show them."""
        t = self.totals
        return [
            ("Parameters", f"{t.params:,} ({t.trainable_params:,} trainable)"),
            ("MACs", f"{format_count(t.macs)} ({t.macs:,}) at batch {self.batch_size}: conv "
                     "and matmul only (BatchNorm, pooling, activations, adds not counted)"),
            ("Parameter size", format_bytes(t.param_bytes)),
            ("Input size", format_bytes(t.input_bytes)),
            # googlenet_d2l's F.relu and torch.cat write 8.37 MiB; its modules' outputs 5.52.
            ("Forward activations",
             f"{format_bytes(t.forward_activation_bytes)} (sum of module outputs; "
             "functional ops in a forward, such as F.relu or torch.cat, not counted)"),
            ("Training activations", "not measured on the meta device"
             if t.training_activation_bytes is None else
             f"{format_bytes(t.training_activation_bytes)} "
             f"(saved for backward, {t.training_pass_mode} mode"
             + ("; train mode's BatchNorm needs a batch of 2 or more: --batch-size 2)"
                if t.training_pass_mode == "eval" and self.batch_size == 1 else ")")),
            # Not every shape (LeNet's first conv keeps 28x28): the label says which.
            ("Resolution flow", self.flow_str()),
            *([("Source", self.source)] if self.source else []),
        ]

    def totals_table(self) -> Table:
        """:meth:`totals_lines` as a rich table."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for label, words in self.totals_lines():
            grid.add_row(label, words)
        return grid

    def renderable(self, width: int | None = None) -> Group:
        """The layer table (laid out for ``width`` columns) and the totals, for rich."""
        return Group(self.to_table(width), self.totals_table())

    def __rich_console__(self, console, options):
        # rich.print(s), and rich consoles in a notebook: laid out for the console's width
        yield self.renderable(options.max_width)

    def _repr_html_(self) -> str:
        """The table and totals as HTML, which Jupyter shows for a cell's last value."""
        return summary_html(self)

    def to_markdown(self) -> str:
        """The title, layer table and totals as Markdown (``cnnlab summary --markdown``)."""
        return summary_markdown(self)

    def to_latex(self) -> str:
        """The title, layer table and totals as LaTeX booktabs tables (``cnnlab summary
        --latex``): in a notebook as at the command line, for slides and papers."""
        return summary_latex(self)

    def __repr__(self) -> str:
        # The table, not the dataclass fields: as a notebook cell's last value (plain-text
        # front ends) or at the REPL, the rows' field dump ran to thousands of characters.
        return str(self)

    def __str__(self) -> str:
        return rich_as_text(self.renderable())

    def to_dict(self) -> dict:
        """Everything, as JSON types (``cnnlab summary --json``); sizes also in MiB, MB."""
        totals = asdict(self.totals) | self.totals.mebibytes() | self.totals.megabytes()
        return {
            "model": self.model_name,
            "input_size": list(self.input_size),
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "depth": self.depth,
            "flow": [list(s) for s in self.flow],
            "flow_str": self.flow_str(),
            "rows": [asdict(r) | {"output_shapes": [list(s) for s in r.output_shapes],
                                  "call_shapes": [list(s) for s in r.call_shapes]}
                     for r in self.rows],
            "totals": totals,
            "units": SIZE_UNITS,
            "totals_lines": [list(line) for line in self.totals_lines()],
            "source": self.source,
        }


# One sample's (C, H, W), a square side, a batch's (N, C, H, W), or a tensor of that shape.
InputSize = int | Sequence[int] | torch.Tensor | None


def summary(
    model: nn.Module | str,
    input_size: InputSize = None,
    *,
    depth: int | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> ModelSummary:
    """Per-layer output shapes, parameters, MACs and activation memory of ``model``.

    ``summary(get_model("lenet_d2l"))``, ``summary("lenet_d2l")``, ``summary(model, 28)``
    and ``summary(model, (1, 28, 28))`` all measure LeNet on one 1x28x28 image.

    Args:
        model: any ``nn.Module`` taking one image batch; its mode, buffers and the global
            RNG state are left as they were. Or a registered model name, built with
            ``get_model`` (with ``in_channels`` / ``image_size`` to fit ``input_size``).
        input_size: one sample's shape (C, H, W); an int S for (C, S, S), C being the
            first convolution's input channels; an (N, C, H, W) shape or a tensor, whose
            first dim is the batch (only a tensor's shape is used, not its values);
            ``None`` for the size a ``get_model`` model (or a named one) is built for.
        depth: ``None`` shows every leaf module; ``1`` the model's children with their
            descendants rolled up; ``0`` one row for the whole model.
        batch_size: batch used for shapes, MACs and memory (all scale with it); default
            the batch ``input_size`` gives, else 1.
        device, dtype: of the random input; default: those of the model's parameters
            (CPU, float32 for a model without any). ``"meta"`` works for shapes and MACs.
            A model given by name is built so; a module must already be (or ValueError).

    Raises:
        ValueError, TypeError: for an input size it cannot read, saying what to give.
        SummaryError: when the model's forward fails, naming the module.
    """
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be None or >= 0, not {depth}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    import_whole()  # the flop counter imports torch's compiler: Ctrl-C must not cut it
    named = isinstance(model, str)
    model, input_size, batch_size = resolve(model, input_size, batch_size)
    if named and (device is not None or dtype is not None):
        model.to(device=device, dtype=dtype)  # built here, for this summary alone
    device, dtype = default_device_dtype(model, device, dtype)
    _check_model_takes(model, device, dtype)
    x = random_input(input_size, batch_size, device, dtype)

    try:
        nodes, events, total_flops = shape_pass(model, x)
    except ForwardFailed as failure:
        raise SummaryError(_failure_message(model, x, failure)) from failure.__cause__
    leaf_bytes = sum(n.output_bytes for n in nodes if n.is_leaf)
    call_shapes = shapes_by_call(events)
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
        totals.training_activation_bytes, totals.training_pass_mode = training_memory(model, x)
    return ModelSummary(
        model_name=getattr(model, "cnnlab_name", type(model).__name__),
        input_size=input_size,
        batch_size=batch_size,
        dtype=str(dtype).removeprefix("torch."),
        depth=depth,
        rows=[_layer_row(counts, call_shapes.get(id(counts.node), []))
              for counts in rolled_rows(nodes, depth)],
        totals=totals,
        flow=flow(model, x, events),
        source=_registered_source(model),
    )


def _registered_source(model: nn.Module) -> str:
    """The paper (or library) a model built by ``get_model`` comes from, from the
    registry, and for the book's networks its section; "" for a module of one's own."""
    name = getattr(model, "cnnlab_name", None)
    if not isinstance(name, str):
        return ""
    from cnnlab.models import model_info

    try:
        info = model_info(name)
    except Exception:  # a name the registry no longer resolves (timm gone): no source
        return ""
    book = info.variant == "book" and info.book_section
    return info.paper + (f"; as Dive into Deep Learning {book} builds it" if book else "")


def count_macs(model: nn.Module | str, input_size: InputSize = None,
               batch_size: int | None = None) -> int:
    """MACs of one eval-mode forward pass; cheap on a model built on the meta device.

    ``model``, ``input_size`` and ``batch_size`` are read as :func:`summary` reads them.
    """
    model, input_size, batch_size = resolve(model, input_size, batch_size)
    device, dtype = default_device_dtype(model, None, None)
    x = random_input(input_size, batch_size, device, dtype)
    try:
        return shape_pass(model, x)[2] // 2  # a from-scratch layer counted as torch's
    except ForwardFailed as failure:
        error = torch_error(failure.__cause__)
    raise error  # the model's own error, as its forward raised it (its own cause kept)


def _check_model_takes(model: nn.Module, device: torch.device, dtype: torch.dtype) -> None:
    """An input of another device or dtype than the model's weights fails in its first
    layer, blamed on that layer: say so before, with the two ways to mend it."""
    weight = next((t for t in model.parameters() if t.is_floating_point()), None)
    if weight is None or (weight.device.type, weight.dtype) == (device.type, dtype):
        return
    # A copy: Module.to works in place, and to "meta" it drops the trained weights.
    raise ValueError(
        f"device={device.type!r}, dtype={str(dtype).removeprefix('torch.')} for a model whose "
        f"weights are {str(weight.dtype).removeprefix('torch.')} on {weight.device.type}: "
        f"summarise a copy moved there (copy.deepcopy(model).to({device.type!r}, "
        f"torch.{str(dtype).removeprefix('torch.')})), give its name to summary() to have it "
        "built that way, or leave device and dtype out")


def _failure_message(model: nn.Module, x: torch.Tensor, failure: ForwardFailed) -> str:
    where = failure.where
    place = f" in module {where.name or '<model>'!r} ({type(where.module).__name__})" \
        if where else ""
    sample = x.shape[1:]
    return (f"forward pass on input {fmt_shape(sample)} failed{place}: "
            f"{torch_error(failure.__cause__)}" + failure_hint(model, sample))


def _layer_row(c: RowCounts, call_shapes: list[Shape]) -> LayerRow:
    n = c.node
    return LayerRow(name=n.name, type=type(n.module).__name__, depth=n.depth,
                    output_shapes=list(n.output_shapes), params=c.params,
                    trainable_params=c.trainable, macs=c.flops // 2,
                    activation_bytes=c.leaf_bytes, calls=n.calls, own=c.own,
                    call_shapes=call_shapes)
