"""A channels-last batch of another channel count than the model's: permuting alone
leaves 3 channels for a grey model, so the fix converts them too."""

import pytest
import torch

from cnnlab.models import get_model


def test_an_rgb_batch_channels_last_for_a_grey_model_is_told_to_convert_too():
    grey = get_model("lenet_modern").eval()
    with pytest.raises(ValueError, match=r"permute\(0, 3, 1, 2\)\.mean\(1, keepdim=True\)"):
        grey(torch.rand(2, 28, 28, 3))
    with pytest.raises(ValueError) as caught:  # its own count: the permute alone
        grey(torch.rand(2, 28, 28, 1))
    assert str(caught.value).endswith("give x.permute(0, 3, 1, 2)")
