"""model(x) in a notebook on an input the model cannot take: an error naming the input
and the fix, not torch's from deep inside a layer."""

import pytest
import torch

from cnnlab.models import ModelInputError, get_model


@pytest.fixture(scope="module")
def lenet():
    return get_model("lenet_d2l").eval()


@pytest.mark.parametrize(("x", "fix"), [
    (torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8), r"x\.float\(\) / 255"),
    (torch.rand(2, 28, 28, 1), r"channels-last .*x\.permute\(0, 3, 1, 2\)"),
    (torch.rand(1, 28, 28), r"x\.unsqueeze\(0\)"),
    (torch.rand(28, 28), r"x\[None, None\]"),
    (torch.rand(2, 3, 28, 28), r"takes 1 channel.*in_channels=3"),
    (torch.rand(2, 1, 28, 28, dtype=torch.float64), r"float32.*x\.to\(torch\.float32\)"),
    (torch.rand(2, 1, 28, 28, device="meta"), r"on cpu.*x\.to\('cpu'\)"),
])
def test_a_wrong_input_is_named_with_its_fix(lenet, x, fix):
    with pytest.raises(ModelInputError, match=fix) as caught:
        lenet(x)
    assert f"shape {tuple(x.shape)}" in str(caught.value)
    assert isinstance(caught.value, RuntimeError)  # what callers caught before


def test_an_image_below_the_smallest_size_names_it():
    with pytest.raises(ModelInputError, match=r"alexnet_d2l takes images of at least 65x65"):
        get_model("alexnet_d2l")(torch.rand(1, 1, 28, 28))


def test_a_right_input_still_works_and_other_failures_pass_through(lenet):
    assert lenet(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    # Another size on a classifier sized for 28x28: the model's own error, unchanged.
    with pytest.raises(ValueError, match="classifier reads 400 features"):
        lenet(torch.rand(2, 1, 32, 32))
