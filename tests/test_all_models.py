"""One contract test over every registered model, plus registry metadata checks.

Whatever the families register is tested here with no per-model code: a non-default
number of classes, 1 and 3 input channels, the smallest input the model declares, a
gradient reaching every parameter, and the shared head interface (``forward_features``,
``forward_head``, ``reset_classifier``, ``num_features``). Standard variants are checked
against the parameter and MAC counts torchvision publishes for its weights.
"""

from __future__ import annotations

import re

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from cnnlab.inspect import count_macs
from cnnlab.models import UnknownModelError, get_model, list_models, model_info
from cnnlab.models.interop import model_to_load

NAMES = list_models()
NONE_REGISTERED = pytest.param(None, marks=pytest.mark.skip(reason="no models registered"))
STANDARD = [n for n in NAMES if model_info(n).torchvision_name]

TRAIN_SIDE = 32

# torchvision-sized networks over ~50M parameters: initialising their weights alone takes
# seconds on a CPU. Names follow torchvision's, which do not change.
HEAVY = {"alexnet", "resnet152", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
         "wide_resnet101_2", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_16gf",
         "regnet_y_32gf", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
         "vgg19", "vgg19_bn"}
# Too large to build six times on a small CPU (2.6 GB of weights each): its shapes and
# parameter count are checked on the meta device (test_models_regnet).
TOO_BIG = {"regnet_y_128gf": "644M parameters; checked on the meta device in test_models_regnet"}

# Book variants with no training recipe, because the book never trains that network.
BOOK_WITHOUT_RECIPE = {
    "resnext_d2l": "the book defines ResNeXtBlock (section 8.6) but trains no ResNeXt",
}

# Parameters allowed to get no gradient in a plain training step, with the reason.
# Keep empty unless a model truly has parameters outside its training forward pass.
NO_GRAD_EXPECTED: dict[str, set[str]] = {}


def build(name: str, in_channels: int, num_classes: int, side: int, **kw) -> nn.Module:
    if model_info(name).sized_head:
        kw["image_size"] = side
    return get_model(name, num_classes=num_classes, in_channels=in_channels, **kw)


def _all_finite(t: torch.Tensor) -> bool:
    """Whether every value of ``t`` is finite. A sum with a NaN or inf among its terms is
    never finite, so a finite sum answers in one pass, with no bool copy of the tensor
    (VGG-16's gradients: 1 s of CPU for isfinite(t).all(), 0.03 s summed). A sum that is
    not finite (finite values over 3e38 also make one) is looked at value by value."""
    return bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())


def _cases(n: str) -> list:
    """(name, in_channels) cases of one model. A heavy one is checked on grey input only:
    the 3-channel build runs the same code, only its first layer wider (each build of
    these takes seconds)."""
    if n in TOO_BIG:
        return [pytest.param(n, 3, marks=pytest.mark.skip(reason=TOO_BIG[n]), id=f"{n}-3")]
    if n in HEAVY:
        return [pytest.param(n, 1, marks=pytest.mark.slow, id=f"{n}-1")]
    return [pytest.param(n, c, id=f"{n}-{c}") for c in (1, 3)]


@pytest.mark.parametrize("name, in_channels",
                         [case for n in NAMES for case in _cases(n)] or [pytest.param(
                             None, None, marks=pytest.mark.skip(reason="no models registered"))])
