"""An input a model cannot take, met where a user meets it: a torchvision model with its
input transform, a model named in the message by the name it was built by, and a size
given channels-last to summary. Each says the input's fix once, not torch's error."""

import pytest
import torch
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.inspect import summary
from cnnlab.models import ModelInputError, get_model

pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def tv_googlenet():
    return get_model("tv:googlenet", num_classes=10, transform_input=True).eval()


def test_one_channel_into_a_transformed_torchvision_model_names_the_channels(tv_googlenet):
    # torchvision's transform reads x[:, 1]: an IndexError, "index 1 is out of bounds".
    with pytest.raises(ModelInputError, match=r"takes 3 channel\(s\), this input has 1"):
        tv_googlenet(torch.rand(2, 1, 32, 32))


def test_pixels_into_a_transformed_torchvision_model_are_refused_with_the_conversion(
        tv_googlenet):
    # Its arithmetic took uint8 pixels as they were and gave logits of nonsense.
    pixels = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with pytest.raises(ModelInputError, match=r"x\.float\(\) / 255"):
        tv_googlenet(pixels)
    assert tv_googlenet(pixels.float() / 255).shape == (2, 10)


def test_a_transform_on_other_than_three_channels_is_refused_when_built():
    # It built, and every forward failed with torch's IndexError.
    with pytest.raises(ValueError, match=r"transform_input=False for in_channels=1"):
        get_model("tv:googlenet", transform_input=True, in_channels=1)


def test_the_message_names_the_model_as_it_was_built_and_its_fix_with_it():
    with pytest.raises(ModelInputError, match=r"^tv:resnet18 cannot take this input.*"
                                              r"get_model\('tv:resnet18', in_channels=1\)"):
        get_model("tv:resnet18", num_classes=10).eval()(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize(("size", "fix"), [((28, 28, 1), r"give \(1, 28, 28\)"),
                                           ((1, 8, 8), r"^input 1x8x8 is too small")])
def test_a_size_given_channels_last_to_summary_is_named_so(size, fix):
    # Before, "input 28x28x1 is too small for lenet_d2l", whatever its 28x28 pixels.
    with pytest.raises(ValueError, match=fix):
        summary("lenet_d2l", size)


def test_the_summary_command_names_a_channels_last_input_in_its_own_form():
    result = CliRunner().invoke(app, ["summary", "lenet_d2l", "--input", "28x28x1"])
    assert result.exit_code == 2
    assert "for 1 channel(s) give 1x28x28" in result.output
    assert "Traceback" not in result.output
