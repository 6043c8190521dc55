"""An image file this user may not read is said so, with the fix: it read "not a readable
image (PermissionError: ...)", as if the file were damaged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import image_file
from cnnlab.data.image_file import ImageFileError, read_image


def test_an_image_this_user_may_not_read_names_the_permission(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(image_file.Image, "open", denied)
    with pytest.raises(ImageFileError) as refused:
        read_image(path, 1)
    said = str(refused.value)
    assert str(path) in said and "may not read it" in said and "chmod a+r" in said, said
    assert "damaged" not in said
