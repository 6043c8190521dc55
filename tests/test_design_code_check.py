"""Every trial of a sweep trains with the driver's code, or with none: a worker holding
another cnnlab (its version is 0.1.0 for every commit, so its sources are hashed) or
another torch trains nothing, and the sweep stops naming it, both fingerprints and the
fix; one too old to say (no fingerprint back) is not stored either. Each finished trial
stores the fingerprint of the code that trained it; a store older than that reads NULL.

The comparison runs in-process (one local worker) with the worker's fingerprint
patched; test_design_ray_code.py ships other code to a real Ray's workers.
"""

from __future__ import annotations

import shutil
import warnings
from concurrent.futures import Future
from pathlib import Path

import pytest
from design_helpers import tiny_spec
from typer.testing import CliRunner

import cnnlab
import cnnlab.design.code_check as code_check
import cnnlab.design.runner as runner
import cnnlab.design.store as store_module
import cnnlab.design.trial as trial
from cnnlab.cli.design import app
from cnnlab.design.code_check import checked, code_fingerprint, code_mismatch, sources_digest
from cnnlab.design.executors import LocalExecutor, SweepFailure
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import TrialStore
from cnnlab.notices import SetupWarning

OURS = code_fingerprint()


def other_code(**changes) -> dict:
    return {**OURS, "sources": "0ld" + OURS["sources"][3:], **changes}


def states(directory) -> list[tuple]:
    with TrialStore(directory) as store:
        return [(t["status"], t["attempts"], t["error_pct"]) for t in store.trials()]


# ---------------------------------------------------------------- the fingerprint


