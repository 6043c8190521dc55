"""Pretrained backbones: tv:/timm: names, weights files and names, head and first-conv
adaptation, frozen backbone, a lower backbone lr, and fine-tuning from the CLI.

Every weights file is saved here from a torchvision (or timm) model built in the test;
nothing touches the network.
"""

from __future__ import annotations

import copy
import sys
import urllib.error

import numpy as np
import pytest
import torch
import torchvision
import yaml
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.extras import MissingExtraError
from cnnlab.models import UnknownModelError, get_model, list_models, model_info
from cnnlab.models._base import replace_submodule
from cnnlab.models.interop import WeightsMismatchError, read_weights_file
from cnnlab.models.pretrained import (
    TorchvisionNet,
    WeightsUnavailableError,
    external_model_info,
)
from cnnlab.models.transfer import adapt_input_conv, freeze_backbone, load_pretrained
from cnnlab.train import ConfigError, TrainConfig
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.optim import build_optimizer, build_scheduler, parameter_groups

torch.set_num_threads(1)


def torchvision_model(arch: str, seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    return torchvision.models.get_model(arch, weights=None, **kwargs).eval()


def pre_logits(model: nn.Module, slot: str) -> nn.Module:
    """``model`` with its final linear layer replaced by Identity (a copy)."""
    model = copy.deepcopy(model)
    replace_submodule(model, slot, nn.Identity())  # set_submodule: torch >= 2.5
    return model


@pytest.fixture(scope="module")
def resnet18_tv() -> nn.Module:
    return torchvision_model("resnet18")


@pytest.fixture(scope="module")
def resnet18_file(resnet18_tv, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(resnet18_tv.state_dict(), path)
    return path


# --- names and metadata --------------------------------------------------------------

def test_model_info_for_torchvision_names_without_registering_them():
    info = model_info("tv:resnet18")
    assert (info.family, info.variant) == ("torchvision", "standard")
    assert info.input_size == (3, 224, 224) and info.num_classes == 1000
    assert info.torchvision_name == "resnet18" and not info.sized_head
    assert model_info("tv:vit_b_32").min_input_size == 224  # torchvision's own metadata
    assert not any(n.startswith("tv:") for n in list_models())


def test_unknown_and_unsupported_torchvision_names_fail_clearly():
    with pytest.raises(UnknownModelError, match=r"Did you mean: tv:resnet18.*torchvision"):
        model_info("tv:resnet1")
    with pytest.raises(ValueError, match="squeezenet1_0 is not supported"):
        model_info("tv:squeezenet1_0")


# --- torchvision models behind cnnlab's interface --------------------------------------

@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_tv_model_with_weights_file_computes_torchvision_function(resnet18_tv, tmp_path,
                                                                  suffix):
    path = tmp_path / f"w{suffix}"
    if suffix == ".pth":
        torch.save(resnet18_tv.state_dict(), path)
    else:
        save_file({k: v.contiguous() for k, v in resnet18_tv.state_dict().items()}, path)
    model = get_model("tv:resnet18", weights=str(path)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = resnet18_tv(x)
        assert torch.allclose(model(x), expected, atol=1e-6)
        features = model.forward_features(x)
        assert features.shape == (2, model.num_features) == (2, 512)
        assert torch.equal(model.forward_head(features, pre_logits=True), features)
        assert torch.allclose(model.forward_head(features), expected, atol=1e-6)
    assert model.get_classifier() is model.head


def test_fine_tune_shape_grey_input_and_new_head(resnet18_tv, resnet18_file):
    model = get_model("tv:resnet18", num_classes=10, in_channels=1,
                      weights=resnet18_file).eval()
    conv = model.body.conv1.weight
    assert conv.shape == (64, 1, 7, 7)
    assert torch.allclose(conv, resnet18_tv.conv1.weight.sum(dim=1, keepdim=True))
    assert model.head.weight.shape == (10, 512)
    grey = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        ours = model.forward_features(grey)
        # Summed filters on grey == RGB filters on the grey copied into each channel.
        theirs = pre_logits(resnet18_tv, "fc")(grey.expand(-1, 3, -1, -1))
        assert torch.allclose(ours, theirs, atol=1e-5)
        assert model(grey).shape == (3, 10)


def test_reset_classifier_and_headless_model(resnet18_file):
    model = get_model("tv:resnet18", num_classes=7, weights=resnet18_file)
    model.reset_classifier(3)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    headless = get_model("tv:resnet18", num_classes=0, weights=resnet18_file)
    assert headless(torch.randn(2, 3, 32, 32)).shape == (2, 512)


# Classifier slots fc, classifier.1, classifier.3; GoogLeNet's release has aux heads.
@pytest.mark.parametrize("arch,slot,kwargs", [
    ("shufflenet_v2_x0_5", "fc", {}),
    ("mnasnet0_5", "classifier.1", {}),
    ("mobilenet_v3_small", "classifier.3", {}),
    ("googlenet", "fc", {"aux_logits": True, "init_weights": True}),
])
@pytest.mark.filterwarnings("ignore:tv.googlenet. loaded")  # a file of unknown origin
def test_tv_families_load_weights_and_adapt(arch, slot, kwargs, tmp_path):
    source = torchvision_model(arch, **kwargs)
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path)
    same = get_model(f"tv:{arch}", weights=path).eval()
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grey = get_model(f"tv:{arch}", num_classes=4, in_channels=1, weights=path).eval()
    # Not the release (a file of unknown origin), and a grey model has no transform to set.
    assert not any("transform_input" in str(w.message) for w in caught)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(same(x.expand(-1, 3, -1, -1)), source(x.expand(-1, 3, -1, -1)),
                              atol=1e-5)
        expected = pre_logits(source, slot)(x.expand(-1, 3, -1, -1))
        assert torch.allclose(grey.forward_features(x), expected, atol=1e-4)
        assert grey(x).shape == (2, 4)


# Bigger families: only structure, on the meta device (no memory, no init cost).
@pytest.mark.parametrize("arch", ["alexnet", "vgg11", "densenet121", "efficientnet_b0",
                                  "convnext_tiny", "vit_b_32", "swin_t", "maxvit_t"])
def test_adapter_keys_are_torchvision_keys_through_the_key_map(arch):
    with torch.device("meta"):
        model = TorchvisionNet(arch, num_classes=1000, in_channels=3)
        source = torchvision.models.get_model(arch)
    key_map = model_info(f"tv:{arch}").torchvision_key_map
    assert {key_map(k) for k in source.state_dict()} == set(model.state_dict())
    assert isinstance(model.head, nn.Linear) and model.head.in_features == model.num_features


# --- weights for cnnlab's own models -------------------------------------------------

def test_standard_variant_accepts_torchvision_file_and_adapts(resnet18_tv, resnet18_file):
    model = get_model("resnet18", num_classes=10, in_channels=1, weights=resnet18_file).eval()
    grey = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        ours = model.forward_head(model.forward_features(grey), pre_logits=True)
        theirs = pre_logits(resnet18_tv, "fc")(grey.expand(-1, 3, -1, -1))
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_standard_variant_with_renamed_keys_loads_through_key_map(tmp_path):
    source = torchvision_model("regnet_x_400mf")
    path = tmp_path / "regnet.pth"
    torch.save(source.state_dict(), path)
    model = get_model("regnet_x_400mf", weights=path).eval()
    assert model_info("regnet_x_400mf").torchvision_key_map is not None
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), source(x), atol=1e-5)


