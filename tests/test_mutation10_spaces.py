"""Design-space sampling checks a manual mutation test (helper mutation10, session 37)
found missing: RegNet's depth reaches the paper's d < 64 bound, and a band whose two
bounds are equal is refused."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.design.spaces import DesignSpaceError, SpaceRanges, _regnet_params, parse_band


def test_regnet_depth_is_uniform_over_the_whole_range_both_ends_included():
    # 3,000 draws over the 60 depths 4..63: each end turns up ~50 times (never: p < 1e-20).
    rng = np.random.default_rng(0)
    depths = [_regnet_params(rng, SpaceRanges())["depth"] for _ in range(3000)]
    assert (min(depths), max(depths)) == (4, 63)
    assert len(set(depths)) == 60


def test_a_band_whose_bounds_are_equal_is_refused():
    with pytest.raises(DesignSpaceError, match="LOW < HIGH"):
        parse_band("5M-5M")
    assert parse_band("5M-5.1M") == (5e6, 5.1e6)


def test_anynet_depths_reach_both_ends_of_one_to_sixteen():
    from cnnlab.design.spaces import _stage_params
    rng = np.random.default_rng(1)
    # 2,000 depths; 16 is drawn ~2% of the time (its log-interval (15, 16]).
    depths = [d for _ in range(500)
              for d in _stage_params(rng, SpaceRanges(), "anynetx_a")["depths"]]
    assert (min(depths), max(depths)) == (1, 16)


def test_top_width_scales_to_the_nearest_multiple_of_8_and_stops_at_1024():
    # 1024 (96/224)^(2/3) = 581.9: the nearest multiple of 8 is 584 (not 576 below it).
    assert SpaceRanges.for_input(96).max_width == 8 * round(1024 * (96 / 224) ** (2 / 3) / 8)
    assert SpaceRanges.for_input(96).max_width == 584
    assert SpaceRanges.for_input(28).max_width == 256
    assert SpaceRanges.for_input(448).max_width == 1024  # the paper's top, not 1624


class _AtTheEnds:
    """A generator stub whose uniform draw is one end of the interval."""

    def __init__(self, end: int):
        self.end = end

    def uniform(self, low, high):
        return (low, high)[self.end]


def test_rounded_regnet_slopes_stay_inside_their_range():
    from cnnlab.design.spaces import _log_uniform_float
    # At 96x96 wa's range is 8 s .. 256 s with s = (96/224)^(2/3): 4.546 .. 145.5, whose
    # ends round to 4.5 and 145.5 on the 0.1 grid, outside the range.
    low, high = SpaceRanges.for_input(96).regnet_wa
    assert low <= _log_uniform_float(_AtTheEnds(0), low, high, 0.1) <= high
    assert low <= _log_uniform_float(_AtTheEnds(1), low, high, 0.1) <= high


def test_a_band_includes_its_ends():
    from cnnlab.design.spaces import sample_trial
    first = sample_trial("anynetx_a", 0, 0)
    # The same seed draws the same network first; a band starting at its MACs keeps it.
    again = sample_trial("anynetx_a", 0, 0, macs=(first.macs, first.macs + 1))
    assert again.params == first.params
    again = sample_trial("anynetx_a", 0, 0, macs=(first.macs - 1, first.macs))
    assert again.params == first.params


def test_the_hint_quotes_its_percentiles_in_order():
    from cnnlab.design.spaces import sample
    with pytest.raises(DesignSpaceError) as caught:
        sample("anynetx_a", np.random.default_rng(0), macs=(1e12, 2e12), max_tries=60)
    words = str(caught.value).split("10% ")[1]
    p10, rest = words.split(", median ")
    p50, p90 = rest.split(", 90% ")
    # parse_band refuses LOW >= HIGH: both pairs parse only if 10% < median < 90%.
    assert parse_band(f"{p10}-{p50}") and parse_band(f"{p50}-{p90}")


def test_exponents_in_a_band_may_be_written_with_a_capital_e():
    assert parse_band("1E-3-2E-3") == (1e-3, 2e-3)
    assert parse_band("1e-3-2e-3") == (1e-3, 2e-3)


def test_ordered_spaces_draw_every_group_width():
    from cnnlab.design.spaces import _ordered_stage_params
    rng = np.random.default_rng(2)
    seen = {p["group_widths"][0] for _ in range(5)
            for p in _ordered_stage_params(rng, SpaceRanges(), "anynetx_d")}
    assert seen == set(SpaceRanges().group_widths)
