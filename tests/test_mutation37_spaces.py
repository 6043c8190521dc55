"""design/spaces.py's sampler under a band: its ends, how long it tries, what its
refusal says, and the grids its draws lie on. Hand-mutation testing (session 40) found
these unpinned."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cnnlab.design import spaces
from cnnlab.design.spaces import DesignSpaceError, SpaceRanges, sample, sample_trial


# A sampler that never gave up would hang the suite: fail after 30 s instead.
@pytest.mark.timeout(30)
def test_a_space_whose_ranges_give_no_network_gives_up_after_its_raw_draws():
    # RegNet with at most 2 blocks never makes 4 stages: every draw is outside the space.
    ranges = replace(SpaceRanges.for_input(28), regnet_depth=(1, 2))
    # Not told to widen a band it was not given, nor one that played no part.
    for macs in (None, (1e5, 1e6)):
        with pytest.raises(DesignSpaceError, match=r"^no regnetx network in 300 draws from "
                           "these ranges: none meets the space's rules; widen them$"):
            sample("regnetx", 0, ranges=ranges, max_tries=3, macs=macs)


@pytest.mark.parametrize("space", ["anynetx_a", "anynetx_e", "regnetx"])
def test_a_band_of_one_value_takes_a_network_of_exactly_that_cost(space):
    free = sample_trial(space, 3, 1)
    pinned = sample_trial(space, 3, 1, macs=(free.macs, free.macs), max_tries=50)
    assert pinned.params == free.params


def test_the_refusal_gives_the_spread_of_the_networks_it_tried():
    rng, seen = np.random.default_rng(0), []
    for _ in range(10):  # the same draws the refusal below makes
        (s,), _ = spaces._draws("anynetx_a", rng, SpaceRanges.for_input(28))
        seen.append(spaces.anynet_complexity(s.config, 28, 1, 10)["flops"])
    q = [spaces.format_count(v) for v in np.percentile(seen, [10, 50, 90])]
    with pytest.raises(DesignSpaceError) as err:
        sample("anynetx_a", 0, macs=(1, 2), max_tries=10)
    assert f"among 10 networks of the space (10 draws): widen the band; this space's " \
           f"MACs at 28x28: 10% {q[0]}, median {q[1]}, 90% {q[2]}" in str(err.value)


def test_a_batch_of_ordered_draws_stops_counting_at_max_tries():
    # AnyNetX_E draws 1024 at a time; seed 0's first batch holds 2 networks of the space.
    with pytest.raises(DesignSpaceError, match=r"among 1 networks of the space \(1024 draws"):
        sample("anynetx_e", 0, macs=(1, 2), max_tries=1)


def test_trials_of_two_spaces_are_drawn_apart():
    a, b = (spaces.trial_rng(0, 0, s).random(4) for s in ("anynetx_a", "anynetx_b"))
    assert not np.array_equal(a, b)


def test_draws_lie_on_the_spaces_grids():
    widths, bottlenecks = set(), set()
    for i in range(30):
        widths.update(sample_trial("anynetx_a", 0, i).params["widths"])
        bottlenecks.add(sample_trial("regnetx", 0, i).params["bottleneck"])
    assert all(w % 8 == 0 for w in widths) and len(widths) > 10
    assert bottlenecks == {1, 2, 4}


def test_no_ranges_for_an_empty_input():
    with pytest.raises(DesignSpaceError, match="image_size must be >= 1, got 0"):
        SpaceRanges.for_input(0)
    with pytest.raises(DesignSpaceError, match="multiples of 8"):
        spaces.log_uniform_pmf(12, 64, 8)


def test_a_space_drawn_in_batches_tries_max_tries_networks_before_it_gives_up():
    # About 1 AnyNetX_E draw in 200 is in the space: a stop at 100 draws per try ended
    # this search after 1052 networks.
    with pytest.raises(DesignSpaceError, match="among 2000 networks of the space"):
        sample("anynetx_e", 0, macs=(1, 2), max_tries=2000)


def test_a_batched_space_whose_ranges_give_no_network_stops_at_its_raw_draws(monkeypatch):
    # The stop for ranges that give nothing counts draws, batched or not: counted in
    # calls, AnyNetX_E's 20000 tries would have drawn two billion networks in vain.
    calls = []
    monkeypatch.setattr(spaces, "_draws", lambda space, rng, ranges: (
        calls.append(1), ([], spaces.ORDERED_BATCH))[1])
    with pytest.raises(DesignSpaceError, match=f"in {spaces.ORDERED_BATCH} draws"):
        sample("anynetx_e", 0, max_tries=5)
    assert len(calls) == 1
