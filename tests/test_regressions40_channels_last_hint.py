"""A channels-last batch or shape whose channels are another count than the model takes
(an RGB photo for a grey model) is called channels-last, as one of the model's own count
is: read as (C, H, W), it had 28 channels, and the fix asked for a model of 28."""

import pytest
import torch

from cnnlab.inspect import summary
from cnnlab.inspect._input import shape_problem
from cnnlab.models import get_model


@pytest.fixture(scope="module")
def grey():
    return get_model("lenet_modern").eval()


def test_an_rgb_photo_shape_for_a_grey_model_reads_as_channels_last(grey):
    assert shape_problem(grey, (28, 28, 3)).kind == "channels-last"
    assert shape_problem(grey, (3, 28, 28)).kind == "channels"  # (C, H, W) of another count
    assert shape_problem(grey, (1, 28, 28)) is None


def test_summary_of_a_grey_model_given_an_rgb_hwc_shape_says_the_grey_one(grey):
    with pytest.raises(Exception, match=r"looks channels-last \(H, W, C\): try input_size "
                                        r"\(1, 28, 28\)") as caught:
        summary(grey, (28, 28, 3))
    assert "(1, 28, 3)" not in str(caught.value)


def test_a_grey_model_given_an_rgb_batch_channels_last_is_not_told_to_take_28(grey):
    with pytest.raises(ValueError) as caught:
        grey(torch.rand(2, 28, 28, 3))
    said = str(caught.value)
    assert "in_channels=28" not in said and "permute(0, 3, 1, 2)" in said
