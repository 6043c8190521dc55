"""torchvision's GoogLeNet ``transform_input`` when loading weights: on for torchvision's
release (by name, or the file torchvision downloads), the source's own for a torchvision
model, and never guessed from a file's auxiliary heads.

torchvision's pretrained build is simulated as torchvision does it (built with the
transform and the auxiliary heads, weights loaded, the heads dropped); nothing touches
the network.
"""

from __future__ import annotations

import hashlib
import urllib.error
import warnings

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import get_model
from cnnlab.models import pretrained as pretrained_module
from cnnlab.models.interop import from_torchvision
from cnnlab.models.pretrained import WeightsUnavailableError, torchvision_release_file
from cnnlab.notices import SetupWarning

torch.set_num_threads(1)
RELEASE = "GoogLeNet_Weights.IMAGENET1K_V1"


def torchvision_googlenet(seed: int = 0, **kwargs) -> nn.Module:
    """torchvision's GoogLeNet with filters whose logits depend on the input (its own
    init, std 0.01, makes them nearly constant, so a missing transform would pass)."""
    torch.manual_seed(seed)
    model = torchvision.models.GoogLeNet(init_weights=True, **kwargs)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
    return model.eval()


def released_googlenet() -> tuple[nn.Module, dict]:
    """(what ``torchvision.models.googlenet(weights="DEFAULT")`` builds, the release's
    state_dict): torchvision builds it with transform_input and the auxiliary heads,
    loads the file (which keeps the heads), then drops them."""
    model = torchvision_googlenet(transform_input=True, aux_logits=True)
    release_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model, release_state


def as_the_release_file(monkeypatch, path) -> None:
    """Make cnnlab take ``path`` for the file torchvision downloads, whose SHA-256 begins
    with the digits its name carries (googlenet-1378be20.pth)."""
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    monkeypatch.setattr(pretrained_module, "_release_hash_prefixes",
                        lambda arch: {prefix: RELEASE} if arch == "googlenet" else {})


def transform_input_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "transform_input" in str(w.message)]


X = torch.randn(2, 3, 64, 64)


def test_release_hashes_are_read_from_torchvisions_catalogue(tmp_path):
    assert pretrained_module._release_hash_prefixes("googlenet") == {"1378be20": RELEASE}
    path = tmp_path / "googlenet-1378be20.pth"  # the name alone proves nothing
    torch.save({"w": torch.zeros(1)}, path)
    assert torchvision_release_file("googlenet", path) is None
    assert torchvision_release_file("resnet18", path) is None  # not looked for


def test_the_release_file_loads_as_torchvision_loads_it(monkeypatch, tmp_path):
    released, release_state = released_googlenet()
    path = tmp_path / "googlenet.pth"  # renamed: recognised by its hash
    torch.save(release_state, path)
    as_the_release_file(monkeypatch, path)
    with torch.no_grad():
        expected = released(X)
        for name in ("googlenet", "tv:googlenet"):
            model = get_model(name, weights=path).eval()
            assert torch.allclose(model(X), expected, atol=1e-5), name
        # Fine-tuning with the auxiliary heads: all three classifiers renewed for 10 classes.
        with_aux = get_model("googlenet", num_classes=10, aux_logits=True, weights=path)
        assert with_aux.aux1.fc2.out_features == 10 and with_aux.transform_input
        # A grey model sums the RGB filters and so cannot re-map channels apiece: said.
        with pytest.warns(SetupWarning, match="expect its transform_input.*cannot apply"):
            assert not get_model("googlenet", in_channels=1, weights=path).transform_input
        # Asked for explicitly, the caller's choice stays.
        assert not get_model("googlenet", weights=path, transform_input=False).transform_input
        # from_torchvision treats the file as get_model does.
        assert torch.allclose(from_torchvision(path, "googlenet").eval()(X), expected, atol=1e-5)
    # A run started from the release keeps the transform in its config, so the model it
    # is rebuilt as (eval, predict, export, resume) computes the same function.
    from cnnlab.train import TrainConfig
    from cnnlab.train.model_setup import build_model

    cfg = TrainConfig(model="googlenet", weights=str(path), data="synthetic")
    build_model(cfg, num_classes=10, channels=3, image_size=64)
    assert cfg.model_overrides == {"transform_input": True}


