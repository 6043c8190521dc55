"""How long a user waits before a command does anything: what only reads text, or only
prints help, imports neither torch (5 s on a busy 2-core machine) nor matplotlib, nor
pydantic (typer 0.2x's value checks, 0.3 s and more). `cnnlab compare` spent 5 of its
7 seconds importing torch to read config.yaml files; every command's --help loaded
pydantic for the program's own --help flag, which was not given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from compare_helpers import make_run, three_epochs

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


def test_compare_reads_runs_and_says_its_errors_without_torch_or_matplotlib(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7), lr=0.1)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.8), lr=0.05)
    table = tmp_path / "table.csv"
    compared = ["compare", str(a), str(b), "--csv", str(table)]
    missing = ["compare", str(a), str(tmp_path / "missing")]  # exit 2, said as quickly
    codes, loaded = run_probe([compared, missing])
    assert codes[-2:] == [[compared, 0], [missing, 2]]
    assert table.read_text(encoding="utf-8").count("\n") == 3  # the header, two runs
    assert set(loaded) <= {"pydantic"}  # typer 0.2x checks the values of a command run
