"""The MACs axis of a design report's error-against-complexity plot: labelled at both ends.

A sweep's band is narrow (the paper's is a factor of 2-4), and on a log axis the decade
ticks 1-9 x 10^k left its left end bare: trials from 4.5M to 8M MACs were drawn above
ticks 5M, 6M, 7M, 8M, with nothing to read the leftmost points against. Under a decade
the axis here runs from one round value to another (2.5M, 5M, ... or 4.8M, 5M, ...),
each end a labelled tick; wider ranges keep the log ticks (:func:`si_log_axis`).
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.figures import si_log_axis, spaced_si_labels

PAD = 0.03  # room beyond the outermost points, a fraction of their value
EVEN_BELOW = 2.5  # a range narrower than this factor is ticked at even steps
MOST_STEPS = 8  # between its labelled ticks
ENDS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)  # x 10^k: where a wider range may end
# Labelled ticks closer than this (a fraction of the axis) ran together: "9M10M"
CLOSEST = 0.06


def round_ends(lo: float, hi: float) -> np.ndarray | None:
    """Ticks for MACs from ``lo`` to ``hi`` (beyond them by :data:`PAD`), from a round
    value at or below the one to a round value at or above the other: under a factor of
    :data:`EVEN_BELOW`, a round step apart (1, 2 or 5 x 10^k: the finest with at most
    :data:`MOST_STEPS` steps); under a decade, 1-9 x 10^k between two ends from
    :data:`ENDS`; None from a decade on (the log axis's own ticks: its ends bare by less)."""
    lo, hi = lo * (1 - PAD), hi * (1 + PAD)
    if hi / lo >= 10:
        return None
    if hi / lo >= EVEN_BELOW:
        first = max(v for v in _values(lo / 10, lo, ENDS) if v <= lo)
        last = min(v for v in _values(hi, hi * 10, ENDS) if v >= hi)
        inner = [v for v in _values(first, last, range(1, 10)) if first < v < last]
        return _spread([first, *inner, last])
    power = math.floor(math.log10(hi - lo))
    for step in sorted(m * 10.0 ** k for k in range(power - 2, power + 2) for m in (1, 2, 5)):
        first, last = math.floor(lo / step), math.ceil(hi / step)
        if last - first <= MOST_STEPS:
            return np.arange(first, last + 1) * step
    return None  # not reached: a step of 10^(power + 1) spans hi - lo in 2


def _spread(ticks: list[float]) -> np.ndarray:
    """``ticks`` without the inner ones closer than :data:`CLOSEST` of the (log) axis to
    the last one kept or to the end."""
    span = math.log(ticks[-1] / ticks[0])
    kept = [ticks[0]]
    for t in ticks[1:-1]:
        if min(math.log(t / kept[-1]), math.log(ticks[-1] / t)) >= CLOSEST * span:
            kept.append(t)
    return np.array([*kept, ticks[-1]])


def _values(lo: float, hi: float, mantissas) -> list[float]:
    """``m x 10^k`` for each of ``mantissas`` and every power from ``lo``'s to ``hi``'s
    (rounded: 1.2 x 10^6 is 1200000.0, not 1200000.0000000002)."""
    powers = range(math.floor(math.log10(lo)), math.floor(math.log10(hi)) + 1)
    return sorted(float(f"{m}e{k}") for k in powers for m in mantissas)


def label_macs_axis(ax, lo: float, hi: float) -> None:
    """Label ``ax``'s x axis (log scale) for MACs from ``lo`` to ``hi``: '300K', '1M';
    under a decade from one labelled tick to another (:func:`round_ends`)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = round_ends(lo, hi)
    if ticks is None:
        si_log_axis(ax.xaxis, lo, hi)
        return
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    spaced_si_labels(ax.xaxis)  # '5M'; one that would touch its neighbour left unlabelled
    ax.xaxis.set_minor_locator(NullLocator())  # the log axis's own 1-9 x 10^k, between them
    ax.set_xlim(ticks[0], ticks[-1])
