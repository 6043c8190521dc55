"""A sweep analysed alone: the complexity-normalised EDF counts the MACs bins its models
fall in, not its models, and weighs each bin alike."""

import numpy as np
import pytest

from cnnlab.design.edf import shared_bins_weights


def test_one_space_counts_its_bins_not_its_models():
    edges = np.geomspace(1e5, 4e6, 5)  # 4 bins; two models in each of the first two
    (weights,), shared = shared_bins_weights([[1.2e5, 1.5e5, 3e5, 4e5]], edges)
    assert shared == 2
    assert weights == pytest.approx([0.25] * 4) and weights.sum() == pytest.approx(1)


def test_two_spaces_still_share_the_bins_both_hold():
    edges = np.geomspace(1e5, 4e6, 5)
    (a, b), shared = shared_bins_weights([[1.2e5, 1.5e5, 3e5], [1.3e5, 2e6]], edges)
    assert shared == 1
    assert a == pytest.approx([0.5, 0.5, 0]) and b == pytest.approx([1, 0])
