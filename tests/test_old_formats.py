"""Files an older cnnlab wrote, read by this one: a run's summary.json from before it
counted its test images, and a sweep store of another schema version (the refusal names
the file, what wrote it and what to do)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from compare_helpers import FINISHED, make_run, three_epochs

from cnnlab.design.store import SweepError, TrialStore
from cnnlab.formatting import percent_text
from cnnlab.train import compare_runs


def test_an_old_run_without_eval_images_shows_its_accuracy_as_a_new_one_does(tmp_path):
    # summary.json before 2026-12-04 had no eval_images: the same 256-image accuracy
    # showed 16.41% beside a new run's 16.4% in one compare table.
    history = three_epochs(0.5, 0.6, 0.1640625)
    old = make_run(tmp_path, "old", history, FINISHED, eval_subset=256)
    new = make_run(tmp_path, "new", history, {**FINISHED, "eval_images": 256},
                   eval_subset=256)
    runs = compare_runs([old, new]).runs
    assert [r.decimals for r in runs] == [1, 1]
    assert {percent_text(r.last_test_acc, r.decimals) for r in runs} == {"16.4%"}
    # Without a subset nothing bounds the count: two decimals, as before.
    full = make_run(tmp_path, "full", history, FINISHED)
    assert compare_runs([full, new]).runs[0].decimals == 2


def _store_of_version(tmp_path, version) -> None:
    with TrialStore(tmp_path, create=True):
        pass
    conn = sqlite3.connect(tmp_path / "trials.sqlite")
    with conn:
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [
            ("schema_version", json.dumps(version)),
            ("created", json.dumps({"cnnlab": "0.2.0", "date": "2027-03-01T10:00:00"}))])
    conn.close()


def test_a_sweep_from_a_newer_cnnlab_is_refused_naming_it_and_the_upgrade(tmp_path):
    _store_of_version(tmp_path, 2)
    with pytest.raises(SweepError) as caught:
        TrialStore(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "trials.sqlite") in message
    assert "created by cnnlab 0.2.0 on 2027-03-01" in message
    assert "newer than this cnnlab's 1" in message and "upgrade cnnlab" in message


def test_a_sweep_of_a_version_no_cnnlab_writes_is_called_damaged(tmp_path):
    _store_of_version(tmp_path, "x")
    with pytest.raises(SweepError, match="which no cnnlab writes .* Restore it from a copy"):
        TrialStore(tmp_path)
