"""Sweeps stopped, raced and resumed: a second `cnnlab design run` into the same folder,
a driver killed outright, the report's best networks across spaces.

Trains nothing: trials are stored by hand or the sweep is refused before training.
"""

from __future__ import annotations

import fcntl

from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design import runner
from cnnlab.design.store import DB_NAME, SweepError, TrialStore

COMMON = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
          "--threads", "1", "--set", "batch_size=32", "--set", "eval_subset=64", "--n", "2",
          "--train-subset", "64", "--device", "cpu"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_a_second_run_refused_by_the_first_leaves_the_first_ones_new_sweep_alone(
        tmp_path, monkeypatch):
    """Two `design run --out DIR` started together into a new folder: both see no sweep,
    one creates it, the other reopens it, and the one that then loses the lock was
    refused ... and removed the sweep as its own untrained one, from under the driver
    training it (which then failed: 'attempt to write a readonly database')."""
    out = tmp_path / "sweep"
    held = []
    real_create = runner.create_sweep

    def created_then_taken(directory, spec, n):  # the other driver locks it first
        counts = real_create(directory, spec, n)
        handle = open(out / runner.LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("otherhost:99\n")
        handle.flush()
        held.append(handle)
        return counts

    monkeypatch.setattr(runner, "create_sweep", created_then_taken)
    try:
        result = invoke("run", *COMMON, "--out", out)
        assert result.exit_code == 1 and "being trained by otherhost:99" in result.output
        assert (out / DB_NAME).is_file() and (out / runner.LOCK_NAME).is_file()
    finally:
        for handle in held:
            handle.close()
    with TrialStore(out) as store:  # whole, and the other driver's to train
        assert store.count("pending") == 2


def test_the_best_networks_table_is_ranked_over_every_space(tmp_path):
    """"Best networks (lowest error first)" listed each space's best in turn: the second
    space's 20% network came below the first's 40%. Now one ranking, each row's space
    named; the summary keeps each space's own list."""
    from design_helpers import shaped_spec

    from cnnlab.design.report import analyze

    def sweep(folder, errors):
        with TrialStore(folder, create=True) as store:
            store.init_sweep(shaped_spec(), len(errors))
            for i, e in enumerate(errors):
                store.mark_running(i)
                store.record(i, "done", error_pct=e, test_acc=1 - e / 100, train_time_s=1.0)
        return folder

    a = sweep(tmp_path / "a", [30.0, 40.0, 25.0])
    b = sweep(tmp_path / "b", [20.0, 35.0, 25.0])
    summary = analyze([a, b], tmp_path / "r", resamples=50)
    assert [t["error_pct"] for t in summary["spaces"][0]["best_trials"]] == [25.0, 30.0, 40.0]
    md = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    table = md.split("## Best networks (lowest error first)\n")[1].split("\n\n")[0]
    rows = [line.split(" | ")[:3] for line in table.splitlines()[2:]]
    assert rows == [["| anynetx_b (b)", "0", "20.0"], ["| anynetx_b (a)", "2", "25.0"],
                    ["| anynetx_b (b)", "2", "25.0"], ["| anynetx_b (a)", "0", "30.0"],
                    ["| anynetx_b (b)", "1", "35.0"], ["| anynetx_b (a)", "1", "40.0"]]
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    best = page.split("Best networks")[1]
    assert best.index("20.0") < best.index("25.0") < best.index("40.0")


def _sweep_killed_mid_trial(directory) -> None:
    """A sweep as `kill -9` leaves its driver: trial 0 done, trial 1 'running', no driver."""
    from design_helpers import tiny_spec

    runner.create_sweep(directory, tiny_spec(), 3)
    with TrialStore(directory) as store:
        store.mark_running(0, "local x1")
        store.record(0, "done", error_pct=50.0, test_acc=0.5, train_time_s=1.0)
        store.mark_running(1, "local x1")
    (directory / runner.LOCK_NAME).write_text("vm:4242\n", encoding="utf-8")  # not held


def test_status_tells_a_stopped_sweep_from_one_in_progress(tmp_path):
    """A killed sweep's trial still reads 'running': `design status` said "1 running" as if
    it trained, and nothing of how to finish it."""
    _sweep_killed_mid_trial(tmp_path)
    said = " ".join(invoke("status", tmp_path).output.split())
    assert "1 pending, 1 running, 1 done" in said
    assert ("not running (1 left 'running' by a sweep that was stopped: none trains now); "
            f"finish it with: cnnlab design run --resume {tmp_path}") in said
    with open(tmp_path / runner.LOCK_NAME, "a+", encoding="utf-8") as held:  # a driver's
        fcntl.flock(held, fcntl.LOCK_EX)
        said = " ".join(invoke("status", tmp_path).output.split())
    assert "being trained by vm:4242" in said and "--resume" not in said
    assert runner.sweep_driver(tmp_path) is None  # released


def test_a_smaller_n_than_the_sweep_plans_is_said_not_ignored(tmp_path, monkeypatch):
    """`--resume DIR --n 2` on a sweep of 3 trained all 3, saying nothing of the 2."""
    _sweep_killed_mid_trial(tmp_path)
    monkeypatch.setattr(runner, "run_sweep", lambda *a, **k: {"done": 3, "failed": 0})
    for args in (["--resume", tmp_path], [*COMMON[:-6], "--train-subset", "64", "--device",
                                          "cpu", "--out", tmp_path]):
        result = invoke("run", *args, "--n", "2")
        said = " ".join(result.output.split())
        assert result.exit_code == 0, said
        assert (f"warning: --n 2 is below the 3 trials {tmp_path} already plans: a sweep does "
                "not shrink, all 3 train (stop it with Ctrl-C; finished trials are kept)"
                ) in said
    with TrialStore(tmp_path) as store:
        assert store.count() == 3


def test_reopening_names_the_recipe_field_that_differs_and_takes_a_default_given(tmp_path):
    """Reopened with another recipe, the error showed both whole recipes ("train: stored
    {'epochs': 1, 'batch_size': 32, ...}, asked {...}"); and a default given outright
    (--lr 0.05 on a sweep made without --lr: its trials trained with 0.05) was another
    sweep."""
    from dataclasses import replace

    import pytest
    from design_helpers import tiny_spec

    spec = tiny_spec()
    runner.create_sweep(tmp_path, spec, 1)
    with pytest.raises(SweepError) as refused:
        runner.create_sweep(tmp_path, replace(spec, train={**spec.train, "epochs": 3}), 1)
    assert "(train epochs: stored 1, asked 3);" in str(refused.value)
    same = replace(spec, train={**spec.train, "lr": 0.05, "momentum": 0.9})
    assert runner.create_sweep(tmp_path, same, 1)["pending"] == 1


def test_a_sweep_whose_every_trial_failed_is_not_sent_to_be_analysed(tmp_path, monkeypatch):
    """"0 done, 2 failed. Analyse with: cnnlab design analyze DIR", then "nothing to
    analyse": the first line sent the user to a report with nothing in it."""
    _sweep_killed_mid_trial(tmp_path)
    monkeypatch.setattr(runner, "run_sweep", lambda *a, **k: {"done": 0, "failed": 3})
    result = invoke("run", "--resume", tmp_path)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "0 done, 3 failed." in said
    assert "Analyse with" not in said and "nothing to analyse" in said
    assert f"cnnlab design run --resume {tmp_path} --retry-failed" in said


def test_an_analysis_stopped_while_drawing_leaves_the_earlier_report_whole(
        tmp_path, monkeypatch):
    """Ctrl-C while the figures were drawn left the new summary.md/json beside the earlier
    analysis's figures and report.html (older numbers, unsaid), and printed nothing."""
    import json

    from design_helpers import shaped_spec

    import cnnlab.design.report as report

    with TrialStore(tmp_path / "s", create=True) as store:
        store.init_sweep(shaped_spec(), 4)
        for i in range(3):
            store.mark_running(i)
            store.record(i, "done", error_pct=30.0 + i, test_acc=0.7, train_time_s=1.0)
    out = tmp_path / "r"
    report.analyze(tmp_path / "s", out, resamples=50)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with TrialStore(tmp_path / "s") as store:  # one more trial finishes
        store.mark_running(3)
        store.record(3, "done", error_pct=10.0, test_acc=0.9, train_time_s=1.0)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "plot_error_vs_macs", stopped)
    result = invoke("analyze", tmp_path / "s", "--out", out, "--resamples", "50")
    assert result.exit_code == 130
    assert "interrupted: nothing written to" in " ".join(result.output.split())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging left
    monkeypatch.undo()
    summary = report.analyze(tmp_path / "s", out, resamples=50)
    assert summary["spaces"][0]["done"] == 4 and len(summary["files"]) == 5
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["spaces"][0][
        "best_error"] == 10.0


