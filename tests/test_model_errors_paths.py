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


@pytest.mark.parametrize("size", ["28x28x1", "96x96x3"])
def test_a_channels_last_input_large_enough_is_refused_too(size):
    # resnet18_d2l takes 28x1: a network of 28 input channels was summarised as asked
    result = CliRunner().invoke(app, ["summary", "resnet18_d2l", "--input", size])
    assert result.exit_code == 2
    turned = "x".join([size[-1], *size.split("x")[:2]])
    assert f"give {turned}" in result.output


def test_the_summary_command_names_a_channels_last_input_in_its_own_form():
    result = CliRunner().invoke(app, ["summary", "lenet_d2l", "--input", "28x28x1"])
    assert result.exit_code == 2
    assert "for 1 channel(s) give 1x28x28" in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    import warnings

    from cnnlab.onnx_run import OnnxModel

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 6, 10)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the older exporter's deprecation notice
        torch.onnx.export(net, (torch.rand(2, 1, 8, 8),), str(path), dynamo=False,
                          input_names=["images"], dynamic_axes={"images": {0: "batch"}})
    return OnnxModel(path)


@pytest.mark.parametrize(("x", "fix"), [
    # Before: logits, of 0..255 taken as floats.
    (torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8), r"x\.float\(\) / 255"),
    # Before: onnxruntime's "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid ...".
    (torch.rand(2, 8, 8, 1), r"takes 1x8x8 .*channels-last.*x\.permute\(0, 3, 1, 2\)"),
    (torch.rand(2, 1, 9, 9), r"takes 1x8x8 \(C, H, W\) images.*predict_image"),
    (torch.rand(1, 8, 8), r"x\.unsqueeze\(0\)"),
])
def test_an_exported_model_names_an_input_it_cannot_take(onnx_model, x, fix):
    with pytest.raises(ModelInputError, match=r"^tiny\.onnx cannot take this input.*" + fix):
        onnx_model(x)
    assert onnx_model(torch.rand(3, 1, 8, 8)).shape == (3, 10)


def test_a_batch_evaluate_cannot_score_leaves_the_model_in_its_training_mode():
    from cnnlab.train.evaluate import evaluate

    # A notebook's own loop, scoring raw pixels: before, the model stayed in eval mode
    # after the error, and trained on with dropout off and batch norm frozen.
    model = get_model("lenet_d2l").train()
    pixels = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    with pytest.raises(ModelInputError, match=r"x\.float\(\) / 255"):
        evaluate(model, [(pixels, torch.zeros(4, dtype=torch.long))], 10, torch.device("cpu"))
    assert model.training
