"""The light-background warning names the fix in both places a user meets it: the CLI's
flag and, for predict_image / predict_images called from Python, the keyword."""

import pytest

from cnnlab.train.predict import LightBackgroundWarning, _tell_light_backgrounds


def test_light_background_advice_names_python_keyword():
    # A notebook user was told only "try --invert", a flag they cannot pass to a function.
    with pytest.warns(LightBackgroundWarning, match=r"try --invert.*invert=True"):
        _tell_light_backgrounds(["paper.png"], 1, "fashion-mnist")
