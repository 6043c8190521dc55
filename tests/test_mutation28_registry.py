"""Registry behaviours no other test held (hand mutation testing, session 39): each test
here fails for a plausible slip in cnnlab/models/_registry.py that the rest of the suite
let through."""

from __future__ import annotations

import pytest
from torch import nn

from cnnlab.models import get_model, list_models
from cnnlab.models._errors import ModelOptionError
from cnnlab.models._registry import model_on_meta, on_meta
from cnnlab.ops.modules import Conv2d


def test_a_pattern_with_a_character_class_alone_matches_whole_names():
    # "[" is a wildcard as "*" and "?" are: the pattern is not read as a substring.
    assert list_models("resnet[5]0") == ["resnet50"]


def test_a_module_without_tensors_is_not_said_to_be_on_the_meta_device():
    # Nothing in it is on the meta device, so nothing says it has no values.
    assert not on_meta(nn.ReLU())


def test_scratch_ops_fft_gives_convolutions_computed_by_fft():
    convs = [m for m in get_model("lenet_d2l", scratch_ops="fft").modules()
             if isinstance(m, Conv2d)]
    assert convs and all(conv.fft for conv in convs)


def test_a_keyword_the_builder_itself_passes_wrongly_is_not_blamed_on_the_user(registry):
    # The user gave no option: a builder's own slip keeps its TypeError and traceback.
    def own_slip(num_classes=10, in_channels=1):
        return nn.Linear(in_channels, num_classes, bogus=1)

    registry(family="own", paper="-", input_size=(1, 8, 8), name="own_slip")(own_slip)
    with pytest.raises(TypeError, match="bogus") as caught:
        get_model("own_slip")
    assert not isinstance(caught.value, ModelOptionError)


def test_an_option_error_about_an_option_the_user_did_not_give_is_passed_on(registry):
    inner = ModelOptionError("own_inner", "depth", ["width"])

    def own_inner(num_classes=10, in_channels=1, width=8):
        raise inner

    registry(family="own", paper="-", input_size=(1, 8, 8), name="own_inner")(own_inner)
    with pytest.raises(ModelOptionError) as caught:
        get_model("own_inner", width=4)
    assert caught.value is inner


def test_the_recorded_input_size_has_the_channels_the_model_was_built_for():
    # summary(model) measures this size: 3 channels for a grey net would fail its forward.
    assert model_on_meta("resnet18", in_channels=1).cnnlab_input_size == (1, 224, 224)
