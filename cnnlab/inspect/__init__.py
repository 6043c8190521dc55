"""Inspect a network: per-layer shapes, parameters, MACs and memory."""

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
