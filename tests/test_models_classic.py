"""LeNet, AlexNet, VGG, NiN and the notes' network: against torchvision and hand counts.

Big networks are built on the meta device wherever only shapes, parameter
counts or module structure matter: nothing is allocated or initialised, so the
checks cost milliseconds instead of seconds.
"""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import get_model, model_info
from cnnlab.models.lenet import scratch_batch_norm, torch_batch_norm
from cnnlab.models.vgg import VGG_ARCHS
from cnnlab.ops.norm import BatchNorm

STANDARD = ["alexnet", *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn"))]
CLASSIC = [
    "lenet_d2l",
    "lenet_bn_d2l",
    "lenet_bn",
    "lenet_modern",
    "alexnet_d2l",
    "vgg_d2l",
    "nin_d2l",
    "notes_net",
    *STANDARD,
]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# --- standard variants reproduce torchvision ----------------------------------------------


@pytest.mark.parametrize("name", STANDARD)
def test_standard_variant_has_torchvisions_state_dict_layout(name):
    with torch.device("meta"):  # structure only: nothing allocated or initialised
        reference = getattr(torchvision.models, name)()
        ours = get_model(name)
    assert model_info(name).torchvision_name == name
    shapes = [(k, v.shape) for k, v in ours.state_dict().items()]
    assert shapes == [(k, v.shape) for k, v in reference.state_dict().items()]


@pytest.mark.parametrize("name", ["vgg11", "vgg11_bn"])
def test_standard_vgg_uses_torchvision_init(name):
    # hidden=64 keeps the MLP small; the init scheme is what is under test.
    torch.manual_seed(0)
    model = get_model(name, num_classes=10, hidden=64)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            assert m.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.15)
            assert torch.count_nonzero(m.bias) == 0
        elif isinstance(m, nn.Linear):
            assert m.weight.std().item() == pytest.approx(0.01, rel=0.15)
            assert torch.count_nonzero(m.bias) == 0
        elif isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


# --- book variants: hand-derived parameter counts ---------------------------------------

BOOK_PARAMS = {
    # 28 -> conv5 pad 2 -> 28 -> pool 14 -> conv5 -> 10 -> pool 5: 16*5*5 = 400 flattened.
    "lenet_d2l": conv(1, 6, 5)
    + conv(6, 16, 5)
    + linear(400, 120)
    + linear(120, 84)
    + linear(84, 10),
    # No padding in this chapter: 28 -> 24 -> 12 -> 8 -> 4: 16*4*4 = 256; BN adds 2 per channel.
    "lenet_bn_d2l": conv(1, 6, 5)
    + 2 * 6
    + conv(6, 16, 5)
    + 2 * 16
    + linear(256, 120)
    + 2 * 120
    + linear(120, 84)
    + 2 * 84
    + linear(84, 10),
    # 224 -> conv11/4 pad 1 -> 54 -> pool 26 -> conv5 -> pool 12 -> convs -> pool 5: 256*5*5.
    "alexnet_d2l": conv(1, 96, 11)
    + conv(96, 256, 5)
    + conv(256, 384, 3)
    + conv(384, 384, 3)
    + conv(384, 256, 3)
    + linear(256 * 5 * 5, 4096)
    + linear(4096, 4096)
    + linear(4096, 10),
    # Five 2x2 pools: 224 / 32 = 7, so 128*7*7 flattened.
    "vgg_d2l": conv(1, 16, 3)
    + conv(16, 32, 3)
    + conv(32, 64, 3)
    + conv(64, 64, 3)
    + conv(64, 128, 3)
    + 3 * conv(128, 128, 3)
    + linear(128 * 7 * 7, 4096)
    + linear(4096, 4096)
    + linear(4096, 10),
    # Each NiN block: one k x k conv and two 1x1 convs; no linear layer at all.
    "nin_d2l": conv(1, 96, 11)
    + 2 * conv(96, 96, 1)
    + conv(96, 256, 5)
    + 2 * conv(256, 256, 1)
    + conv(256, 384, 3)
    + 2 * conv(384, 384, 1)
    + conv(384, 10, 3)
    + 2 * conv(10, 10, 1),
    # 3x3 convs, BN on the last three, stride 2 once: 256*14*14 flattened.
    "notes_net": conv(1, 16, 3)
    + conv(16, 64, 3)
    + conv(64, 128, 3)
    + 2 * 128
    + conv(128, 128, 3)
    + 2 * 128
    + conv(128, 256, 3)
    + 2 * 256
    + linear(256 * 14 * 14, 1024)
    + linear(1024, 256)
    + linear(256, 10),
}


