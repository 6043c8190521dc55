"""EDF statistics at their edges, from a hand mutation test (session 40): the one-sided
gaps are never below 0 even where the weights' sums round, and the chance gap is a D
some relabelling really gives, not an interpolation between two."""

from __future__ import annotations

import numpy as np
from test_design_edf_exact_references import ERRORS_A, ERRORS_B, _every_relabelling, _space

from cnnlab.design.edf import compare_normalized, edf_gaps


def test_a_space_never_ahead_shows_a_gap_of_exactly_zero():
    # Ten weights of 1/10 add up to 0.9999999999999999: at the last error A's EDF is 1
    # and B's a hair below it, which read as B ahead by -1e-16 without the floor at 0.
    assert edf_gaps([0.0], list(range(1, 11))) == (1.0, 0.0)
    assert edf_gaps(list(range(1, 11)), [0.0]) == (0.0, 1.0)


def test_a_normalised_comparison_never_shows_a_negative_gap():
    # 1/2 + 1/2 - 3 x 1/3 rounds to 1e-16, not 0: B is ahead nowhere, by exactly 0.
    got = compare_normalized([0.0, 1.0], [1.0, 1.0], [100.0, 101.0, 102.0], [1.0] * 3,
                             permutations=10)
    assert (got.a_ahead, got.b_ahead) == (1.0, 0.0)
    flipped = compare_normalized([100.0, 101.0, 102.0], [1.0] * 3, [0.0, 1.0], [1.0, 1.0],
                                 permutations=10)
    assert (flipped.a_ahead, flipped.b_ahead) == (0.0, 1.0)


def test_the_chance_gap_is_a_gap_some_relabelling_gives():
    attainable = np.unique(np.round(_every_relabelling(), 9))
    # Few shuffles, whose 95th percentile falls between two of their Ds (0.425 and 0.35
    # interpolated): the chance gap is the larger, a D these models can show.
    for permutations, seed in ((10, 5), (19, 6)):
        got = compare_normalized(*_space(ERRORS_A), *_space(ERRORS_B), bins=2,
                                 permutations=permutations, seed=seed)
        assert np.isclose(got.chance_gap, attainable).any(), (seed, got.chance_gap)
        assert got.chance_gap == 0.5
