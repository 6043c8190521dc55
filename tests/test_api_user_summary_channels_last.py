"""summary(model, (H, W, C)) suggests the (C, H, W) it meant, not a shape still wrong."""

import pytest

from cnnlab.inspect import SummaryError, summary
from cnnlab.models import get_model


def test_a_channels_last_input_size_is_named_with_the_right_one():
    with pytest.raises(SummaryError, match=r"channels-last \(H, W, C\): try input_size "
                                           r"\(1, 28, 28\)"):
        summary(get_model("lenet_d2l"), (28, 28, 1))
