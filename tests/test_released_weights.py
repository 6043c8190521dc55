"""Weights in the form torchvision's released files have, which a state_dict saved
today does not: no batch-norm ``num_batches_tracked`` (files saved before PyTorch
0.4.1: DenseNet, VGG-BN) and DenseNet's legacy ``norm.1`` layer names. torchvision
itself loads them (torchvision.models.densenet._load_state_dict); so must cnnlab, by a
file and by a weights name (torch.hub hands the file over as it is).

Every file is made here from a torchvision model built in the test; no network.
"""

from __future__ import annotations

import re

import pytest
import torch
import torchvision

from cnnlab.models import get_model
from cnnlab.models.interop import from_torchvision

torch.set_num_threads(1)


def _as_released(model: torch.nn.Module) -> dict:
    """``model``'s state_dict as a pre-0.4.1 torchvision release holds it."""
    legacy = re.compile(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.")
    return {legacy.sub(r"\1.\2.", k): v.clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


@pytest.fixture(scope="module")
def densenet():
    torch.manual_seed(0)
    model = torchvision.models.densenet121(weights=None).eval()
    for m in model.modules():  # statistics other than the fresh ones, so they count
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("name", ["densenet121", "tv:densenet121"])
def test_a_released_densenet_file_loads_and_computes_torchvision_function(
        densenet, name, tmp_path):
    state = _as_released(densenet)
    assert any(".norm.1." in k for k in state)
    assert not any(k.endswith("num_batches_tracked") for k in state)
    path = tmp_path / "densenet121-a639ec97.pth"
    torch.save(state, path)
    model = get_model(name, weights=str(path)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), densenet(x), atol=1e-5)
    counts = [v for k, v in model.state_dict().items() if k.endswith("num_batches_tracked")]
    assert counts and all(int(c) == 0 for c in counts)  # as PyTorch loads them


def test_a_released_file_by_weights_name(densenet, monkeypatch):
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda url, **kwargs: _as_released(densenet))
    model = get_model("tv:densenet121", num_classes=10, in_channels=1, weights="DEFAULT")
    assert model.head.out_features == 10


def test_from_torchvision_takes_weights_without_batch_counts(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    path = tmp_path / "resnet18.pth"
    torch.save(_as_released(tv), path)
    model = from_torchvision(path, "resnet18").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), tv(x))
