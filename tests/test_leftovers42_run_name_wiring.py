"""--run-name of a new run: a trailing space refused on every system (a run read back
keeps its name; a ':' stays where the system allows it), and the warning for a name
taken by a file or by a folder holding no run names no resume (new_run_dir)."""

from __future__ import annotations

import warnings

import pytest
from test_folder_runs import runner, words

from cnnlab.cli import app
from cnnlab.notices import SetupWarning
from cnnlab.train import ConfigError, TrainConfig, train
from cnnlab.train.runlog import new_run_dir


@pytest.mark.parametrize("name, said", [
    ("trail ", "ends in a space, which the `run:` line does not show: 'trail'?"),
])
def test_a_new_run_name_with_a_trailing_space_is_refused(tmp_path, name, said):
    # "trail " was printed `run: runs/trail`, a folder not there; it trained, exit 0.
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, train_subset=8,
                      eval_subset=8, device="cpu", quiet=True, out_dir=str(tmp_path),
                      run_name=name)
    with pytest.raises(ConfigError, match="run_name") as raised:
        train(cfg)
    assert said in str(raised.value)
    assert not any(tmp_path.iterdir())


def test_the_command_names_the_flag(tmp_path):
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic", "--epochs",
                                 "1", "--out-dir", str(tmp_path), "--run-name", "trail "])
    assert result.exit_code == 2, result.output
    assert "--run-name 'trail '" in words(result) and "ends in a space" in words(result)


def test_a_run_read_back_keeps_its_name():
    # validate() reads every run ever written: a run named so before stays loadable.
    assert TrainConfig(model="lenet_modern", run_name="a ").validate().run_name == "a "


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_name_taken_by_no_run_is_not_said_to_be_resumable(tmp_path, kind):
    # "`cnnlab resume runs/x` continues that one" was said of a plain file runs/x.
    taken = tmp_path / "x"
    if kind == "file":
        taken.write_text("notes", encoding="utf-8")
    else:
        taken.mkdir()
        (taken / "notes.txt").write_text("notes", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = new_run_dir(tmp_path, "lenet_modern", "x")
    [told] = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    what = "a file" if kind == "file" else "a folder holding no run"
    assert told == f"{taken} exists, {what}: this run is {path}"
