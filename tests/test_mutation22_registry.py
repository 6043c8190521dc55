"""Behaviour of the registry's errors and of the weight loading helpers that the
existing tests left open (hand mutation testing, session 39): each test here fails
for a plausible slip in cnnlab/models that every other test let through."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.models import _registry, model_info
from cnnlab.models._errors import ModelOptionError
from cnnlab.models.interop import (
    WeightsMismatchError,
    _classes_and_channels,
    best_named,
    load_state_dict_checked,
)


def _builder(module: str, qualname: str = "own_twin"):
    """A builder defined by exec (no source file on disk), as its module would make it."""
    scope: dict = {"nn": nn, "__name__": module}
    exec("def own_twin(num_classes=10, in_channels=1):\n"
         "    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))\n", scope)
    fn = scope["own_twin"]
    fn.__qualname__ = qualname
    return fn


def test_a_wrong_option_lists_each_close_option_not_only_the_first():
    err = ModelOptionError("own", "widht", ["width", "widths", "depth"])
    assert "Did you mean: width, widths?" in str(err)


def test_two_builders_without_source_files_from_other_modules_are_not_one(registry):
    # Both have no file on disk: "no file" on both sides is not "the same file".
    registry(family="own", paper="-", input_size=(1, 8, 8), name="own_twin")(
        _builder("first_module"))
    with pytest.raises(ValueError, match="'own_twin' is already registered"):
        registry(family="own", paper="-", input_size=(1, 8, 8), name="own_twin")(
            _builder("second_module"))
    assert model_info("own_twin").builder.__module__ == "first_module"


def test_keys_that_fit_no_better_any_way_are_reported_as_they_were_saved():
    # Stripping the shared "net." prefix matches no more keys, so the mismatch is
    # reported under the names in the file, not under names the user never wrote.
    state = {"net.a.weight": torch.zeros(1), "net.b.weight": torch.zeros(1)}
    assert list(best_named(state, ["conv.weight"], [lambda k: "x" + k])) == list(state)


def test_a_fine_tuned_alexnet_gives_its_class_count_from_its_last_linear_layer():
    probe = _registry.model_on_meta("alexnet")
    state = dict(probe.state_dict())
    state["classifier.6.weight"] = torch.empty(10, 4096, device="meta")
    assert _classes_and_channels(probe, state)["num_classes"] == 10


def test_a_mismatch_of_exactly_the_listing_limit_shows_no_zero_more_line():
    model = nn.Sequential(*[nn.Linear(1, 1, bias=False) for _ in range(8)])
    with pytest.raises(WeightsMismatchError) as caught:
        load_state_dict_checked(model, {})
    assert "8 key(s) missing" in str(caught.value)
    assert "and 0 more" not in str(caught.value)


def test_an_unknown_name_reads_as_a_sentence_not_a_quoted_key():
    # KeyError's str() would quote the whole message: "'unknown model ...'".
    with pytest.raises(KeyError) as caught:
        model_info("resnet181")
    assert str(caught.value).startswith("unknown model 'resnet181'. Did you mean: resnet18")


def test_a_builder_taking_the_counts_positionally_only_is_refused_when_registered(registry):
    # get_model passes num_classes= and in_channels= by keyword: a positional-only
    # builder would register and then fail at every get_model.
    def own_positional(num_classes, in_channels, /):
        return nn.Linear(in_channels, num_classes)

    with pytest.raises(TypeError, match="must take the keyword.s. num_classes and in_channels"):
        registry(family="own", paper="-", input_size=(1, 8, 8))(own_positional)


def test_an_environment_path_without_py_is_a_missing_file_not_a_module(
        registry, monkeypatch, tmp_path):
    from cnnlab.notices import SetupWarning

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNLAB_MODELS", "nets/my_nets")
    _registry._families_loaded = False
    with pytest.warns(SetupWarning, match="names 'nets/my_nets', which is no file"), \
            pytest.raises(ValueError, match="unknown model"):
        model_info("own_missing")


def test_closest_names_gives_as_many_as_asked_where_there_are_that_many():
    assert len(_registry.closest_names("resnet")) == 5
    assert len(_registry.closest_names("resnet", limit=3)) == 3


def _own_sized(num_classes=10, in_channels=1, image_size=28):
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))


def test_the_smallest_input_defaults_to_the_designed_size_below_32(registry):
    registry(family="own", paper="-", input_size=(1, 28, 28), name="own_small")(_own_sized)
    registry(family="own", paper="-", input_size=(3, 64, 64), name="own_big")(_own_sized)
    assert model_info("own_small").min_input_size == 28
    assert model_info("own_big").min_input_size == 32


def test_an_image_of_exactly_the_smallest_size_is_taken(registry):
    registry(family="own", paper="-", input_size=(1, 28, 28), min_input_size=8,
             name="own_sized")(_own_sized)
    _registry.get_model("own_sized", image_size=8)
    with pytest.raises(ValueError, match="at least 8x8"):
        _registry.get_model("own_sized", image_size=7)


def test_a_missing_weights_file_is_said_to_be_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        _registry.get_model("lenet_d2l", weights=str(tmp_path.name) + ".pth")


def test_tv_transform_input_is_refused_for_grey_input_before_its_forward_fails():
    with pytest.raises(ValueError, match="use transform_input=False for in_channels=1"):
        _registry.get_model("tv:googlenet", num_classes=10, in_channels=1, transform_input=True)
