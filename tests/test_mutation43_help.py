"""What --help and a mistyped command show, pinned where hand-made mutants of the help's
code went unnoticed (session 41, mutation43)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.examples import EXAMPLES, _lines


def test_an_example_that_fills_the_width_exactly_is_left_on_one_line():
    # 4 columns of indent and a 76-character command fill 80 columns: no continuation.
    command = "cnnlab train lenet_modern --preset fast --epochs 3 --train-subset 5000 --x 1"
    command += "0" * (76 - len(command))
    assert _lines(command, 80) == [command]
    assert len(_lines(command + "0", 80)) == 2


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_wrapped_example_keeps_each_flag_beside_its_value(width):
    # A line of a wrapped example ends in a flag only where the next line begins with
    # another: "--models" at a line's end and "resnet18_d2l" under it reads as two.
    wrapped = 0
    for examples in EXAMPLES.values():
        for command, _ in examples:
            lines = [line.removesuffix(" \\").split() for line in _lines(command, width)]
            wrapped += len(lines) > 1
            for line, below in zip(lines, lines[1:], strict=False):
                assert not line[-1].startswith("--") or below[0].startswith("-"), (
                    width, command, lines)
    assert wrapped


@pytest.mark.parametrize("typed, meant", [(["trian"], "'train'"),
                                          (["bench", "zo"], "'zoo'")])
def test_a_mistyped_command_is_a_usage_error_that_names_the_command_meant(typed, meant):
    result = CliRunner().invoke(app, typed)
    assert result.exit_code == 2
    # (cnnlab's own where typer says none: the floor, typer 0.16; once where it does)
    assert f"No such command '{typed[-1]}'. Did you mean {meant}?" in result.output
    assert result.output.count("Did you mean") == 1


def test_a_quote_of_the_other_kind_inside_quotes_does_not_end_them():
    from cnnlab.cli.examples import _words

    assert _words('cnnlab x --note "it\'s a b" --y 1') == [
        "cnnlab", "x", "--note", '"it\'s a b"', "--y", "1"]


@pytest.mark.parametrize("width", [40, 60, 80])
def test_each_line_of_a_wrapped_example_fits_the_width_with_its_indent(width):
    # The first line is indented 4 columns, each continuation 6; a line of one long word
    # (a path, a quoted value) may stand alone past the width.
    for examples in EXAMPLES.values():
        for command, _ in examples:
            for i, line in enumerate(_lines(command, width)):
                indent = 4 if i == 0 else 6
                assert len(line.split()) <= 2 or indent + len(line) <= width, (
                    width, command, line)


def test_each_train_example_starts_a_run(monkeypatch):
    # The flags' values are checked where the run's config is resolved, not by the
    # parser: "--preset fats" parses, and fails only as the run starts. Each example
    # reaches training (stood in for); the one that names a run's config.yaml needs it.
    import shlex

    import cnnlab.train

    started = []
    monkeypatch.setattr(cnnlab.train, "train", lambda cfg, console=None: started.append(cfg))
    monkeypatch.setattr("cnnlab.cli.train._print_result", lambda result: None)
    for command, _ in EXAMPLES["train"]:
        if "--config" in command:
            continue
        result = CliRunner().invoke(app, shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
    assert len(started) == len(EXAMPLES["train"]) - 1
    assert [cfg.preset for cfg in started[:3]] == ["book", "fast", "fast"]


def test_each_input_shape_an_example_gives_is_one_summary_takes():
    # --input is read as the command runs, not as it parses: "1x224" parsed, then failed.
    import shlex

    from cnnlab.cli.models import _parse_input

    given = [words[words.index("--input") + 1]
             for words in (shlex.split(c) for e in EXAMPLES.values() for c, _ in e)
             if "--input" in words]
    assert given
    for shape in given:
        assert len(_parse_input(shape, (1, 28, 28))) == 3


def test_a_commands_help_lists_its_arguments_before_its_options():
    said = CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "100"}).output
    assert 0 < said.index("Arguments:") < said.index("Options:") < said.index("Examples:")


def test_a_windows_argument_with_a_single_quote_is_double_quoted(monkeypatch):
    # PowerShell reads ' as the start of a string: "it's" unquoted ran on past the word.
    import sys

    from cnnlab.shell_words import shell_quote

    monkeypatch.setattr(sys, "platform", "win32")
    assert shell_quote(r"C:\runs\Ana's run") == '"C:\\runs\\Ana\'s run"'
    assert shell_quote(r"C:\runs\it's") == '"C:\\runs\\it\'s"'
    assert shell_quote(r"C:\runs\x") == r"C:\runs\x"
