"""`cnnlab data info folder:PATH` of a folder with one decoded copy kept says "1 entry
takes" (it read "1 entry take"), and counts it when the folder is given through a
symbolic link (the cache records the folder's real path)."""

from __future__ import annotations

from test_practitioner41_cache_line import _info, _two_classes


def test_one_entry_takes_also_through_a_link(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    mine = tmp_path / "mine"
    _two_classes(mine)
    (tmp_path / "link").symlink_to(mine, target_is_directory=True)
    assert "cache: this folder's 1 entry takes " in _info(mine, 4)
    assert "cache: this folder's 1 entry takes " in _info(tmp_path / "link", 4)
