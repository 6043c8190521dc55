"""A sweep run from Python (run_sweep in a notebook or script) that cannot use Ray is told
the argument to change, not the command line's flag its caller never typed: "or use
executor='local'", "leave out address=". The command line keeps its flags."""

from __future__ import annotations

import socket
import sys

import pytest

from cnnlab.design.executors import LocalExecutor, _check_reachable, check_executor
from cnnlab.design.ray_nodes import join_failed, ray_missing, unfit_reason
from cnnlab.design.runner import SweepError


@pytest.fixture
def from_python(monkeypatch):
    monkeypatch.delitem(sys.modules, "cnnlab.cli", raising=False)  # loaded by the CLI alone
    monkeypatch.setattr(sys, "argv", ["/home/me/sweep_it.py"])


def _unreachable_port() -> tuple[socket.socket, int]:
    s = socket.socket()  # bound and not listening: nothing answers, none can take it
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def test_ray_missing_names_the_executor_argument_from_python(from_python):
    assert ray_missing().endswith("or use executor='local'")
    assert "--executor" not in ray_missing()


def test_an_unreachable_address_from_python_says_leave_out_the_argument(from_python):
    s, port = _unreachable_port()
    with s, pytest.raises(SweepError, match=r"Or leave out address= \(run_sweep's\) to start "
                                            "Ray here"):
        _check_reachable(f"127.0.0.1:{port}", timeout_s=2)
    said = join_failed("auto", "--address", ConnectionError("no cluster"))
    assert "leave out address= (run_sweep's)" in said and "--address" not in said


def test_the_command_line_keeps_its_flags(monkeypatch):
    monkeypatch.setitem(sys.modules, "cnnlab.cli", sys.modules.get("cnnlab.cli", object()))
    assert ray_missing().endswith("or use --executor local")
    s, port = _unreachable_port()
    with s, pytest.raises(SweepError, match="Or leave out --address to start Ray here"):
        _check_reachable(f"127.0.0.1:{port}", timeout_s=2)
    assert "unset RAY_ADDRESS" in join_failed("auto", "RAY_ADDRESS", ConnectionError("x"))


def test_other_executor_settings_are_named_as_arguments_from_python(from_python):
    with pytest.raises(SweepError, match=r"unknown executor 'slurm'; choose "
                                         r"executor='local' or 'ray'$"):
        check_executor("slurm")
    with pytest.raises(SweepError, match=r"^address= names a Ray cluster: use it with "
                                         r"executor='ray'$"):
        check_executor("local", address="head:6379")
    with pytest.raises(SweepError, match="^workers must be >= 1, got -1"):
        LocalExecutor(workers=-1)
    node = [{"Alive": True, "Resources": {"CPU": 2.0}}]
    assert unfit_reason(node, 4, 0) == ("a trial asks for 4 CPUs (threads=4), but the largest "
                                        "alive node of the Ray cluster has 2 CPUs: give "
                                        "threads=2 or less")


def test_a_gpu_trial_no_node_holds_is_told_how_to_move_the_sweep_from_python(from_python):
    gpu_node = [{"Alive": True, "Resources": {"CPU": 2.0, "GPU": 1.0}}]
    said = unfit_reason(gpu_node, 4, 1)
    assert said.endswith("give threads=2 or less, or the CPU (cnnlab design run --resume DIR "
                         "--device cpu moves the sweep there)")
