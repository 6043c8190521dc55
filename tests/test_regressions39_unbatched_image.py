"""model(x) on one image of 3 dimensions whose channels are not the model's: the hint
must not turn it into a batch. An RGB photo (3, H, W) given to a grey model was told
"x.unsqueeze(1)", which ran and gave 3 answers for one image; a channels-last RGB image
(H, W, 3) was taken for H one-channel images of W x 3 pixels."""

import pytest
import torch

from cnnlab.models import ModelInputError, get_model


def _message(model, x) -> str:
    with pytest.raises(ModelInputError) as caught:
        model(x)
    return str(caught.value)


@pytest.mark.parametrize("x", [torch.rand(3, 28, 28), torch.rand(4, 28, 28)])
def test_one_colour_image_for_a_grey_model_is_named_beside_a_batch(x):
    said = _message(get_model("lenet_d2l").eval(), x)
    assert f"for one image of {len(x)} channels (C, H, W), convert it to 1 channel" in said
    assert f"for {len(x)} one-channel images (N, H, W) give x.unsqueeze(1)" in said


@pytest.mark.parametrize(("name", "kw", "x", "fix"), [
    ("lenet_d2l", {}, torch.rand(28, 28, 3),
     "one channels-last image of 3 channels (H, W, C) give "
     "x.permute(2, 0, 1).mean(0, keepdim=True).unsqueeze(0)"),
    ("lenet_d2l", {}, torch.rand(28, 28, 4),
     "one channels-last image of 4 channels (H, W, C) give "
     "x.permute(2, 0, 1)[:3].mean(0, keepdim=True).unsqueeze(0)"),
    ("resnet18_small", {"in_channels": 3}, torch.rand(32, 32, 1),
     "one channels-last image of 1 channel (H, W, C) give "
     "x.permute(2, 0, 1).expand(3, -1, -1).unsqueeze(0)"),
])
def test_an_image_of_other_channels_is_told_to_be_converted(name, kw, x, fix):
    model = get_model(name, num_classes=10, **kw).eval()
    said = _message(model, x)
    assert fix in said
    assert "one-channel images" not in said
    with torch.no_grad():  # the code given, pasted, classifies the one image
        assert model(eval(fix.split(" give ")[1], {"x": x})).shape == (1, 10)
