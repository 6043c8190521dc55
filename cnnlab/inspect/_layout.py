"""How :mod:`cnnlab.inspect.summary` writes its layer table as text: shapes, and the
layer names of a table too wide for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.formatting import narrowest_widths, table_width
from cnnlab.inspect._measure import Event, Shape


def fmt_shape(shape: Sequence[int]) -> str:
    """(1, 28, 28) -> '1x28x28', as titles, errors and the flow line write a shape."""
    return "x".join(str(s) for s in shape)


def fmt_shapes(shapes: list[Shape]) -> str:
    """A row's output shapes, batch included: '[1, 6, 28, 28]'; '-' for a module never run."""
    return ", ".join(f"[{', '.join(map(str, s))}]" for s in shapes) if shapes else "-"


def shapes_by_call(events: list[Event]) -> dict[int, list[Shape]]:
    """Each module's (by its node's id) first output shape of every call, in order."""
    shapes: dict[int, list[Shape]] = {}
    for node, _, out_shape in events:
        if out_shape is not None:
            shapes.setdefault(id(node), []).append(out_shape)
    return shapes


def fmt_row_shapes(output_shapes: list[Shape], call_shapes: list[Shape]) -> str:
    """A row's Output shape cell: its first call's outputs, or every call's shape where
    calls differ (its bytes count all of them: the first shape alone read as each's)."""
    return fmt_shapes(output_shapes) if len(set(call_shapes)) < 2 \
        else fmt_call_shapes(call_shapes)


def fmt_call_shapes(shapes: list[Shape]) -> str:
    """The output shapes of a module's calls as one: each dim's values in the order first
    seen, "[1, 64|256, 56, 56]" (torchvision's bottleneck ReLU). As narrow as a shape can
    be: each call's written out ("[1, 128, 56, 56] / [1, 128, 28, 28] / ...") pushed the
    Type column out of a 100-column table. Shapes of different ranks are each written."""
    dims = each_dims_values(shapes)
    if dims is None:
        return " / ".join(fmt_shapes([s]) for s in dict.fromkeys(shapes))
    return f"[{', '.join(dims)}]"


def each_dims_values(shapes: Sequence[Sequence[int]]) -> list[str] | None:
    """Each dim's values over several shapes, in the order first seen ("64|256"); None
    for shapes of different ranks, which have no dims in common."""
    if len({len(s) for s in shapes}) > 1:
        return None
    return ["|".join(dict.fromkeys(map(str, values))) for values in zip(*shapes, strict=True)]


# The Layer column gives up room down to this width before any other column folds.
NARROWEST_LAYER_COLUMN = 12


def shorten_layer_names(header: list[str], cells: list[list[str]], widths: list[int | None],
                         width: int | None) -> tuple[list[list[str]], list[int | None], bool]:
    """Cells and column widths that fit ``width`` with every number, shape and type whole:
    where the narrowest table is still too wide (DenseNet-121's leaves, named
    "features.denseblock4.denselayer16.conv2", at 80 columns), the Layer column alone gives
    up the difference, its longest names keeping their end. Otherwise rich narrowed every
    column alike and cut the counts ("9.4…" params). Where even that leaves the Layer
    column under :data:`NARROWEST_LAYER_COLUMN`, the other columns fold (``widths``, as
    :func:`~cnnlab.formatting.fitted_widths` gave them) and the names still keep their end
    in the width left to them: cut by rich, LeNet's at 40 columns read "feature…" six
    times over, features.0 to .5 not told apart, and the caption said nothing of it.
    Also says whether a name was shortened."""
    if width is None:
        return cells, widths, False
    narrowest = narrowest_widths(header, cells)
    room = narrowest[0] - (table_width(narrowest) - width)
    if room >= narrowest[0]:
        return cells, widths, False
    if room >= NARROWEST_LAYER_COLUMN:
        widths = [room, *narrowest[1:]]
    elif widths[0] is not None:
        room = widths[0]
    fitted = [[name_end(row[0], room), *row[1:]] for row in cells]
    shortened = any(new[0] != old[0] for new, old in zip(fitted, cells, strict=True))
    return fitted, widths, shortened


def name_end(cell: str, room: int) -> str:
    """An indented qualified name in ``room`` characters: its indent, "…" and its last
    dotted parts that fit (the layer's own name first), else its last characters."""
    if len(cell) <= room:
        return cell
    name = cell.lstrip(" ")
    indent = cell[:len(cell) - len(name)]
    keep = room - len(indent) - 1
    if keep < 4:  # deep indents leave too little of the name: the name matters more
        if len(name) <= room:  # whole, under as much of its indent as fits
            return cell[len(cell) - room:]
        indent, keep = "", room - 1
    if keep < 1:  # no room for "…" and a character
        return name[-room:]
    tail = name[-keep:]
    dot = tail.find(".")
    if 0 <= dot < len(tail) - 1 and name[-keep - 1] != ".":
        tail = tail[dot + 1:] if len(tail) - dot - 1 >= keep // 2 else tail
    return indent + "…" + tail
