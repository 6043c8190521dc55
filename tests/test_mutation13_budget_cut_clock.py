"""wall_s across a time-budget cut: the cut epoch's training seconds are counted once,
when the resumed epoch completes (mutation13: keeping them in the clock at the cut as
well passed every other test, so the resumed rows' wall_s counted them twice)."""
import pytest
from resume_helpers import small_run

from cnnlab.train import resume


def test_a_budget_cut_epochs_training_time_is_in_wall_seconds_once(tmp_path, monkeypatch):
    # 128 images in batches of 32: 4 steps; the budget stops after the first
    cut = small_run(tmp_path, monkeypatch, epochs=1, run_name="run", max_time=1e-9)
    assert cut.stopped == "max_time"
    (cut_row,) = cut.history
    assert cut_row["wall_s"] == pytest.approx(cut_row["epoch_time_s"] + cut_row["eval_time_s"])
    (done,) = resume(tmp_path / "run", max_time=1e6).history  # the epoch trained again
    assert done["epoch_time_s"] > cut_row["epoch_time_s"]  # the cut's part and the rest
    # The cut's evaluation happened and stays; its training is inside done's epoch_time_s
    expected = cut_row["eval_time_s"] + done["epoch_time_s"] + done["eval_time_s"]
    assert done["wall_s"] == pytest.approx(expected, rel=0, abs=1e-9)
