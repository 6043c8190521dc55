"""`design status` names the driver of a sweep that another process trains: a real lock
holder (another Python process in `sweep_lock`, as `cnnlab design run` is), not a lock
taken on a second descriptor of this one.

Mutation testing (session 38, mutant L05: `sweep_driver` always None) found no test
with the driver in another process; a sweep being trained was then said to be stopped,
with the command to "finish" it, which a second driver would refuse.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from design_helpers import tiny_spec
from test_design_followups import invoke

from cnnlab import file_lock
from cnnlab.design import runner

pytestmark = pytest.mark.skipif(file_lock.fcntl is None, reason="POSIX file locks")

_DRIVER = textwrap.dedent("""
    import sys
    from cnnlab.design.sweep_lock import sweep_lock
    from cnnlab.design.trial import worker_name

    with sweep_lock(sys.argv[1]):
        print(worker_name(), flush=True)  # held: the test may look now
        sys.stdin.read()  # until the test closes our stdin
""")


def test_status_names_a_driver_in_another_process_and_not_once_it_ends(tmp_path):
    runner.create_sweep(tmp_path, tiny_spec(), 2)
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              encoding="utf-8")
    try:
        name = driver.stdout.readline().strip()
        assert name.endswith(f":{driver.pid}"), name  # host:pid, the driver's own
        assert runner.sweep_driver(tmp_path) == name
        said = " ".join(invoke("status", tmp_path).output.split())
        assert f"being trained by {name}" in said and "finish it with" not in said
    finally:
        driver.stdin.close()
        driver.wait(timeout=60)
    assert driver.returncode == 0
    assert runner.sweep_driver(tmp_path) is None  # released with its process
    said = " ".join(invoke("status", tmp_path).output.split())
    assert "not running; finish it with: cnnlab design run --resume" in said
