"""Property tests of the model builders over their parameter spaces.

Random valid configurations, built through the public API (``get_model`` with keyword
overrides, and the design-space sampler), must run at the sizes they claim, give
(N, num_classes), and have the parameter and MAC counts cnnlab reports equal counts
made here independently (``p.numel()``; a forward hook on every conv and linear layer).
Invalid configurations must be a ValueError naming the option, at build time: not a
torch error in the first forward, and not silently another network.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlab.design import spaces
from cnnlab.inspect import count_macs, summary
from cnnlab.models import get_model
from cnnlab.models._registry import model_on_meta
from cnnlab.models.anynet import anynet_complexity

FAST = settings(max_examples=12, deadline=None)


def hooked_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of every Conv2d and Linear that ran, counted from their output sizes
    (biases, norms, pools and activations cost nothing, as in torch's FlopCounterMode)."""
    total = 0

    def count(module, _inputs, out):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += out.numel() * math.prod(module.kernel_size) * module.in_channels \
                // module.groups
        else:
            total += out.numel() * module.in_features

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return total


def check_built(model: nn.Module, channels: int, size: int, num_classes: int) -> None:
    """Forward at (2, C, size, size) gives (2, num_classes); summary's and count_macs'
    counts equal the independent ones."""
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, channels, size, size)).shape == (2, num_classes)
    totals = summary(model, (channels, size, size)).totals
    assert totals.params == sum(p.numel() for p in model.parameters())
    macs = hooked_macs(model, torch.zeros(1, channels, size, size))
    assert totals.macs == count_macs(model, (channels, size, size)) == macs


classes = st.integers(1, 20)
channels = st.sampled_from([1, 3])
sizes = st.integers(28, 48)


@FAST
@given(data=st.data(), num_classes=classes, in_channels=channels, size=sizes)
def test_anynetx_any_valid_config_builds_runs_and_counts(data, num_classes, in_channels, size):
    n = data.draw(st.integers(1, 4), label="stages")
    group_widths = data.draw(st.lists(st.sampled_from([1, 2, 4, 8]), min_size=n, max_size=n))
    ratios = data.draw(st.lists(st.sampled_from([0.25, 0.5, 1.0]), min_size=n, max_size=n))
    # A width whose bottleneck round(w * b) is a multiple of g: w = k * g / b.
    widths = [data.draw(st.integers(1, 3)) * int(g / b) for g, b in zip(group_widths, ratios,
                                                                       strict=True)]
    overrides = dict(stem_width=data.draw(st.sampled_from([8, 16])),
                     depths=data.draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
                     widths=widths, bottleneck_ratios=ratios, group_widths=group_widths)
    if min(widths) >= 4 and data.draw(st.booleans(), label="SE"):
        overrides["se_ratio"] = 0.25  # SE from a block's input: 4 * 0.25 is one channel
    model = get_model("anynetx", num_classes, in_channels, **overrides)
    check_built(model, in_channels, size, num_classes)
    analytic = anynet_complexity(model.cfg, size, in_channels, num_classes)
    assert analytic["params"] == sum(p.numel() for p in model.parameters())


@FAST
@given(space=st.sampled_from(spaces.SPACES), index=st.integers(0, 10_000),
       num_classes=classes, in_channels=channels, size=sizes)
def test_design_sample_complexity_is_the_built_models(space, index, num_classes,
                                                      in_channels, size):
    s = spaces.sample_trial(space, 0, index, image_size=size, in_channels=in_channels,
                            num_classes=num_classes, macs=(0, 3e6))
    model = get_model("anynetx", num_classes, in_channels,
                      **spaces.config_to_overrides(s.config))
    assert s.complexity["params"] == sum(p.numel() for p in model.parameters())
    # pycls's flops add one per output channel of a biased conv (SE, head) to the MACs.
    biases = sum(m.out_channels for m in model.modules()
                 if isinstance(m, nn.Conv2d) and m.bias is not None) + num_classes
    assert s.complexity["flops"] == count_macs(model, (in_channels, size, size)) + biases


@settings(max_examples=8, deadline=None)
@given(data=st.data(), num_classes=classes, in_channels=channels, size=sizes)
def test_resnet_family_configs_build_run_and_count(data, num_classes, in_channels, size):
    name = data.draw(st.sampled_from(["resnet18_small", "resnet50_small", "resnet18_d2l",
                                      "resnext_d2l", "preact_resnet18"]))
    depths = data.draw(st.lists(st.integers(1, 2), min_size=4, max_size=4))
    if name.endswith("_small"):
        overrides = {"depths": depths}
        if name == "resnet50_small":
            overrides.update(groups=data.draw(st.sampled_from([1, 2, 4])),
                             width_per_group=data.draw(st.sampled_from([4, 8, 16])))
    elif name.endswith("_d2l"):
        overrides = {"arch": tuple((d, w) for d, w in zip(depths[:2], (16, 32), strict=True))}
        if name == "resnext_d2l":
            overrides.update(group_width=data.draw(st.sampled_from([4, 8, 16])),
                             bot_mul=data.draw(st.sampled_from([0.5, 1.0])))
    else:
        overrides = {"depths": depths[:2], "widths": (8, 16), "stem_width": 8}
    model = get_model(name, num_classes, in_channels, **overrides)
    check_built(model, in_channels, size, num_classes)


@FAST
@given(data=st.data(), num_classes=classes, in_channels=channels)
def test_flattening_book_models_build_for_their_image_size(data, num_classes, in_channels):
    name, least = data.draw(st.sampled_from([("lenet_d2l", 12), ("lenet_modern", 12),
                                             ("vgg_d2l", 32), ("alexnet_d2l", 65)]))
    size = data.draw(st.integers(least, least + 20))
    overrides = {"image_size": size}
    if name == "vgg_d2l":
        overrides.update(arch=((1, 8), (1, 16), (1, 16)), hidden=32)
    if name == "alexnet_d2l":
        overrides.update(widths=(8, 8, 8, 8, 8), hidden=32)
    model = get_model(name, num_classes, in_channels, **overrides)
    check_built(model, in_channels, size, num_classes)


