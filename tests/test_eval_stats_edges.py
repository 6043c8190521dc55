"""Normalisation statistics of an empty split, the black level of unnormalised input
(what a test-time shift pads with and a normaliser divides by must be usable numbers),
the precision each --amp evaluates in, and the largest test-time shift."""

import pytest
import torch

from cnnlab.train.evaluate import Preprocess, channel_stats


def test_an_empty_split_has_mean_0_and_std_1_per_channel_so_normalising_divides_by_1():
    mean, std = channel_stats(torch.zeros((0, 3, 4, 4), dtype=torch.uint8))
    assert (mean, std) == ([0.0] * 3, [1.0] * 3)


def test_black_is_0_without_normalisation_and_minus_mean_over_std_with_it():
    # A shifted test view's border is black, as training's translation pads it.
    assert Preprocess(3, 28, None, None).black_level() == [0.0, 0.0, 0.0]
    assert Preprocess(2, 28, [0.5, 0.2], [0.25, 0.1]).black_level() == [-2.0, -2.0]


def test_evaluation_under_amp_computes_in_the_precision_named():
    from cnnlab.train.evaluate import autocast_context

    layer = torch.nn.Linear(4, 2)
    x = torch.ones(3, 4)
    for amp, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16), ("off", torch.float32)):
        with torch.no_grad(), autocast_context(torch.device("cpu"), amp):
            assert layer(x).dtype == dtype, amp


def test_a_test_time_shift_must_leave_some_of_the_image_in_view():
    from cnnlab.train.config import ConfigError
    from cnnlab.train.evaluate import check_tta_shift

    check_tta_shift(27, 28)  # one column and row still seen
    for shift in (28, 29, -1):
        with pytest.raises(ConfigError, match=f"tta_shift={shift} does not fit"):
            check_tta_shift(shift, 28)