def test_the_fingerprint_is_the_sources_not_the_static_version(tmp_path):
    copy = tmp_path / "cnnlab"
    shutil.copytree(Path(cnnlab.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert sources_digest(copy) == OURS["sources"]  # where it lies does not count
    spaces = copy / "design" / "spaces.py"
    spaces.write_bytes(spaces.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout
    assert sources_digest(copy) == OURS["sources"]
    spaces.rename(copy / "design" / "spaces2.py")  # a file's name counts, its bytes alike
    assert sources_digest(copy) != OURS["sources"]
    spaces = copy / "design" / "spaces2.py"
    spaces.rename(copy / "design" / "spaces.py")
    assert sources_digest(copy) == OURS["sources"]
    spaces = copy / "design" / "spaces.py"
    spaces.write_bytes(spaces.read_bytes() + b"# one line more\n")  # another commit
    assert sources_digest(copy) != OURS["sources"]
    assert OURS["cnnlab"] == cnnlab.__version__ and OURS["torch"]
    assert code_fingerprint() is code_fingerprint()  # computed once per process


def test_what_is_compared_and_what_is_said():
    assert code_mismatch(OURS, dict(OURS), "n") is None
    assert code_mismatch(OURS, {**OURS, "path": "/elsewhere/cnnlab"}, "n") is None
    # One torch release built for a GPU and for a CPU: a laptop driving a GPU cluster.
    release = OURS["torch"].partition("+")[0]
    assert code_mismatch(OURS, {**OURS, "torch": release + "+cu121"}, "n") is None
    said = code_mismatch(OURS, other_code(torch="1.0.0"), "node7:41")
    assert said.startswith("node7:41 runs other code than this driver (sources and torch "
                           "differ): there cnnlab 0.1.0 (sources 0ld")
    assert f"here cnnlab 0.1.0 (sources {OURS['sources'][:12]}, {OURS['path']}), torch " \
           f"{OURS['torch']}" in said and "torch 1.0.0; here" in said
    assert "install this same cnnlab and torch on every node" in said
    assert f'--runtime-env-json \'{{"py_modules": ["{OURS["path"]}"]}}\'' in said
    said = code_mismatch(OURS, None, "node7:41")
    assert said.startswith("node7:41 runs a cnnlab older than this driver's code check: it "
                           "sent back no fingerprint")


def test_a_result_is_kept_only_with_the_code_its_task_was_sent_with():
    done = {"id": 3, "worker": "n:1", "status": "done", "error_pct": 40.0, "code": OURS}
    assert checked(done, OURS) is done
    assert checked({**done, "code": None}, None)["status"] == "done"  # nothing was sent
    for back in (other_code(), None):  # another fingerprint, or none (an older cnnlab)
        refused = checked({**done, "code": back}, OURS)
        assert refused["status"] == "refused" and "error_pct" not in refused
        assert refused["message"].startswith("n:1 runs ") and refused["id"] == 3
    stopped = {"id": 3, "status": "interrupted"}  # nothing trained: put back as it is
    assert checked(stopped, OURS) is stopped


# ---------------------------------------------------------------- a sweep


def test_a_worker_with_other_code_trains_nothing_and_the_sweep_stops_naming_it(
        tmp_path, monkeypatch):
    create_sweep(tmp_path, tiny_spec(), 3)
    monkeypatch.setattr(code_check, "code_fingerprint", lambda: other_code())
    monkeypatch.setattr(trial, "trial_data", lambda **k: pytest.fail("it trained"))
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 1, result.output  # a valid sweep that cannot go on here
    said = " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert f"stopped: {trial.worker_name().split(':')[0]}:" in said
    assert "runs other code than this driver (sources differ): there cnnlab 0.1.0 " \
           "(sources 0ld" in said and "install this same cnnlab and torch" in said
    assert f"continue with: cnnlab design run --resume {tmp_path}" in said
    # Not trained, not charged: resumed once the nodes are fixed, as if never sent.
    assert states(tmp_path) == [("pending", 0, None)] * 3


def test_the_local_workers_results_are_checked_too():
    # A worker process started after this machine's cnnlab changed (a fresh pool, hours
    # into the sweep) imports the new code; one installed without the check sends none.
    pool = LocalExecutor(workers=2, device="cpu")
    came = Future()
    came.set_result({"id": 0, "worker": "here:9", "status": "done", "error_pct": 40.0})
    pool._sent[came] = OURS  # as submit records it
    [(handle, result)] = pool.wait([came])
    assert handle is came and result["status"] == "refused"
    assert result["message"].startswith("here:9 runs a cnnlab older than this driver's")
    assert pool._sent == {}


class _TwoAtOnce:
    """An executor running trials in this process, two at a time, trial 1 on a node
    with other code; its refusal comes back first, while trial 0 is still running."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def __init__(self):
        self.sent, self.results = [], {}

    def submit(self, task):
        self.sent.append(task["id"])
        handle = object()
        sent = {**task, "code": other_code()} if task["id"] == 1 else task
        self.results[handle] = trial.run_trial(sent)
        return handle

    def wait(self, handles):
        refused = [h for h in handles if self.results[h]["status"] == "refused"]
        return [(h, self.results[h]) for h in (refused or handles)[:1]]

    def close(self, cancel=False):
        pass


def test_the_running_trials_finish_and_are_stored_before_the_sweep_stops(
        tmp_path, monkeypatch):
    create_sweep(tmp_path, tiny_spec(), 4)
    pool = _TwoAtOnce()
    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: pool)
    with pytest.warns(SetupWarning, match=r"runs other code .* No more trials start; the "
                                          r"sweep stops once the running trial finishes"), \
            pytest.raises(SweepFailure, match="runs other code"):
        run_sweep(tmp_path)
    assert pool.sent == [0, 1]  # nothing sent after the refusal
    with TrialStore(tmp_path) as store:
        done = store.trial(0)
        assert done["status"] == "done" and done["code"] == OURS  # what trained it
    assert states(tmp_path)[1:] == [("pending", 0, None)] * 3


def test_each_trial_stores_its_code_and_a_store_from_before_reads_none(
        tmp_path, monkeypatch):
    # A sweep made by a cnnlab without the column, one trial trained there.
    with monkeypatch.context() as old:
        old.setattr(store_module, "_SCHEMA", store_module._SCHEMA.replace(
            "    code TEXT,\n", ""))
        old.setattr(store_module, "_ADDED_COLUMNS", {})
        create_sweep(tmp_path, tiny_spec(), 3)
        with TrialStore(tmp_path) as store:
            store.mark_running(0, "old:1")
            store.record(0, "done", error_pct=50.0, test_acc=0.5, worker="old:1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unknown code is not other code: no warning
        assert run_sweep(tmp_path, workers=1)["done"] == 3
    with TrialStore(tmp_path) as store:  # the column added when a driver opened it
        assert [t["code"] for t in store.trials()] == [None, OURS, OURS]
        assert store.retry_failed() == []


def test_a_run_with_other_code_than_the_done_trials_is_warned(tmp_path, monkeypatch):
    create_sweep(tmp_path, tiny_spec(), 2)
    with TrialStore(tmp_path) as store:
        store.mark_running(0, "w")
        store.record(0, "done", error_pct=50.0, code=other_code())
    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: pytest.fail("ran"))
    monkeypatch.setattr(runner, "trial_data", lambda **k: None)
    with pytest.warns(SetupWarning) as caught, pytest.raises(pytest.fail.Exception):
        run_sweep(tmp_path)
    said = str(caught[0].message)
    assert said.startswith(f"{tmp_path}: some of its done trials trained with other code "
                           f"than this run's cnnlab 0.1.0 (sources {OURS['sources'][:12]}")
    assert "(1 with cnnlab 0.1.0 (sources 0ld" in said and "new sweep (another --out)" in said
