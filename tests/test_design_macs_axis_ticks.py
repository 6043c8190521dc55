"""The MACs axis's ticks (round_ends) against what its docstring promises, checked on the
numbers alone (no figure drawn). A hand mutation test (round 4) found that a band under
2.5x could lose its even steps, a wider band's right end could run to 9 x 10^(k+1), and the
decade boundary could move, with the figure tests still passing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlab.design.macs_axis import CLOSEST, PAD, round_ends


def finest_round_step(lo: float, hi: float) -> float:
    """The smallest 1, 2 or 5 x 10^k that spans lo..hi in at most 8 steps, by brute force."""
    steps = sorted(m * 10.0 ** k for k in range(-2, 13) for m in (1, 2, 5))
    return next(s for s in steps if math.ceil(hi / s) - math.floor(lo / s) <= 8)


@pytest.mark.parametrize("low, high", [(1.07e6, 2.2e6), (5.0e6, 5.5e6), (3.1e5, 6.9e5),
                                       (4.52e6, 7.95e6), (1.2e6, 1.8e6)])  # the last: 8 steps
def test_a_band_under_two_and_a_half_times_is_ticked_at_even_round_steps(low, high):
    ticks = round_ends(low, high)
    step = finest_round_step(low * (1 - PAD), high * (1 + PAD))
    np.testing.assert_allclose(np.diff(ticks), step)
    assert ticks[0] <= low * (1 - PAD) and ticks[-1] >= high * (1 + PAD)
    assert ticks[0] > low * (1 - PAD) - step and ticks[-1] < high * (1 + PAD) + step


@pytest.mark.parametrize("low, high", [(2.4e6, 8e6), (1.07e6, 9.5e6), (8.2e5, 3.1e6)])
def test_a_wider_band_ends_at_the_round_values_next_to_its_points(low, high):
    ticks = round_ends(low, high)
    # The ends' mantissas (1, 1.2, 1.5, 2, ... 9) are at most a third apart: an end
    # further than that from the padded points is not the nearest round value.
    assert 1 <= low * (1 - PAD) / ticks[0] < 4 / 3
    assert 1 <= ticks[-1] / (high * (1 + PAD)) < 4 / 3


@pytest.mark.parametrize("low, high", [(1e6, 9.5e6), (1e6, 15e6), (3e5, 2e7)])
def test_from_a_decade_on_the_log_axis_ticks_itself(low, high):
    assert round_ends(low, high) is None


def test_a_wider_band_keeps_every_whole_mantissa_that_has_room():
    np.testing.assert_allclose(round_ends(2.4e6, 8e6), np.arange(2, 10) * 1e6)  # 2M ... 9M


@pytest.mark.parametrize("low, high", [(1.07e6, 9.79e6), (3.1e5, 2.9e6), (1.07e6, 9.5e6)])
def test_labelled_ticks_keep_their_distance_from_each_other_and_the_ends(low, high):
    # 9M beside an end at 10M ran together ("9M10M"): closer than CLOSEST of the axis.
    gaps = np.diff(np.log(round_ends(low, high)))
    assert gaps.min() >= CLOSEST * gaps.sum() - 1e-12
