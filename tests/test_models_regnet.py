"""AnyNet / RegNet: the generator on its own, pycls's golden complexity numbers, the
analytic count against the built models, torchvision parity, and the book's RegNetX32."""

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.regnet import BlockParams

from cnnlab.models import get_model, list_models, model_info
from cnnlab.models.anynet import AnyNetConfig, anynet_complexity, hook_complexity
from cnnlab.models.regnet import (
    REGNETS,
    TORCHVISION_REGNETS,
    RegNetConfig,
    generate_regnet,
    torchvision_regnet_key,
)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------ the generator


def test_generate_regnet_pycls_and_torchvision_rounding():
    # RegNetX-400MF: the last stage is 392 wide before the group-width step (g=16).
    assert generate_regnet(24, 24.48, 2.54, 22, 16) == (
        [32, 64, 160, 384], [1, 2, 7, 12], [16, 16, 16, 16])
    assert generate_regnet(24, 24.48, 2.54, 22, 16, convention="torchvision").widths == [
        32, 64, 160, 400]
    # Group width is capped at the layer width (RegNetX-200MF's 24-wide first stage, g=8
    # is fine; g=32 would not fit a 24-wide layer).
    assert generate_regnet(24, 36.44, 2.49, 13, 32).group_widths[0] == 24


# (depth, w0, wa, wm, group width) of every RegNet torchvision ships.
TORCHVISION_PARAMS = [
    (16, 48, 27.89, 2.09, 8), (14, 56, 38.84, 2.4, 16), (27, 48, 20.71, 2.65, 24),
    (21, 80, 42.63, 2.66, 24), (17, 192, 76.82, 2.19, 56), (18, 200, 106.23, 2.48, 112),
    (20, 232, 115.89, 2.53, 232), (27, 456, 160.83, 2.52, 264), (22, 24, 24.48, 2.54, 16),
    (16, 56, 35.73, 2.28, 16), (18, 80, 34.01, 2.25, 24), (25, 88, 26.31, 2.25, 48),
    (23, 80, 49.56, 2.88, 120), (22, 216, 55.59, 2.1, 128), (23, 320, 69.86, 2.0, 168),
]


@pytest.mark.parametrize("bottleneck", [1.0, 2.0])
def test_generator_matches_torchvision_block_params(bottleneck):
    for d, w0, wa, wm, g in TORCHVISION_PARAMS:
        ref = BlockParams.from_init_params(depth=d, w_0=w0, w_a=wa, w_m=wm, group_width=g,
                                           bottleneck_multiplier=bottleneck)
        ours = generate_regnet(w0, wa, wm, d, g, bottleneck, convention="torchvision")
        assert ours == (ref.widths, ref.depths, ref.group_widths), (d, w0, wa, wm, g)


@pytest.mark.parametrize("bottleneck", [1.0, 2.0, 4.0, 0.5])
def test_generated_stages_are_buildable(bottleneck):
    torch.manual_seed(0)
    for _ in range(30):
        w0 = 8 * int(torch.randint(1, 16, ()))
        wa, wm = float(torch.rand(()) * 60), 1.5 + float(torch.rand(()))
        d, g = int(torch.randint(4, 24, ())), [1, 2, 4, 8, 16, 32][int(torch.randint(0, 6, ()))]
        widths, depths, gws = generate_regnet(w0, wa, wm, d, g, bottleneck)
        assert sum(depths) == d and widths == sorted(widths)
        # AnyNetConfig rejects a bottleneck width that does not split into whole groups.
        AnyNetConfig(32, depths, widths, [bottleneck] * len(widths), gws)


def test_generator_rejects_bad_parameters():
    for args in [(20, 24.0, 2.5, 10, 8), (24, -1.0, 2.5, 10, 8), (24, 24.0, 1.0, 10, 8)]:
        with pytest.raises(ValueError, match="RegNet parameters"):
            generate_regnet(*args)
    with pytest.raises(ValueError, match="convention"):
        generate_regnet(24, 24.0, 2.5, 10, 8, convention="timm")


# ------------------------------------------------------------ complexity

