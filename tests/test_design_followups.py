"""Session 28's follow-ups in `cnnlab design`: the help names a sweep's folder SWEEP;
the error-against-MACs plot is labelled at both ends of a narrow band; the report says
which code trained the trials; `analyze` of sweeps with no finished trial exits 1 writing
nothing; `status` without locks says it cannot tell whether the sweep is being trained."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest
from design_helpers import shaped_spec
from typer.testing import CliRunner

import cnnlab.design.report as report
from cnnlab.cli import app as cnnlab_app
from cnnlab.design.store import TrialStore


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cnnlab_app, ["design", *command, "--help"],
                                env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_help_names_the_sweep_folder_as_its_default_report_folder_does():
    # "Usage: ... analyze [OPTIONS] DIRECTORY..." beside "(default: DIR/analysis ...)":
    # which DIR? --out's own placeholder is DIR, the report folder itself.
    analyze = " ".join(help_of("analyze").split())  # wherever the lines break
    assert "[OPTIONS] SWEEP..." in analyze and "SWEEP/analysis for one sweep" in analyze
    assert "DIRECTORY" not in analyze and "DIR/analysis" not in analyze
    status = help_of("status")
    assert "[OPTIONS] SWEEP" in status and "DIRECTORY" not in status


@pytest.mark.parametrize("low, high", [(4.52e6, 7.95e6), (2.4e6, 8e6), (5.0e6, 5.5e6),
                                       (3e5, 3e5), (1.07e6, 9.79e6)])
def test_a_narrow_bands_macs_axis_is_labelled_at_both_ends(tmp_path, monkeypatch, low, high):
    # Trials from 4.52M to 7.95M MACs were drawn above ticks 5M-8M: the leftmost points
    # had no label to be read against (the 1-9 x 10^k log ticks stop inside the axis).
    figures, save_figure = {}, report.save_figure
    monkeypatch.setattr(report, "save_figure",
                        lambda fig, path, **kw: figures.setdefault(path.name, fig)
                        and save_figure(fig, path, **kw))
    macs = np.geomspace(low, high, 5)
    rows = [{"error_pct": 80.0 + i, "macs": m} for i, m in enumerate(macs)]
    report.plot_error_vs_macs([report.SpaceResult("A", "a", {"space": "A"}, {}, rows)],
                              tmp_path / "error_vs_macs.png")
    ax = figures["error_vs_macs.png"].axes[0]
    left, right = ax.get_xlim()
    assert left < low and high < right  # every point inside, none on the frame
    shown = [t for t in ax.xaxis.get_majorticklocs() if left <= t <= right]
    labels = [ax.xaxis.get_major_formatter()(t) for t in shown]
    assert shown[0] == pytest.approx(left) and shown[-1] == pytest.approx(right), labels
    assert all(labels) and len(set(labels)) == len(labels) and 3 <= len(labels) <= 11, labels
    assert min(np.diff(np.log(shown))) >= 0.05 * np.log(right / left), labels  # not "9M10M"
    assert all(float(si_value(label)) == pytest.approx(t) for label, t in zip(labels, shown,
                                                                               strict=True))


def si_value(label: str) -> float:
    """'4.8M' as 4800000.0: the label says the tick's value exactly."""
    scale = {"K": 1e3, "M": 1e6, "G": 1e9}.get(label[-1], 1)
    return float(label.rstrip("KMG")) * scale


def code(sources: str, torch: str = "2.5.1+cpu") -> dict:
    return {"cnnlab": "0.1.0", "sources": sources * 16, "torch": torch,
            "path": f"/nodes/{sources}/cnnlab"}


def sweep_trained_with(folder, codes) -> Path:
    with TrialStore(folder, create=True) as store:
        store.init_sweep(shaped_spec(), len(codes))
        for i, c in enumerate(codes):
            store.record(i, "done", error_pct=30.0 + i, test_acc=0.7, train_time_s=1.0,
                         code=c)
    return folder


