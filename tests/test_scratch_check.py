"""What ``scratch_ops`` / ``convert_to_scratch`` say is left to PyTorch: layers it could not
swap, and the calls to PyTorch's conv, pool and norm functions a ``forward`` makes itself
(torchvision's DenseNet pools with ``F.adaptive_avg_pool2d``), named by layer and line.

Without the forward check a converted model that still pooled on PyTorch's kernel was
reported as running wholly on cnnlab's ops (strict=True passed it).
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from scratch_compare import EXACT, measure, worst
from torch import nn

from cnnlab.models import get_model
from cnnlab.models._registry import model_on_meta
from cnnlab.notices import SetupWarning
from cnnlab.ops import (
    AdaptiveAvgPool2d,
    BatchNorm,
    convert_to_scratch,
    unconverted_calls,
    unconverted_modules,
)


class PoolsInForward(nn.Module):
    """A head that pools by calling PyTorch's functions, as torchvision's DenseNet does."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        x = F.max_pool2d(self.conv(x), 2)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def test_functional_calls_in_a_forward_are_named_by_layer_and_line():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), PoolsInForward())
    with pytest.raises(TypeError) as caught:
        convert_to_scratch(model, strict=True, input_size=(1, 8, 8))
    message = str(caught.value)
    assert "left these layers" not in message  # both convolutions were swapped
    for func in ("F.max_pool2d", "F.adaptive_avg_pool2d"):
        assert f"{func} in 1 (" in message and "test_scratch_check.py:" in message, message
    with pytest.warns(UserWarning, match=r"F\.adaptive_avg_pool2d in 0 \("):
        convert_to_scratch(nn.Sequential(PoolsInForward()), input_size=(1, 8, 8))


def test_calls_from_torch_layers_and_cnnlab_ops_are_not_counted_as_forward_calls():
    # A layer of torch.nn is unconverted_modules' to report (by type), not a call here;
    # cnnlab's ops, whatever torch functions they use, are not PyTorch's layers.
    model = nn.Sequential(nn.GroupNorm(1, 2), nn.Conv2d(2, 2, 3), nn.MaxPool2d(2),
                          nn.BatchNorm2d(2))
    assert unconverted_calls(model, (2, 8, 8)) == {}
    with pytest.raises(TypeError, match=r"layers to PyTorch: GroupNorm: 0$"):
        convert_to_scratch(model, strict=True, input_size=(2, 8, 8))
    assert unconverted_modules(model) == {"GroupNorm": ["0"]}


def test_the_check_leaves_the_model_as_it_was():
    model = convert_to_scratch(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2),
                                             nn.BatchNorm2d(2))).double()
    model[2].eval()  # a frozen BatchNorm keeps its own mode
    before = copy.deepcopy(model.state_dict())
    assert unconverted_calls(model, (1, 6, 6)) == {}  # float64 input for a float64 model
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats too
    assert [m.training for m in model] == [True, True, False]
    assert not any("forward" in vars(m) for m in model.modules())  # stand-ins gone


def test_a_forward_the_check_cannot_run_is_said_unchecked():
    class ReadsValues(nn.Module):
        def forward(self, x):
            return x * float(x.sum())  # no value on the meta device

    class KeepsATensor(nn.Module):  # not a buffer: left on the CPU by the meta forward
        def __init__(self):
            super().__init__()
            self.scale = torch.full((1,), 2.0)

        def forward(self, x):
            return x * self.scale

    # Warned, not refused (strict is about what is left): it refused a fully converted
    # model, blaming the input size.
    for module in (ReadsValues(), KeepsATensor()):
        with pytest.warns(SetupWarning, match="converted the layers but could not check the "
                                              "calls .*register_buffer"):
            convert_to_scratch(nn.Sequential(nn.Conv2d(1, 1, 1), module), strict=True,
                               input_size=(1, 4, 4))


def test_scratch_batch_norm_prints_as_scratch_like_the_other_layers():
    model = convert_to_scratch(nn.Sequential(nn.BatchNorm2d(3), nn.BatchNorm1d(3)))
    assert [repr(m).split("(")[0] for m in model] == ["scratch BatchNorm"] * 2
    assert repr(BatchNorm(4, num_dims=2)).startswith("scratch BatchNorm(4, num_dims=2")


# One model per family and builder (the whole registry, 69 models, is the same check
# run in a loop: 46 s on a shared 2-core CPU, clean in session 31).
FAMILIES = ["lenet_bn_d2l", "lenet_modern", "alexnet_d2l", "vgg_d2l", "vgg11_bn", "nin_d2l",
            "googlenet_d2l", "googlenet", "resnet18_d2l", "resnext_d2l", "resnet18_small",
            "preact_resnet18", "wrn40_4", "densenet_d2l", "regnetx32_d2l", "regnetx_200mf",
            "regnet_y_400mf", "anynetx", "speednet", "notes_net"]


@pytest.mark.parametrize("name, options", [(n, {}) for n in FAMILIES] + [
    ("googlenet", {"aux_logits": True}),  # the auxiliary heads' 4x4 pool
    ("densenet_d2l", {"memory_efficient": True}),  # its recomputed batch norm
])
def test_registered_models_run_wholly_on_scratch_ops(name, options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # convert_to_scratch warns of anything left
        model = model_on_meta(name, scratch_ops=True, **options)
    assert unconverted_modules(model) == {}
    assert unconverted_calls(model, model.cnnlab_input_size) == {}


def test_googlenet_aux_heads_on_scratch_ops_compute_as_pytorchs():
    torch.manual_seed(0)
    plain = get_model("googlenet", num_classes=10, aux_logits=True).double()
    torch.manual_seed(0)
    scratch = get_model("googlenet", num_classes=10, aux_logits=True, scratch_ops=True)
    scratch.double()
    assert type(scratch.aux1.pool) is AdaptiveAvgPool2d
    x = torch.randn(2, 3, 28, 28, dtype=torch.float64)
    y = torch.tensor([3, 7])
    torch.manual_seed(1)  # the heads' dropout: the same masks both ways
    theirs = plain(x)
    torch.manual_seed(1)
    ours = scratch(x)
    for a, b in zip(ours, theirs, strict=True):  # logits, aux_logits2, aux_logits1
        torch.testing.assert_close(a, b, rtol=EXACT, atol=EXACT * b.abs().max().item())
    # Gradients and running statistics, measured as tests/scratch_compare.py measures them.
    report = worst(measure(scratch, x, y, None, steps=False),
                   measure(plain, x, y, None, steps=False))
    assert all(err <= EXACT for err, _ in report.values()), report