@pytest.mark.parametrize("name", BOOK_PARAMS)
def test_book_variant_parameter_count(name):
    with torch.device("meta"):
        model = get_model(name)
    assert n_params(model) == BOOK_PARAMS[name]


def test_book_parameter_counts_spot_values():
    assert BOOK_PARAMS["lenet_d2l"] == 61_706
    assert BOOK_PARAMS["lenet_bn_d2l"] == 44_878
    assert BOOK_PARAMS["nin_d2l"] == 1_992_166
    with torch.device("meta"):
        assert n_params(get_model("lenet_bn")) == BOOK_PARAMS["lenet_bn_d2l"]


BOOK_RECIPES = {  # ANCHORS.md section 1: lr, resize, accuracy, init
    "lenet_d2l": (0.1, 28, 0.728, "xavier"),
    "lenet_bn_d2l": (0.1, 28, 0.876, "xavier"),
    "lenet_bn": (0.1, 28, 0.868, "xavier"),
    "alexnet_d2l": (0.01, 224, 0.830, "default"),
    "vgg_d2l": (0.01, 224, 0.896, "xavier"),
    "nin_d2l": (0.05, 224, 0.865, "xavier"),
}


@pytest.mark.parametrize("name", BOOK_RECIPES)
def test_book_recipe_and_output_shape_at_the_books_resize(name):
    info = model_info(name)
    r = info.book_recipe
    assert (r.lr, r.resize, r.book_accuracy, r.init) == BOOK_RECIPES[name]
    assert info.input_size == (1, r.resize, r.resize)
    with torch.device("meta"):
        model = get_model(name)
        assert model(torch.zeros(3, 1, r.resize, r.resize)).shape == (3, 10)
        other = get_model(name, num_classes=7)
        assert other(torch.zeros(2, 1, r.resize, r.resize)).shape == (2, 7)


# --- initialisation ----------------------------------------------------------------------


def _std_ratios(model: nn.Module, scheme: str) -> dict[str, float]:
    """Each conv/linear weight's std over the std its init scheme should give."""
    ratios = {}
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
            if scheme == "xavier":  # U(-b, b), b = sqrt(6 / (fan_in + fan_out))
                expected = math.sqrt(2 / (fan_in + fan_out))
            else:  # PyTorch default: kaiming_uniform(a=sqrt(5)), b = 1 / sqrt(fan_in)
                expected = 1 / math.sqrt(3 * fan_in)
            ratios[name] = m.weight.std().item() / expected
    return ratios


@pytest.mark.parametrize(
    "name, overrides, scheme",
    [
        ("lenet_d2l", {}, "xavier"),
        ("lenet_bn_d2l", {}, "xavier"),
        ("vgg_d2l", {"image_size": 32, "hidden": 256}, "xavier"),
        ("nin_d2l", {}, "xavier"),
        ("alexnet_d2l", {"image_size": 65, "hidden": 256}, "default"),  # the book skips init
    ],
)
def test_book_initialisation(name, overrides, scheme):
    torch.manual_seed(0)
    model = get_model(name, **overrides)
    ratios = _std_ratios(model, scheme)
    assert ratios and all(0.85 < r < 1.15 for r in ratios.values()), ratios
    # and it is distinguishable from the other scheme on the layers where they differ most
    other = _std_ratios(model, "default" if scheme == "xavier" else "xavier")
    assert any(not 0.75 < r < 1.33 for r in other.values()), other


@pytest.mark.parametrize("name", ["lenet_d2l", "vgg_d2l", "nin_d2l", "resnet18_d2l",
                                  "resnext_d2l", "googlenet_d2l"])
def test_reset_classifier_keeps_the_books_xavier_init(name):
    # Every book network the book Xavier-initialises gets a Xavier head when replaced.
    torch.manual_seed(0)
    with torch.device("meta"):  # the head is rebuilt on the CPU below: no big weights
        model = get_model(name)
    model.reset_classifier(50)
    # the new layer (NiN's classifier is a block ending in a 1x1 conv, ReLU and pool)
    head = [m for m in model.get_classifier().modules() if isinstance(m, (nn.Conv2d,
                                                                         nn.Linear))][-1]
    fan_in = head.weight[0].numel()
    xavier_std = math.sqrt(2 / (fan_in + 50 * head.weight[0, 0].numel()))
    assert head.weight.std().item() == pytest.approx(xavier_std, rel=0.15), name


# --- the shared interface ----------------------------------------------------------------


