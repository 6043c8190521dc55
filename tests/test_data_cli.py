"""`cnnlab data show` refuses what it cannot write, or not in reasonable time, up front."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.data import GRID_SUFFIXES, MAX_GRID


def show(*args: str):
    result = CliRunner().invoke(app, ["data", "show", "synthetic", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_show_refuses_a_file_type_it_cannot_write(tmp_path):
    for name in ("g.txt", "grid"):
        result = show("--out", tmp_path / name)
        assert result.exit_code == 2 and name in result.output, result.output
        assert all(suffix in result.output for suffix in GRID_SUFFIXES)
    assert not any(tmp_path.iterdir())


def test_show_refuses_a_place_it_cannot_write_before_loading_the_data(tmp_path):
    # /proc takes no file, even root's: it named the temporary file the write failed on.
    (tmp_path / "afile").write_text("x")
    outs = [tmp_path / "afile" / "grid.png"] + ([Path("/proc/grid.png")]
                                                if Path("/proc/self").is_dir() else [])
    for out in outs:
        result = show("--out", out)
        assert result.exit_code == 2 and f"--out {out}:" in result.output, result.output
        assert ".tmp" not in result.output


def test_show_caps_the_grid(tmp_path):
    result = show("--n", "100000", "--out", tmp_path / "g.png")
    assert result.exit_code == 2 and "--n" in result.output and str(MAX_GRID) in result.output
    assert not any(tmp_path.iterdir())


def test_folder_options_out_of_range_are_refused_by_flag_before_decoding():
    # They failed as data errors (exit 1) naming the Python field, after decoding.
    for command, option, value, words in (
            ("info", "--channels", "2", "--channels 2: 1 (greyscale) or 3 (RGB)"),
            ("info", "--image-size", "0", "--image-size 0: give the square side"),
            ("info", "--val-fraction", "1.5", "--val-fraction 1.5: a share of each class"),
            ("show", "--channels", "4", "--channels 4: 1 (greyscale) or 3 (RGB)")):
        result = CliRunner().invoke(app, ["data", command, "synthetic", option, value])
        assert result.exit_code == 2 and words in result.output, result.output


def test_the_groups_help_names_every_command_it_has():
    from cnnlab.cli import data

    summary = data.app.info.help
    names = [c.name or c.callback.__name__ for c in data.app.registered_commands]
    assert names and all(name in summary for name in names), (summary, names)
