"""More ways on offered for a run trained on data given to train() from Python (its
data.json): a finished run's "look at it with" and a taken run name's warning named the
commands (`cnnlab eval RUN`, `cnnlab resume RUN`), which load the data the config names
and refuse such a run."""

from __future__ import annotations

import warnings

import pytest
from resume_helpers import small_run

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import resume
from cnnlab.train.run import RunFinished


def test_a_finished_run_of_given_data_is_evaluated_from_python(tmp_path, monkeypatch):
    data = make_synthetic(num_train=128, num_test=32, seed=1)
    run = small_run(tmp_path, monkeypatch, epochs=1, run_name="done").run_dir
    with pytest.raises(RunFinished) as caught:
        resume(run, data=data)
    said = str(caught.value)
    assert "cnnlab eval" not in said
    assert (f"look at it with: evaluate_run({str(run)!r}, data=...) from Python, with the data "
            "it trained on") in said


def test_a_taken_name_of_a_given_data_run_names_its_python_resume(tmp_path, monkeypatch):
    first = small_run(tmp_path, monkeypatch, epochs=1, run_name="same").run_dir
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = small_run(tmp_path, monkeypatch, epochs=1, run_name="same").run_dir
    [told] = [str(w.message) for w in caught if "exists: this run is" in str(w.message)]
    assert "cnnlab resume" not in told
    assert told == (f"{first} exists: this run is {second} (resume({str(first)!r}, data=...) "
                    "from Python, with the data it trained on continues that one)")