def test_cnnlab_checkpoint_starts_another_model_with_other_classes(tmp_path):
    torch.manual_seed(0)
    trained = get_model("lenet_modern", num_classes=10)
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, trained.state_dict(), {"epoch": 1})
    assert set(read_weights_file(path)) == set(trained.state_dict())  # model.* only
    model = get_model("lenet_modern", num_classes=3, weights=path)
    head = model.get_classifier()
    for name, value in model.state_dict().items():
        if not name.startswith("classifier.6."):  # everything but the new head
            assert torch.equal(value, trained.state_dict()[name]), name
    assert head.weight.shape == (3, head.in_features)


def test_weights_of_another_architecture_are_a_clear_error(resnet18_file):
    with pytest.raises(WeightsMismatchError, match="missing from the weights"):
        get_model("tv:resnet34", weights=resnet18_file)
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        get_model("tv:resnet18", weights="no/such/file.pth")


# --- torchvision weights names ---------------------------------------------------------

def test_weights_name_is_fetched_through_torch_hub(resnet18_tv, monkeypatch):
    calls = []

    def fake_download(url, **kwargs):
        calls.append((url, kwargs))
        return copy.deepcopy(resnet18_tv.state_dict())

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    model = get_model("tv:resnet18", weights="DEFAULT").eval()
    url, kwargs = calls[0]
    assert url == torchvision.models.ResNet18_Weights.DEFAULT.url
    assert kwargs["weights_only"] is True and kwargs["check_hash"] is True
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), resnet18_tv(x), atol=1e-6)
    # cnnlab's standard variant takes the same name; the full enum spelling works too.
    get_model("resnet18", num_classes=5, weights="ResNet18_Weights.IMAGENET1K_V1")
    assert calls[-1][0] == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url


