"""The registry's public functions each show a use in their docstring, and it runs."""

import doctest

import torch

import cnnlab.models._registry as registry


def test_get_model_list_models_and_model_info_have_examples_that_run():
    for fn in (registry.get_model, registry.list_models, registry.model_info):
        assert "Example::" in fn.__doc__, fn.__name__
    result = doctest.testmod(registry, extraglobs={"torch": torch},
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
