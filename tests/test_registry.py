"""Looking models up by name: any case, wildcard patterns, and did-you-mean hints that
include get_model's own keywords."""

from __future__ import annotations

import pytest

from cnnlab.models import UnknownModelError, get_model, list_models, model_info
from cnnlab.models._registry import ModelOptionError, register_model

LENETS = ["lenet_bn", "lenet_bn_d2l", "lenet_d2l", "lenet_modern"]


def test_names_are_found_in_any_case():
    assert model_info("LeNet_D2L").name == "lenet_d2l"
    # What a checkpoint or report records is the registered name, not the spelling used.
    assert get_model("LeNet_D2L").cnnlab_name == "lenet_d2l"


def test_unknown_name_suggests_the_same_name_in_lower_case_first():
    with pytest.raises(UnknownModelError) as err:
        get_model("LeNet")
    assert err.value.suggestions[:4] == LENETS


def test_patterns_ignore_case_and_a_wildcard_gives_the_lenets_alone():
    assert list_models("LeNet*") == list_models("lenet*") == LENETS
    # A bare word stays a substring match, as `cnnlab models PATTERN` documents.
    assert "googlenet" in list_models("LENET")


def test_misspelt_get_model_keyword_is_suggested_and_listed():
    with pytest.raises(ModelOptionError) as err:
        get_model("lenet_d2l", num_class=10)
    message = str(err.value)
    assert "Did you mean: num_classes" in message
    assert "It takes: num_classes, in_channels, weights, scratch_ops, " in message
    assert "hidden" in message  # and the builder's own options after them
    with pytest.raises(ModelOptionError, match="Did you mean: in_channels"):
        get_model("lenet_d2l", inchannels=3)


def test_registering_a_name_with_capitals_is_refused():
    with pytest.raises(ValueError, match="register 'MyNet' as 'mynet'"):
        register_model(family="test", paper="-", input_size=(1, 28, 28), name="MyNet")(
            lambda num_classes, in_channels: None)
    assert "mynet" not in list_models() and "MyNet" not in list_models()
