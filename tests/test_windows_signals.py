"""Windows' ways of stopping a program, recreated on Linux: Ctrl-Break (SIGBREAK, which
Linux lacks: SIGUSR1 stands in for it) and console Ctrl-C reaching spawned workers."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from cnnlab import interrupts


def _deliver(sig: signal.Signals) -> None:
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the handler runs at the next bytecode boundary
        time.sleep(0.01)


def test_ctrl_break_stops_a_sweep_as_sigterm_does(monkeypatch):
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    heard = []  # in place of Windows' default, which ends the process (as SIGUSR1's would)
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: heard.append(signum))
    put_back = interrupts.sigterm_as_interrupt()
    try:
        with pytest.raises(interrupts.Terminated) as stopped:
            _deliver(signal.SIGUSR1)  # Windows: Ctrl-Break, or CTRL_BREAK_EVENT sent
        assert interrupts.interrupted_status(stopped.value) == 143
    finally:
        put_back()
        restored = signal.signal(signal.SIGUSR1, before)
    assert restored is not interrupts._raise_interrupt  # handlers back as they were
    assert not heard
    assert signal.getsignal(signal.SIGTERM) != interrupts._raise_interrupt


def test_no_sigbreak_where_the_platform_has_none(monkeypatch):
    monkeypatch.delattr(signal, "SIGBREAK", raising=False)
    assert interrupts.termination_signals() == [signal.SIGTERM]


def test_sweep_workers_ignore_ctrl_c_on_windows(monkeypatch):
    # POSIX workers inherit SIGINT ignored from the driver (_children_ignore_sigint); a
    # Windows child does not, so the worker's initializer must ignore it itself.
    import torch

    from cnnlab.design import executors

    monkeypatch.setattr(sys, "platform", "win32")
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    threads = torch.get_num_threads()
    try:
        executors._init_worker(threads, None)  # as a spawned worker runs it, first
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
        torch.set_num_threads(threads)
