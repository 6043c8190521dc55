"""cnnlab's GoogLeNet, whose forward returns its auxiliary logits in training, names an
input it cannot take as every cnnlab model does (its own forward bypassed the check)."""

import pytest
import torch

from cnnlab.models import ModelInputError, get_model


@pytest.fixture(scope="module")
def googlenet():
    return get_model("googlenet", num_classes=10).eval()


@pytest.mark.parametrize(("x", "fix"), [
    (torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), r"x\.float\(\) / 255"),
    (torch.rand(2, 32, 32, 3), r"channels-last .*x\.permute\(0, 3, 1, 2\)"),
    (torch.rand(2, 1, 32, 32), r"takes 3 channel.*get_model\('googlenet', in_channels=1\)"),
])
def test_a_wrong_input_is_named_with_its_fix(googlenet, x, fix):
    # Before: torch's "expected scalar type Byte but found Float" and the like.
    with pytest.raises(ModelInputError, match=fix):
        googlenet(x)


@pytest.mark.parametrize(("x", "fix"), [
    (torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), r"x\.float\(\) / 255"),
    (torch.rand(3, 32, 32), r"x\.unsqueeze\(0\)"),
    (torch.rand(2, 1, 32, 32), r"takes 3 channel"),
])
def test_its_input_transform_no_longer_broadcasts_a_wrong_input_into_logits(x, fix):
    # Before: logits for each, of 0..255 pixels too.
    model = get_model("googlenet", num_classes=10, transform_input=True).eval()
    with pytest.raises(ModelInputError, match=fix):
        model(x)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_training_still_returns_the_auxiliary_logits():
    model = get_model("googlenet", num_classes=10, aux_logits=True).train()
    out = model(torch.rand(2, 3, 64, 64))
    assert type(out).__name__ == "GoogLeNetOutputs"
    assert out.logits.shape == out.aux_logits1.shape == (2, 10)


def test_googlenet_with_transform_input_traces_without_a_tracer_warning():
    # cnnlab export's fallback exporter traces: the input check must not warn there.
    import warnings

    model = get_model("googlenet", num_classes=10, transform_input=True).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # jit.trace's own deprecation
        traced = torch.jit.trace(model, torch.rand(1, 3, 96, 96))
    x = torch.rand(2, 3, 96, 96)
    torch.testing.assert_close(traced(x), model(x))
