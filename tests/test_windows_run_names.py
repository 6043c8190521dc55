"""Run folders on Windows, recreated on Linux with sys.platform set to win32: names its
file systems refuse or take for another (a ':', a trailing dot, CON), and paths past
MAX_PATH, refused before the folder is made, naming the option to change."""

from __future__ import annotations

import sys
import warnings

import pytest

from cnnlab.train.config import ConfigError
from cnnlab.train.run_names import file_name_for, windows_name_problem
from cnnlab.train.runlog import new_run_dir


@pytest.fixture
def on_windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")


@pytest.mark.parametrize("name", ["run:1", "a?b", "x|y", "CON", "nul.txt", "com1", "exp.",
                                  "exp "])
def test_run_names_windows_cannot_have_are_refused(tmp_path, on_windows, name):
    with pytest.raises(ConfigError, match="another --run-name"):
        new_run_dir(tmp_path, "lenet_modern", run_name=name)
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_a_name_windows_takes_is_made(tmp_path, on_windows):
    assert new_run_dir(tmp_path, "tv:resnet18", run_name="console-1.5").name == "console-1.5"
    assert new_run_dir(tmp_path, "tv:resnet18").name.endswith("-tv_resnet18")


def test_a_run_folder_past_max_path_is_refused_before_training(tmp_path, on_windows):
    deep = tmp_path / ("d" * 200)
    with pytest.raises(ConfigError, match="shorter --out-dir.*") as refused:
        new_run_dir(deep, "lenet_modern")
    assert "260" in str(refused.value) and not deep.exists()


def test_linux_keeps_its_own_names(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert new_run_dir(tmp_path, "m", run_name="exp: lr=0.1").name == "exp: lr=0.1"


def test_model_names_make_windows_folder_names():
    from cnnlab import list_models

    for model in [*list_models(), "tv:resnet18", "hub:a/b"]:
        assert windows_name_problem(file_name_for(model)) is None, model


def test_a_taken_name_says_how_to_resume_the_other_quoted(tmp_path, on_windows):
    base = tmp_path / "my runs"
    new_run_dir(base, "m", run_name="exp")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert new_run_dir(base, "m", run_name="exp").name == "exp-2"
    assert f'`cnnlab resume "{base / "exp"}"`' in str(said[-1].message)
