"""An exported model given a batch of one-channel images without their channel dim
(FashionMNIST.data[:8]) names the fix a PyTorch model names: x.unsqueeze(1), not
x.unsqueeze(0), which made (1, 8, H, W) and an error about 8 channels."""

import pytest
import torch
from test_model_errors_paths import onnx_model  # noqa: F401 - the fixture

from cnnlab.models import ModelInputError


@pytest.mark.parametrize(("x", "fix"), [
    (torch.rand(8, 8, 8), r"for 8 one-channel images \(N, H, W\) give x\.unsqueeze\(1\)"),
    (torch.rand(1, 8, 8), r"for one image give x\.unsqueeze\(0\)"),
    (torch.rand(8, 8, 1), r"channels-last image.*x\.permute\(2, 0, 1\)\.unsqueeze\(0\)"),
])
def test_an_exported_model_names_the_fix_for_three_dimensions(onnx_model, x, fix):  # noqa: F811
    with pytest.raises(ModelInputError, match=r"^tiny\.onnx cannot take this input.*" + fix):
        onnx_model(x)
