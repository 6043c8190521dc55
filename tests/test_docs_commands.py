"""Every `cnnlab ...` command line the docs show is one the CLI takes: parsed as the
shell would split it, against the command it names, without running the work.

README's and each --help's examples are what a newcomer pastes first; a flag renamed or
removed left them failing with "No such option" while every test passed. The commands in
README's code blocks are parsed whole (arguments, choices, numbers); those in its prose and
in BENCHMARKS.md hold placeholders (RUN, N, FILE), so for them the command and every flag
must exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from cnnlab.cli import app
from cnnlab.cli.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
CLI = typer.main.get_command(app)


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _without_comment(line: str) -> str:
    """``line`` up to a shell comment: a ``#`` after a space, outside quotes."""
    quote = ""
    for i, char in enumerate(line):
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        elif char == "#" and not quote and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def _words_after_cnnlab(text: str) -> list[str] | None:
    """The words after ``cnnlab`` (as ``cnnlab``, ``VAR=x cnnlab``, ``.venv\\Scripts\\cnnlab``
    or ``torchrun ... -m cnnlab`` start it), None for no command."""
    words = shlex.split(_without_comment(text).replace("\\", "/"))
    for i, word in enumerate(words):
        after_env = all(re.match(r"[A-Z_]+=", w) for w in words[:i])  # VAR=x cnnlab
        if word.split("/")[-1] == "cnnlab" and (after_env or words[i - 1] == "-m"):
            rest = words[i + 1:]
            # Up to the shell's own: a redirection or pipe ("> lenet.tex", "| less")
            ends = [j for j, w in enumerate(rest) if w in SHELL_OPERATORS]
            return rest[:ends[0]] if ends else rest
    return None


SHELL_OPERATORS = {">", ">>", "2>", "2>&1", "<", "|", "&&", "||", ";"}


def block_commands(text: str) -> list[str]:
    """Each command line of the shell and batch code blocks, continuation lines joined."""
    commands = []
    for body in re.findall(r"```(?:bash|bat|sh)\n(.*?)```", text, re.S):
        for line in body.replace("\\\n", " ").splitlines():
            if _words_after_cnnlab(line) is not None:
                commands.append(line.strip())
    return commands


def prose_commands(text: str) -> list[str]:
    """Each `cnnlab ...` inline code span outside code blocks (a command and some of its
    flags, with placeholders)."""
    prose = " ".join(re.sub(r"```.*?```", "", text, flags=re.S).split())
    return [span for span in re.findall(r"`([^`]+)`", prose)
            if re.match(r"(\S+=\S+ )*(torchrun .*-m )?cnnlab [a-z]", span)]


def _command(words: list[str]):
    """(the click command the words name, the words left for it)."""
    command, rest = CLI, list(words)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def _flags_missing(words: list[str]) -> set[str]:
    command, rest = _command(words)
    taken = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    return {w.split("=")[0] for w in rest if w.startswith("-")} - taken - {"--help"}


def parse_error(words: list[str]) -> str | None:
    """What the CLI says of the words as a command line, None where they parse. Only
    parsing: no command's work runs (click calls a command's callback on invoke)."""
    command, rest = _command(words)
    if hasattr(command, "commands"):
        return f"{' '.join(words)!r} names a group, no command"
    try:
        with command.make_context(command.name, rest):
            return None
    except Exception as exc:  # click's UsageError, vendored by newer typers
        if getattr(exc, "exit_code", 2) == 0:  # --help, --version
            return None
        return f"{type(exc).__name__}: {getattr(exc, 'format_message', exc.__str__)()}"


README_BLOCKS = block_commands(_read("README.md"))


def test_readme_shows_commands_to_check():
    # The extraction itself: a change in README's fences must not leave this test empty.
    assert len(README_BLOCKS) > 40
    assert "cnnlab train lenet_bn_d2l --preset book" in " ".join(README_BLOCKS)


@pytest.mark.parametrize("line", README_BLOCKS)
def test_each_readme_code_block_command_parses(line):
    words = _words_after_cnnlab(line)
    if "..." in words:  # "the same, with these flags": the flags must exist
        assert not _flags_missing(words), (line, _flags_missing(words))
        return
    assert parse_error(words) is None, (line, parse_error(words))


@pytest.mark.parametrize("doc", ["README.md", "BENCHMARKS.md"])
def test_each_command_named_in_prose_exists_with_its_flags(doc):
    spans = prose_commands(_read(doc))
    assert spans, doc
    for span in spans:
        words = _words_after_cnnlab(span)
        command, _ = _command(words)
        assert command is not CLI or words == ["COMMAND", "--help"], (doc, span)
        assert not _flags_missing(words), (doc, span, _flags_missing(words))


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_each_help_example_parses_whole(path):
    # tests/test_cli_examples.py checks the flags' names; this, their values too.
    for example, _ in EXAMPLES[path]:
        words = _words_after_cnnlab(example)
        assert parse_error(words) is None, (example, parse_error(words))


def _leaf_commands(command=CLI, path=""):
    for name, sub in getattr(command, "commands", {}).items():
        yield from (_leaf_commands(sub, f"{path}{name} ") if hasattr(sub, "commands")
                    else [f"{path}{name}"])


def test_every_commands_help_ends_with_examples():
    # README: "`cnnlab COMMAND --help` lists its options ... and ends with examples";
    # eight commands (bench loader, data verify, design status, ...) ended without any.
    assert sorted(set(_leaf_commands()) - set(EXAMPLES)) == []


def test_a_changed_flag_is_caught():
    # The checks above would pass on anything if parsing never failed.
    assert parse_error(["train", "lenet_modern", "--epoch", "3"])
    assert parse_error(["train", "lenet_modern", "--epochs", "three"])
    assert _flags_missing(["eval", "RUN", "--subset", "N"]) == {"--subset"}
    assert parse_error(["train", "lenet_modern", "--epochs", "3"]) is None
