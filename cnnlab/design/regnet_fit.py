"""How close a network's widths come to the RegNet rule: the paper's fit (Section 3.3).

Radosavovic et al. found RegNet by looking at the best AnyNetX_E networks: their
per-block widths are well described by the quantised linear rule that
:func:`cnnlab.models.regnet.generate_regnet` applies (u_j = w0 + wa * j, each block
snapped to w0 times a power of wm, rounded to a multiple of 8). For a given network
they set d to its total depth and searched a grid of (w0, wa, wm) to minimise "the mean
log-ratio of predicted to observed per-block widths", e_fit; good networks fit well.

:func:`fit_regnet` is that search, with three choices of its own. e_fit is the mean
over blocks of |ln(rule's width / network's width)| (the paper does not say "absolute",
but signed ratios would cancel; it is not a least-squares error): 0 for a network the
rule makes exactly, about 0.1 for one whose widths are 10% off on average. The rule's
widths are rounded to multiples of ``quantum`` as pycls's code rounds them (the paper's
Eqn. 4 does not round). And widths some rule makes exactly are solved for instead of
searched (:func:`_exact_rule`): a grid can step over the rule, whose region in (wa, wm)
may be a sliver. The grid: w0 on multiples of ``quantum`` up to the network's widest
block, wa and wm over ranges that hold the RegNet design space's (wa 0.5 to 256, wm 1.5
to 3; the paper samples w0, wa < 256 and 1.5 <= wm <= 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnlab.models.regnet import generate_regnet

WA_RANGE = (0.5, 256.0)  # where the fit looks for wa and wm (see the module docstring)
WM_RANGE = (1.5, 3.0)
W0_STEPS = 48  # the coarse grid's w0: log-spaced multiples of the quantum


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
    step) get such a rule, e_fit 0, solved for rather than searched (:func:`_exact_rule`),
    whichever of its widths the rule's blocks jump past (a large wa on a small w0 puts
    block 1 in stage 2 or later). The grid missed RegNetX-1.6GF's, whose wm must lie in
    [2.248, 2.250] (e_fit 0.014), and 15 of 100 random rules, all of which skip a
    stage. The solved rule's wa and wm are multiples of 0.01 and 0.001 where it
    allows, as pycls writes them (RegNetX-1.6GF: w0=80, wa=34.02, wm=2.249; pycls's own:
    34.01, 2.25), so the report's rounding to 0.001 keeps the rule.
    """
    if len(depths) != len(widths) or not depths or min(depths) < 1 or min(widths) < 1:
        raise ValueError(f"need one depth >= 1 and one width >= 1 per stage, got depths "
                         f"{list(depths)} and widths {list(widths)}")
    blocks = np.repeat(np.asarray(widths, dtype=np.float64), depths)  # one width a block
    exact = _exact_rule(blocks, quantum)
    if exact is not None:
        return RegNetFit(*exact, int(blocks.size), 0.0)
    top = max(int(blocks.max()), quantum)
    # w0 on a log grid of multiples of the quantum first: every multiple up to the widest
    # block made torchvision's regnet_y_128gf (widths to 7392) take 9 s, random rules 17 s.
    w0s = np.unique(np.round(np.geomspace(quantum, top, W0_STEPS) / quantum) * quantum)
    coarse = _search(blocks, quantum, w0s, np.geomspace(*WA_RANGE, wa_steps),
                     np.linspace(*WM_RANGE, wm_steps))
    # Then a finer grid around the best few, every multiple of the quantum near their
    # w0: the rule's widths jump at thresholds of wa and wm that a coarse grid can step
    # over, and the best coarse w0 is not always nearest the best fine one.
    every = np.arange(quantum, top + 1, quantum, dtype=np.float64)
    fits = [coarse[i] for i in np.argsort([f[0] for f in coarse], kind="stable")[:3]]
    for _, w0, wa, wm in list(fits):
        near_w0 = every[(every >= w0 / 1.2 - 2 * quantum) & (every <= w0 * 1.2 + 2 * quantum)]
        fits += _search(blocks, quantum, near_w0, np.geomspace(wa / 1.2, wa * 1.2, 41),
                        np.linspace(max(WM_RANGE[0], wm - 0.08),
                                    min(WM_RANGE[1], wm + 0.08), 33))
    error, w0, wa, wm = min(fits)
    return RegNetFit(int(w0), float(wa), float(wm), int(blocks.size), float(error))


