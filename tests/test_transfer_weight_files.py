"""Weights files as practitioners bring them to fine-tuning: saved under DDP or
torch.compile (every key behind a wrapper's prefix), pickled whole, cut short."""

from __future__ import annotations

import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from cnnlab.models import get_model
from cnnlab.models.interop import WeightsMismatchError, from_torchvision, read_weights_file

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def resnet18_tv() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.forward_features(x)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod.", "model."])
def test_weights_behind_a_wrapper_prefix_load_as_the_bare_ones(resnet18_tv, tmp_path, prefix):
    # DDP saves module.*, torch.compile _orig_mod.*, Lightning model.*: the same weights.
    path = tmp_path / "wrapped.safetensors"
    save_file({prefix + k: v.contiguous() for k, v in resnet18_tv.state_dict().items()},
              str(path))
    model = get_model("tv:resnet18", num_classes=3, weights=path).eval()
    x = torch.rand(2, 3, 64, 64)
    body = nn.Sequential(*list(resnet18_tv.children())[:-1])
    assert torch.equal(_features(model, x), body(x).flatten(1))
    assert model.pretrained_load.new_head
    # A cnnlab model wrapped by DDP (its own keys behind module.) loads too.
    own = get_model("tv:resnet18", num_classes=3).state_dict()
    torch.save({"module." + k: v for k, v in own.items()}, tmp_path / "ddp_cnnlab.pth")
    again = get_model("tv:resnet18", num_classes=3, weights=tmp_path / "ddp_cnnlab.pth")
    assert torch.equal(again.state_dict()["head.weight"], own["head.weight"])
    # from_torchvision takes such a file as well.
    converted = from_torchvision(path, "resnet18").eval()
    assert torch.allclose(converted(x), resnet18_tv(x), atol=1e-5)


def test_another_architecture_behind_a_prefix_is_named_by_the_keys_that_differ(tmp_path):
    torch.manual_seed(0)
    other = torchvision.models.resnet34(weights=None).state_dict()
    torch.save({"module." + k: v for k, v in other.items()}, tmp_path / "r34.pth")
    with pytest.raises(WeightsMismatchError) as info:
        get_model("tv:resnet18", weights=tmp_path / "r34.pth")
    assert "r34.pth" in str(info.value) and "body.layer1.2.conv1.weight" in str(info.value)


def test_a_whole_pickled_model_is_refused_with_the_way_to_resave_it(resnet18_tv, tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(resnet18_tv, path)  # torch.save(model): its class, to be imported and run
    with pytest.raises(ValueError) as info:
        get_model("tv:resnet18", num_classes=3, weights=path)
    text = str(info.value)
    assert str(path) in text and "torchvision.models.resnet.ResNet" in text
    assert "torch.save(model.state_dict()" in text and "weights_only=False" not in text


@pytest.mark.parametrize("kept", [100, 5000, 0.5, -100])
def test_a_pth_file_cut_short_is_named_damaged(resnet18_tv, tmp_path, kept):
    whole = tmp_path / "whole.pth"
    torch.save(resnet18_tv.state_dict(), whole)
    data = whole.read_bytes()
    size = int(len(data) * kept) if isinstance(kept, float) else kept % len(data)
    cut = tmp_path / "resnet18-f37072fd.pth"
    cut.write_bytes(data[:size])
    with pytest.raises(ValueError) as info:
        read_weights_file(cut)
    text = str(info.value)
    assert text.startswith(f"{cut}: cannot read as a weights file: it is damaged or cut short")
    assert "Invalid argument" not in text and "internal miniz error" not in text


def test_a_torchscript_file_is_named_as_such_not_damaged(tmp_path, monkeypatch):
    # A whole TorchScript archive began as a zip, so it was called "damaged or cut short".
    # Torch 2.4's torch.load, even with weights_only=True, loaded it with torch.jit.load
    # (and cnnlab then said only "expected a mapping of parameter names to tensors").
    import warnings

    path = tmp_path / "model.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script's deprecation, in newer torch
        torch.jit.save(torch.jit.script(nn.Linear(2, 2)), path)

    def no_code(*args, **kwargs):
        raise AssertionError("torch.jit.load was called: the archive's code was loaded")

    monkeypatch.setattr(torch.jit, "load", no_code)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "looks like a TorchScript archive": said
        with pytest.raises(ValueError) as info:
            read_weights_file(path)
    text = str(info.value)
    assert "a TorchScript archive (torch.jit.save)" in text and "damaged" not in text
    assert "torch.save(model.state_dict(), PATH)" in text
