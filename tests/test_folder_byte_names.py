"""Image folders whose names are not UTF-8 (a Latin-1 archive's "d\\xf6g", "\\xe9t\\xe9.png"):
Python holds such names in surrogates, which no file can be written with. The cache key
hashed them with a plain encode() (the load ended in a traceback), and a class so named
ended a run at its first epoch's records."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.data.folder import load_folder

pytestmark = pytest.mark.skipif(sys.platform in ("darwin", "win32"),
                                reason="names there are always Unicode")


def _tree(root: Path) -> Path:
    for folder, shade in ((b"cat", 40), (b"d\xf6g", 200)):
        path = os.path.join(os.fsencode(root), folder)
        os.makedirs(path)
        for i in range(3):
            Image.new("L", (10, 10), shade + i).save(os.fsdecode(os.path.join(path, b"%d.png" % i)))
    good = os.path.join(os.fsencode(root), b"cat", b"0.png")
    os.rename(good, os.path.join(os.fsencode(root), b"cat", b"\xe9t\xe9.png"))
    (root / "cat" / "broken.png").write_bytes(b"not a png")
    return root


def test_names_not_in_utf8_load_and_are_written_as_text(data_env):
    root = _tree(data_env / "pets")
    for _ in range(2):  # decoded, then read from the cache
        with pytest.warns(UserWarning, match="skipped 1 unreadable"):
            data = load_folder(root, image_size=8, channels=1, progress=False, val_fraction=0.5)
        assert data.classes == ["cat", "d\\xf6g"]
        assert len(data.train) + len(data.test) == 6
        json.dumps(data.classes).encode("utf-8")  # what a run's records do with them
        data.classes[1].encode("utf-8")
