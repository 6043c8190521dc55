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
        raise TrainingInterrupted("stopped by SIGINT at epoch 1, step 3 of 8; checkpoint "
                                  "saved", run_dir=tmp_path / "runs" / "lenet_d2l")

    monkeypatch.setattr(cnnlab.train, "train", stopped)
    with pytest.raises(TrainingInterrupted) as caught:
        run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                data_spec="synthetic")
    shown = caught.value._render_traceback_()
    assert shown[-1] == "From Python: run_zoo(...) again, as before, continues the zoo"
    assert "resume(" not in " ".join(shown[1:])
