"""A channels-last batch of another channel count than the model's: the fix is code a
user can paste. "give x.permute(0, 3, 1, 2), its 3 channel(s) converted to 1" left the
conversion to guess, and the permute alone still fails."""

import pytest
import torch

from cnnlab.models import get_model


@pytest.mark.parametrize(("name", "has", "expected"), [
    ("lenet_modern", 3, "x.permute(0, 3, 1, 2).mean(1, keepdim=True)"),
    ("lenet_modern", 4, "x.permute(0, 3, 1, 2)[:, :3].mean(1, keepdim=True)"),
    ("lenet_modern", 1, "x.permute(0, 3, 1, 2)"),
    ("resnet18_small", 1, "x.permute(0, 3, 1, 2).expand(-1, 3, -1, -1)"),
    ("resnet18_small", 4, "x.permute(0, 3, 1, 2)[:, :3]"),
])
def test_the_fix_given_for_a_channels_last_batch_runs(name, has, expected):
    in_channels = 1 if name == "lenet_modern" else 3
    model = get_model(name, in_channels=in_channels).eval()
    x = torch.rand(2, 28, 28, has)
    with pytest.raises(ValueError) as caught:
        model(x)
    said = str(caught.value)
    assert said.endswith(f"give {expected}"), said
    with torch.no_grad():  # the fix as given, pasted
        assert model(eval(expected, {"x": x})).shape == (2, 10)


def test_a_count_without_a_usual_conversion_is_named():
    grey = get_model("lenet_modern").eval()
    with pytest.raises(ValueError, match=r"permute\(0, 3, 1, 2\), its 2 channels converted "
                                         r"to 1$"):
        grey(torch.rand(2, 28, 28, 2))