def test_the_release_by_name_turns_the_transform_on(monkeypatch):
    released, release_state = released_googlenet()
    urls = []

    def fake_download(url, **kwargs):
        urls.append(url)
        return dict(release_state)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    with torch.no_grad():
        for name in ("googlenet", "tv:googlenet"):
            model = get_model(name, weights="DEFAULT").eval()
            assert model.pretrained_load.transform_input, name
            assert torch.allclose(model(X), released(X), atol=1e-5), name
    assert urls[0] == torchvision.models.GoogLeNet_Weights.DEFAULT.url


def test_weights_saved_from_torchvisions_pretrained_build_are_not_guessed_at(tmp_path):
    """``googlenet(weights="DEFAULT").state_dict()`` has no auxiliary heads (torchvision
    dropped them), which cnnlab took for "not the release": silently the wrong function.
    Now the model keeps its default and the warning names the setting to pass."""
    released, _ = released_googlenet()
    path = tmp_path / "googlenet.pth"
    torch.save(released.state_dict(), path)
    with pytest.warns(SetupWarning, match=r"pass transform_input=True.*model_overrides"):
        assert not get_model("googlenet", weights=path).transform_input
    with torch.no_grad():
        as_advised = get_model("googlenet", weights=path, transform_input=True).eval()
        assert torch.allclose(as_advised(X), released(X), atol=1e-5)
        # The module itself says it re-maps its input: its converted copy does too.
        converted = from_torchvision(released, "googlenet").eval()
        assert converted.transform_input
        assert torch.allclose(converted(X), released(X), atol=1e-5)


@pytest.mark.parametrize("num_classes", [10, 1000])
def test_a_users_own_torchvision_googlenet_keeps_its_untransformed_input(num_classes, tmp_path):
    """``torchvision.models.googlenet(weights=None)`` trains with its auxiliary heads and
    without the transform; cnnlab turned the transform on for its heads."""
    own = torchvision_googlenet(aux_logits=True, num_classes=num_classes)
    assert not own.transform_input
    path = tmp_path / "mine.pth"
    torch.save(own.state_dict(), path)
    with torch.no_grad():
        expected = own(X)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for loaded in (get_model("googlenet", num_classes=num_classes, weights=path),
                           from_torchvision(path, "googlenet"),
                           from_torchvision(own, "googlenet")):
                assert not loaded.transform_input
                assert torch.allclose(loaded.eval()(X), expected, atol=1e-5)
    # Trained for other classes with the heads torchvision keeps by default: not the
    # release's shape, so nothing is said. At 1000 classes it might be: said, on the two
    # loads from the file (get_model, from_torchvision), never on the module.
    assert len(transform_input_warnings(caught)) == (0 if num_classes == 10 else 2)


def test_offline_advice_for_googlenet_gives_torchvisions_function(monkeypatch):
    def offline(url, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError) as caught:
        get_model("googlenet", weights="DEFAULT")
    advice = str(caught.value)
    assert "state_dict()" in advice  # the file to save, as for any model
    assert "(get_model(..., transform_input=True)" in advice  # and the setting with it
    assert "`model_overrides: {transform_input: true}` in a --config file" in advice
    assert "googlenet-1378be20.pth" in advice  # or the download itself, recognised
    with pytest.raises(WeightsUnavailableError) as caught:
        get_model("tv:resnet18", weights="DEFAULT")
    assert "transform_input" not in str(caught.value)


@pytest.mark.parametrize("arch", ["googlenet", "inception_v3"])
def test_torchvision_auxiliary_heads_are_refused_naming_cnnlabs_googlenet(arch):
    # Built, then a training step failed: torchvision's training forward returns its
    # outputs tuple, which the classifier cnnlab puts on it cannot take.
    with pytest.raises(ValueError, match=rf"tv:{arch} is taken without its auxiliary heads.*"
                                         "cnnlab's own googlenet takes aux_logits=True"):
        get_model(f"tv:{arch}", aux_logits=True)
    assert get_model("googlenet", aux_logits=True).aux1 is not None