TORCHVISION_TWINS = ["resnet18", "resnext50_32x4d", "densenet121", "vgg11", "alexnet",
                     "googlenet", "regnet_x_400mf", "regnet_y_400mf"]


@settings(max_examples=8, deadline=None)
@given(name=st.sampled_from(TORCHVISION_TWINS), num_classes=st.integers(1, 50))
def test_standard_variants_keep_torchvision_parameter_counts(name, num_classes):
    import torchvision

    extra = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    ours = model_on_meta(name, num_classes=num_classes)
    try:
        with torch.device("meta"):
            theirs = torchvision.models.get_model(name, num_classes=num_classes, **extra)
    except NotImplementedError:  # its RegNets read their widths off tensors while building
        theirs = torchvision.models.get_model(name, num_classes=num_classes, **extra)
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())


def test_anynet_with_its_own_number_of_stages_gets_default_strides():
    # The named network's four strides were kept: "needs one value per stage ... strides 4".
    model = get_model("anynetx", depths=(1, 2), widths=(8, 16), bottleneck_ratios=(1, 1),
                      group_widths=(8, 8))
    assert model.cfg.strides == (2, 2)
    assert get_model("regnetx32_d2l", depths=(1,), widths=(32,), bottleneck_ratios=(1,),
                     group_widths=(16,)).cfg.strides == (2,)


# ------------------------------------------------------------------ invalid configurations

INVALID = [
    # (model, overrides, the option the message must name)
    ("anynetx", dict(depths=(1.5, 1, 2, 1)), "depths"),  # was built with 1 block
    ("anynetx", dict(se_ratio=0.01), "se_ratio"),  # was built without SE
    ("anynetx", dict(bottleneck_ratios=(0.01, 1, 1, 1)), "bottleneck_ratios"),
    ("regnetx_200mf", dict(group_width=0), "group_width"),  # ZeroDivisionError
    ("regnetx_200mf", dict(bottleneck=0), "bottleneck"),  # ZeroDivisionError
    ("regnetx_200mf", dict(quantum=0), "quantum"),  # ZeroDivisionError
    ("resnet18", dict(depths=(0, 2, 2, 2)), "depths"),  # was built with 1 block
    ("resnet18_small", dict(depths=(-1, 2, 2, 2)), "depths"),  # likewise
    ("resnet50", dict(width_per_group=-4), "width_per_group"),  # negative dimension
    ("resnet18_d2l", dict(arch=((0, 64), (2, 128))), "arch"),  # stage left out
    ("resnext_d2l", dict(group_width=0), "group_width"),  # ZeroDivisionError
    ("resnext_d2l", dict(bot_mul=-1), "bot_mul"),  # negative dimension
    ("resnext_d2l", dict(bot_mul=0.3), "group_width"),  # 19 channels, groups of 16
    ("preact_resnet18", dict(depths=(0, 2, 2, 2)), "depths"),  # stage left out
    ("preact_resnet18", dict(stem_width=0), "stem_width"),  # failed in forward
    ("wrn40_4", dict(widths=(0, 1, 2)), "widths"),  # failed in forward
    ("densenet121", dict(bn_size=0), "bn_size"),  # failed in forward
    ("densenet_d2l", dict(block_config=(1.5, 2)), "block_config"),  # was built with 1
    ("vgg11", dict(hidden=0), "hidden"),  # the same logits for any image
    ("vgg11", dict(pool_size=-1), "pool_size"),
    ("vgg_d2l", dict(arch=((1, 8),) * 6, image_size=32), "image_size"),  # pooled to 0x0
    ("lenet_d2l", dict(kernel_size=13, image_size=16), "image_size"),
    ("lenet_d2l", dict(channels=(0, 16)), "channels"),
    ("lenet_d2l", dict(paddings=(-1, 0)), "paddings"),
    ("lenet_d2l", dict(hidden=(0, 84)), "hidden"),
    ("alexnet_d2l", dict(widths=(0, 256, 384, 384, 256)), "widths"),
    ("alexnet", dict(hidden=0), "hidden"),
    ("nin_d2l", dict(stages=()), "stages"),  # a network of the head alone
    ("nin_d2l", dict(head_kernel_size=0), "head_kernel_size"),  # ZeroDivisionError
]


@pytest.mark.parametrize(("name", "overrides", "option"), INVALID,
                         ids=[f"{n}-{o}" for n, _, o in INVALID])
def test_invalid_configuration_is_a_value_error_naming_the_option(name, overrides, option):
    with torch.device("meta"), pytest.raises(ValueError, match=option):
        get_model(name, **overrides)


@pytest.mark.parametrize("name, options, said", [
    ("speednet", dict(convs_per_stage=(0, 1, 1)), "SpeedNetCfg.convs_per_stage must be whole"),
    ("speednet", dict(first_kernel=0), "SpeedNetCfg.first_kernel must be a whole number >= 1"),
    ("notes_net", dict(hidden=(0,)), "NotesNetCfg.hidden must be the two hidden layers'"),
    ("notes_net", dict(widths=(0, 64, 128, 128, 256)), "NotesNetCfg.widths must be whole"),
])
def test_speednet_and_notes_net_name_a_bad_option(name, options, said):
    # A TypeError, a RuntimeError in forward, an unpacking error: none named the option.
    with pytest.raises(ValueError, match=re.escape(said)):
        get_model(name, **options)
