"""A matplotlib Figure that a notebook shows by itself.

cnnlab draws on Figures of their own, outside pyplot (:func:`cnnlab.figures.subplots`),
so nothing is left open and no backend is switched. IPython shows a bare Figure as an
image only once its inline backend is active (``%matplotlib inline``, or an earlier
pyplot plot): before, a result's curves showed as ``<Figure size 1350x460 with 3 Axes>``.
This Figure renders itself to PNG for a notebook. Kept in its own module because
importing it imports matplotlib, which most commands never need.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class ShownFigure(Figure):
    """A Figure with ``_repr_png_``: shown as a PNG by a notebook, inline backend or not
    (where that backend is active, its own formatter shows it, once)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
