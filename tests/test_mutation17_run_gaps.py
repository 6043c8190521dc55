"""Tests from hand mutation testing (mutation17) of a run's start and resume: one class
refused, a file where the data folder was, the readable copy of best.safetensors mended
by a resume that only writes the outputs, the learning-rate jump a resume says, and the
advice for a torchrun run or a run of given data."""

import json
import types

import pytest
from resume_helpers import small_run

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import ConfigError, TrainConfig, resume, train
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.run import CheckpointWarning, _warn_if_the_schedule_restarts
from cnnlab.train.run_files import DATA_RECORD, FOLDER, check_run_data, resume_words, start_again


def test_data_of_one_class_given_to_train_is_refused_before_a_folder_is_made(tmp_path):
    data = make_synthetic(num_train=16, num_test=8, num_classes=1, seed=1)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", batch_size=8, device="cpu",
                      quiet=True, out_dir=str(tmp_path / "runs"))
    with pytest.raises(ConfigError, match=r"has 1 class .*a classifier needs at least two"):
        train(cfg, data=data)
    assert not (tmp_path / "runs").exists()


def test_a_file_where_the_runs_data_folder_was_is_refused_naming_data_root(tmp_path):
    where = tmp_path / "images"
    where.write_text("not a folder", encoding="utf-8")
    cfg = TrainConfig(model="lenet_modern", data=FOLDER + str(where))
    from cnnlab.data.dataset import DataError

    with pytest.raises(DataError, match="is not there.*--data-root NEWPATH"):
        check_run_data(cfg, tmp_path / "run")
    where.unlink()
    where.mkdir()
    check_run_data(cfg, tmp_path / "run")  # the folder itself: accepted


def test_a_resume_writing_only_the_outputs_mends_the_best_checkpoints_copy(tmp_path,
                                                                          monkeypatch):
    # Killed between best.safetensors and its best.json (then summary, report and plots
    # never written): the resume that writes them mends best.json too.
    small_run(tmp_path, monkeypatch, epochs=1, run_name="one")
    run = tmp_path / "one"
    best = run / "checkpoints" / "best.json"
    state = json.loads(best.read_text(encoding="utf-8"))
    best.write_text(json.dumps({**state, "epoch": 0}), encoding="utf-8")  # an epoch behind
    (run / "summary.json").unlink()
    with pytest.warns(CheckpointWarning, match="has trained all it will"):
        resume(run)
    assert json.loads(best.read_text(encoding="utf-8")) == ckpt._readable(
        ckpt.load_checkpoint(run / "checkpoints" / "best.safetensors")[1])


def _trainer(schedule: str, epochs: int, done_steps: int, steps: int = 10):
    cfg = TrainConfig(model="lenet_modern", schedule=schedule, epochs=epochs, lr=0.1)
    return types.SimpleNamespace(cfg=cfg, optimizer_steps_per_epoch=steps,
                                 scheduler=types.SimpleNamespace(last_epoch=done_steps))


def test_a_resume_says_a_learning_rate_going_back_up_by_half_again():
    # A cosine plan of 2 epochs stopped after 1 (lr at half its peak), given 1 more: at
    # step 10 of 30 the lr is three quarters of its peak, 1.5 times what it was.
    with pytest.warns(CheckpointWarning, match=r"cosine schedule now spans 3 epochs, so the "
                      r"learning rate goes from 0\.05 back up to 0\.075 here"):
        _warn_if_the_schedule_restarts(_trainer("cosine", 3, 10), 1)


def test_a_resume_of_a_constant_learning_rate_says_nothing_of_it():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)
        _warn_if_the_schedule_restarts(_trainer("constant", 3, 10), 1)


def test_a_torchrun_runs_resume_command_runs_on_as_many_processes(tmp_path):
    assert resume_words(tmp_path, 4) == (
        f"`torchrun --nproc_per_node=4 -m cnnlab resume {tmp_path}`")
    assert resume_words(tmp_path, 1) == f"`cnnlab resume {tmp_path}`"


def test_a_run_of_given_data_killed_before_its_checkpoint_is_started_again_from_python(
        tmp_path):
    # The command would train on what its config names, not the data it was given.
    (tmp_path / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    (tmp_path / DATA_RECORD).write_text("{}", encoding="utf-8")
    words = start_again(tmp_path)
    assert "data=...) from Python, with the data it was given" in words
    assert "cnnlab train" not in words and "torchrun" not in words
