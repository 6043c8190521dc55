"""A network of the user's own, registered with register_model and trained, resumed and
evaluated as cnnlab's are: what it is asked to be is checked when it is registered and
built, with the fix named, and a new process finds it through $CNNLAB_MODELS."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models import _registry, get_model, model_info
from cnnlab.notices import SetupWarning
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.model_setup import build_model, training_loss


class SmallNet(nn.Module):
    """A user's CIFAR-style net: functional ops in forward, three channels by default."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, extra: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)
        self.extra = extra

    def forward(self, x):
        features = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1).flatten(1)
        return (self.fc(features), features) if self.extra else self.fc(features)


def _own(register, name: str, build, input_size=(1, 28, 28)):
    register(family="own", paper="-", input_size=input_size, min_input_size=8, name=name)(build)


def test_a_builder_without_the_keywords_get_model_passes_is_refused_when_registered(registry):
    # Before, it registered, and every get_model (and run) failed with Python's "got an
    # unexpected keyword argument 'num_classes'", not saying what a builder must take.
    with pytest.raises(TypeError, match="must take the keyword.s. num_classes and in_channels"):
        _own(registry, "own_plain", lambda: SmallNet())
    assert "own_plain" not in _registry._REGISTRY
    _own(registry, "own_kwargs", lambda **kw: SmallNet(**kw))  # **kwargs takes them


def test_a_definition_run_again_replaces_itself_and_another_is_refused(registry):
    # A notebook cell run twice defined the same builder again: "already registered",
    # and the kernel had to be restarted.
    def own_cell(num_classes=10, in_channels=1):
        return SmallNet(num_classes, in_channels)

    first = own_cell
    _own(registry, "own_cell", first)

    def own_cell(num_classes=10, in_channels=1):  # noqa: F811 - the cell run again
        return SmallNet(num_classes, in_channels)

    _own(registry, "own_cell", own_cell)
    assert model_info("own_cell").builder is own_cell
    with pytest.raises(ValueError, match=r"'lenet_d2l' is already registered \(by "
                                         r"cnnlab.models.lenet\); register yours under"):
        _own(registry, "lenet_d2l", lambda num_classes, in_channels: SmallNet())


