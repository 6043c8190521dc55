"""A resume checks config.yaml against the settings its checkpoint trained under (found by
editing a run's files by hand between a kill and the resume): an edited learning rate, or
a checkpoint copied in from another run of the same model, went on without a word, and
the summary gave the edited settings as the whole run's."""

import pytest
from resume_helpers import small_run

from cnnlab.train import checkpoint as ckpt
from cnnlab.train import resume
from cnnlab.train.config import TrainConfig


def test_a_hand_edited_setting_is_refused_naming_the_file_and_both_values(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run", lr=0.1)
    run = tmp_path / "run"
    config = run / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("lr: 0.1", "lr: 0.5"),
                      encoding="utf-8")
    before = (run / "metrics.csv").read_bytes()
    with pytest.raises(ckpt.CheckpointError) as caught:
        resume(run, extra_epochs=1)
    said = str(caught.value)
    assert str(config) in said and str(run / "checkpoints" / "last.safetensors") in said
    assert "lr: 0.5 there; lr: 0.1 in the checkpoint" in said and "set it back" in said
    assert (run / "metrics.csv").read_bytes() == before  # nothing trained
    # Put back, it resumes (what a resume itself may change is no difference)
    config.write_text(config.read_text(encoding="utf-8").replace("lr: 0.5", "lr: 0.1"),
                      encoding="utf-8")
    assert [r["epoch"] for r in resume(run, extra_epochs=1).history] == [1, 2]


def test_a_checkpoint_of_another_run_of_the_model_is_refused(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    small_run(tmp_path, monkeypatch, epochs=1, run_name="other", seed=5, lr=0.05)
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    last.write_bytes((tmp_path / "other" / "checkpoints" / "last.safetensors").read_bytes())
    with pytest.raises(ckpt.CheckpointError, match="copied from another run") as caught:
        resume(tmp_path / "run", extra_epochs=1)
    assert "lr: 0.05, seed: 5 in the checkpoint" in str(caught.value)


def test_what_a_resume_may_change_is_not_compared(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    config = tmp_path / "run" / "config.yaml"
    edited = TrainConfig.load(config)
    edited.log_every, edited.quiet = 7, False  # nothing the run trains depends on them
    edited.save(config)
    result = resume(tmp_path / "run", extra_epochs=1, threads=1)
    assert [r["epoch"] for r in result.history] == [1, 2]
