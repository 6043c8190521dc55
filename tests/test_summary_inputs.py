"""The ways a notebook user gives summary() its input: (C, H, W), a side, a batch's shape,
a tensor, a model name, or nothing; and what each wrong one is told."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.inspect import SummaryError, count_macs, summary
from cnnlab.models import get_model


@pytest.fixture(scope="module")
def lenet():
    return get_model("lenet_d2l")


def _measured(s):
    return s.model_name, s.input_size, s.batch_size, s.totals.macs


def test_a_side_a_batch_shape_and_a_tensor_all_mean_one_28px_image(lenet):
    expected = _measured(summary(lenet, (1, 28, 28)))
    assert expected[:3] == ("lenet_d2l", (1, 28, 28), 1)
    assert _measured(summary(lenet, 28)) == expected  # C from the first conv
    assert _measured(summary(lenet, (1, 1, 28, 28))) == expected  # batch 1 in front
    assert _measured(summary(lenet, torch.Size([1, 28, 28]))) == expected
    assert _measured(summary(lenet, torch.zeros(1, 28, 28))) == expected
    assert count_macs(lenet, 28) == count_macs(lenet, (1, 28, 28)) == expected[3]


def test_a_batch_shape_or_tensor_sets_the_batch(lenet):
    assert summary(lenet, (3, 1, 28, 28)).batch_size == 3
    assert summary(lenet, torch.zeros(5, 1, 28, 28)).batch_size == 5
    with pytest.raises(ValueError, match=r"batch of 3 but batch_size=2; give one sample's"):
        summary(lenet, (3, 1, 28, 28), batch_size=2)


def test_no_size_takes_the_size_get_model_built_the_model_for():
    assert summary(get_model("lenet_d2l")).input_size == (1, 28, 28)
    assert summary(get_model("lenet_d2l", image_size=32)).input_size == (1, 32, 32)
    with pytest.raises(ValueError, match=r"needs input_size for this Sequential.*\(C, H, W\)"):
        summary(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_a_model_name_is_built_at_its_default_or_the_given_size():
    assert _measured(summary("LeNet_D2L"))[:3] == ("lenet_d2l", (1, 28, 28), 1)
    # A classifier sized for the image is built for the size asked for.
    assert summary("lenet_d2l", (1, 32, 32)).input_size == (1, 32, 32)


@pytest.mark.parametrize("size, error, words", [
    (28.0, TypeError, r"one sample's \(C, H, W\), such as \(1, 28, 28\)"),
    ("1x28x28", TypeError, r"one sample's \(C, H, W\)"),
    ((28, 28), ValueError, r"\(28, 28\) has no channels: give \(C, H, W\), e.g. \(1, 28, 28\)"),
    ((0, 28, 28), ValueError, r"every size >= 1"),
    ((1, 1, 1, 28, 28), ValueError, r"or an \(N, C, H, W\) shape"),
    (torch.zeros(28), ValueError, r"an \(N, C, H, W\) or \(C, H, W\) tensor"),
])
def test_unreadable_sizes_say_what_to_give(lenet, size, error, words):
    with pytest.raises(error, match=words):
        summary(lenet, size)


def test_a_side_without_a_convolution_asks_for_the_channels():
    with pytest.raises(ValueError, match=r"input_size=8 means \(C, 8, 8\).*give one sample's "
                                         r"shape: \(C, H, W\) for images \(e.g. \(1, 8, 8\)\), "
                                         r"or \(8,\) if 8 is its number of input features"):
        summary(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), 8)
    assert summary(nn.Linear(3, 4), (3,)).input_size == (3,)  # MLPs keep any sample shape
    # A first convolution that is lazy has no C either (it said "no convolution, or a lazy
    # one" to both, and suggested (3, N, N) to an MLP taking N features).
    with pytest.raises(ValueError, match=r"first convolution \(a lazy one\); give \(C, H, W\)"):
        summary(nn.Sequential(nn.LazyConv2d(4, 3)), 28)


def test_wrong_channels_name_the_first_convolutions(lenet):
    with pytest.raises(SummaryError, match=r"first convolution takes 1 channel: try input_size "
                                           r"\(1, 28, 28\)"):
        summary(lenet, (3, 28, 28))


def test_not_a_model_is_refused():
    with pytest.raises(TypeError, match="nn.Module or a registered model name"):
        summary(42, (1, 28, 28))


@pytest.mark.parametrize("scratch", [True, "fft"])
def test_a_network_on_the_scratch_ops_has_the_torch_networks_macs_layer_by_layer(scratch):
    # The shift method's in-place products escaped torch's counter (ResNet-18 showed
    # 10.8M MACs, not 318.7M), on a padded grid; FFTs are not counted at all; and the
    # scratch average pool's matrix product was counted where torch's pool is not.
    reference = summary(get_model("resnet18_d2l"), 96, depth=9)
    ours = summary(get_model("resnet18_d2l", scratch_ops=scratch), 96, depth=9)
    assert [(r.name, r.macs) for r in ours.rows] == [(r.name, r.macs) for r in reference.rows]
    assert ours.totals.macs == reference.totals.macs == 318_657_536
    assert count_macs(get_model("resnet18_d2l", scratch_ops=scratch), 96) == 318_657_536


def test_a_network_written_with_lazy_layers_as_the_book_writes_them_is_summarised():
    # It raised torch's "Attempted to use an uninitialized parameter" before any forward.
    def book_lenet():
        return nn.Sequential(
            nn.LazyConv2d(6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
            nn.LazyConv2d(16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
            nn.LazyLinear(120), nn.Sigmoid(), nn.LazyLinear(84), nn.Sigmoid(), nn.LazyLinear(10))

    state = torch.get_rng_state()
    s = summary(book_lenet(), (1, 28, 28))
    assert (s.totals.params, s.totals.macs) == (61_706, 416_520)  # the book's LeNet
    assert torch.equal(torch.get_rng_state(), state)  # its initialisation drew on a fork
    assert count_macs(book_lenet(), (1, 28, 28)) == 416_520


def test_a_named_model_is_built_on_a_fork_of_the_rng():
    # summary("lenet_d2l") drew its weights from the global RNG: a seeded notebook that
    # looked at a summary first trained other weights.
    state = torch.get_rng_state()
    summary("lenet_d2l")
    summary("resnet18_small", (1, 32, 32))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name, side, least", [("alexnet", 32, 63), ("vgg11", 31, 32),
                                               ("nin_d2l", 28, 67)])
def test_a_registered_model_given_too_small_an_input_is_told_its_least(name, side, least):
    # The CLI said so; summary() raised a pooling layer's "Output size is too small".
    with pytest.raises(ValueError, match=rf"input \dx{side}x{side} is too small for {name} "
                                         rf"\(at least {least}x{least} pixels\)$"):
        summary(name, side)


def test_another_device_or_dtype_than_the_models_is_refused_with_the_fix_or_built_so(lenet):
    # The input's dtype failed in the first layer, blamed on it ("failed in module
    # 'features.0'"); a named model is built here and can be built that way.
    with pytest.raises(ValueError, match=r"dtype=float64 for a model whose weights are "
                                         r"float32 on cpu: summarise a copy moved there"):
        summary(lenet, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"device='meta', dtype=float32 for a model whose "
                                         r"weights are float32 on cpu"):
        summary(lenet, device="meta")
    assert summary("lenet_d2l", device="meta").totals.macs == 416_520
    assert summary("lenet_d2l", dtype=torch.float64).dtype == "float64"

