"""model(x) on 3 dimensions of a channel count not the model's, both readings named: one
grey or RGB(A) image to convert, and a batch of one-channel images (FashionMNIST.data[:4]
given to an RGB model was told only to convert "one image of 4 channels"). One grey image
(1, H, W) for an RGB model is one image, not "1 one-channel images" for a grey model."""

import pytest
import torch

from cnnlab.inspect._input import unbatched_fix
from cnnlab.models import ModelInputError, get_model


def _message(model, x) -> str:
    with pytest.raises(ModelInputError) as caught:
        model(x)
    return str(caught.value)


def test_four_grey_images_for_an_rgb_model_are_named_beside_one_rgba_image():
    said = _message(get_model("resnet18_small", num_classes=10, in_channels=3).eval(),
                    torch.rand(4, 32, 32))
    assert "for one image of 4 channels (C, H, W), convert it to 3 channels" in said
    assert ("for 4 one-channel images (N, H, W) give x.unsqueeze(1) to a model built for "
            "them (get_model('resnet18_small', in_channels=1))") in said


def test_one_grey_image_for_an_rgb_model_is_told_to_be_converted():
    said = _message(get_model("resnet18_small", num_classes=10, in_channels=3).eval(),
                    torch.rand(1, 32, 32))
    assert ("for one image of 1 channel (C, H, W), convert it to 3 channels, then give "
            "x.unsqueeze(0)") in said
    assert "one-channel images" not in said


def test_a_model_without_a_registered_name_is_not_told_to_rebuild_one_by_name():
    # an exported ONNX model (onnx_run passes no name) or a user's own module
    said = unbatched_fix((8, 16, 16), 3, None)
    assert "get_model(" not in said
    assert "for 8 one-channel images (N, H, W) give x.unsqueeze(1)" in said
    assert "or convert them to 3 channels" in said
