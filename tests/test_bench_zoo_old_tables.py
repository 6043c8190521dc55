"""A zoo table written before rows kept their settings (the setup column, 2026-11): each
finished row is checked against its run's config.yaml instead, as it was not."""

from __future__ import annotations

import csv

import pytest

from cnnlab.bench import zoo


def _zoo(tmp_path, epochs: int):
    return zoo.run_zoo(["lenet_d2l"], preset="book", epochs=epochs, device="cpu",
                       out_dir=tmp_path, data_spec="synthetic", overrides={"eval_subset": 64})


def _as_an_older_cnnlab_wrote_it(table) -> None:
    with open(table, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = [c for c in rows[0] if c != "setup"]
    for row in rows:  # as a bench run with a relative --out from another folder wrote it
        row["run_dir"] = f"out/zoo-book-runs/{row['model']}"
    with open(table, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_a_row_without_settings_is_checked_against_its_run(tmp_path):
    # An older table's synthetic-data row was kept as done for a bench of other settings,
    # and its accuracy shown beside the others as if comparable.
    _zoo(tmp_path, epochs=1)
    table = tmp_path / "zoo-book.csv"
    _as_an_older_cnnlab_wrote_it(table)
    before = table.read_text(encoding="utf-8")
    with pytest.raises(zoo.ZooSetupError, match="lenet_d2l trained with other settings "
                       r"\(epochs 1 vs 2 asked\)"):
        _zoo(tmp_path, epochs=2)
    assert table.read_text(encoding="utf-8") == before  # kept as it was
    [row] = _zoo(tmp_path, epochs=1)  # the same settings: kept, not trained again
    assert row["status"] == "done"


def test_a_row_without_settings_whose_run_is_gone_is_refused(tmp_path):
    import shutil

    [row] = _zoo(tmp_path, epochs=1)
    _as_an_older_cnnlab_wrote_it(tmp_path / "zoo-book.csv")
    shutil.rmtree(row["run_dir"])
    with pytest.raises(zoo.ZooSetupError, match="lenet_d2l: it kept no settings, and its run "
                       "cannot say .*Give another --out"):
        _zoo(tmp_path, epochs=1)