def test_a_new_process_finds_own_models_through_the_environment(registry, tmp_path,
                                                                 monkeypatch):
    # The file imports a module beside it, as a script of the user's does.
    (tmp_path / "own_layers.py").write_text(textwrap.dedent("""
        from torch import nn
        def head(width, classes):
            return nn.Linear(width, classes)
    """), encoding="utf-8")
    (tmp_path / "own_nets.py").write_text(textwrap.dedent("""
        from torch import nn
        from cnnlab.models import register_model
        from own_layers import head

        @register_model(family="own", paper="-", input_size=(1, 28, 28))
        def own_envnet(num_classes=10, in_channels=1):
            return nn.Sequential(nn.Flatten(), head(in_channels * 28 * 28, num_classes))
    """), encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("CNNLAB_MODELS", str(tmp_path / "own_nets.py"))
    _registry._families_loaded = False  # as in a process that has looked nothing up yet
    assert get_model("own_envnet", num_classes=3)(torch.zeros(2, 1, 28, 28)).shape == (2, 3)


def test_an_environment_naming_no_module_warns_and_the_unknown_name_says_the_fix(
        registry, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNLAB_MODELS", "no_such_own_module")
    _registry._families_loaded = False
    with pytest.warns(SetupWarning, match="names the module 'no_such_own_module', which is "
                                          "not found"), \
            pytest.raises(ValueError, match=r"register_model.*\$CNNLAB_MODELS"):
        model_info("own_missing")


def test_a_module_given_as_the_model_names_register_model():
    from cnnlab.train import train

    # Before: "invalid value for model: SmallNet(...); allowed: text".
    with pytest.raises(ConfigError, match=r"registered name, not a SmallNet.*@register_model"):
        train(TrainConfig(model=SmallNet(), data="synthetic", device="cpu"),
              write_run_dir=False, console=False)


def _built(register, name, build, classes=10, channels=1, size=28):
    _own(register, name, build)
    return build_model(TrainConfig(model=name, device="cpu"), classes, channels, size)


def test_a_builder_ignoring_in_channels_fails_when_built_naming_it(registry):
    # A three-channel net on grey Fashion-MNIST: before, the first training step failed
    # with torch's "expected input[...] to have 3 channels, but got 1".
    with pytest.raises(ConfigError, match=r"own_rgb fails on the run's input, 2x1x28x28 .*"
                                          r"given in_channels=1"):
        _built(registry, "own_rgb", lambda num_classes, in_channels: SmallNet(num_classes, 3))


def test_a_builder_ignoring_num_classes_fails_when_built_naming_it(registry):
    # Before, 3 classes trained silently on 10 logits (7 of them for no class).
    with pytest.raises(ConfigError, match=r"logits of shape \(2, 10\).*3 classes.*"
                                          r"num_classes=3"):
        _built(registry, "own_ten", lambda num_classes, in_channels: SmallNet(10, in_channels),
               classes=3)


def test_a_forward_returning_logits_and_features_is_refused_with_the_fix(registry):
    # Before: training read the features as GoogLeNet's auxiliary logits ("Target 8 is
    # out of bounds"), and evaluation failed on the tuple.
    with pytest.raises(ConfigError, match="returns a tuple, not a tensor of logits"):
        _built(registry, "own_pair",
                lambda num_classes, in_channels: SmallNet(num_classes, in_channels, extra=True))
    logits, features = torch.zeros(4, 10), torch.zeros(4, 8)
    with pytest.raises(ConfigError, match=r"item 1 is shaped \(4, 8\), not logits"):
        training_loss((logits, features), torch.tensor([0, 8, 2, 3]), 0.0)
    aux = torch.zeros(4, 10)  # GoogLeNet's: as before
    assert training_loss((logits, aux), torch.tensor([0, 8, 2, 3]), 0.0)[0] is logits


def test_a_good_own_model_builds_for_the_data(registry):
    model = _built(registry, "own_good",
                   lambda num_classes, in_channels: SmallNet(num_classes, in_channels),
                   classes=4, channels=1, size=20)
    assert model.training and model.fc.out_features == 4


def test_a_net_made_for_28_pixels_takes_its_own_input_by_default(registry):
    # min_input_size defaulted to 32: a 28x28 network was refused its own input size
    # ("needs inputs of at least 32x32 pixels") until its author set it.
    registry(family="own", paper="-", input_size=(1, 28, 28), name="own_28")(
        lambda num_classes=10, in_channels=1: SmallNet(num_classes, in_channels))
    registry(family="own", paper="-", input_size=(3, 64, 64), name="own_64")(
        lambda num_classes=10, in_channels=3: SmallNet(num_classes, in_channels))
    assert model_info("own_28").min_input_size == 28
    assert model_info("own_64").min_input_size == 32
    assert get_model("own_28").fc.out_features == 10


def test_own_counts_are_not_cached_and_its_details_name_its_file(registry, tmp_path,
                                                                 monkeypatch):
    # `cnnlab models` cached counts under a fingerprint of cnnlab's sources alone: an
    # edited own network listed its first counts ever after. Its variant read "cnnlab's
    # own, neither the book's nor torchvision's".
    from typer.testing import CliRunner

    from cnnlab.bench.complexity import ComplexityCache
    from cnnlab.cli import app

    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    width = [8]

    def own_edited(num_classes=10, in_channels=1):
        net = SmallNet(num_classes, in_channels)
        net.fc = nn.Linear(8, num_classes, bias=width[0] == 8)
        return net

    _own(registry, "own_edited", own_edited)
    cache = ComplexityCache(tmp_path / "complexity.json")
    first = cache.get(model_info("own_edited"))
    width[0] = 9  # the user edits the network: the bias goes
    assert cache.get(model_info("own_edited"))[0] == first[0] - 10
    assert not cache.entries
    result = CliRunner().invoke(app, ["models", "own_edited"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"your own, registered by {__file__}" in " ".join(result.output.split())


def test_a_file_imported_by_name_and_named_in_the_environment_registers_once(
        registry, tmp_path, monkeypatch):
    # README's CNNLAB_MODELS=my_nets.py with `import my_nets` in a script ran the file a
    # second time under another module name: "model 'own_twice' is already registered".
    (tmp_path / "own_twice_nets.py").write_text(textwrap.dedent("""
        from torch import nn
        from cnnlab.models import register_model
        RUNS = []
        RUNS.append(1)

        @register_model(family="own", paper="-", input_size=(1, 28, 28))
        def own_twice(num_classes=10, in_channels=1):
            return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 28 * 28, num_classes))
    """), encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "own_twice_nets", raising=False)
    import own_twice_nets

    monkeypatch.setenv("CNNLAB_MODELS", str(tmp_path / "own_twice_nets.py"))
    _registry._families_loaded = False  # the registry's first lookup imports the file
    assert get_model("own_twice").__class__ is nn.Sequential
    assert own_twice_nets.RUNS == [1]  # its code ran once


def test_a_net_normalising_by_the_batch_is_checked_on_two_images(registry):
    # One blank image failed BatchNorm1d without running statistics ("Expected more than
    # 1 value per channel"), which trains at any batch of two or more.
    def own_bn(num_classes=10, in_channels=1):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 28 * 28, 32),
                             nn.BatchNorm1d(32, track_running_stats=False),
                             nn.Linear(32, num_classes))

    assert _built(registry, "own_bn", own_bn).training


def test_an_edited_notebook_cell_replaces_its_model(registry):
    # Jupyter names each cell's code file by a hash of its text: an edited cell run again
    # was refused as another model ("already registered") once files were compared.
    for cell in ("<ipython-input-1>", "/tmp/ipykernel_1/2901.py"):
        for width in (8, 16):
            source = (f"def own_cell(num_classes=10, in_channels=1):\n"
                      f"    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 784, "
                      f"{width}), nn.Linear({width}, num_classes))\n")
            scope = {"nn": nn, "__name__": "__main__"}
            exec(compile(source, f"{cell}-{width}", "exec"), scope)
            _own(registry, "own_cell", scope["own_cell"])
        assert get_model("own_cell")[1].out_features == 16  # the edited cell's