@pytest.mark.parametrize("name", CLASSIC)
def test_head_interface(name):
    info = model_info(name)
    with torch.device("meta"):
        x = torch.zeros(2, *info.input_size)
        model = get_model(name, num_classes=7)
        feats = model.forward_features(x)
        assert model.forward_head(feats, pre_logits=True).shape == (2, model.num_features)
        assert model.forward_head(feats).shape == (2, 7)
        model.reset_classifier(3)
        assert model(x).shape == (2, 3)
        model.reset_classifier(0)  # no classifier: the pre-logits features come out
        assert model(x).shape == (2, model.num_features)
    assert isinstance(model.get_classifier(), nn.Identity)


@pytest.mark.parametrize("name", CLASSIC)
def test_min_input_size_is_exact(name):
    info = model_info(name)
    channels, size = info.input_size[0], info.min_input_size

    def run(pixels: int):
        # The builder itself, so the network (not get_model's size check) must fail.
        kwargs = {"image_size": pixels} if info.sized_head else {}
        model = info.builder(num_classes=10, in_channels=channels, **kwargs)
        model(torch.zeros(2, channels, pixels, pixels))

    with torch.device("meta"):
        run(size)
        if size > 1:
            with pytest.raises(RuntimeError):
                run(size - 1)
            if info.sized_head:  # get_model says what is wrong before building anything
                with pytest.raises(ValueError, match=f"at least {size}x{size}"):
                    get_model(name, image_size=size - 1)


def test_sized_head_follows_image_size():
    with torch.device("meta"):
        model = get_model("alexnet_d2l", image_size=96)
        assert model(torch.zeros(2, 1, 96, 96)).shape == (2, 10)
        assert model.classifier[0].in_features == 256 * 1 * 1
        assert get_model("lenet_d2l", image_size=32).classifier[0].in_features == 16 * 6 * 6


@pytest.mark.parametrize("name, size", [("alexnet_d2l", 96), ("lenet_d2l", 32),
                                        ("vgg_d2l", 96)])
def test_a_sized_head_fed_another_size_says_how_to_build_for_it(name, size):
    # It failed deep in torch: "mat1 and mat2 shapes cannot be multiplied".
    with torch.device("meta"):
        model = get_model(name)
        with pytest.raises(ValueError, match=r"classifier reads [\d,]+ features, what the "
                                             r"input size it was built for .*image_size="):
            model(torch.zeros(1, 1, size, size))


@pytest.mark.parametrize("name", ["lenet_d2l", "vgg11"])
def test_the_size_check_leaves_tracers_alone(name):
    # A branch on a traced shape broke torch.fx (and torchvision's feature extractor).
    from torchvision.models.feature_extraction import create_feature_extractor

    model = get_model(name).eval()
    x = torch.zeros(1, *model_info(name).input_size)
    traced = torch.fx.symbolic_trace(model)
    assert torch.equal(traced(x), model(x))
    assert create_feature_extractor(model, {"features": "f"})(x)["f"].ndim == 4


# --- batch norm LeNets -------------------------------------------------------------------


def test_scratch_and_torch_batchnorm_lenets_compute_the_same_function():
    # float64: a conv bias in front of BN gets a zero gradient in exact arithmetic, and
    # float32 rounding noise there would swamp any relative tolerance.
    torch.manual_seed(0)
    scratch = get_model("lenet_bn_d2l").double()
    concise = get_model("lenet_bn").double()
    assert any(isinstance(m, BatchNorm) for m in scratch.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in concise.modules())
    concise.load_state_dict(scratch.state_dict())  # same keys: strict load works
    x = torch.randn(16, 1, 28, 28, dtype=torch.float64)
    y_scratch, y_concise = scratch(x), concise(x)  # training mode: batch statistics
    torch.testing.assert_close(y_scratch, y_concise, rtol=1e-10, atol=1e-12)
    y_scratch.square().sum().backward()
    y_concise.square().sum().backward()
    for (name, p), q in zip(scratch.named_parameters(), concise.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12, msg=name)
    for key, value in concise.state_dict().items():  # running stats moved the same way
        torch.testing.assert_close(scratch.state_dict()[key], value, rtol=1e-10, atol=1e-12)
    scratch.eval()
    concise.eval()
    torch.testing.assert_close(scratch(x), concise(x), rtol=1e-10, atol=1e-12)


