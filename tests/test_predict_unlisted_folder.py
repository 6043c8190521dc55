"""`cnnlab predict FOLDER` names a subfolder this user may not list, and the fix, as a
folder dataset does: its images were left out unsaid."""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image
from test_non_root_permissions import deny_listing

from cnnlab.data import DataWarning
from cnnlab.train.predict import image_paths


def test_an_unlisted_subfolder_is_named_with_the_fix(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for folder in (root, root / "private"):
        folder.mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    deny_listing(monkeypatch, root / "private")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert image_paths(root) == [root / "a.png"]
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("private (permission denied)" in m and "chmod -R a+rX" in m for m in said), said