def _takes_sigterm_and_sleeps(marker: str) -> None:
    """In a worker process: as a trial whose Trainer takes the SIGTERM meant to end it."""
    import pathlib
    import signal
    import time

    signal.signal(signal.SIGTERM, lambda *_: None)
    pathlib.Path(marker).write_text("started", encoding="utf-8")
    time.sleep(120)


def test_stopping_the_workers_ends_one_that_took_the_sigterm(tmp_path, monkeypatch):
    """Stopped (Ctrl-C, SIGTERM), a sweep terminated its workers; one whose Trainer took
    that SIGTERM lived on, and the sweep hung at exit joining it, after saying
    "interrupted"."""
    import time

    from cnnlab.design.executors import LocalExecutor

    monkeypatch.setattr(LocalExecutor, "grace_s", 1.0, raising=False)
    pool = LocalExecutor(workers=2, threads=1, device="cpu")
    pool._pool = pool._start()
    marker = tmp_path / "started"
    pool._pool.submit(_takes_sigterm_and_sleeps, str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists()
    processes = list(pool._pool._processes.values())
    pool.close(cancel=True)
    # Polled: the pool's own thread reaps its processes too, and a Process read by two
    # threads at once can still say alive for a moment (its sleep has 2 minutes to go).
    deadline = time.monotonic() + 10
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(p.is_alive() for p in processes)


def test_sigterm_stops_a_sweep_as_ctrl_c_does(tmp_path, monkeypatch):
    """`kill`/`timeout` ended a driver waiting on worker processes outright: its trials
    left 'running' and charged an attempt, nothing said."""
    import signal

    import pytest
    from design_helpers import TermedPool, shaped_spec

    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: TermedPool())
    monkeypatch.setattr(runner, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    got = []
    previous = signal.signal(signal.SIGTERM, lambda *a: got.append("caller's"))  # not death
    try:
        with pytest.raises(runner.SweepInterrupted, match=(
                r"^sweep stopped with 0 of 3 trials finished \(0 done, 0 failed\), all "
                "stored. Continue with: cnnlab design run --resume")):
            runner.run_sweep(tmp_path)
        from cnnlab import interrupts

        assert signal.getsignal(signal.SIGTERM) is not interrupts._raise_interrupt  # put back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not got
    with TrialStore(tmp_path) as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 3


def test_worker_processes_leave_ctrl_c_to_the_sweep(tmp_path):
    """A terminal's Ctrl-C reaches every process of a sweep: workers still importing torch
    (or idle between trials) each printed a KeyboardInterrupt traceback under the sweep's
    "interrupted" line. They start with SIGINT ignored; the driver stops them."""
    import pathlib
    import signal

    import pytest

    from cnnlab.design.executors import LocalExecutor

    if not pathlib.Path("/proc/self/status").exists():
        pytest.skip("reads a process's signal dispositions from Linux's /proc")
    pool = LocalExecutor(workers=2, threads=1, device="cpu")
    before = signal.getsignal(signal.SIGINT)
    try:
        handle = pool.submit({"id": 0, "threads": 1, "train": {"model": "no_such_model"},
                              "data": {"data": "synthetic", "data_root": None,
                                       "train_subset": 16}})
        assert signal.getsignal(signal.SIGINT) is before  # the driver's own is kept
        assert pool.wait([handle])[0][1]["status"] == "failed"
        for process in pool._pool._processes.values():
            status = pathlib.Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
            ignored = int(status.split("SigIgn:")[1].split()[0], 16)
            assert ignored & (1 << (signal.SIGINT - 1)), status
    finally:
        pool.close(cancel=True)


def test_a_ctrl_c_among_an_analysis_renames_leaves_its_report_whole(tmp_path, monkeypatch,
                                                                    pythons_ctrl_c):
    # The files were moved in one by one: a Ctrl-C among the renames left some new
    # files beside some of the earlier report's, while the command said nothing was written.
    import os
    import signal

    import pytest
    from design_helpers import shaped_spec

    import cnnlab.design.report as report

    with TrialStore(tmp_path / "s", create=True) as store:
        store.init_sweep(shaped_spec(), 3)
        for i in range(3):
            store.mark_running(i)
            store.record(i, "done", error_pct=30.0 + i, test_acc=0.7, train_time_s=1.0)
    out, renames = tmp_path / "r", []

    replace = os.replace

    def ctrl_c_at_the_first(source, target):
        if os.path.dirname(target) == str(out):  # a move in, not an atomic write's
            if not renames:
                signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # as Python takes it
            renames.append(target)
        replace(source, target)

    monkeypatch.setattr(os, "replace", ctrl_c_at_the_first)
    try:
        report.analyze(tmp_path / "s", out, resamples=50)
    except report.InterruptedAfterWriting:  # the Ctrl-C, once every file was moved in
        pass
    except KeyboardInterrupt:  # failed here, not the whole test session stopped
        pytest.fail(f"the Ctrl-C stopped the moves: {sorted(p.name for p in out.iterdir())}")
    else:
        pytest.fail("the Ctrl-C was lost")
    assert len(renames) == 5
    assert {p.name for p in out.iterdir()} == set(report.REPORT_FILES)
