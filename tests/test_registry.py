"""Looking models up by name: any case, wildcard patterns, and did-you-mean hints that
include get_model's own keywords."""

from __future__ import annotations

import pytest
import torch

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
    # A ValueError too, as an unknown dataset, preset or design space is.
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)


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


GET_MODEL_KEYWORDS = ["num_classes", "in_channels", "weights", "scratch_ops"]


def _listed_options(err: ModelOptionError) -> list[str]:
    return str(err).split(" It takes: ", 1)[1].rstrip(".").split(", ")


@pytest.mark.parametrize("name", list_models())
def test_every_model_reports_a_misspelt_option_the_same_way(name):
    # resnet, preact, densenet, anynet and regnet checked overrides themselves and raised
    # a bare TypeError ("unknown override(s) ..."): no suggestion, missed by
    # `except ValueError`, and worded unlike every other family.
    with pytest.raises(ValueError) as err:
        get_model(name, num_clases=3)
    assert isinstance(err.value, ModelOptionError)
    message = str(err.value)
    assert message.startswith(f"{name} has no option 'num_clases'. Did you mean: num_classes")
    assert _listed_options(err.value)[:4] == GET_MODEL_KEYWORDS


def test_a_model_taking_plain_keywords_lists_them():
    # GoogLeNet takes keyword arguments, not a config dataclass; its list had only
    # get_model's four ("It takes: num_classes, in_channels, weights, scratch_ops").
    with pytest.raises(ModelOptionError) as err:
        get_model("googlenet", aux_logit=True)
    assert "Did you mean: aux_logits?" in str(err.value)
    assert _listed_options(err.value) == GET_MODEL_KEYWORDS + [
        "act_layer", "aux_logits", "dropout", "dropout_aux", "norm_layer", "transform_input"]


class _Unset:
    """A value no option takes: building with it fails, but never as an unknown option."""


@pytest.mark.parametrize("name", list_models())
def test_every_listed_option_is_one_the_model_takes(name):
    with pytest.raises(ModelOptionError) as err:
        get_model(name, not_an_option=1)
    for option in _listed_options(err.value)[len(GET_MODEL_KEYWORDS):]:
        try:
            with torch.device("meta"):  # shapes only: no weights to allocate or initialise
                get_model(name, **{option: _Unset()})
        except ModelOptionError as exc:
            pytest.fail(f"{name} lists {option!r} but refuses it: {exc}")
        except Exception:  # any other complaint is about the value, not the name
            pass


def test_registering_a_name_with_capitals_is_refused():
    with pytest.raises(ValueError, match="register 'MyNet' as 'mynet'"):
        register_model(family="test", paper="-", input_size=(1, 28, 28), name="MyNet")(
            lambda num_classes, in_channels: None)
    assert "mynet" not in list_models() and "MyNet" not in list_models()


def test_a_torchvision_models_wrong_option_names_its_own_keywords():
    # tv:NAME's options are torchvision's class's keywords, listed as for cnnlab's models.
    with pytest.raises(ModelOptionError, match="Did you mean: aux_logits?") as caught:
        get_model("tv:googlenet", aux_logit=True)
    assert {"aux_logits", "transform_input", "dropout"} <= set(caught.value.accepted)
