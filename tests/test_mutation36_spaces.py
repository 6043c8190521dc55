"""Design spaces, from a hand mutation test (session 40): above 224x224 no range grows
past the paper's, RegNet's wa included."""

from __future__ import annotations

import dataclasses

import numpy as np

from cnnlab.design import spaces as S


def test_no_range_grows_past_the_papers_above_224():
    paper = S.SpaceRanges.for_input(224)
    for side in (256, 448):
        ranges = S.SpaceRanges.for_input(side)
        # wa went on scaling (to 8.7-280 at 256, 12.7-406 at 448) while w0 and the
        # widths stopped at 256 and 1024.
        assert dataclasses.replace(ranges, image_size=224) == paper, side
        assert (ranges.max_width, ranges.regnet_w0, ranges.regnet_wa) == (
            1024, (8, 256), (8.0, 256.0))


def test_regnet_draws_at_a_large_input_keep_wa_in_the_papers_range():
    rng = np.random.default_rng(0)
    ranges = S.SpaceRanges.for_input(448)
    was = [S._regnet_params(rng, ranges)["wa"] for _ in range(300)]
    assert 8.0 <= min(was) and max(was) <= 256.0


class _FixedDraw:
    """A generator whose uniform draw is ``value`` (in whatever range it is asked for)."""

    def __init__(self, value: float):
        self.value = value

    def uniform(self, low: float, high: float) -> float:
        assert low <= self.value <= high
        return self.value


def test_regnet_slopes_are_rounded_to_the_nearest_quantum_not_up():
    # 5.61 is 5.6 to the nearest 0.1 (pycls would round up, to 5.7: the module says so).
    assert S._log_uniform_float(_FixedDraw(np.log(5.61)), 2.0, 64.0, 0.1) == 5.6
    assert S._log_uniform_float(_FixedDraw(np.log(2.2494)), 1.5, 3.0, 0.001) == 2.249


def test_a_slope_drawn_at_the_top_of_its_range_is_not_rounded_past_it():
    # At 56x56 wa's top is 256 x (1/4)^(2/3) = 101.59..., not a multiple of 0.1: the draw
    # at its very top rounds to 101.6, past the range, and is held at the top instead.
    top = S.SpaceRanges.for_input(56).regnet_wa[1]
    assert round(top, 1) > top
    assert S._log_uniform_float(_FixedDraw(np.log(top)), 2.0, top, 0.1) == top
