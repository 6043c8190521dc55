"""A two-class image folder, and its load, for the folder cache's tests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from cnnlab.data.folder import load_folder


def make_tree(root: Path) -> Path:
    """``root``/cat and /dog, two 8x8 greyscale PNGs each."""
    for name, level in (("cat", 30), ("dog", 220)):
        (root / name).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), level + i).save(root / name / f"{i}.png")
    return root


def load(root: Path):
    return load_folder(root, image_size=8, channels=1, progress=False, val_fraction=0.5)