def test_offline_weights_name_says_to_pass_a_file(monkeypatch):
    def offline(url, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match=r"Pass a local file.*--weights resnet18"):
        get_model("tv:resnet18", num_classes=10, weights="DEFAULT")
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        get_model("tv:resnet18", weights="IMAGENET9K")
    with pytest.raises(ValueError, match="no torchvision weights"):
        get_model("lenet_modern", weights="DEFAULT")


# --- the first-conv rule -----------------------------------------------------------------

def test_adapt_input_conv_keeps_the_response_to_equal_channels():
    torch.manual_seed(0)
    weight = torch.randn(8, 3, 3, 3)
    conv3 = nn.Conv2d(3, 8, 3, bias=False)
    conv3.weight.data = weight
    x = torch.randn(2, 1, 9, 9)
    for n in range(1, 8):  # fewer channels, a multiple of 3, and neither (2, 4, 5, 7)
        conv = nn.Conv2d(n, 8, 3, bias=False)
        conv.weight.data = adapt_input_conv(weight, n)
        assert conv.weight.shape == (8, n, 3, 3)
        assert torch.allclose(conv(x.expand(-1, n, -1, -1)), conv3(x.expand(-1, 3, -1, -1)),
                              atol=1e-5), n
    # Grey and multiples of 3 are adapted exactly as before the rule held for every count.
    assert torch.equal(adapt_input_conv(weight, 1), weight.sum(dim=1, keepdim=True))
    assert torch.equal(adapt_input_conv(weight, 9), weight[:, torch.arange(9) % 3] * (3 / 9))
    # Fewer than 3: folded (R + B, G); more: cyclic, each copy shared (R/2, G, B, R/2).
    assert torch.allclose(adapt_input_conv(weight, 2)[:, 0], weight[:, 0] + weight[:, 2])
    assert torch.equal(adapt_input_conv(weight, 4)[:, 3], weight[:, 0] / 2)
    with pytest.raises(ValueError, match="in_channels"):
        adapt_input_conv(weight, 0)
    # On the weights' own device: the meta device stands in for a GPU (the copies' count,
    # made on the CPU, divided a weight elsewhere: "Expected all tensors to be on the
    # same device").
    for n in (1, 2, 4, 6):
        assert adapt_input_conv(weight.to("meta"), n).device.type == "meta"


# --- frozen backbone, lower backbone lr ------------------------------------------------------

def test_freeze_backbone_trains_only_the_head(resnet18_file):
    model = get_model("tv:resnet18", num_classes=4, weights=resnet18_file)
    frozen = freeze_backbone(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["head.weight", "head.bias"]
    assert frozen == sum(p.numel() for p in model.body.parameters())
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.arange(4)).backward()
    opt.step()
    for name, value in model.named_parameters():
        assert torch.equal(value, before[name]) != name.startswith("head."), name


def test_backbone_gets_a_scaled_lr_and_the_head_comes_first():
    cfg = TrainConfig(model="tv:resnet18", lr=0.2, backbone_lr_scale=0.1, weight_decay=5e-4,
                      optimizer="nesterov", momentum=0.9, schedule="onecycle", epochs=1)
    model = get_model("tv:resnet18", num_classes=3)
    opt = build_optimizer(model, cfg)
    head = {id(p) for p in model.head.parameters()}
    lrs = [(g["lr"], {id(p) in head for p in g["params"]}) for g in opt.param_groups]
    assert lrs == [(0.2, {True}), (0.2, {True}), (pytest.approx(0.02), {False}),
                   (pytest.approx(0.02), {False})]
    every = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(every) == sorted(id(p) for p in model.parameters())  # each exactly once
    sched = build_scheduler(opt, cfg, steps_per_epoch=10)
    opt.step()  # no gradients: changes nothing, keeps the scheduler's call order
    sched.step()
    ratio = opt.param_groups[2]["lr"] / opt.param_groups[0]["lr"]
    assert ratio == pytest.approx(0.1)  # the schedule scales both alike
    # Without a scale the groups are exactly the usual two.
    assert len(parameter_groups(model, 5e-4)) == 2


