"""Weight-conversion behaviours no other test held (hand mutation testing, session 39):
each test here fails for a plausible slip in cnnlab/models/interop.py, pretrained.py or
transfer.py that the rest of the suite let through."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab import get_model
from cnnlab.models.interop import (
    WeightsMismatchError,
    best_named,
    load_state_dict_checked,
    model_to_load,
    read_weights_file,
    to_torchvision,
)


def test_a_googlenet_trained_with_auxiliary_heads_keeps_them_in_torchvisions_model():
    # ~4 s the first time in a process (torchvision's probe), 0.2 s after.
    ours = get_model("googlenet", num_classes=10, in_channels=1, aux_logits=True)
    theirs = to_torchvision(ours)
    assert theirs.aux_logits
    assert torch.equal(theirs.aux1.fc2.weight, ours.state_dict()["aux1.fc2.weight"])


def test_a_state_of_one_bare_name_is_reported_as_it_was_saved():
    # One key without a "." has no prefix to take off (it was an IndexError to try).
    state = {"scale": torch.zeros(1)}
    assert best_named(state, ["conv.weight"]) == state


def test_a_checkpoint_keeping_its_model_under_model_state_dict_is_unwrapped(tmp_path):
    # PyTorch's tutorial saves {"epoch": ..., "model_state_dict": ..., ...}.
    state = {"fc.weight": torch.ones(2, 3), "fc.bias": torch.zeros(2)}
    path = tmp_path / "tutorial.pth"
    torch.save({"epoch": 3, "model_state_dict": state, "optimizer_state_dict": {}}, path)
    assert read_weights_file(path).keys() == state.keys()


def test_a_model_sharing_a_weight_between_layers_keeps_it_shared_when_made_to_load(
        registry):
    def own_tied(num_classes=10, in_channels=1):
        first, second = nn.Linear(4, 4), nn.Linear(4, 4)
        second.weight = first.weight
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(4), first, second,
                             nn.Linear(4, num_classes))

    registry(family="own", paper="-", input_size=(1, 8, 8), name="own_tied")(own_tied)
    model = model_to_load("own_tied")
    assert model[2].weight is model[3].weight


def test_a_plain_weights_file_starts_a_model_that_has_no_torchvision_counterpart(tmp_path):
    # Only GoogLeNet's and Inception's files are looked up among torchvision's releases;
    # a model with no torchvision name has none to look in (a TypeError once).
    source = get_model("lenet_d2l")
    path = tmp_path / "lenet.pth"
    torch.save(source.state_dict(), path)
    loaded = get_model("lenet_d2l", weights=path)
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_a_file_beginning_as_a_pickle_but_garbage_is_named_no_pytorch_file(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"\x80\x02garbage-bytes-here")
    with pytest.raises(ValueError, match=r"it is not a PyTorch file \(damaged, or another "):
        read_weights_file(path)


def test_a_mapping_holding_more_than_tensors_is_refused_when_read(tmp_path):
    path = tmp_path / "mixed.pth"
    torch.save({"fc.weight": torch.ones(2), "epoch": 3}, path)
    with pytest.raises(ValueError, match="expected a mapping of parameter names to tensors"):
        read_weights_file(path)


def test_a_batch_norm_saved_without_its_statistics_misses_its_count_too():
    # The count is filled in only beside running statistics that came with the weights.
    state = {"weight": torch.ones(2), "bias": torch.zeros(2)}
    with pytest.raises(WeightsMismatchError) as caught:
        load_state_dict_checked(nn.BatchNorm1d(2), state)
    assert sorted(caught.value.missing) == ["num_batches_tracked", "running_mean",
                                            "running_var"]


def test_a_first_conv_remade_for_other_channels_keeps_its_bias():
    # tv:vgg11 at in_channels=1: torchvision starts its conv biases at 0, and so must the
    # remade first conv.
    from cnnlab.models.pretrained import conv_with_weight

    conv = nn.Conv2d(3, 4, 3)
    nn.init.constant_(conv.bias, 0.25)
    new = conv_with_weight(conv, conv.weight.detach()[:, :1])
    assert new.in_channels == 1 and torch.equal(new.bias, conv.bias)


def test_a_grouped_first_conv_is_not_remade_for_other_channels():
    from cnnlab.models.pretrained import conv_with_weight

    conv = nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="grouped first convolution"):
        conv_with_weight(conv, torch.zeros(4, 1, 3, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # its deprecation, newer torch
def test_a_torchscript_archive_is_refused_before_torch_load_sees_it(tmp_path, monkeypatch):
    # torch 2.4 (which cnnlab supports) hands such an archive to torch.jit.load even
    # with weights_only=True: the archive's code would run before any refusal.
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), path)
    calls = []
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: calls.append(args) or {})
    with pytest.raises(ValueError, match="a TorchScript archive"):
        read_weights_file(path)
    assert calls == []
