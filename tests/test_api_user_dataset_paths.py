"""load_dataset given a folder as a Path, or as a bare path: it loads, or says the spec."""

import pytest
from PIL import Image

from cnnlab.data import UnknownDatasetError, load_dataset


def _folder(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / cls / f"{i}.png")
    return tmp_path


def test_a_path_object_loads_as_a_folder(tmp_path):
    splits = load_dataset(_folder(tmp_path), image_size=8, channels=1, use_cache=False,
                          progress=False)
    assert splits.classes == ["a", "b"]


def test_a_bare_folder_path_names_the_folder_spec(tmp_path):
    root = _folder(tmp_path)
    with pytest.raises(UnknownDatasetError, match=f"give 'folder:{root}'"):
        load_dataset(str(root))
