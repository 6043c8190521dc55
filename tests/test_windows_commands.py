"""Commands cnnlab writes for a Windows user to type again (a run's history, its hints),
quoted for cmd.exe and PowerShell: checked on Linux with sys.platform set to win32 and a
parser of the C runtime's rules, by which every Windows program reads its arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.train import machine


def crt_split(line: str) -> list[str]:
    """The arguments a Windows program (the C runtime, CommandLineToArgvW) reads."""
    args, arg, quoted, i, started = [], "", False, 0, False
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            n = len(line[i:]) - len(line[i:].lstrip("\\"))
            if line[i + n:i + n + 1] == '"':
                arg += "\\" * (n // 2) + ('"' if n % 2 else "")
                quoted ^= n % 2 == 0
                i += n + 1
            else:
                arg, i = arg + "\\" * n, i + n
            started = True
        elif ch == '"':
            quoted, i, started = not quoted, i + 1, True
        elif ch in " \t" and not quoted:
            if started:
                args.append(arg)
            arg, started, i = "", False, i + 1
        else:
            arg, i, started = arg + ch, i + 1, True
    return args + ([arg] if started else [])


ARGS = ["resume", r"runs\20240101-120000-tv_resnet18", r"C:\Users\Ana Maria\runs\x",
        "--override", "convs_per_stage=[2, 2, 2]", 'say "hi"', "ends\\", r"dir with\ ",
        "", "a&b", "lr=0.1"]


def test_windows_command_line_reads_back_as_typed(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "argv", ["cnnlab", *ARGS])
    line = machine.command_line()
    assert crt_split(line) == ["cnnlab", *ARGS]
    assert "'" not in line  # cmd.exe keeps single quotes as part of the argument
    assert r" runs\20240101-120000-tv_resnet18 " in line  # a plain path as it is


@pytest.mark.parametrize("arg", [r"C:\Users\Ana Maria\runs\\", 'a "b" c', "x y"])
def test_windows_quoting_agrees_with_subprocess(monkeypatch, arg):
    monkeypatch.setattr(sys, "platform", "win32")
    assert machine.shell_quote(arg) == subprocess.list2cmdline([arg])


def test_posix_quoting_unchanged(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert machine.shell_quote("a b") == "'a b'"


def test_the_resume_commands_cnnlab_prints_are_quoted_for_the_shell(monkeypatch, tmp_path):
    # A sweep folder with a space was printed bare (`--resume my sweeps/a` ran no sweep),
    # and a run's resume hint in POSIX quotes on Windows.
    from cnnlab.design.runner import resume_command
    from cnnlab.train.run_files import resume_words

    assert resume_command("my sweeps/a", "local", None) == \
        "cnnlab design run --resume 'my sweeps/a'"
    monkeypatch.setattr(sys, "platform", "win32")
    assert resume_words(Path(r"C:\Users\Ana Maria\runs\x")) == \
        r'`cnnlab resume "C:\Users\Ana Maria\runs\x"`'
