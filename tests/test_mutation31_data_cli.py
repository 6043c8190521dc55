"""Gaps left by mutation16 in cnnlab/cli/data.py and paths.py: the number of images a
grid shows, --prune and a killed write's entry, and an output path that is a folder."""

from __future__ import annotations

import os
import time

import pytest
import typer
from test_data_cli import show
from test_folder_cache_prune import cli

from cnnlab.cli.paths import check_output_file, output_file
from cnnlab.data import folder_cache
from cnnlab.train import ConfigError


@pytest.mark.parametrize("n", [1, 5])
def test_show_draws_as_many_images_as_asked(tmp_path, n):
    result = show("--n", n, "--out", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    assert f"({n} images)" in result.output and (tmp_path / "g.png").is_file()


def test_prune_removes_what_a_killed_write_left(data_env):
    folder = data_env / "cache" / "folders"
    folder.mkdir(parents=True)
    piece = folder / f"{'a' * 32}.safetensors"  # no sidecar: its write never ended
    piece.write_bytes(b"x" * 100)
    long_ago = time.time() - 2 * folder_cache.UNFINISHED_AFTER_S
    os.utime(piece, (long_ago, long_ago))
    assert "unfinished" in cli("cache").output
    result = cli("cache", "--prune")
    assert result.exit_code == 0 and "removed 1 entry" in result.output, result.output
    assert not piece.exists()


def test_an_output_path_that_is_a_folder_is_refused_with_a_file_name_to_give(tmp_path):
    with pytest.raises(ConfigError, match="is a folder; give a file name") as info:
        check_output_file(tmp_path, "--out", example="rows.csv")
    assert str(tmp_path / "rows.csv") in str(info.value)


def test_a_folder_given_as_out_is_answered_with_a_name_of_the_commands_kind(tmp_path):
    # compare --csv suggests result.csv inside it, not the result.json of other commands.
    with pytest.raises(typer.BadParameter) as info:
        output_file(".csv", what="the table")(tmp_path)
    assert str(tmp_path / "result.csv") in str(info.value)