def test_model_contract(name, in_channels):
    info = model_info(name)
    torch.manual_seed(0)

    # The declared smallest input really goes through (eval mode: at 1x1, a train-mode
    # BatchNorm would normalise too few values).
    tiny = info.min_input_size
    model = build(name, in_channels, num_classes=7, side=tiny).eval()
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, tiny, tiny))
    assert out.shape == (2, 7) and torch.isfinite(out).all(), f"{name} at {tiny}x{tiny}"

    # Training at batch 2 needs a few pixels left in the last stage: with one value per
    # sample, each BatchNorm normalises two numbers, and through 100+ layers of 1/std the
    # gradients of torchvision's own ResNet-152 overflow at inputs under 32 pixels.
    side = max(tiny, TRAIN_SIDE)
    if info.sized_head and side != tiny:  # the head depends on the size: build again
        model = build(name, in_channels, num_classes=7, side=side)

    # Complete at construction: no lazy layer waiting for data (ARCHITECTURE.md).
    lazy = [n for n, m in model.named_modules() if isinstance(m, LazyModuleMixin)]
    lazy += [n for n, t in (*model.named_parameters(), *model.named_buffers())
             if isinstance(t, (UninitializedParameter, UninitializedBuffer))]
    assert not lazy, f"{name}: uninitialised/lazy {lazy}"

    x = torch.randn(2, in_channels, side, side)
    model.train()
    out = model(x)
    assert out.shape == (2, 7), f"{name}: output {tuple(out.shape)} for input {tuple(x.shape)}"
    assert torch.isfinite(out).all(), f"{name}: non-finite output"
    nn.functional.cross_entropy(out, torch.tensor([0, 6])).backward()
    allowed = NO_GRAD_EXPECTED.get(name, set())
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and p.grad is None and n not in allowed]
    assert not missing, f"{name}: no gradient reaches {missing}"
    bad = [n for n, p in model.named_parameters()
           if p.grad is not None and not _all_finite(p.grad)]
    assert not bad, f"{name}: non-finite gradient in {bad}"

    # The head interface, in eval mode so both paths compute the same function.
    model.eval()
    with torch.no_grad():
        features = model.forward_features(x)
        torch.testing.assert_close(model.forward_head(features), model(x))
        pre_logits = model.forward_head(features, pre_logits=True)
        assert pre_logits.shape == (2, model.num_features), (
            f"{name}: pre-logits {tuple(pre_logits.shape)}, num_features {model.num_features}")
        model.reset_classifier(3)
        assert model(x).shape == (2, 3)
        assert model.forward_head(features, pre_logits=True).shape[-1] == model.num_features

    # num_classes=0 is a headless model whose output is the pre-logits features (timm's
    # convention), in every family alike. Only its output's shape is checked, so its
    # weights are allocated, not drawn (model_to_load: the builder and its initialisation
    # code still run, on the meta device): drawing VGG-16's 134M weights again took 1.4 s.
    size = {"image_size": tiny} if info.sized_head else {}
    headless = model_to_load(name, num_classes=0, in_channels=in_channels, **size).eval()
    with torch.no_grad():
        out = headless(torch.randn(2, in_channels, tiny, tiny))
    assert out.shape == (2, headless.num_features), f"{name}: headless {tuple(out.shape)}"


def _head_layers(model: nn.Module) -> list[tuple[float, float]]:
    """(weight std, bias std) of each layer of the classifier (NiN's is a block of convs);
    bias std is 0 for a zero or missing bias."""
    return [(float(m.weight.detach().std()),
             0.0 if m.bias is None else float(m.bias.detach().std()))
            for m in model.get_classifier().modules()
            if isinstance(getattr(m, "weight", None), torch.Tensor)]


@pytest.mark.parametrize("name", [pytest.param(n, marks=(
    pytest.mark.skip(reason=TOO_BIG[n]) if n in TOO_BIG else
    pytest.mark.slow if n in HEAVY else ())) for n in NAMES] or [NONE_REGISTERED])
def test_reset_classifier_initialises_the_head_as_the_builder_did(name):
    # speednet and the pre-activation ResNets (preact_resnet*, wrn*) built their head at
    # N(0, 0.01) with a zero bias, but reset_classifier gave PyTorch's default instead
    # (weight std 0.026 to 0.042, biases up to 0.06). 64 classes: enough weights that
    # their std is within a few percent of the init's, where a wrong init is 2x off.
    torch.manual_seed(0)
    model = build(name, 1, num_classes=64, side=model_info(name).min_input_size)
    built = _head_layers(model)
    model.reset_classifier(64)
    reset = _head_layers(model)
    assert len(reset) == len(built) > 0, f"{name}: the new head has other layers"
    for (w_built, b_built), (w_reset, b_reset) in zip(built, reset, strict=True):
        assert w_reset == pytest.approx(w_built, rel=0.1), f"{name}: weight std"
        assert (b_reset == 0) == (b_built == 0), f"{name}: bias std {b_built} -> {b_reset}"
        assert b_reset == pytest.approx(b_built, rel=0.35), f"{name}: bias std"


