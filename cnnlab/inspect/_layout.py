"""How :mod:`cnnlab.inspect.summary` writes its layer table as text: shapes, and the
layer names of a table too wide for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.formatting import narrowest_widths, table_width
from cnnlab.inspect._measure import Shape


def fmt_shape(shape: Sequence[int]) -> str:
    """(1, 28, 28) -> '1x28x28', as titles, errors and the flow line write a shape."""
    return "x".join(str(s) for s in shape)


def fmt_shapes(shapes: list[Shape]) -> str:
    """A row's output shapes, batch included: '[1, 6, 28, 28]'; '-' for a module never run."""
    return ", ".join(f"[{', '.join(map(str, s))}]" for s in shapes) if shapes else "-"


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
