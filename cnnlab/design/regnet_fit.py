"""How close a network's widths come to the RegNet rule: the paper's fit (Section 3.3).

Radosavovic et al. found RegNet by looking at the best AnyNetX_E networks: their
per-block widths are well described by the quantised linear rule that
:func:`cnnlab.models.regnet.generate_regnet` applies (u_j = w0 + wa * j, each block
snapped to w0 times a power of wm, rounded to a multiple of 8). For a given network
they set d to its total depth and searched a grid of (w0, wa, wm) for the rule whose
block widths come nearest, measured by e_fit; good networks fit well.

:func:`fit_regnet` is that search. e_fit here is the mean over blocks of
|ln(rule's width / network's width)|: 0 for a network the rule makes exactly, about
0.1 for one whose widths are 10% off on average. The grid: w0 every ``quantum`` up to
the network's widest block, wa and wm log-spaced over ranges that hold the RegNet
design space's (wa 0.5 to 256, wm 1.5 to 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RegNetFit:
    """The rule nearest a network's block widths, and how near (``fit_error``: e_fit):
    widths u_j = ``w0`` + ``wa`` * j for the ``depth`` blocks, quantised in powers of
    ``wm`` (:func:`cnnlab.models.regnet.generate_regnet`)."""

    w0: int
    wa: float
    wm: float
    depth: int
    fit_error: float

    def __str__(self) -> str:
        return (f"w0={self.w0}, wa={self.wa:.3g}, wm={self.wm:.3g} "
                f"(e_fit {self.fit_error:.3f})")


def fit_regnet(depths: Sequence[int], widths: Sequence[int], quantum: int = 8,
               wa_steps: int = 80, wm_steps: int = 31) -> RegNetFit:
    """The quantised linear rule whose per-block widths come nearest these stages'.

    ``depths`` and ``widths``: blocks and width per stage, as an AnyNet config holds
    them. ``quantum``: the widths' multiple (and w0's step); ``wa_steps``, ``wm_steps``:
    the coarse grid's log-spaced wa in [0.5, 256] and wm in [1.5, 3], refined around the
    best. Ties in e_fit go to the smallest w0, then wa, then wm (the grid's order).
    """
    if len(depths) != len(widths) or not depths or min(depths) < 1 or min(widths) < 1:
        raise ValueError(f"need one depth >= 1 and one width >= 1 per stage, got depths "
                         f"{list(depths)} and widths {list(widths)}")
    blocks = np.repeat(np.asarray(widths, dtype=np.float64), depths)  # one width a block
    w0s = np.arange(quantum, max(int(blocks.max()), quantum) + 1, quantum, dtype=np.float64)
    error, w0, wa, wm = _search(blocks, quantum, w0s, np.geomspace(0.5, 256.0, wa_steps),
                                np.linspace(1.5, 3.0, wm_steps))
    # Then a finer grid around the best: the rule's widths jump at thresholds of wa and
    # wm that a coarse grid can step over (a RegNet's own widths then fit at e_fit 0.02).
    near_w0 = w0s[np.abs(w0s - w0) <= 2 * quantum]
    fine = _search(blocks, quantum, near_w0, np.geomspace(wa / 1.2, wa * 1.2, 41),
                   np.linspace(max(1.5, wm - 0.08), min(3.0, wm + 0.08), 33))
    error, w0, wa, wm = min((error, w0, wa, wm), fine)
    return RegNetFit(int(w0), float(wa), float(wm), int(blocks.size), float(error))


def _search(blocks: np.ndarray, quantum: int, w0s: np.ndarray, was: np.ndarray,
            wms: np.ndarray) -> tuple[float, float, float, float]:
    """(e_fit, w0, wa, wm) of the best grid point; ties to the first in grid order."""
    w0, wa, wm = (g.reshape(-1, 1) for g in np.meshgrid(w0s, was, wms, indexing="ij"))
    j = np.arange(blocks.size, dtype=np.float64)
    # The rule as generate_regnet computes it, for every grid point at once (np.round,
    # like Python's round, takes ties to even).
    stage = np.round(np.log((w0 + wa * j) / w0) / np.log(wm))
    rule = np.round(w0 * wm ** stage / quantum) * quantum
    errors = np.abs(np.log(np.maximum(rule, quantum) / blocks)).mean(axis=1)
    best = int(np.argmin(errors))
    return float(errors[best]), float(w0[best, 0]), float(wa[best, 0]), float(wm[best, 0])