@pytest.mark.parametrize("codes, words", [
    ([code("aaaa")] * 3,
     "cnnlab 0.1.0 (sources aaaaaaaaaaaa), torch 2.5.1+cpu (all 3 done trials)"),
    ([code("aaaa"), code("bbbb"), code("aaaa"), None],
     "2 different codes: cnnlab 0.1.0 (sources aaaaaaaaaaaa), torch 2.5.1+cpu (2 trials); "
     "cnnlab 0.1.0 (sources bbbbbbbbbbbb), torch 2.5.1+cpu (1 trial); not recorded for 1 "
     "(trained before cnnlab recorded each trial's code)"),
    ([None, None], "not recorded (trained before cnnlab recorded each trial's code)"),
    ([code(s) for s in ("aaaa", "bbbb", "cccc", "dddd", "eeee")] + [code("aaaa")],
     "5 different codes: cnnlab 0.1.0 (sources aaaaaaaaaaaa), torch 2.5.1+cpu (2 trials); "
     "cnnlab 0.1.0 (sources bbbbbbbbbbbb), torch 2.5.1+cpu (1 trial); cnnlab 0.1.0 (sources "
     "cccccccccccc), torch 2.5.1+cpu (1 trial); 2 other codes (2 trials)"),
])
def test_the_report_says_which_code_trained_the_trials(tmp_path, codes, words):
    # Each trial stores its worker's code, but the report named only the versions of the
    # machine that created the sweep: a sweep resumed after an upgrade, or trained on a
    # Ray cluster, read as if one cnnlab had trained it all.
    summary = report.analyze(sweep_trained_with(tmp_path / "s", codes), tmp_path / "r",
                             resamples=50)
    assert summary["spaces"][0]["setup"]["trained with"] == words
    md = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    assert f"| trained with | {words} |" in md
    assert html.escape(words) in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def invoke(*args) -> object:
    from cnnlab.cli.design import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_analyze_with_no_finished_trial_exits_1_writing_nothing(tmp_path):
    # It wrote a full report saying "no finished trial" and exited 0: a script could not
    # tell it from an analysis.
    with TrialStore(tmp_path / "empty", create=True) as store:
        store.init_sweep(shaped_spec(), 3)
        store.mark_running(0)
        store.record(0, "failed", message="out of memory")
    result = invoke("analyze", tmp_path / "empty", "--resamples", "50")
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert (f"no trial has finished ({tmp_path / 'empty'}: 0 done, 1 failed, 2 pending, 0 "
            "running): nothing to analyse, and nothing was written to") in said
    assert f"cnnlab design run --resume {tmp_path / 'empty'} --retry-failed" in said
    assert not (tmp_path / "empty" / "analysis").exists()
    # A report already in --out (another sweep's) is left as it was.
    sweep_trained_with(tmp_path / "done", [code("aaaa")] * 2)
    assert invoke("analyze", tmp_path / "done", "--out", tmp_path / "r",
                  "--resamples", "50").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}
    assert invoke("analyze", tmp_path / "empty", "--out", tmp_path / "r").exit_code == 1
    assert {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()} == before
    # Beside a sweep with finished trials it is reported (its row says so), and warned of.
    both = invoke("analyze", tmp_path / "done", tmp_path / "empty", "--out", tmp_path / "r2",
                  "--resamples", "50")
    assert both.exit_code == 0 and (tmp_path / "r2" / "edf.png").is_file()
    assert (f"warning: {tmp_path / 'empty'} has no finished trial: the report counts its "
            "trials, and draws and compares the other sweeps") in " ".join(both.output.split())


@pytest.mark.parametrize("where", ["a mount without locks", "no flock (Windows)"])
def test_status_without_locks_does_not_claim_the_sweep_is_stopped(tmp_path, monkeypatch,
                                                                  where):
    # On NFS mounted nolock a driver takes no lock, so status saw none and said "not
    # running (2 left 'running' by a sweep that was stopped: none trains now)" of a sweep
    # being trained: a user told so may start a second driver, training trials twice.
    import errno
    import fcntl

    from cnnlab import file_lock
    from cnnlab.design.runner import sweep_lock

    folder = tmp_path / "s"
    with TrialStore(folder, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    with sweep_lock(folder):  # its lock file, as a driver leaves it
        pass
    with TrialStore(folder) as store:
        store.mark_running(0, "vm:101")
    if where == "no flock (Windows)":
        monkeypatch.setattr(file_lock, "fcntl", None)
    else:
        def no_locks(*args):
            raise OSError(errno.ENOLCK, "No locks available")

        monkeypatch.setattr(fcntl, "flock", no_locks)
    said = " ".join(invoke("status", folder).output.split())
    assert "not running" not in said and "stopped: none trains now" not in said, said
    assert "cannot tell whether a `cnnlab design run` trains it now: no " in said, said
    assert ("so a driver holds none" in said and "; 1 'running' may be training now, or left "
            "so by a sweep that was stopped. If none does, finish it with: cnnlab design run "
            f"--resume {folder}") in said, said
    monkeypatch.undo()  # with locks: none held, so it is known to be stopped
    said = " ".join(invoke("status", folder).output.split())
    assert "not running (1 left 'running' by a sweep that was stopped: none trains now)" in said


def test_status_says_a_lock_file_it_cannot_read_is_unreadable_not_a_mount_without_locks(
        tmp_path, monkeypatch):
    # A lock file this user may not open was said to be "a mount without locks".
    import builtins

    from cnnlab.design.runner import LOCK_NAME, driver_unknown, sweep_lock

    folder = tmp_path / "s"
    with TrialStore(folder, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    with sweep_lock(folder):
        pass
    real_open = builtins.open

    def no_reading(path, *args, **kwargs):
        if str(path).endswith(LOCK_NAME):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_reading)
    said = driver_unknown(folder)
    assert said.startswith("its lock file ") and "cannot be read" in said, said
    assert "without locks" not in said
