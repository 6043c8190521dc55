"""Which files of a user's folder are its images: every name of the formats cnnlab
decodes, and pictures it cannot decode said to be passed over, never silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cnnlab.data import DataWarning
from cnnlab.data.folder import load_folder
from cnnlab.train.predict import image_paths


def test_jpegs_named_jfif_or_jpe_and_netpbm_files_are_images(data_env: Path) -> None:
    """A browser's "save image as" on Windows names JPEGs .jfif: a class of them was
    left out as a folder "without readable images", the files never named."""
    root = data_env / "photos"
    for label in ("saved", "scanned"):
        (root / label).mkdir(parents=True)
    for i, name in enumerate(("a.jfif", "b.JFIF", "c.jpe")):
        Image.new("RGB", (10, 10), (40 + i, 40, 40)).save(root / "saved" / name, "JPEG")
    for i, name in enumerate(("a.pbm", "b.pnm", "c.pgm")):
        Image.new("L", (10, 10), 200 + i).save(root / "scanned" / name, "PPM")
    data = load_folder(root, image_size=8, val_fraction=1 / 3, progress=False)
    assert data.classes == ["saved", "scanned"]
    assert len(data.train) + len(data.test) == 6
    assert [p.name for p in image_paths(root / "saved")] == ["a.jfif", "b.JFIF", "c.jpe"]


def test_pictures_cnnlab_cannot_decode_are_named_not_dropped_unsaid(data_env: Path) -> None:
    root = data_env / "photos"
    for label, grey in (("cat", 40), ("dog", 200)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (10, 10), grey + i).save(root / label / f"{i}.png")
    (root / "cat" / "IMG_0001.HEIC").write_bytes(b"ftypheic")  # an iPhone photo
    (root / "cat" / "notes.txt").write_text("not a picture: passed over unsaid")
    (root / "phone").mkdir()
    (root / "phone" / "IMG_0002.heic").write_bytes(b"ftypheic")
    with pytest.warns(DataWarning) as caught:
        data = load_folder(root, image_size=8, progress=False)
    warned = " | ".join(str(w.message) for w in caught)
    assert data.classes == ["cat", "dog"]
    assert "passed over 2 picture(s) in a format cnnlab does not decode (.heic)" in warned
    assert "cat/IMG_0001.HEIC" in warned and "convert them to PNG or JPEG" in warned
    assert "notes.txt" not in warned
    with pytest.raises(FileNotFoundError, match=r"holds 1 picture\(s\) .*IMG_0002.heic"):
        image_paths(root / "phone")
    with pytest.warns(DataWarning, match="not classified: 1 picture"):
        assert len(image_paths(root / "cat")) == 3