def test_config_validates_the_transfer_fields():
    with pytest.raises(ConfigError, match="backbone_lr_scale"):
        TrainConfig(backbone_lr_scale=0.0).validate()
    with pytest.raises(ConfigError, match="one or the other"):
        TrainConfig(freeze_backbone=True, backbone_lr_scale=0.1).validate()


def test_a_frozen_backbone_without_weights_is_refused_before_any_folder(tmp_path):
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--freeze-backbone", "--epochs", "1",
        "--device", "cpu", "--quiet", "--out-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "without --weights the frozen backbone is random" in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# --- fine-tuning from the command line ------------------------------------------------------

@pytest.fixture
def image_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    root = tmp_path / "pets"
    for name, colour in (("cat", (200, 60, 60)), ("dog", (60, 60, 200)), ("owl", (60, 200, 60))):
        (root / name).mkdir(parents=True)
        for i in range(5):
            pixels = np.clip(np.array(colour) + rng.normal(0, 25, (24, 24, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_cli_fine_tunes_tv_model_from_weights_file(image_folder, resnet18_tv, resnet18_file,
                                                   tmp_path):
    result = CliRunner().invoke(app, [
        "train", "tv:resnet18", "--weights", str(resnet18_file), "--data",
        f"folder:{image_folder}", "--resize", "32", "--epochs", "1", "--batch-size", "8",
        "--lr", "0.05", "--freeze-backbone", "--device", "cpu", "--quiet",
        "--out-dir", str(tmp_path / "runs"), "--run-name", "ft"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "ft"
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["weights"] == str(resnet18_file) and cfg["freeze_backbone"] is True
    weights = load_file(str(run / "checkpoints" / "last.safetensors"))
    # Every backbone parameter is exactly the file's (frozen); the new 3-class head trained.
    for key, value in resnet18_tv.named_parameters():
        if not key.startswith("fc."):
            assert torch.equal(weights[f"model.body.{key}"], value), key
    assert weights["model.head.weight"].shape == (3, 512)


# --- timm (optional extra) ---------------------------------------------------------------

def test_timm_model_loads_timm_weights_and_adapts(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    source = timm.create_model("resnet10t").eval()
    path = tmp_path / "timm.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, path)
    info = model_info("timm:resnet10t")
    assert (info.family, info.input_size[0]) == ("timm", 3)
    model = get_model("timm:resnet10t", num_classes=5, in_channels=1, weights=path).eval()
    grey = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        ours = model.forward_head(model.forward_features(grey), pre_logits=True)
        theirs = source.forward_head(source.forward_features(grey.expand(-1, 3, -1, -1)),
                                     pre_logits=True)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert model(grey).shape == (2, 5)
    report = load_pretrained(get_model("timm:resnet10t", num_classes=5, in_channels=1), path,
                             info)
    assert report.new_head and report.input_channels == (3, 1)


def test_timm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm now raises ImportError
    external_model_info.cache_clear()
    try:
        with pytest.raises(MissingExtraError, match=r"pip install 'cnnlab\[timm\]'"):
            get_model("timm:resnet18")
    finally:
        external_model_info.cache_clear()


def test_timm_weights_name_offline_says_to_pass_a_file(monkeypatch):
    timm = pytest.importorskip("timm")
    real_create = timm.create_model

    def offline_create(name, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("We couldn't connect to 'https://huggingface.co'")
        return real_create(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, "create_model", offline_create)
    with pytest.raises(WeightsUnavailableError, match=r"resnet10t\.a1_in1k.*pass that file"):
        get_model("timm:resnet10t", num_classes=3, weights="a1_in1k")


def test_timm_weights_by_name_need_a_torch_whose_load_runs_no_code(monkeypatch):
    # Before torch 2.6, torch.load unpickles by default; timm may call it on a hub file.
    from types import SimpleNamespace

    from cnnlab.models import pretrained

    fake_timm = SimpleNamespace(models=SimpleNamespace(
        split_model_name_tag=lambda name: (name, "")),
        create_model=lambda *a, **k: pytest.fail("fetched with an unsafe torch.load"))
    monkeypatch.setattr(pretrained, "require_extra", lambda *a: fake_timm)
    monkeypatch.setattr(torch, "__version__", "2.5.1+cu121")
    with pytest.raises(WeightsUnavailableError, match=r"needs torch >= 2.6 \(this is 2.5.1"):
        pretrained._timm_weights(SimpleNamespace(name="timm:resnet10t"), "DEFAULT")
    monkeypatch.setattr(torch, "__version__", "2.10.0")
    assert pretrained._torch_release() == (2, 10)
