"""Design-space EDF behaviour that a manual mutation test of cnnlab/design/edf.py found
unchecked: each test here fails on one deliberate bug that test_design_edf.py let pass
(unequal sample sizes, unsorted weighted input, the spaces passed the other way round)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlab.design.edf import (
    compare_normalized,
    complexity_bin_edges,
    edf,
    edf_curve,
    kolmogorov_sf,
    ks_test,
)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        edf([1.0, 2.0], 1.5, weights=[2.0, -1.0])


def test_weighted_curve_keeps_each_weight_with_its_error():
    # Unsorted errors: 10 weighs 2, 20 weighs 3, 30 weighs 1 (of 6).
    x, y = edf_curve([30.0, 10.0, 20.0], weights=[1, 2, 3])
    np.testing.assert_allclose(x, [10, 20, 30])
    np.testing.assert_allclose(y, [2 / 6, 5 / 6, 1.0])


def test_ks_p_value_uses_each_samples_own_size():
    # 2 against 6 models, disjoint: D = 1, sqrt(2 * 6 / 8) = 1.2247.
    r = ks_test([1.0, 2.0], [3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    assert (r.statistic, r.n_a, r.n_b) == (1.0, 2, 6)
    assert r.pvalue == pytest.approx(kolmogorov_sf(math.sqrt(12 / 8)))


def test_complexities_must_be_positive():
    # Log-spaced bins: a zero complexity is an input error, said so, even when every
    # model has it (all-equal values take a shortcut that never reaches the log).
    for bad in ([0.0, 5.0], [0.0, 0.0]):
        with pytest.raises(ValueError, match="complexities must be > 0"):
            complexity_bin_edges(bad)


def test_one_complexity_is_one_bin():
    # Every model at the same MACs: one bin, not `bins` copies of one edge (the report
    # prints "shared bins: 1 of 1", not "1 of 10").
    np.testing.assert_array_equal(complexity_bin_edges([5.0, 5.0, 5.0], bins=10), [5.0, 5.0])
    got = compare_normalized([1.0, 2.0], [5, 5], [1.5, 3.0], [5, 5], bins=10, permutations=20)
    assert (got.shared_bins, got.bins) == (1, 1)


def test_models_outside_the_shared_bins_are_left_out_for_either_space():
    # test_design_edf has B reach past A; here A does: A's far models are not compared.
    error = lambda c: 30 - 3 * np.log(np.asarray(c, dtype=float))  # noqa: E731
    a, b = [1, 2, 3, 4, 50, 60, 70, 80], [1, 2, 3, 4, 1, 2, 3, 4]
    got = compare_normalized(error(a), a, error(b), b, bins=2, permutations=50)
    assert (got.shared_bins, got.compared_a, got.compared_b) == (1, 4, 8)
    assert got.statistic == 0.0


def test_second_space_needs_one_complexity_per_error():
    with pytest.raises(ValueError, match="one complexity per error"):
        compare_normalized([1.0, 2.0], [1, 2], [1.5, 2.5], [1], permutations=10)


def test_permutation_p_value_is_never_zero():
    # 20 against 20 models in one bin, every A error below every B one: no shuffle of
    # the labels reaches D = 1 again (odds 2 / C(40, 20)), so p is its floor 1 / (1 + P)
    # and not 0, which would claim a certainty 200 permutations cannot give.
    a, b = np.arange(20.0), np.arange(100.0, 120.0)
    got = compare_normalized(a, np.ones(20), b, np.ones(20), permutations=200)
    assert got.statistic == pytest.approx(1.0)
    assert got.pvalue == pytest.approx(1 / 201)