# pycls dev/model_complexity.json (224x224, 1000 classes): flops, params, acts.
GOLDEN = {
    "regnetx_200mf": (199_040_872, 2_684_792, 2_164_056),
    "regnetx_400mf": (397_678_568, 5_157_512, 3_143_272),
    "regnetx_600mf": (600_891_112, 6_196_040, 3_975_096),
    "regnetx_800mf": (799_700_712, 7_259_656, 5_148_744),
    "regnetx_1_6gf": (1_602_850_792, 9_190_136, 7_933_512),
    "regnety_400mf": (401_849_056, 4_344_144, 3_892_496),
}
# More rows of the same file, for configs we do not register (pycls's zoo parameters).
GOLDEN_UNREGISTERED = [
    (RegNetConfig(13, 24, 36.44, 2.49, 8, se_ratio=0.25), (199_519_076, 3_162_996, 2_168_052)),
    (RegNetConfig(15, 48, 32.54, 2.32, 16, se_ratio=0.25), (601_227_608, 6_055_160, 4_334_296)),
    (RegNetConfig(14, 56, 38.84, 2.4, 16, se_ratio=0.25), (797_183_328, 6_263_168, 5_249_888)),
    (RegNetConfig(27, 48, 20.71, 2.65, 24, se_ratio=0.25),
     (1_612_087_326, 11_202_430, 8_044_814)),
    (RegNetConfig(25, 88, 26.31, 2.25, 48), (3_176_622_952, 15_296_552, 11_367_432)),
]


