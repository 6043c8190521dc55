"""A resume that would train nothing is refused before anything is written, whatever
stopped the run: its config.yaml, metrics and checkpoints stay as they were."""

import warnings

import pytest
from resume_helpers import count_steps, small_run

from cnnlab.train import ConfigError, TrainingInterrupted, resume
from cnnlab.train.trainer import Trainer


def test_a_budget_below_the_time_a_stopped_run_trained_is_refused_as_spent(tmp_path,
                                                                          monkeypatch):
    # Ctrl-C in epoch 1 (no summary, no metrics row yet), then `resume --max-time` below
    # the time it trained: taken for a run killed while writing its summary, it warned so,
    # rewrote config.yaml, and stopped on "[Errno 2] No such file: .../metrics.csv".
    original = Trainer._optimizer_step

    def interrupted(self):
        original(self)
        self._stop_signal = "SIGINT"

    with monkeypatch.context() as m:
        m.setattr(Trainer, "_optimizer_step", interrupted)
        with pytest.raises(TrainingInterrupted):
            small_run(tmp_path, monkeypatch, epochs=2, run_name="cut")
    run = tmp_path / "cut"
    config = (run / "config.yaml").read_text(encoding="utf-8")
    steps = count_steps(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "was stopped while its summary ... written"
        with pytest.raises(ConfigError, match=r"already trained for .* of its 1e-09 s "
                                              r"budget .*--max-time S"):
            resume(run, max_time=1e-9, extra_epochs=3)
    assert steps["n"] == 0
    assert (run / "config.yaml").read_text(encoding="utf-8") == config
    assert not (run / "summary.json").exists()
