"""A sweep whose lock file's name is a link (a dangling one, say) is told to remove it:
`design run` said "cannot write in the sweep ... copy it to a place you may write in",
beside "remove the link", for a sweep it may well write in."""

from __future__ import annotations

import sys

import pytest
from design_helpers import tiny_spec

from cnnlab.design.store import TrialStore
from cnnlab.design.sweep_lock import LOCK_NAME, sweep_lock
from cnnlab.design.sweep_spec import StoreError

SHAPE = {"image_size": 28, "in_channels": 1, "num_classes": 10}  # as create_sweep fills it


@pytest.mark.skipif(sys.platform == "win32", reason="no sweep lock without fcntl")
def test_a_lock_name_taken_by_a_link_is_named_with_its_fix(tmp_path):
    sweep = tmp_path / "sweep"
    with TrialStore(sweep, create=True) as store:
        store.init_sweep(tiny_spec("anynetx_a", seed=1, **SHAPE), 2)
    (sweep / LOCK_NAME).symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(StoreError) as caught, sweep_lock(sweep):
        pass
    said = str(caught.value)
    assert f"{sweep.resolve() / LOCK_NAME}, where a sweep keeps its lock file, is a link" in said
    assert "remove it" in said and "copy it" not in said, said
