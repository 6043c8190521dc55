"""A design sweep from a notebook: run_sweep shows its trials as they finish (the cell
stayed blank for minutes), and analyze()'s summary shows as the report's tables (the
cell printed a ~90-line dict), while it stays the dict code reads."""

from __future__ import annotations

import json

from design_helpers import shaped_spec

import cnnlab.design.runner as runner_mod
from cnnlab.design.report import analyze
from cnnlab.design.runner import run_sweep
from cnnlab.design.store import TrialStore
from cnnlab.train.train_progress import NotebookLine


class _Line:
    """A NotebookLine's place: what it was told to show, in turn."""

    def __init__(self):
        self.shown = []

    def show(self, text):
        self.shown.append(text)


class _Pool:
    """A 1-slot pool whose trials finish at once: 0 done, 1 failed."""

    capacity, threads, gpus, name = 1, 1, 0, "fake"

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        h = handles[0]
        if h == 1:
            return [(h, {"id": h, "status": "failed", "message": "boom"})]
        return [(h, {"id": h, "status": "done", "error_pct": 42.25, "test_acc": 0.5775,
                     "best_test_acc": 0.58, "train_time_s": 1.0, "epochs": 1})]

    def close(self, cancel=False):
        pass


def test_run_sweep_in_a_notebook_shows_each_trial_as_it_finishes(tmp_path, monkeypatch):
    line = _Line()
    monkeypatch.setattr(NotebookLine, "in_notebook", classmethod(lambda cls, console: line))
    monkeypatch.setattr(runner_mod, "make_executor", lambda *a, **k: _Pool())
    monkeypatch.setattr(runner_mod, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 2)
    assert run_sweep(tmp_path)["done"] == 1
    assert line.shown[0] == (f"sweep {tmp_path}: 0/2 trials finished (0 done, 0 failed); "
                             "training 1 at a time")  # at once, before any trial ends
    assert line.shown[1].startswith(f"sweep {tmp_path}: 1/2 trials finished (1 done, 0 "
                                    "failed); last trial 0: 42.2% error; 0:0")
    assert line.shown[2].startswith(f"sweep {tmp_path}: 2/2 trials finished (1 done, 1 "
                                    "failed); last trial 1: failed")
    assert len(line.shown) == 3


def test_outside_a_notebook_or_with_on_result_it_shows_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_mod, "make_executor", lambda *a, **k: _Pool())
    monkeypatch.setattr(runner_mod, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 2)
    rows = []
    run_sweep(tmp_path, on_result=rows.append)  # the caller's own: not replaced
    assert [r["id"] for r in rows] == [0, 1]


def test_analyze_returns_its_summary_as_a_dict_shown_as_tables(tmp_path):
    with TrialStore(tmp_path / "a", create=True) as store:
        store.init_sweep(shaped_spec(), 3)
        for i, error in enumerate([40.0, 45.5, 50.0]):
            store.mark_running(i, "lab:1")
            store.record(i, "done", error_pct=error, test_acc=1 - error / 100,
                         train_time_s=1.0, worker="lab:1")
    found = analyze(tmp_path / "a", tmp_path / "report", resamples=50)
    # Code that reads it as a dict reads it as before.
    assert isinstance(found, dict) and found["spaces"][0]["done"] == 3
    assert json.loads(json.dumps(found))["spaces"][0]["best_error"] == 40.0
    text = repr(found)
    assert len(text.splitlines()) < 15, text  # was ~90 lines of nested dict
    assert "| anynetx_b | 3 | 0 | 40." in text
    assert "report.html" in text and "'setup'" not in text
    shown = found._repr_html_()
    assert "<table" in shown and "anynetx_b" in shown and "report.html" in shown
