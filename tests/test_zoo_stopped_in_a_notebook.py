"""A zoo stopped from a notebook: the cell says to run the zoo again, not resume()."""

from __future__ import annotations

import pytest

import cnnlab.train
from cnnlab.bench.zoo import run_zoo
from cnnlab.train import TrainingInterrupted


def test_a_stopped_zoo_names_running_it_again_as_the_way_on(tmp_path, monkeypatch):
    # resume() of the model's run finished that run but wrote no zoo row: the stop
    # button's message pointed at it all the same.
    def stopped(cfg, data=None):
        run = tmp_path / "runs" / "lenet_d2l"
        raise TrainingInterrupted("stopped by SIGINT at epoch 1, step 3 of 8; checkpoint "
                                  "saved", run_dir=run, epoch=1, step_in_epoch=3,
                                  way_on=f"resume({str(run)!r})")  # as a run from Python

    monkeypatch.setattr(cnnlab.train, "train", stopped)
    with pytest.raises(TrainingInterrupted) as caught:
        run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                data_spec="synthetic")
    said = str(caught.value)
    assert said.endswith("(from Python: run_zoo(...) again, as before, continues the zoo)")
    assert "resume(" not in said  # one way on, not two
    assert caught.value._render_traceback_() == [f"TrainingInterrupted: {said}"]
