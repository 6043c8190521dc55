"""A sweep stopped from Python (a notebook) says how to go on from Python too."""

from __future__ import annotations

import cnnlab.train.machine as machine
from cnnlab.design.runner import python_resume_words


def test_python_callers_are_told_run_sweep_with_what_the_command_would_take(monkeypatch):
    # The message named only `cnnlab design run --resume DIR`, a shell command, in a
    # notebook's cell.
    monkeypatch.setattr(machine, "cnnlab_program", lambda: False)
    assert python_resume_words("sweeps/a", "local", None) == \
        " (from Python: run_sweep('sweeps/a'))"
    assert python_resume_words("sweeps/a", "ray", "head:6379", threads=1, workers=2) == (
        " (from Python: run_sweep('sweeps/a', executor='ray', address='head:6379', "
        "workers=2, threads=1))")
    monkeypatch.setattr(machine, "cnnlab_program", lambda: True)
    assert python_resume_words("sweeps/a", "local", None) == ""  # the command's words do
