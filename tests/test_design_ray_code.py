"""The code check on Ray: a node holding other cnnlab code trains no trial of the sweep.

A real local Ray (in a subprocess, so a hang fails the test, not the suite) is given a
copy of cnnlab with one line more through its runtime_env, as a node with another
checkout would have it: the sweep stops, naming it, with nothing trained or charged;
without it the trials train and store the driver's fingerprint. A fake Ray plays a node
whose cnnlab predates the check.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from design_helpers import ray_script_result, tiny_spec
from test_design_ray import DONE, FakeRay, node

import cnnlab
import cnnlab.design.executors as executors
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import SweepError, TrialStore
from cnnlab.notices import SetupWarning


def test_a_node_too_old_to_check_its_code_stops_the_sweep_naming_it(tmp_path, monkeypatch):
    # Its cnnlab predates the check: it trains what it is sent with its own code and
    # returns no fingerprint. Nothing of it is stored; the sweep stops, saying how to go
    # on on Ray once the node is fixed.
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = FakeRay([node(4)])  # the caller's Ray, already started: not ours to stop
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)
    ray.wait = lambda handles, **kw: (handles[:1], handles[1:])
    ray.get = lambda ref: {**DONE, "worker": "node7:41"}
    with pytest.warns(SetupWarning, match="once the running trial finishes"), \
            pytest.raises(SweepError, match=r"stopped: node7:41 runs a cnnlab older than "
                                            r"this driver's code check.* continue with: "
                                            r"cnnlab design run --resume \S+ --executor ray "
                                            r"--address auto --threads 2$"):
        run_sweep(tmp_path / "s", executor="ray", address="auto", threads=2)
    with TrialStore(tmp_path / "s") as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2


def test_a_node_that_cannot_load_the_trial_is_not_taken_for_a_lost_worker(
        tmp_path, monkeypatch):
    # No cnnlab there, or one without design/trial.py: the task raises (run_trial never
    # does). Taken for a dead worker, each trial was retried, then stored 'failed' as
    # "worker process died 2 times (out of memory?)", every trial the node was given.
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = FakeRay([node(4)])
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)
    ray.wait = lambda handles, **kw: (handles[:1], handles[1:])

    def get(ref):  # as Ray 2.x words it (its sys.path and traceback cut short here)
        raise FakeRay.exceptions.RayTaskError(
            "ray::run_trial() (pid=4160, ip=10.0.0.7)\nRuntimeError: The remote function "
            "failed to import on the worker. ...\n  File \".../executors.py\", line 26\n"
            "ModuleNotFoundError: No module named 'cnnlab.design.trial'\n")

    ray.get = get
    with pytest.warns(SetupWarning), pytest.raises(SweepError) as caught:
        run_sweep(tmp_path / "s", executor="ray", address="auto", threads=2)
    said = str(caught.value)
    assert said.startswith("stopped: 10.0.0.7:4160 could not run cnnlab's trial "
                           "(ModuleNotFoundError: No module named 'cnnlab.design.trial'): "
                           "its cnnlab is missing or not this driver's cnnlab 0.1.0")
    assert "install this same cnnlab and torch on every node" in said
    with TrialStore(tmp_path / "s") as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2


REAL_RAY = r"""
import json, os, sys, ray
from design_helpers import ray_script_result, tiny_spec
from cnnlab.design.code_check import code_fingerprint
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import SweepError, TrialStore

other, broken, sweep = sys.argv[1:4]
seen = {"driver": code_fingerprint()}
create_sweep(sweep, tiny_spec(), 2)
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
         runtime_env={"py_modules": [broken]})  # a cnnlab without design/trial.py
try:
    run_sweep(sweep, executor="ray")
except SweepError as exc:
    seen["not_run"] = str(exc)
ray.shutdown()
# The workers import the copy (py_modules comes first on their path), this driver its own.
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
         runtime_env={"py_modules": [other]})
try:
    run_sweep(sweep, executor="ray")
except SweepError as exc:
    seen["refused"] = str(exc)
ray.shutdown()
with TrialStore(sweep) as store:
    seen["after_refusal"] = [(t["status"], t["attempts"]) for t in store.trials()]
seen["counts"] = run_sweep(sweep, executor="ray", threads=1)  # a Ray of its own, our code
with TrialStore(sweep) as store:
    seen["codes"] = [t["code"] for t in store.trials()]
    seen["workers"] = [t["worker"] for t in store.trials()]
seen["pid"] = os.getpid()
print("RESULT " + json.dumps(seen))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray cluster at a time
def test_a_real_ray_worker_with_another_cnnlab_trains_nothing(tmp_path):
    pytest.importorskip("ray")
    root = Path(__file__).resolve().parents[1]
    other = tmp_path / "node" / "cnnlab"  # another checkout: one line more
    shutil.copytree(Path(cnnlab.__file__).parent, other,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "design" / "spaces.py", "a", encoding="utf-8") as f:
        f.write("# edited on that node only\n")
    broken = tmp_path / "old" / "cnnlab"  # one from before design/trial.py
    shutil.copytree(other, broken)
    (broken / "design" / "trial.py").unlink()
    # Run from tmp_path: Ray puts the driver's folder first on its workers' path, and this
    # checkout's cnnlab there would shadow the copy.
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "tests")])
    seen = ray_script_result(REAL_RAY, str(other), str(broken), str(tmp_path / "s"),
                             cwd=tmp_path, env=env, timeout=300,  # three Rays, two trials
                             hung="the sweep on Ray hung")
    driver = seen["driver"]
    assert re.match(r"stopped: [\d.]+:\d+ could not run cnnlab's trial \(ModuleNotFoundError: "
                    r"No module named 'cnnlab\.design\.trial'\): its cnnlab is missing",
                    seen["not_run"]), seen["not_run"]
    said = seen["refused"]
    assert said.startswith("stopped: ") and " runs other code than this driver (sources " \
        "differ): there cnnlab 0.1.0 (sources " in said, said
    assert driver["path"] not in said.split("; here ")[0]  # there: the copy Ray shipped
    assert f"here cnnlab 0.1.0 (sources {driver['sources'][:12]}, {driver['path']})" in said
    assert seen["after_refusal"] == [["pending", 0]] * 2  # not trained, not charged
    assert seen["counts"]["done"] == 2
    assert seen["codes"] == [driver, driver]  # stored with what trained them
    assert all(not w.endswith(f":{seen['pid']}") for w in seen["workers"])  # Ray's workers
