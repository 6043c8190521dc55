"""How long a user waits before a command does anything: one that only prints help
imports neither torch (5 s on a busy 2-core machine) nor matplotlib, nor pydantic
(typer 0.2x's value checks, 0.3 s and more): every command's --help loaded pydantic for
the program's own --help flag, which was not given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cnnlab

HEAVY = ("torch", "matplotlib", "numpy", "pydantic")

# Each command line run by one interpreter, through the app as `cnnlab` runs it; what
# it loaded, and each exit status, printed as JSON. Every command's --help is listed
# from the app itself, so a new command is checked too.
PROBE = """
import contextlib, io, json, sys
import typer.main
from cnnlab.cli import app

def every_command(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from every_command(sub, (*path, name))

lines = [[*path, "--help"] for path in every_command(typer.main.get_command(app))]
lines += json.loads(sys.argv[1])
codes = []
for args in lines:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            app(args, prog_name="cnnlab")
        except SystemExit as stop:
            codes.append([args, stop.code])
print(json.dumps([codes, sorted(m for m in HEAVY if m in sys.modules)]))
"""


def run_probe(command_lines: list[list[str]], heavy=HEAVY) -> tuple[list, list[str]]:
    source = str(Path(cnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {heavy!r}\n{PROBE}", json.dumps(command_lines)],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_commands_help_loads_no_torch_matplotlib_or_pydantic():
    codes, loaded = run_probe([])
    assert len(codes) > 20 and all(code == 0 for _, code in codes)
    assert loaded == []