def _exact_rule(blocks: np.ndarray, quantum: int) -> tuple[int, float, float] | None:
    """(w0, wa, wm) of a rule in the fit's ranges whose block widths are exactly
    ``blocks``, or None where no rule makes them.

    With t = ln(wm) and x = wa / w0, block j is in stage k (width
    round(w0 e^(k t) / quantum) quantum) while (k - 1/2) t <= ln(1 + x j) < (k + 1/2) t,
    and w0 is the first block's width. A width W is stage k's while k t lies in
    [ln((W - q/2) / w0), ln((W + q/2) / w0)): those edges, for k = 1, 2, ..., cut the
    range of t into pieces in each of which every width is made by a fixed run of
    stages kl..kh (by none: no rule in that piece). Stages a rule's blocks jump past (a
    large wa on a small w0) are simply in no run. Within a piece, x must lie at or above
    each width's lower bound (e^((kl - 1/2) t) - 1) / (its first block) and below its
    upper bound (e^((kh + 1/2) t) - 1) / (its last block) (:func:`_feasible_t`).
    Each candidate is checked against the rule itself (ties round to even there).
    """
    w0 = int(blocks[0])
    if w0 % quantum or np.any(blocks % quantum) or np.any(np.diff(blocks) < 0):
        return None  # the rule's widths are multiples of the quantum and never fall
    widths, first = np.unique(blocks, return_index=True)
    last = np.searchsorted(blocks, widths, side="right") - 1
    low_edge = np.log((widths - quantum / 2) / w0)  # w0's is < 0: stage 0 makes it
    high_edge = np.log((widths + quantum / 2) / w0)
    t_min, t_max = np.log(WM_RANGE)
    ks = np.arange(1, int(high_edge[-1] / t_min) + 2)
    cuts = np.concatenate([np.outer(low_edge[1:], 1 / ks).ravel(),
                           np.outer(high_edge, 1 / ks).ravel(), [t_min, t_max]])
    cuts = np.unique(cuts[(cuts >= t_min) & (cuts <= t_max)])
    t1, t2 = cuts[:-1], cuts[1:]
    mid = (t1 + t2) / 2
    kl = np.ceil(low_edge / mid[:, None])  # per piece and width: its first, last stage
    kl[:, 0] = 0
    kh = np.ceil(high_edge / mid[:, None]) - 1
    keep = np.all(kl <= kh, axis=1)
    t1, t2, kl, kh = t1[keep], t2[keep], kl[keep], kh[keep]
    # Bounds on x, each (e^(exponent t) - 1) / block + constant: a width's first block
    # bounds it from below, its last from above (block 0 is stage 0 whatever x is), and
    # the range of wa both ways.
    low_of, high_of = first >= 1, last >= 1
    zero = np.zeros((t1.size, 1))
    lower = (np.hstack([kl[:, low_of] - 0.5, zero]), np.append(first[low_of], 1.0),
             np.append(np.zeros(low_of.sum()), WA_RANGE[0] / w0))
    upper = (np.hstack([kh[:, high_of] + 0.5, zero]), np.append(last[high_of], 1.0),
             np.append(np.zeros(high_of.sum()), WA_RANGE[1] / w0))
    lo, hi = _feasible_t(t1, t2, lower, upper)
    for p in [p for p in np.argsort(lo - hi, kind="stable") if lo[p] < hi[p]][:16]:
        # The widest interval first: its rule survives rounding best. wm on pycls's
        # 0.001 grid first, from the interval's middle outwards, then the middle itself.
        wm_low, wm_high = np.exp([lo[p], hi[p]])
        grid = np.arange(np.ceil(wm_low * 1000), np.floor(wm_high * 1000) + 1) / 1000
        grid = grid[(grid > wm_low) & (grid < wm_high)]
        middle = float(np.exp((lo[p] + hi[p]) / 2))
        for wm in [*grid[np.argsort(np.abs(grid - middle), kind="stable")][:8], middle]:
            x_low = float(np.max(_bounds(lower, p, float(wm))))
            x_high = float(np.min(_bounds(upper, p, float(wm))))
            middle_wa = w0 * (x_low + x_high) / 2
            for wa in (round(middle_wa, 2), middle_wa):
                if (x_low <= wa / w0 < x_high and _rule_widths(w0, wa, float(wm), blocks.size,
                                                                quantum) == blocks.tolist()):
                    return w0, float(wa), float(wm)
    return None


