"""ImageData's channels-last guard must not refuse a (N, C, H, W) tensor of more than
four channels and tiny images: make_synthetic(channels=8, image_size=4) worked before
the guard and was refused as "look channels-last" after it."""

import pytest
import torch

from cnnlab.data.dataset import ImageData
from cnnlab.data.synthetic import make_synthetic


@pytest.mark.parametrize(("channels", "side"), [(8, 4), (5, 3), (6, 1)])
def test_many_channels_of_tiny_images_are_taken_as_given(channels, side):
    data = make_synthetic(num_train=4, num_test=2, channels=channels, image_size=side)
    assert data.train.images.shape == (4, channels, side, side)


def test_a_channels_last_batch_is_still_refused():
    with pytest.raises(ValueError, match=r"look channels-last.*permute\(0, 3, 1, 2\)"):
        ImageData(torch.zeros(2, 28, 28, 3, dtype=torch.uint8), torch.zeros(2, dtype=torch.long))
