"""The registry's suggestions read a typed family in any case, as it reads the names."""

import pytest

from cnnlab.models import list_models
from cnnlab.models._errors import ModelFilterError


def test_an_upper_case_family_typo_still_gets_the_closest_family():
    with pytest.raises(ModelFilterError) as caught:
        list_models(family="RESNT")
    assert caught.value.closest == "resnet"
    assert "Did you mean family='resnet'?" in str(caught.value)
