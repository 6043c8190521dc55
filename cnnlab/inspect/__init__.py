"""Inspect a network: per-layer shapes, parameters, MACs and memory.

``summary`` holds the public function and its table; ``_input`` checks what it is asked
to measure, ``_measure`` measures (two passes, rolled up by row), ``_layout`` writes
the table as text and ``_render`` as HTML, Markdown and LaTeX.
"""

from cnnlab.inspect._measure import saved_activation_bytes
from cnnlab.inspect.summary import (
    LayerRow,
    ModelSummary,
    SummaryError,
    SummaryTotals,
    count_macs,
    summary,
)

__all__ = [
    "LayerRow",
    "ModelSummary",
    "SummaryError",
    "SummaryTotals",
    "count_macs",
    "saved_activation_bytes",
    "summary",
]
