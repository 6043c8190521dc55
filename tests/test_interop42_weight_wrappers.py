"""Weights files saved inside a dict of their own: pytorch-cifar's
``{"net": state_dict, "acc": ..., "epoch": ...}`` loads, and a file that holds no one
set of weights says what it holds instead of "expected a mapping"."""

import pytest
import torch
from torch import nn

from cnnlab.models import get_model
from cnnlab.models.interop import read_weights_file


def _state():
    return nn.Linear(3, 2).state_dict()


def test_weights_saved_under_a_key_of_their_own_beside_plain_values_are_read(tmp_path):
    # pytorch-cifar's layout (``net``); EMA scripts save ``ema`` so. Said before:
    # "expected a mapping of parameter names to tensors", naming nothing the file holds.
    state = _state()
    path = tmp_path / "ckpt.pth"
    torch.save({"net": state, "acc": 93.1, "epoch": 200}, path)
    read = read_weights_file(path)
    assert read.keys() == state.keys()
    assert all(torch.equal(read[k], state[k]) for k in state)


def test_a_run_starts_from_such_a_file(tmp_path):
    source = get_model("lenet_d2l")
    path = tmp_path / "lenet.pth"
    torch.save({"net": source.state_dict(), "epoch": 3}, path)
    loaded = get_model("lenet_d2l", weights=path)
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_two_sets_of_weights_are_named_with_the_way_to_keep_one(tmp_path):
    path = tmp_path / "two.pth"
    torch.save({"net": _state(), "ema": _state(), "epoch": 3}, path)
    with pytest.raises(ValueError) as info:
        read_weights_file(path)
    text = str(info.value)
    assert "'net' and 'ema'" in text, text
    assert f"torch.load({str(path)!r}, weights_only=True)['net']" in text, text


def test_a_file_without_weights_says_what_it_holds(tmp_path):
    path = tmp_path / "meta.pth"
    torch.save({"epoch": 3, "acc": 91.5}, path)
    with pytest.raises(ValueError) as info:
        read_weights_file(path)
    text = str(info.value)
    assert "expected a mapping of parameter names to tensors" in text
    assert "'epoch' (int), 'acc' (float)" in text, text
    path = tmp_path / "list.pth"
    torch.save([torch.ones(2)], path)
    with pytest.raises(ValueError, match=r"it holds a list, not a mapping"):
        read_weights_file(path)


def test_tensors_beside_a_nested_set_are_not_unwrapped(tmp_path):
    # A state_dict with a stray value is not a wrapper: its own tensors are the weights.
    path = tmp_path / "mixed.pth"
    torch.save({"fc.weight": torch.ones(2), "extra": _state()}, path)
    with pytest.raises(ValueError, match="expected a mapping of parameter names to tensors"):
        read_weights_file(path)


def test_offline_advice_names_where_torchvisions_download_is_found(monkeypatch, tmp_path):
    # Offline, the message said only to save a state_dict elsewhere and pass the file;
    # torchvision's own download (copied from another machine's cache) also serves, by
    # name, when it lies in torch.hub's folder: the message names the file and the folder.
    import urllib.error

    import torchvision

    from cnnlab.models.pretrained import WeightsUnavailableError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real = torch.hub.load_state_dict_from_url

    def offline(url, **kwargs):
        cached = tmp_path / "torch" / "hub" / "checkpoints" / url.rsplit("/", 1)[-1]
        if cached.exists():  # torch.hub reads a cached download without the network
            return real(url, **kwargs)
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError) as caught:
        get_model("tv:resnet18", num_classes=10, in_channels=1, weights="DEFAULT")
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    assert f"resnet18-f37072fd.pth, in {folder}, where weights='DEFAULT' finds it" in str(
        caught.value)
    folder.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), folder / "resnet18-f37072fd.pth")
    model = get_model("tv:resnet18", num_classes=10, in_channels=1, weights="DEFAULT")
    assert model.pretrained_load.input_channels == (3, 1)
