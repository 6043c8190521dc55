"""held_by looks at the lock file itself, never through a link: a `.lock` that is a link
to another folder's lock (a copied run folder with links in it) does not name that
other command as this folder's holder."""

from __future__ import annotations

import pytest

fcntl = pytest.importorskip("fcntl")

from cnnlab.file_lock import held_by, name_holder  # noqa: E402


def test_a_lock_file_that_is_a_link_is_not_probed_through(tmp_path):
    target = tmp_path / "other" / ".lock"
    target.parent.mkdir()
    with open(target, "a+b") as holding:  # another open file: held, as by another command
        fcntl.flock(holding, fcntl.LOCK_EX)
        name_holder(holding, "train in other")
        assert held_by(target) == "train in other"
        link = tmp_path / ".lock"
        link.symlink_to(target)
        assert held_by(link) is None
