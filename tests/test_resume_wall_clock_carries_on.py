"""metrics.csv's wall_s (training and evaluation seconds so far) carries on across a
resume from where the checkpoint left it: restarted from elapsed_s (training alone), the
resumed rows dropped every earlier evaluation's time."""

import pytest
from resume_helpers import small_run

from cnnlab.train import resume


def test_a_resumed_epochs_wall_clock_adds_to_the_one_before(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    first, second = resume(tmp_path / "run", extra_epochs=1).history
    assert first["wall_s"] == pytest.approx(first["elapsed_s"] + first["eval_time_s"])
    assert second["wall_s"] == pytest.approx(
        first["wall_s"] + second["epoch_time_s"] + second["eval_time_s"], rel=0, abs=1e-9)
    assert second["wall_s"] > second["elapsed_s"] + first["eval_time_s"] / 2
