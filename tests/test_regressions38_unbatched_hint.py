"""model(x) on a tensor of 3 dimensions: the fix it names must give the (N, C, H, W)
batch the model takes. A batch of one-channel images without their channel dim
(torchvision's FashionMNIST.data[:8] is (8, 28, 28)) was told "x.unsqueeze(0)", which made
it (1, 8, 28, 28), and the next error asked for a model built for 8 channels."""

import pytest
import torch

from cnnlab.models import ModelInputError, get_model


def _named_fix(model, x) -> str:
    with pytest.raises(ModelInputError) as caught:
        model(x)
    return str(caught.value).rpartition(" give ")[2]


@pytest.mark.parametrize(("name", "kw", "x", "fix"), [
    ("lenet_d2l", {}, torch.rand(8, 28, 28), "x.unsqueeze(1)"),
    ("lenet_d2l", {}, torch.rand(28, 28, 1), "x.permute(2, 0, 1).unsqueeze(0)"),
    ("lenet_d2l", {}, torch.rand(1, 28, 28), "x.unsqueeze(0)"),
    ("resnet18_small", {"in_channels": 3}, torch.rand(32, 32, 3),
     "x.permute(2, 0, 1).unsqueeze(0)"),
    ("resnet18_small", {"in_channels": 3}, torch.rand(3, 32, 32), "x.unsqueeze(0)"),
])
def test_the_fix_named_for_three_dims_is_the_one_that_works(name, kw, x, fix):
    model = get_model(name, num_classes=10, **kw).eval()
    assert _named_fix(model, x) == fix
    fixed = eval(fix, {"x": x})  # noqa: S307 - the hint's own expression, on x
    assert model(fixed).shape == (fixed.shape[0], 10)


def test_a_batch_without_channels_for_a_three_channel_model_says_so():
    model = get_model("resnet18_small", num_classes=10, in_channels=3).eval()
    with pytest.raises(ModelInputError, match=r"takes 3 channels.*x\.unsqueeze\(1\)"):
        model(torch.rand(8, 32, 32))
