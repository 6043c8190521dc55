"""The command a run or sweep records (summary.json's ``commands``, a design report's
"command" row) when cnnlab is called from Python: where it ran, not a kernel's launcher
and its temporary connection file."""

from __future__ import annotations

import sys
import types

import pytest

from cnnlab.design.describe import sweep_setup
from cnnlab.train.machine import cnnlab_program, command_line

KERNEL = ["/venv/lib/python3.11/site-packages/ipykernel_launcher.py", "-f",
          "/tmp/tmpkopmyzeh.json", "--HistoryManager.hist_file=:memory:"]


@pytest.fixture
def no_notebook_named(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delitem(sys.modules, "cnnlab.cli", raising=False)  # loaded by CLI tests
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def test_a_jupyter_kernel_records_python_and_the_notebook(monkeypatch, no_notebook_named):
    monkeypatch.setattr(sys, "argv", KERNEL)
    assert command_line() == "Python (Jupyter kernel)"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/lab/first.ipynb")  # Jupyter Server
    assert command_line() == "Python (Jupyter kernel, notebook /home/me/lab/first.ipynb)"
    monkeypatch.delenv("JPY_SESSION_NAME")
    sys.modules["__main__"].__vsc_ipynb_file__ = "/home/me/vs.ipynb"  # VS Code
    assert command_line() == "Python (Jupyter kernel, notebook /home/me/vs.ipynb)"
    assert not cnnlab_program()


@pytest.mark.parametrize(("argv", "recorded"), [
    (["-c", "a b"], "python -c (its code is not recorded) 'a b'"),
    (["-c"], "python -c (its code is not recorded)"),
    ([""], "Python (interactive)"),
    (["-"], "Python (a script from stdin)"),
    (["/home/me/sweep.py", "--n", "4"], "sweep.py --n 4"),
])
def test_python_without_a_command_says_how_it_ran(monkeypatch, no_notebook_named,
                                                   argv, recorded):
    monkeypatch.setattr(sys, "argv", argv)
    assert command_line() == recorded
    assert not cnnlab_program()


@pytest.mark.parametrize("argv", [["/venv/bin/cnnlab", "train"],
                                  ["/src/cnnlab/__main__.py", "train"]])
def test_the_cnnlab_program_is_told_apart(monkeypatch, argv):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert cnnlab_program()


def test_a_design_report_shows_it_as_recorded(monkeypatch, no_notebook_named):
    monkeypatch.setattr(sys, "argv", KERNEL)
    setup = sweep_setup({"space": "anynetx_a", "train": {}}, {"command": command_line()},
                        planned=2, counts={"done": 2}, rows=[])
    assert setup["command"] == "Python (Jupyter kernel)"
