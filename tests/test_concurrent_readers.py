"""A run read while `cnnlab train` starts it: its folder is made before its config.yaml
(written once the data and model are ready), and a reader then is told so."""

from __future__ import annotations

import pytest

from cnnlab.train.run_files import NotARunError, check_run_folder


def test_an_empty_run_folder_is_said_to_be_a_run_starting(tmp_path):
    # It read "not a cnnlab run directory (no config.yaml): give a run's folder", of the
    # very folder `cnnlab train` had just printed no line about yet.
    with pytest.raises(NotARunError, match=r"no config\.yaml\); it is empty: a run `cnnlab "
                                           r"train` is starting in it now .*try again"):
        check_run_folder(tmp_path)


def test_a_folder_of_other_files_is_not_said_to_be_starting(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(NotARunError) as raised:
        check_run_folder(tmp_path)
    assert "starting" not in str(raised.value)
