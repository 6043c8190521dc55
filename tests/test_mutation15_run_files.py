"""run_files' words for a run that cannot be resumed, pinned where mutation testing found
them unchecked (session 38, helper mutation15)."""

from cnnlab.train.run_files import no_checkpoint_words


def test_a_run_killed_between_its_first_two_checkpoints_is_said_to_hold_the_best_one(tmp_path):
    assert no_checkpoint_words(tmp_path) == (
        "a run stopped before its first checkpoint cannot be resumed")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.safetensors").write_bytes(b"weights")
    words = no_checkpoint_words(tmp_path)
    assert words.startswith("killed while its first epoch's checkpoints were written")
    assert "`cnnlab eval` reads" in words


def test_a_new_runs_data_root_is_stored_absolute(tmp_path, monkeypatch):
    import os

    from cnnlab.train.config import TrainConfig
    from cnnlab.train.run_files import absolute_data_paths

    monkeypatch.chdir(tmp_path)
    cfg = absolute_data_paths(TrainConfig(data="fashion-mnist", data_root="datasets/fm"))
    # config.yaml keeps it: `cnnlab eval` run from another folder finds the data
    assert cfg.data_root == os.path.join(str(tmp_path), "datasets", "fm")
    cfg = absolute_data_paths(TrainConfig(data="folder:photos"))
    assert cfg.data == "folder:" + os.path.join(str(tmp_path), "photos")