def test_lenet_bn_d2l_keeps_the_books_running_average_weight():
    # The book's code (since d2l-en PR #2213) passes momentum=0.1 with PyTorch's rule:
    # the running mean takes 10% of the last batch's.
    model = get_model("lenet_bn_d2l")
    bn = model.features[1]
    assert isinstance(bn, BatchNorm) and bn.momentum == 0.1 and bn.num_dims == 4
    x = torch.randn(8, 1, 28, 28)
    batch_mean = model.features[0](x).mean(dim=(0, 2, 3))
    model(x)
    torch.testing.assert_close(bn.running_mean, 0.1 * batch_mean.detach())
    assert get_model("lenet_bn_d2l", bn_momentum=0.3).features[1].momentum == 0.3


def test_norm_factories_pick_the_layer_for_the_input_rank():
    assert isinstance(torch_batch_norm(4, 4), nn.BatchNorm2d)
    assert isinstance(torch_batch_norm(4, 2), nn.BatchNorm1d)
    assert scratch_batch_norm(4, 2).num_dims == 2


def test_lenet_modern_layout():
    model = get_model("lenet_modern")
    kinds = [type(m) for m in model.features]
    assert kinds.count(nn.BatchNorm2d) == 2
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 2  # MaxPool2x2
    assert nn.ReLU in kinds and nn.Sigmoid not in kinds
    x = torch.randn(4, 1, 28, 28)
    loss = model(x).logsumexp(dim=1).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# --- VGG and NiN specifics ---------------------------------------------------------------


def test_vgg_arch_is_configurable():
    with torch.device("meta"):
        book_vgg11 = get_model("vgg_d2l", arch=VGG_ARCHS["vgg11"])
        convs = [m for m in book_vgg11.features if isinstance(m, nn.Conv2d)]
        assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
        assert book_vgg11.classifier[0].in_features == 512 * 7 * 7
        # Standard variants take 1-channel 32x32 input: the adaptive pool repeats the 1x1 map.
        small = get_model("vgg11", num_classes=10, in_channels=1)
        assert small(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="arch"):
        get_model("vgg_d2l", arch=((0, 16),))


def test_nin_head_is_the_last_nin_block():
    torch.manual_seed(0)
    model = get_model("nin_d2l", num_classes=5).eval()
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    x = torch.randn(2, 1, 67, 67)
    feats = model.forward_features(x)
    assert feats.shape[1] == model.num_features == 384
    torch.testing.assert_close(model.forward_head(feats, pre_logits=True), feats.mean(dim=(2, 3)))
    model.reset_classifier(12)
    block_widths = [m.out_channels for m in model.get_classifier() if isinstance(m, nn.Conv2d)]
    assert block_widths == [12, 12, 12]
    assert model(x).shape == (2, 12)


def test_notes_net_layout():
    with torch.device("meta"):
        model = get_model("notes_net")
        assert model.forward_features(torch.zeros(2, 1, 28, 28)).shape == (2, 256, 14, 14)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 64, 128, 128, 256]
    assert [c.stride[0] for c in convs] == [1, 1, 1, 2, 1]
    assert [type(m) for m in model.features].count(nn.BatchNorm2d) == 3
    assert [type(m) for m in model.features].count(nn.LeakyReLU) == 5
    assert model.classifier[0].in_features == 256 * 14 * 14
    assert isinstance(model.classifier[1], nn.Dropout) and model.classifier[1].p == 0.3


@pytest.mark.parametrize("name, std, zero_bias", [
    ("regnet_y_400mf", 0.01, True), ("regnetx_200mf", 0.01, True), ("anynetx", 0.01, True),
    ("densenet121", None, True), ("googlenet", 0.01, False), ("resnet18", None, False)])
def test_reset_classifier_gives_the_head_the_builder_gives(name, std, zero_bias):
    # RegNet/AnyNet (pycls, torchvision): fc N(0, 0.01), zero bias; DenseNet: a zero bias;
    # torchvision's GoogLeNet: N(0, 0.01) weights; ResNet: PyTorch's default throughout.
    torch.manual_seed(0)
    with torch.device("meta"):
        model = get_model(name)
    model.reset_classifier(500)
    head = model.get_classifier()
    default_std = 1 / math.sqrt(3 * head.in_features)  # PyTorch's uniform(+-1/sqrt(fan_in))
    assert head.weight.std().item() == pytest.approx(std or default_std, rel=0.1), name
    assert (head.bias.abs().max().item() == 0) == zero_bias, name


def test_regnet_squeeze_excitation_biases_keep_pytorchs_default():
    # pycls and torchvision initialise conv weights only: the SE convs' biases stay at
    # PyTorch's uniform default (they were zeroed).
    model = get_model("regnet_y_400mf")
    se_biases = [m.bias for m in model.modules() if isinstance(m, nn.Conv2d) and m.bias is not None]
    assert se_biases and all(b.abs().max() > 0 for b in se_biases)
