"""Inspect a network: per-layer shapes, parameters, MACs and memory."""

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
    "summary",
]
