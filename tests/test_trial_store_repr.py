"""A sweep's store in a notebook: its folder and how far the sweep is, never an error."""

from __future__ import annotations

from design_helpers import tiny_spec

from cnnlab.design.store import TrialStore

SHAPE = {"image_size": 28, "in_channels": 1, "num_classes": 10}


def test_a_store_shows_its_folder_and_trial_counts(tmp_path):
    store = TrialStore(tmp_path, create=True)
    assert repr(store) == f"TrialStore({str(tmp_path)!r}: no trials)"
    store.init_sweep(tiny_spec(**SHAPE), 3)
    assert repr(store) == f"TrialStore({str(tmp_path)!r}: 3 pending)"
    store.close()
    assert repr(store) == f"TrialStore({str(tmp_path)!r}: closed)"
