"""Gaps left by mutation14 in cnnlab/data/: hidden pictures cnnlab does not decode (a Mac's
._IMG.heic), and files in the folder cache that only look like its entries."""

from __future__ import annotations

from PIL import Image
from test_folder_cache_prune import cli, load, make_tree

from cnnlab.data.folder_files import PassedOver, image_files_under


def test_hidden_undecoded_pictures_are_not_reported_as_passed_over(tmp_path):
    (tmp_path / "cat" / ".thumbs").mkdir(parents=True)
    Image.new("L", (4, 4)).save(tmp_path / "cat" / "a.png")
    for name in ("._b.heic", ".thumbs/c.heic", "d.heic"):
        (tmp_path / "cat" / name).write_bytes(b"not decoded")
    passed_over = PassedOver()
    assert image_files_under(tmp_path, passed_over) == [tmp_path / "cat" / "a.png"]
    assert passed_over.undecoded == [tmp_path / "cat" / "d.heic"]


def test_a_file_with_a_32_letter_name_that_is_no_key_is_left_in_the_cache(data_env):
    load(make_tree(data_env / "pets"))
    folder = data_env / "cache" / "folders"
    stranger = folder / ("notes-of-mine-about-this-folder!" + ".safetensors")
    stranger.write_bytes(b"mine")
    assert "1 entry" in cli("cache").output
    result = cli("cache", "--clear")
    assert result.exit_code == 0 and "removed 1 entry" in result.output, result.output
    assert stranger.read_bytes() == b"mine"
