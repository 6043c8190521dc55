"""get_model, model_info and list_models given a value of the wrong type: an error naming
what they take, not an AttributeError from inside the registry."""

import numpy as np
import pytest
import torch

from cnnlab.models import get_model, list_models, model_info


@pytest.mark.parametrize("name", [None, 18])
def test_a_name_that_is_no_str_says_what_names_a_model(name):
    with pytest.raises(TypeError, match=r"named by a str such as 'resnet18'"):
        get_model(name)


def test_a_model_already_built_is_said_to_be_used_as_it_is():
    with pytest.raises(TypeError, match="not LeNet: a model already built is used as it is"):
        model_info(get_model("lenet_d2l"))


def test_a_pattern_that_is_no_str_is_named():
    with pytest.raises(TypeError, match="pattern is a str"):
        list_models(123)


@pytest.mark.parametrize("size", ["32", (0, 28), 32.5])
def test_an_image_size_that_is_no_pixel_count_is_named(size):
    with pytest.raises(ValueError, match=r"image_size is a whole number of pixels"):
        get_model("lenet_d2l", image_size=size)


def test_a_numpy_image_size_builds():
    model = get_model("lenet_d2l", image_size=np.int64(32))
    assert model(torch.rand(1, 1, 32, 32)).shape == (1, 10)
