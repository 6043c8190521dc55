"""Inspect a network: per-layer shapes, parameters, MACs and memory.

``summary`` holds the public function and its table; ``_input`` checks what it is asked
to measure, ``_measure`` measures (two passes, rolled up by row) and ``_layout`` writes
the table as text.
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
