"""The from-scratch layers and convert_to_scratch: drop-in for torch.nn, models unchanged."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from op_helpers import assert_same_op, rand
from torch import nn

from cnnlab.models import get_model
from cnnlab.ops import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    MaxPool2d,
    convert_to_scratch,
    unconverted_modules,
)

# ---------------------------------------------------------------- layers


def test_conv2d_layer_initialises_like_nn_conv2d_and_shares_state_dicts():
    torch.manual_seed(0)
    ours = Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    torch.manual_seed(0)
    theirs = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, atol=0, rtol=0)
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(ours(x), theirs(x))
    theirs.load_state_dict(Conv2d(4, 6, 3, stride=2, padding=1, groups=2).state_dict())


@pytest.mark.parametrize("fft", [False, True])
def test_conv2d_layer_forward_and_gradients(fft):
    ours = Conv2d(3, 4, (3, 2), padding="same", dilation=(1, 2), bias=False, fft=fft).double()
    theirs = nn.Conv2d(3, 4, (3, 2), padding="same", dilation=(1, 2), bias=False).double()
    assert_same_op(lambda x, w: torch.func.functional_call(ours, {"weight": w}, (x,)),
                   lambda x, w: torch.func.functional_call(theirs, {"weight": w}, (x,)),
                   rand(2, 3, 7, 8), rand(4, 3, 3, 2))
    assert ours.bias is None and "bias" not in ours.state_dict()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (MaxPool2d(3, 2, 1), nn.MaxPool2d(3, 2, 1)),
        (MaxPool2d(3, 2, ceil_mode=True), nn.MaxPool2d(3, 2, ceil_mode=True)),
        (MaxPool2d(2, dilation=2), nn.MaxPool2d(2, dilation=2)),
        (AvgPool2d(2), nn.AvgPool2d(2)),
        (AvgPool2d(3, 2, 1, count_include_pad=False), nn.AvgPool2d(3, 2, 1,
                                                                   count_include_pad=False)),
        (AdaptiveAvgPool2d((3, 2)), nn.AdaptiveAvgPool2d((3, 2))),
    ],
    ids=lambda m: repr(m),
)
def test_pool_layers_match_torch(ours, theirs):
    assert_same_op(ours, theirs, rand(2, 3, 9, 8))


def test_layers_reject_bad_arguments_at_construction():
    with pytest.raises(ValueError, match="padding_mode='zeros' only"):
        Conv2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="groups=3 must divide"):
        Conv2d(4, 6, 3, groups=3)
    for groups in (0, -2, 1.5):  # 0 was "ZeroDivisionError: integer modulo by zero"
        with pytest.raises(ValueError, match=f"groups must be a positive whole number, got "
                                              f"{groups}"):
            Conv2d(4, 6, 3, groups=groups)
    assert Conv2d(4, 6, 3, groups=np.int64(2)).groups == 2  # numpy's, as nn.Conv2d takes
    with pytest.raises(ValueError, match="needs stride 1"):
        Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="exceeds half the kernel"):
        MaxPool2d(2, padding=2)


# ---------------------------------------------------------------- conversion


def _model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return get_model(name).double()


@pytest.mark.parametrize(
    "name, size, fft",
    [("lenet_bn", 28, False), ("lenet_bn", 28, True), ("resnet18_small", 16, False)],
)
def test_converted_models_give_the_same_outputs_and_gradients(name, size, fft):
    original = _model(name)
    converted = convert_to_scratch(copy.deepcopy(original), fft=fft)
    assert not unconverted_modules(converted)
    kinds = {type(m) for m in converted.modules()}
    assert Conv2d in kinds and BatchNorm in kinds and not kinds & {nn.Conv2d, nn.BatchNorm2d}
    x = rand(4, 1, size, size)
    names = [name for name, _ in original.named_parameters()]

    def with_params(model):  # the model as a function of (input, *parameters)
        return lambda x, *p: torch.func.functional_call(model, dict(zip(names, p, strict=True)),
                                                        (x,))

    for training in (True, False):  # batch statistics, then the running ones
        original.train(training)
        converted.train(training)
        assert_same_op(with_params(converted), with_params(original), x,
                       *original.parameters(), atol=1e-9, rtol=1e-7)
        # Both updated their running statistics the same way in training mode.
        for key, value in original.state_dict().items():
            torch.testing.assert_close(converted.state_dict()[key], value, atol=1e-12, rtol=1e-9)


def test_conversion_keeps_the_state_dict_tensors_and_the_random_state():
    original = _model("resnet18_small")
    state = original.state_dict()
    rng = torch.random.get_rng_state()
    converted = convert_to_scratch(original)
    assert converted is original
    assert torch.equal(torch.random.get_rng_state(), rng)  # no throwaway initialisation
    after = converted.state_dict()
    assert list(after) == list(state)
    assert all(after[k].data_ptr() == state[k].data_ptr() for k in state)  # same tensors
    nn.Conv2d(1, 1, 1).load_state_dict(Conv2d(1, 1, 1).state_dict())


def test_conversion_reports_what_stays_pytorch():
    shared = nn.MaxPool2d(2)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),  # no scratch equivalent
        nn.GroupNorm(2, 4),
        shared,
        nn.Sequential(shared, nn.AdaptiveMaxPool2d(1)),
    )
    with pytest.warns(UserWarning, match="Conv2d: 0; GroupNorm: 1; AdaptiveMaxPool2d: 3.1"):
        convert_to_scratch(model)
    assert isinstance(model[2], MaxPool2d) and model[3][0] is model[2]  # still shared
    with pytest.raises(TypeError, match="left these layers to PyTorch"):
        convert_to_scratch(nn.Sequential(nn.GroupNorm(1, 2)), strict=True)
    with pytest.raises(TypeError, match="wrap it in nn.Sequential"):
        convert_to_scratch(nn.Conv2d(1, 1, 1))


def test_a_converted_model_prints_which_layers_are_from_scratch():
    # Same arguments as torch.nn's layers: without a mark, printing the model could not
    # show a class which layers now run on cnnlab's ops.
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.AvgPool2d(2),
                          nn.AdaptiveAvgPool2d(1), nn.ReLU())
    before = [repr(layer) for layer in model]
    convert_to_scratch(model)
    after = [repr(layer) for layer in model]
    assert after[0] == "scratch " + before[0]  # Conv2d's arguments print as torch's do
    assert [text.split("(")[0] for text in after] == [
        "scratch Conv2d", "scratch MaxPool2d", "scratch AvgPool2d",
        "scratch AdaptiveAvgPool2d", "ReLU"]


def test_subclasses_are_left_alone():
    class StdConv(nn.Conv2d):  # a different forward under the same base class
        pass

    model = nn.Sequential(StdConv(1, 1, 3))
    with pytest.warns(UserWarning, match="StdConv"):
        convert_to_scratch(model)
    assert type(model[0]) is StdConv


def test_fft_switch_reaches_layers_converted_earlier():
    model = convert_to_scratch(nn.Sequential(nn.Conv2d(1, 2, 3)))
    assert model[0].fft is False
    convert_to_scratch(model, fft=True)
    assert model[0].fft is True


# ---------------------------------------------------------------- training


@pytest.mark.real_data
@pytest.mark.slow
def test_lenet_bn_trains_to_the_same_accuracy_with_scratch_ops(tmp_path, monkeypatch):
    """An epoch of LeNet-BN on all of Fashion-MNIST, PyTorch's layers vs ours.

    Same seed, so the same initial weights and batches; the runs differ only in
    floating-point rounding and must end within 1 point (78.6% after the epoch). About
    25 s on a 2-core CPU at one thread (PyTorch's run 8 s, ours 16 s); a second epoch
    added 15 s and no check.
    """
    from cnnlab.data import DataError, load_dataset
    from cnnlab.train import TrainConfig, model_setup, train

    try:
        data = load_dataset("fashion-mnist", download=False)
    except DataError as exc:
        pytest.skip(f"real Fashion-MNIST not available: {exc}")
    build = model_setup.get_model

    def run(scratch: bool) -> float:
        cfg = TrainConfig(model="lenet_bn", preset=None, epochs=1, lr=0.1, batch_size=128,
                          device="cpu", quiet=True, deterministic=True, out_dir=str(tmp_path))
        # The trainer builds its model itself (model_setup); hand it the converted one.
        builder = (lambda *a, **k: convert_to_scratch(build(*a, **k))) if scratch else build
        monkeypatch.setattr(model_setup, "get_model", builder)
        return train(cfg, data=data, write_run_dir=False).final["test_acc"]

    torch_acc, scratch_acc = run(False), run(True)
    assert torch_acc > 0.75  # it learned
    assert abs(torch_acc - scratch_acc) <= 0.01