def test_unknown_model_raises_with_suggestions():
    if not NAMES:
        pytest.skip("no models registered")
    real = NAMES[0]
    with pytest.raises(UnknownModelError) as err:
        get_model(real + "z")
    assert real in err.value.suggestions and real in str(err.value)
    with pytest.raises(UnknownModelError):  # also a KeyError, for dict-style callers
        model_info("definitely_not_a_model")


def test_registry_metadata():
    problems = []
    for name in NAMES:
        info = model_info(name)
        if not (info.family and info.paper):
            problems.append(f"{name}: family and paper must be set")
        size = info.input_size
        if len(size) != 3 or min(size) < 1:
            problems.append(f"{name}: input_size {size} is not (C, H, W)")
        elif not 1 <= info.min_input_size <= min(size[1:]):
            problems.append(f"{name}: min_input_size {info.min_input_size} vs input {size}")
        if info.variant not in ("book", "standard", "cnnlab"):
            problems.append(f"{name}: variant {info.variant!r}")
        if name.endswith("_d2l") and info.variant != "book":
            problems.append(f"{name}: a *_d2l model must have variant='book'")
        if name.endswith("_d2l") and info.book_recipe is None \
                and name not in BOOK_WITHOUT_RECIPE:
            problems.append(f"{name}: a book variant needs the book's recipe (BookRecipe)")
        if info.torchvision_name and info.variant != "standard":
            problems.append(f"{name}: has a torchvision_name but is not a standard variant")
    assert not problems, "\n".join(problems)


def _on_meta(name: str) -> nn.Module:
    # Shapes only: parameter counts and MACs without memory or init cost.
    info = model_info(name)
    with torch.device("meta"):
        return build(name, info.input_size[0], info.num_classes, info.input_size[1])


@pytest.mark.parametrize("name", STANDARD or [NONE_REGISTERED])
def test_standard_variant_matches_torchvision_complexity(name):
    info = model_info(name)
    assert info.input_size == (3, 224, 224) and info.num_classes == 1000, (
        f"{name}: standard variants default to torchvision's ImageNet shape")
    model = _on_meta(name)
    params = sum(p.numel() for p in model.parameters())
    # torchvision publishes num_params and GFLOPS (really multiply-adds, 3 decimals) with
    # each weight; auxiliary heads are not in those numbers, as they are not in ours.
    # Numbers at 224 pixels: RegNetY-128GF's default weights are SWAG's, measured at 384.
    catalogue = torchvision.models.get_model_weights(info.torchvision_name)
    weights = next(w for w in [catalogue.DEFAULT, *catalogue]
                   if w.transforms.keywords.get("crop_size") == 224)
    assert params == weights.meta["num_params"]
    macs = count_macs(model, info.input_size)
    assert round(macs / 1e9, 3) == pytest.approx(weights.meta["_ops"], abs=1e-9)


@pytest.mark.parametrize("kwargs,words", [
    ({"num_classes": "10"}, "num_classes must be a whole number >= 0, got '10'"),
    ({"num_classes": -1}, "num_classes must be a whole number >= 0"),
    ({"in_channels": 0}, "in_channels must be a whole number >= 1, got 0"),
    ({"scratch_ops": "fftt"}, "scratch_ops must be False, True or 'fft', got 'fftt'"),
])
def test_bad_build_arguments_are_named_before_torch_sees_them(kwargs, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        get_model("resnet18", **kwargs)