def _bounds(bounds: tuple[np.ndarray, np.ndarray, np.ndarray], piece: int,
            wm: float) -> np.ndarray:
    """The values of piece ``piece``'s bounds on x = wa / w0 at this wm."""
    exponents, blocks, constants = bounds
    return (wm ** exponents[piece] - 1) / blocks + constants


def _feasible_t(t1: np.ndarray, t2: np.ndarray, lower, upper) -> tuple[np.ndarray, np.ndarray]:
    """Per piece [t1, t2], the t within it where some x lies between every lower bound and
    every upper one: (lo, hi), empty where lo >= hi.

    An upper bound minus a lower one is a sum of three exponentials in t (exponents
    kh + 1/2, kl - 1/2 and 0), which has at most two roots, one at t = 0 (a constant
    bound has one at most): in t > 0 it changes sign once at most. So each pair of bounds
    holds on one interval of the piece, and all of them on the intersection, whose ends
    are the pairs' crossings, found by bisection (all pairs at once).
    """
    def gap(t):  # upper minus lower bound for each (piece, lower, upper) at t
        e_low, b_low, c_low = lower
        e_up, b_up, c_up = upper
        return ((np.exp(e_up[:, None, :] * t) - 1) / b_up + c_up
                - (np.exp(e_low[:, :, None] * t) - 1) / b_low[:, None] - c_low[:, None])
    shape = (t1.size, lower[1].size, upper[1].size)
    left = np.broadcast_to(t1[:, None, None], shape).copy()
    right = np.broadcast_to(t2[:, None, None], shape).copy()
    holds_left, holds_right = gap(left) > 0, gap(right) > 0
    for _ in range(50):  # the piece's width / 2^50: far below any rule's interval
        half = (left + right) / 2
        same = (gap(half) > 0) == holds_left
        left = np.where(same, half, left)
        right = np.where(same, right, half)
    crossing = (left + right) / 2
    never = ~holds_left & ~holds_right
    lo = np.where(~holds_left & holds_right, crossing, t1[:, None, None]).max(axis=(1, 2))
    hi = np.where(holds_left & ~holds_right, crossing, t2[:, None, None]).min(axis=(1, 2))
    return np.where(never.any(axis=(1, 2)), np.inf, lo), hi


def _rule_widths(w0: int, wa: float, wm: float, depth: int, quantum: int) -> list[float]:
    """The rule's per-block widths as :func:`cnnlab.models.regnet.generate_regnet`
    makes them, before its group-width step."""
    stages = generate_regnet(w0, wa, wm, depth, 1, 1.0, quantum)
    return np.repeat(np.asarray(stages.widths, dtype=np.float64), stages.depths).tolist()


def _search(blocks: np.ndarray, quantum: int, w0s: np.ndarray, was: np.ndarray,
            wms: np.ndarray) -> list[tuple[float, float, float, float]]:
    """For each w0, (e_fit, w0, wa, wm) of its best grid point; ties to the first in grid
    order."""
    j = np.arange(blocks.size, dtype=np.float64)
    best = []
    # A few w0 at a time: the whole grid of a 64-block network is tens of millions of
    # widths at once.
    step = max(1, 2_000_000 // (was.size * wms.size * blocks.size))
    for start in range(0, w0s.size, step):
        w0 = w0s[start:start + step]
        # Each block's stage as generate_regnet computes it (np.round, like Python's
        # round, takes ties to even), for every (w0, wa, wm, block) ...
        grow = np.log((w0[:, None, None] + was[:, None] * j) / w0[:, None, None])
        stage = np.round(grow[:, :, None, :] / np.log(wms)[:, None]).astype(np.intp)
        # ... and each block's error for each stage k it can be in, from the rule's
        # width for (w0, wm, k): gathering those is a few times faster than computing
        # every block's width and its log on the whole grid.
        k = np.arange(int(stage.max()) + 1)
        width = np.round(w0[:, None, None] * wms[:, None] ** k / quantum) * quantum
        error = np.abs(np.log(np.maximum(width, quantum)[..., None] / blocks))
        errors = error[np.arange(w0.size)[:, None, None, None], np.arange(wms.size)[:, None],
                       stage, np.arange(blocks.size)].mean(axis=3).reshape(w0.size, -1)
        for i, at in enumerate(np.argmin(errors, axis=1)):
            a, m = divmod(int(at), wms.size)
            best.append((float(errors[i, at]), float(w0[i]), float(was[a]), float(wms[m])))
    return best
