"""How close a network's widths come to the RegNet rule: the paper's fit (Section 3.3).

Radosavovic et al. found RegNet by looking at the best AnyNetX_E networks: their
per-block widths are well described by the quantised linear rule that
:func:`cnnlab.models.regnet.generate_regnet` applies (u_j = w0 + wa * j, each block
snapped to w0 times a power of wm, rounded to a multiple of 8). For a given network
they set d to its total depth and searched a grid of (w0, wa, wm) for the rule whose
block widths come nearest, measured by e_fit; good networks fit well.

:func:`fit_regnet` is that search. Widths some rule makes exactly are solved for
instead (see :func:`fit_regnet`): a grid can step over the rule, whose region in (wa, wm)
may be a sliver. e_fit here is the mean over blocks of
|ln(rule's width / network's width)|: 0 for a network the rule makes exactly, about
0.1 for one whose widths are 10% off on average. The grid: w0 every ``quantum`` up to
the network's widest block, wa and wm log-spaced over ranges that hold the RegNet
design space's (wa 0.5 to 256, wm 1.5 to 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnlab.models.regnet import generate_regnet

WA_RANGE = (0.5, 256.0)  # where the fit looks for wa and wm (see the module docstring)
WM_RANGE = (1.5, 3.0)


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

    Widths that a rule in those ranges makes exactly (a RegNet's, before its group-width
    step), one stage for each of its quantised widths in turn, get that rule, e_fit 0,
    solved for rather than searched. (A rule whose blocks jump past one of its widths, as
    a large wa on a small w0 can, is left to the grid, which may miss it: a third of
    random rules over the whole ranges, none of 100 drawn from cnnlab's RegNetX space, no
    published RegNet.) The grid missed
    RegNetX-1.6GF's, whose wm must lie in [2.248, 2.250] (e_fit 0.014 from the grid).
    Its wa and wm are then multiples of 0.01 and 0.001 where the rule allows, as pycls
    writes them (RegNetX-1.6GF: w0=80, wa=34.02, wm=2.249; pycls's own: 34.01, 2.25).
    """
    if len(depths) != len(widths) or not depths or min(depths) < 1 or min(widths) < 1:
        raise ValueError(f"need one depth >= 1 and one width >= 1 per stage, got depths "
                         f"{list(depths)} and widths {list(widths)}")
    exact = _exact_rule(depths, widths, quantum)
    blocks = np.repeat(np.asarray(widths, dtype=np.float64), depths)  # one width a block
    if exact is not None:
        return RegNetFit(*exact, int(blocks.size), 0.0)
    w0s = np.arange(quantum, max(int(blocks.max()), quantum) + 1, quantum, dtype=np.float64)
    error, w0, wa, wm = _search(blocks, quantum, w0s, np.geomspace(*WA_RANGE, wa_steps),
                                np.linspace(*WM_RANGE, wm_steps))
    # Then a finer grid around the best: the rule's widths jump at thresholds of wa and
    # wm that a coarse grid can step over (a RegNet's own widths then fit at e_fit 0.02).
    near_w0 = w0s[np.abs(w0s - w0) <= 2 * quantum]
    fine = _search(blocks, quantum, near_w0, np.geomspace(wa / 1.2, wa * 1.2, 41),
                   np.linspace(max(WM_RANGE[0], wm - 0.08), min(WM_RANGE[1], wm + 0.08), 33))
    error, w0, wa, wm = min((error, w0, wa, wm), fine)
    return RegNetFit(int(w0), float(wa), float(wm), int(blocks.size), float(error))


def _exact_rule(depths: Sequence[int], widths: Sequence[int],
                quantum: int) -> tuple[int, float, float] | None:
    """(w0, wa, wm) of a rule whose block widths are exactly these stages', in the
    grid's ranges, or None. wa and wm are on the quanta pycls samples them with (0.01 and
    0.001, as its published models write them) where the solution allows.

    The rule's stage k (k = 0, 1, ... for the distinct widths in order, none skipped)
    has width round(w0 wm^k / quantum) quantum: w0 is the first width and each later
    width bounds wm to an interval. Block j is in stage k while
    wm^(k - 1/2) <= 1 + wa j / w0 < wm^(k + 1/2): for a given wm, an interval for wa.
    Each candidate is checked against the rule itself (ties round to even there).
    """
    blocks = np.repeat(np.asarray(widths, dtype=np.float64), depths)
    # The rule's stages: runs of equal widths (two stages of one width are one to it).
    stage_widths = [w for i, w in enumerate(blocks.tolist()) if i == 0 or w != blocks[i - 1]]
    w0 = int(stage_widths[0])
    if w0 % quantum or np.any(np.diff(stage_widths) < 0):  # the rule's widths never fall
        return None
    low, high = WM_RANGE
    for k, w in enumerate(stage_widths[1:], start=1):
        low = max(low, ((w - quantum / 2) / w0) ** (1 / k))
        high = min(high, ((w + quantum / 2) / w0) ** (1 / k))
    if not low < high:
        return None
    j = np.arange(1, blocks.size)
    k = np.searchsorted(stage_widths, blocks[1:])  # each block's stage
    # wm from the middle of its interval outwards, on pycls's 0.001 grid first: a round
    # value far from the interval's ends also survives the report's rounding to 0.001.
    inner = np.linspace(low, high, 257)[1:-1]
    rounded = np.unique(np.round(inner, 3))
    rounded = rounded[(rounded > low) & (rounded < high)]
    for wm in [*_middle_first(rounded, low, high), *_middle_first(inner, low, high)]:
        wa_low = max(WA_RANGE[0], float(np.max(w0 * (wm ** (k - 0.5) - 1) / j, initial=0)))
        wa_high = min(WA_RANGE[1], float(np.min(w0 * (wm ** (k + 0.5) - 1) / j,
                                                initial=WA_RANGE[1])))
        if not wa_low < wa_high:
            continue
        middle = (wa_low + wa_high) / 2
        for wa in (round(middle, 2), middle):
            if _rule_widths(w0, wa, float(wm), blocks.size, quantum) == blocks.tolist():
                return w0, float(wa), float(wm)
    return None


def _middle_first(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return values[np.argsort(np.abs(values - (low + high) / 2), kind="stable")]


def _rule_widths(w0: int, wa: float, wm: float, depth: int, quantum: int) -> list[float]:
    """The rule's per-block widths as :func:`cnnlab.models.regnet.generate_regnet`
    makes them, before its group-width step."""
    stages = generate_regnet(w0, wa, wm, depth, 1, 1.0, quantum)
    return np.repeat(np.asarray(stages.widths, dtype=np.float64), stages.depths).tolist()


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
