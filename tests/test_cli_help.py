"""Every command's --help, read as a user reads it in a terminal."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.examples import EXAMPLES, epilog


def _command_paths(command=None, path=()):
    command = command or typer.main.get_command(app)
    yield list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def _command(path):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("width", [60, 80])
def test_no_help_shows_a_type_beside_an_on_off_flag(width):
    # typer 0.2x wrote "<bool>" beside every flag, --help and --version included, in a
    # column of its own: a value the user never types, in room the help text lacked.
    paths = list(_command_paths())
    assert ["bench", "throughput"] in paths and ["design", "run"] in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)},
                                    terminal_width=width)
        assert result.exit_code == 0, (path, result.output)
        assert "--help" in result.output, path
        assert "<bool>" not in result.output, (path, result.output)
    said = CliRunner().invoke(app, ["bench", "throughput", "--help"],
                              env={"COLUMNS": "200"}).output
    assert "--compile" in said and "--no-compile" in said  # the flags are still listed


def test_flags_still_work():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("cnnlab ")


def test_every_threads_option_says_its_default_one_way():
    # bench memory said "torch threads; 1 is steadiest on a shared CPU", ops "torch
    # threads (1 gives steadier numbers)", train "(1 is steadiest on a busy machine)":
    # three wordings, and only some said what the default was. A bench timing two ways
    # of one computation has a fixed count (its ratios compare across machines), the
    # others torch's own, one per core (what training gets); each says which.
    seen = []
    root = typer.main.get_command(app)
    for path in _command_paths():
        command = root
        for name in path:
            command = command.commands[name]
        for param in command.params:
            if "--threads" not in getattr(param, "opts", ()):
                continue
            seen.append(" ".join(path))
            assert param.help.startswith("torch CPU threads"), (path, param.help)
            if param.default is None:  # design run's default divides the cores
                assert "(default: " in param.help, (path, param.help)
                assert "one per core" not in param.help \
                    or "; 1 is steadiest on a busy CPU" in param.help, path
            else:
                assert "fixed so that runs on different machines compare" in param.help, path
                assert "1 is steadiest on a busy CPU" in param.help, path
                assert "say the count" in param.help, path
    assert {"train", "resume", "eval", "predict", "speedrun", "design run", "bench memory",
            "bench ops", "bench loader", "bench zoo", "bench throughput"} <= set(seen)


@pytest.mark.parametrize("width", [60, 80])
def test_help_never_cuts_an_option_name_or_a_commands_summary(width):
    # typer's rich panels cut long names at 80 columns ("--no-channels-l…") and click's
    # list of commands cut each summary to one line ("... and activation..."): every
    # option of every command is named whole, and every command's first paragraph is
    # in its group's list.
    root = typer.main.get_command(app)
    for path in _command_paths():
        command = root
        for name in path:
            command = command.commands[name]
        said = CliRunner().invoke(app, [*path, "--help"], terminal_width=width).output
        assert "…" not in said, (path, said)
        words = said.split()
        for param in command.params:
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("-"):
                    assert any(w.strip(",") == opt for w in words), (path, opt, said)
        for sub in getattr(command, "commands", {}).values():
            summary = sub.help.split("\n\n")[0]
            assert " ".join(summary.split()) in " ".join(words), (path, sub.name)


def _help(path, width):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)},
                                terminal_width=width)
    assert result.exit_code == 0, (path, result.output)
    return result.output


def test_no_help_line_is_wider_than_80_columns():
    # The examples at the foot ran to 126 columns ("cnnlab design run --space ...
    # --out sweeps/anynetx_a"): kept whole by click, they were folded by the terminal
    # mid-word. A line may run wider only where one word alone is wider.
    for path in _command_paths():
        for line in _help(path, 80).splitlines():
            assert len(line) <= 80 or len(line.split()) == 1, (path, len(line), line)


@pytest.mark.parametrize("width", [60, 80])
def test_help_never_breaks_a_word_at_its_hyphen(width):
    # "[default: no-" / "quick]", "max-" / "autotune", "fashion-" / "mnist": values a
    # user types, cut where textwrap breaks a hyphenated word.
    for path in _command_paths():
        lines = _help(path, width).splitlines()
        assert not [line for line in lines if re.search(r"\w-$", line)], path


@pytest.mark.parametrize("width", [40, 60])
def test_a_default_is_on_the_line_of_its_value(width):
    # At 40 columns lines ended in "(default:" and the value stood on the next line,
    # alone. Only a value too long to share a line with it may stand below it.
    for path in _command_paths():
        said = _help(path, width)
        assert "\u00a0" not in said, path  # the glue is written back as a space
        lines = said.splitlines()
        for line, below in zip(lines, lines[1:], strict=False):
            if line.endswith("(default:"):
                text_column = width - 2 - (len(below) - len(below.lstrip()))
                assert len("(default: " + below.split()[0]) > text_column, (path, line, below)


def test_a_wrapped_example_is_still_the_example_when_its_lines_are_joined():
    # A long example is split at a space between arguments, with a shell line
    # continuation (" \\"), so it can still be pasted whole; joined again, it is the
    # example as kept (whose flags test_cli_examples checks).
    for path, examples in EXAMPLES.items():
        said = _help(path.split(), 80)
        commands, continued = [], False
        for line in said[said.index("Examples:"):].splitlines()[1:]:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            text = line.removesuffix(" \\")
            shlex.split(text)  # a ValueError: a line ends inside a quoted string
            if continued:
                commands[-1] += " " + text
            else:
                commands.append(text)
            continued = line.endswith(" \\")
        assert not continued, (path, said)
        assert commands == [command for command, _ in examples], (path, said)
    assert any(" \\\n" in epilog(e) for e in EXAMPLES.values())  # some are wrapped


# typer's names for a value's type, as its plain help writes them: "<str>", "<int range>",
# "<list[Path]>", and "{model}" for a required argument in the usage line.
_PYTHON_TYPE = re.compile(r"<(?:str|int|float|path|bool|[a-z]+ range|list\[[^]]*\])>|\{[a-z_]+\}")


def test_every_value_is_named_by_a_placeholder_not_a_python_type():
    # "Usage: cnnlab summary [OPTIONS] {model}", "model <str>", "--depth <int range>",
    # "--set <list[str]>": Python's types where a user looks for what to type.
    for path in _command_paths():
        command = _command(path)
        said = _help(path, 80)
        assert not _PYTHON_TYPE.search(said), (path, _PYTHON_TYPE.findall(said))
        for param in command.params:
            if getattr(param, "is_flag", False):
                continue
            assert re.fullmatch(r"[A-Z][A-Z=-]*", param.metavar or ""), (path, param.name)
            shown = param.metavar + ("..." if param.nargs != 1 else "")
            assert shown in said.split(), (path, shown, said)
    summary = _help(["summary"], 80)
    assert "Usage: cnnlab summary [OPTIONS] MODEL\n" in summary
    assert "--depth N " in summary and "--batch-size N " in summary
    predict = _help(["predict"], 80)
    assert "Usage: cnnlab predict [OPTIONS] RUN IMAGE...\n" in predict
    assert "  IMAGE...  " in predict and "--out FILE " in predict
    assert "Usage: cnnlab models [OPTIONS] [PATTERN]\n" in _help(["models"], 80)
    assert "--set KEY=VALUE " in _help(["design", "run"], 80)


def test_bench_throughputs_threads_help_gives_the_measured_slowdown():
    # It said "the first model timed was once 40x slower than with 1", a number nobody
    # had measured; BENCHMARKS.md's section has the measured ones, which it now cites.
    threads = next(p for p in _command(["bench", "throughput"]).params if p.name == "threads")
    assert "40x" not in threads.help
    assert "20-89x slower" in threads.help and "Threads on a busy CPU" in threads.help
    benchmarks = (Path(__file__).parents[1] / "BENCHMARKS.md").read_text(encoding="utf-8")
    section = benchmarks[benchmarks.index("## Threads on a busy CPU"):]
    assert "20-89x slower" in section.split("\n## ")[0]  # the number is the one measured


@pytest.mark.parametrize("command", [["train", "lenet_d2l", "--data", "synthetic"],
                                     ["resume", "no-such-run"],
                                     ["speedrun", "--data-root", "no-such-folder"]])
def test_threads_0_is_refused_by_the_flags_name(command, tmp_path, monkeypatch):
    # resume took --threads 0 and left it to TrainConfig, which answered in its own words
    # once the run was read: "invalid value for threads: 0; allowed: a whole number >= 1,
    # or None". Now click refuses it, as the benches' --threads (min=1); train and
    # speedrun word TrainConfig's refusal for the flag (messages.by_flag).
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*command, "--threads", "0"])
    assert result.exit_code == 2, result.output
    assert "--threads" in result.output and "or None" not in result.output, result.output


def test_placeholders_come_from_click_types_where_typer_records_no_annotation():
    # typer 0.16 (the floor pyproject admits) has no type_descriptor: the help read it,
    # and every command ended in an AttributeError there before printing anything.
    from types import SimpleNamespace

    from cnnlab.cli.help_layout import _value_word

    def old_typer_option(click_type_name):
        return SimpleNamespace(type=SimpleNamespace(name=click_type_name))

    assert [_value_word(old_typer_option(n)) for n in
            ("integer range", "float", "path", "text")] == ["N", "FLOAT", "FILE", None]
