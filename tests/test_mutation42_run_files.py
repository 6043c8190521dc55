"""A run folder as cnnlab reads and advises on it: the edges hand-mutation testing
(session 41, mutation42) found unpinned."""

from __future__ import annotations

from cnnlab.train.run_files import start_again


def test_a_run_stopped_before_its_checkpoint_with_tensorboard_events_is_still_deletable(
        tmp_path):
    # TensorBoard writes its events file as the run begins: the folder is still only a
    # run's, and a leftover temporary file of an atomic write is one of its too.
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    (run / "events.out.tfevents.1765000000.host.123.0").write_bytes(b"")
    (run / ".metrics.csv.a1b2c3d4.tmp").write_bytes(b"")
    assert "can then be deleted" in start_again(run)
    (run / "notes.txt").write_text("mine", encoding="utf-8")
    assert "deleted" not in start_again(run)


def test_a_weights_file_is_stored_absolute_and_a_torchvision_name_as_given(tmp_path,
                                                                            monkeypatch):
    from cnnlab.train.config import TrainConfig
    from cnnlab.train.run_files import absolute_data_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "start.pth").write_bytes(b"")
    cfg = absolute_data_paths(TrainConfig(weights="start.pth"))
    assert cfg.weights == str(tmp_path / "start.pth")  # config.yaml re-run from elsewhere
    assert absolute_data_paths(TrainConfig(weights="DEFAULT")).weights == "DEFAULT"


def test_a_moved_folder_of_images_is_named_in_the_spec_and_a_dataset_by_data_root(tmp_path):
    from cnnlab.train.config import TrainConfig
    from cnnlab.train.run_files import move_data

    moved = move_data(TrainConfig(data="folder:/old/photos"), str(tmp_path))
    assert (moved.data, moved.data_root) == (f"folder:{tmp_path}", None)
    moved = move_data(TrainConfig(data="fashion-mnist", data_root="/old"), str(tmp_path))
    assert (moved.data, moved.data_root) == ("fashion-mnist", str(tmp_path))


def test_the_resume_command_keeps_its_own_flags_after_the_run(tmp_path):
    from cnnlab.train.run_files import resume_words

    run = tmp_path / "run"
    run.mkdir()
    assert resume_words(run, flags="--figures").endswith(f"resume {run} --figures`")
    assert resume_words(run, backticks=False) == f"cnnlab resume {run}"


def test_a_folder_of_runs_given_as_one_names_its_newest_run(tmp_path):
    import pytest

    from cnnlab.train.run_files import NotARunError, check_run_folder

    for name in ("20261201-090000-lenet_modern", "20261207-180000-resnet18_small"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("model: x\n", encoding="utf-8")
    with pytest.raises(NotARunError, match=r"holds 2 run folders: give one of them, e\.g\. "
                                           r".*20261207-180000-resnet18_small$"):
        check_run_folder(tmp_path)


def test_a_loaded_run_is_in_eval_mode_and_says_where_its_checkpoint_stopped(tiny_run):
    from cnnlab.train.loaded_run import load_run

    run = load_run(tiny_run, which="last")
    # Dropout and batch statistics off: a prediction is the same for an image alone.
    assert not run.model.training and not any(m.training for m in run.model.modules())
    assert (run.epoch, run.step_in_epoch, run.input_shape) == (1, 0, (1, 28, 28))


def test_a_run_whose_metrics_cannot_be_read_is_assumed_evaluated_after(tmp_path):
    from cnnlab.train.loaded_run import evaluated_after

    # The cautious answer: its best checkpoint may have been picked over a later one.
    (tmp_path / "metrics.csv").mkdir()  # unreadable as a file
    assert evaluated_after(tmp_path, 1) is True
