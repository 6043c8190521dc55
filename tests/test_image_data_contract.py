"""ImageData refuses what would train wrongly later: numpy arrays and channels-last images."""

import numpy as np
import pytest
import torch

from cnnlab.data.dataset import ImageData

LABELS = torch.zeros(2, dtype=torch.int64)


@pytest.mark.parametrize("shape", [(2, 28, 28, 1), (2, 32, 32, 3), (2, 64, 48, 4)])
def test_channels_last_images_are_refused_with_the_permute(shape):
    with pytest.raises(ValueError, match=r"channels-last.*permute\(0, 3, 1, 2\)"):
        ImageData(torch.zeros(shape, dtype=torch.uint8), LABELS)


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 3, 32, 32), (2, 4, 8, 3), (2, 1, 3, 3)])
def test_channels_first_images_are_taken(shape):
    assert ImageData(torch.zeros(shape, dtype=torch.uint8), LABELS).images.shape == shape


def test_numpy_images_name_torch_from_numpy():
    with pytest.raises(TypeError, match=r"images must be a torch tensor, got ndarray: "
                                        r"pass torch\.from_numpy\(images\)"):
        ImageData(np.zeros((2, 1, 28, 28), np.uint8), LABELS)


def test_numpy_labels_name_torch_from_numpy():
    with pytest.raises(TypeError, match=r"labels must be a torch tensor.*from_numpy\(labels\)"):
        ImageData(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), np.zeros(2, np.int64))


def test_a_list_is_named_without_numpy_advice():
    with pytest.raises(TypeError, match=r"got list$"):
        ImageData(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), [0, 0])


def test_grey_images_without_their_channel_dim_name_unsqueeze():
    # torchvision's FashionMNIST.data is (N, 28, 28)
    with pytest.raises(ValueError, match=r"\(2, 28, 28\): pass images\.unsqueeze\(1\)$"):
        ImageData(torch.zeros(2, 28, 28, dtype=torch.uint8), LABELS)
