"""A sweep run from Python (run_sweep in a notebook or script) that cannot use Ray is told
the argument to change, not the command line's flag its caller never typed: "or use
executor='local'", "leave out address=". The command line keeps its flags."""

from __future__ import annotations

import socket
import sys

import pytest

from cnnlab.design.executors import _check_reachable, ray_missing
from cnnlab.design.ray_nodes import join_failed
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
