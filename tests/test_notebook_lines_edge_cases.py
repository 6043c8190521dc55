"""A notebook's progress lines at their edges: a quiet console, a trial with no error."""

from __future__ import annotations

from test_notebook_progress import notebook  # noqa: F401 (the fixture)

from cnnlab.design.sweep_progress import SweepLine
from cnnlab.train.train_progress import NotebookLine


def test_a_quiet_console_gets_no_notebook_line(notebook):  # noqa: F811
    console, shown = notebook
    assert NotebookLine.in_notebook(console) is not None
    console.quiet = True  # rich's "print nothing": the line went around it, to IPython
    assert NotebookLine.in_notebook(console) is None


def test_a_trial_stored_without_an_error_is_shown_not_raised(notebook):  # noqa: F811
    # A NaN error comes back from SQLite as None: formatting it raised inside run_sweep's
    # loop and stopped the sweep.
    console, shown = notebook
    sweep = SweepLine(NotebookLine.in_notebook(console), "sweeps/a", {"pending": 2}, 1)
    sweep({"id": 0, "status": "done", "error_pct": None})
    sweep({"id": 1, "status": "done", "error_pct": 42.25})
    assert "trial 1: 42.2% error" in shown[-1] and "2/2 trials finished" in shown[-1]
