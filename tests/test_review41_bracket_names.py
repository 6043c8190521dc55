"""A missing image whose name holds brackets ("photo [1].jpg", as browsers and phones
name copies) is not said to be an unexpanded pattern: the pattern hint named a file
the user had typed as it is. A bracket pattern that matches files still gets it."""

from __future__ import annotations

import pytest
from PIL import Image

from cnnlab.data.image_file import read_image


def _message(path):
    with pytest.raises(FileNotFoundError) as caught:
        read_image(path, channels=3)
    return str(caught.value)


@pytest.mark.parametrize("name", ["photo [1].jpg", "old [2019]/cat.png"])
def test_a_missing_name_with_brackets_gets_no_pattern_hint(tmp_path, name):
    (tmp_path / "old [2019]").mkdir()
    assert "pattern" not in _message(tmp_path / name)


def test_a_quoted_bracket_pattern_that_matches_files_gets_it(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "shot1.png")
    message = _message(tmp_path / "shot[12].png")
    assert "does not expand patterns" in message and f"({tmp_path}:" in message
