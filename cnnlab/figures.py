"""Figures for files and HTML reports: one place for the figures, the resolution and
how a PNG is embedded, shared by run reports, the zoo, the speedrun and design sweeps.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path

from cnnlab.atomic import atomic_write_bytes
from cnnlab.formatting import si

DPI = 150


def subplots(*args, **kwargs):
    """``(figure, axes)`` as ``matplotlib.pyplot.subplots`` gives them, on a Figure of
    their own that is drawn to files (by Agg) and never shown. pyplot is left alone: no
    backend is switched, so a notebook that trains a run keeps its inline figures, and
    nothing is left open in pyplot's list of figures; a notebook shows it all the same
    (:class:`~cnnlab.shown_figure.ShownFigure`). (matplotlib is imported on first use, so
    commands that draw nothing never pay for it.)"""
    from cnnlab.shown_figure import ShownFigure

    fig = ShownFigure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(*args, **kwargs)


def literal(text: str) -> str:
    """``text`` drawn as written: matplotlib reads what lies between two ``$`` as a formula
    (a class folder named ``$5 bill $10`` would be typeset, or stop the figure with a
    parse error), so user-given names go through here."""
    return str(text).replace("$", r"\$")


def si_log_axis(axis, lo: float, hi: float) -> None:
    """Ticks labelled '300K', '1M' on a log axis from ``lo`` to ``hi``: 1-9 x 10^k under a
    decade, 1-2-5 under three, decades beyond."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = math.log10(hi / lo)
    subs = tuple(range(1, 10)) if decades < 1 else (1, 2, 5) if decades < 3 else (1,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: si(v)))
    axis.set_minor_formatter(NullFormatter())


def save_figure(fig, path: str | Path, dpi: int = DPI, layout: bool = True) -> Path:
    """Lay out ``fig``, write it to ``path`` (folders made as needed, atomically: a kill
    mid-draw leaves the previous figure, not half of one)."""
    path = Path(path)
    if layout:
        fig.tight_layout()
    fmt = path.suffix.lstrip(".").lower() or "png"  # the temporary name ends in .tmp
    atomic_write_bytes(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
    return path


def image_grid(images, titles: Sequence[str], path: str | Path, title: str = "", *,
               cols: int | None = None, cell: tuple[float, float] = (1.3, 1.45),
               min_width: float = 0.0, title_inches: float = 0.4, fontsize: float = 7,
               dpi: int = DPI) -> Path:
    """uint8 images (N x C x H x W tensor) in a grid, each cell titled (class names go
    through :func:`literal`), written to ``path`` in its suffix's format by
    :func:`save_figure`. ``cols`` defaults to a square grid; each cell is ``cell``
    inches (width, height), the figure at least ``min_width`` wide, with
    ``title_inches`` on top for ``title``. Three channels are drawn in colour; other
    counts show their first channel in grey, black 0 and white 255."""
    n = len(images)
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    width = max(cell[0] * cols, min_width)
    fig, axes = subplots(rows, cols, figsize=(width, cell[1] * rows + title_inches),
                         squeeze=False)
    fig.set_layout_engine("constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, name in zip(axes.flat, images, titles, strict=False):
        if image.shape[0] == 3:
            ax.imshow(image.permute(1, 2, 0).numpy())
        else:
            ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=255)
        ax.set_title(literal(name), fontsize=fontsize)
    if title:
        fig.suptitle(literal(title), fontsize=10)
    return save_figure(fig, path, dpi=dpi, layout=False)


def embed_png(path: str | Path) -> str:
    """An ``<img>`` carrying the PNG inline, so an HTML report is one self-contained file."""
    path = Path(path)
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