def _triple(cx):
    return cx["flops"], cx["params"], cx["acts"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_complexity(name):
    assert _triple(anynet_complexity(REGNETS[name].to_anynet())) == GOLDEN[name]


def test_golden_complexity_unregistered_configs():
    for cfg, golden in GOLDEN_UNREGISTERED:
        assert _triple(anynet_complexity(cfg.to_anynet())) == golden, cfg


@pytest.mark.parametrize("name", [*sorted(GOLDEN), "regnet_x_400mf", "regnet_y_800mf"])
def test_analytic_complexity_matches_the_built_model(name):
    model = get_model(name)
    cfg = model.cfg
    # params at any size; flops and acts counted by hooks on a real (small) forward pass
    measured = hook_complexity(model, image_size=32)
    assert _triple(anynet_complexity(cfg, image_size=32)) == _triple(measured)
    assert anynet_complexity(cfg)["params"] == n_params(model)


def test_book_regnet_complexity_counts_biases():
    model = get_model("regnetx32_d2l")
    cx = anynet_complexity(model.cfg, image_size=96, in_channels=1, num_classes=10)
    assert _triple(cx) == _triple(hook_complexity(model, image_size=96, in_channels=1))


# ------------------------------------------------------------ torchvision parity


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf"])
def test_torchvision_weights_load_and_logits_match(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    ours = get_model(name).eval()
    info = model_info(name)
    assert info.torchvision_name == name and info.variant == "standard"
    assert n_params(ours) == n_params(reference)
    ours.load_state_dict({info.torchvision_key_map(k): v
                          for k, v in reference.state_dict().items()})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (ours(x) - reference(x)).abs().max().item() < 1e-5


def test_torchvision_regnet_x_400mf_is_the_anchor():
    assert n_params(get_model("regnet_x_400mf")) == 5_495_976  # ANCHORS §3
    assert get_model("regnet_x_400mf").cfg.widths[-1] == 400


@pytest.mark.parametrize("name", sorted(TORCHVISION_REGNETS))
def test_torchvision_state_dict_keys_and_shapes_match(name, monkeypatch):
    # torchvision's own builder plans the widths (its code, its numbers); the networks are
    # then made on the meta device, shapes only, so RegNetY-128GF's 644M weights cost nothing.
    from torchvision.models import regnet as tv_regnet

    def regnet_on_meta(block_params, weights, progress, **kwargs):
        with torch.device("meta"):
            return tv_regnet.RegNet(block_params, **kwargs)

    monkeypatch.setattr(tv_regnet, "_regnet", regnet_on_meta)
    reference = getattr(torchvision.models, name)()
    with torch.device("meta"):
        ours = get_model(name)
    mapped = {torchvision_regnet_key(k): v.shape for k, v in reference.state_dict().items()}
    assert mapped == {k: v.shape for k, v in ours.state_dict().items()}
    assert n_params(ours) == n_params(reference)


def test_key_map_examples():
    assert torchvision_regnet_key("stem.0.weight") == "stem.conv.weight"
    assert torchvision_regnet_key("trunk_output.block2.block2-0.f.b.1.running_mean") == (
        "stages.1.0.b.norm.running_mean")
    assert torchvision_regnet_key("trunk_output.block4.block4-11.f.se.fc1.bias") == (
        "stages.3.11.se.fc1.bias")
    assert torchvision_regnet_key("trunk_output.block1.block1-0.proj.1.weight") == (
        "stages.0.0.proj.norm.weight")
    assert torchvision_regnet_key("fc.weight") == "fc.weight"


# ------------------------------------------------------------ the book's RegNetX32


class _BookResNeXtBlock(nn.Module):
    """Dive into Deep Learning's ResNeXtBlock, with its lazy layers made explicit."""

    def __init__(self, c_in, c, group_width, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        b = int(round(c * bot_mul))
        self.conv1 = nn.Conv2d(c_in, b, kernel_size=1, stride=1)
        self.conv2 = nn.Conv2d(b, b, kernel_size=3, stride=strides, padding=1,
                               groups=b // group_width)
        self.conv3 = nn.Conv2d(b, c, kernel_size=1, stride=1)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(b), nn.BatchNorm2d(b), nn.BatchNorm2d(c)
        self.conv4 = nn.Conv2d(c_in, c, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn4 = nn.BatchNorm2d(c) if use_1x1conv else None

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        Y = self.bn3(self.conv3(Y))
        if self.conv4:
            X = self.bn4(self.conv4(X))
        return F.relu(Y + X)


def _book_regnetx32(num_classes=10):
    stem = nn.Sequential(nn.Conv2d(1, 32, kernel_size=3, stride=2, padding=1),
                         nn.BatchNorm2d(32), nn.ReLU())
    stages, c_in = [], 32
    for depth, c, g, b in ((4, 32, 16, 1), (6, 80, 16, 1)):
        stages.append(nn.Sequential(*[
            _BookResNeXtBlock(c_in if i == 0 else c, c, g, b, use_1x1conv=i == 0,
                              strides=2 if i == 0 else 1) for i in range(depth)]))
        c_in = c
    head = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(80, num_classes))
    return nn.Sequential(stem, *stages, head)


def _book_to_ours(book: nn.Module) -> dict:
    """The book model's state_dict under our module names."""
    parts = {"conv1": "a.conv", "bn1": "a.norm", "conv2": "b.conv", "bn2": "b.norm",
             "conv3": "c.conv", "bn3": "c.norm", "conv4": "proj.conv", "bn4": "proj.norm"}
    out = {}
    for key, value in book.state_dict().items():
        first, rest = key.split(".", 1)
        if first == "0":
            key = "stem." + rest.replace("0.", "conv.", 1).replace("1.", "norm.", 1)
        elif first in ("1", "2"):
            block, part, tensor = rest.split(".")
            key = f"stages.{int(first) - 1}.{block}.{parts[part]}.{tensor}"
        else:
            key = "fc." + rest.split(".", 1)[1]
        out[key] = value
    return out


def test_regnetx32_d2l_is_the_books_network():
    torch.manual_seed(0)
    ours, book = get_model("regnetx32_d2l"), _book_regnetx32()
    assert n_params(ours) == n_params(book)
    ours.load_state_dict(_book_to_ours(book))
    x = torch.randn(2, 1, 96, 96)
    for mode in (True, False):
        ours.train(mode), book.train(mode)
        torch.testing.assert_close(ours(x), book(x), rtol=0, atol=1e-5)
    info = model_info("regnetx32_d2l")
    assert info.variant == "book" and info.input_size == (1, 96, 96)
    r = info.book_recipe
    assert (r.lr, r.resize, r.book_accuracy, r.init) == (0.05, 96, 0.908, "default")


# ------------------------------------------------------------ interface and config


def test_registry_lists_the_variants():
    names = set(list_models("regnet"))
    assert {*GOLDEN, *TORCHVISION_REGNETS, "regnetx32_d2l"} <= names
    assert model_info("regnetx_400mf").input_size == (3, 224, 224)
    assert model_info("regnetx_400mf").num_classes == 1000


def test_interface_overrides_and_min_input():
    model = get_model("regnetx_200mf", num_classes=10, in_channels=1)
    size = model_info("regnetx_200mf").min_input_size
    x = torch.randn(2, 1, max(size, 8), max(size, 8))
    features = model.forward_features(x)
    assert features.shape[1] == model.num_features == 368
    assert model.forward_head(features, pre_logits=True).shape == (2, 368)
    assert model(x).shape == (2, 10)
    model.reset_classifier(3)
    assert model.get_classifier().out_features == 3 and model(x).shape == (2, 3)
    assert model(torch.randn(2, 1, size, size)).shape == (2, 3)  # a 1x1 input still works
    y = get_model("regnetx_200mf", se_ratio=0.25)
    assert y.stages[0][0].se is not None and y.regnet_cfg.se_ratio == 0.25
    with pytest.raises(TypeError, match="w0"):
        get_model("regnetx_200mf", width=3)


def test_anynet_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="one value per stage"):
        AnyNetConfig(32, (1, 2), (32,), (1.0, 1.0), (8, 8))
    with pytest.raises(ValueError, match="group width 16"):
        AnyNetConfig(32, (1,), (40,), (1.0,), (16,))


def test_every_parameter_gets_a_gradient():
    model = get_model("regnety_400mf", num_classes=5).train()
    F.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([0, 4])).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def _pycls_name(key: str) -> str:
    """Our key as pycls's AnyNet names it (its anynet.py: s<i>.b<j>, f.a / f.a_bn, the
    shortcut's proj / bn, f.se.f_ex.0 / .2, head.fc), written from pycls's module tree."""
    import re

    key = re.sub(r"^stages\.(\d+)\.(\d+)\.", lambda m: f"s{int(m[1]) + 1}.b{int(m[2]) + 1}.", key)
    key = key.replace("stem.norm.", "stem.bn.").replace(".proj.conv.", ".proj.")
    key = key.replace(".proj.norm.", ".bn.").replace(".se.fc1.", ".f.se.f_ex.0.")
    key = key.replace(".se.fc2.", ".f.se.f_ex.2.")
    key = re.sub(r"\.([abc])\.conv\.", r".f.\1.", key)
    key = re.sub(r"\.([abc])\.norm\.", r".f.\1_bn.", key)
    return re.sub(r"^fc\.", "head.fc.", key)


@pytest.mark.parametrize("name", ["regnetx_200mf", "regnety_400mf"])
def test_pycls_model_zoo_checkpoints_load(name, tmp_path):
    # pycls saves {"epoch": ..., "model_state": state_dict} in .pyth files, under its own
    # module names: the weights of its model zoo load into the pycls forms as they are.
    torch.manual_seed(0)
    source = get_model(name).eval()
    checkpoint = tmp_path / "model.pyth"
    torch.save({"epoch": 100, "model_state": {_pycls_name(k): v for k, v in
                                              source.state_dict().items()}}, checkpoint)
    loaded = get_model(name, weights=str(checkpoint)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))


def test_pycls_key_map_examples():
    from cnnlab.models.regnet import pycls_regnet_key

    assert pycls_regnet_key("s1.b1.f.b_bn.weight") == "stages.0.0.b.norm.weight"
    assert pycls_regnet_key("s2.b1.bn.running_var") == "stages.1.0.proj.norm.running_var"
    assert pycls_regnet_key("s2.b1.proj.weight") == "stages.1.0.proj.conv.weight"
    assert pycls_regnet_key("s4.b3.f.se.f_ex.2.bias") == "stages.3.2.se.fc2.bias"
    assert pycls_regnet_key("stem.bn.weight") == "stem.norm.weight"
    assert pycls_regnet_key("head.fc.weight") == "fc.weight"
