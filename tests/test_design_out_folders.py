"""What `cnnlab design` writes where: never into a folder that holds someone else's files.

A training run's folder given as a sweep's or a report's --out is refused, naming the
folder, what is in it and the fix, and left byte for byte as it was; so is a folder a
refused --resume names. An earlier report may be replaced, an earlier sweep reopened.
Options that can be checked up front (the executor) are, before anything is created.

Nothing here trains: sweeps are made and filled in through the store.
"""

from __future__ import annotations

import json

import pytest
from design_helpers import shaped_spec, tiny_spec
from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design.report import analyze
from cnnlab.design.runner import create_sweep
from cnnlab.design.store import SweepError, TrialStore

TINY = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
        "--threads", "1", "--n", "1", "--train-subset", "64", "--device", "cpu"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # A clear error is an exit, never an exception escaping the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def training_run(folder):
    """A folder laid out as `cnnlab train` leaves one (its own report.html, summary.json)."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "last.pt").write_bytes(b"weights")
    (folder / "config.yaml").write_text("model: lenet_d2l\n")
    (folder / "report.html").write_text("<html>the run's own report</html>")
    (folder / "summary.json").write_text('{"final_test_acc": 0.91}')
    return folder


def snapshot(folder) -> dict:
    """Every file and folder under ``folder``, with its bytes: what must not change."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in folder.rglob("*")}


def finished_sweep(folder):
    with TrialStore(folder, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
        for i, e in enumerate((10.0, 20.0, 30.0)):
            store.record(i, "done", error_pct=e, test_acc=1 - e / 100, train_time_s=1.0)
    return folder


# ---------------------------------------------------------------- analyze --out


def test_analyze_refuses_a_training_runs_folder_and_leaves_it_as_it_was(tmp_path):
    sweep = finished_sweep(tmp_path / "sweep")
    run = training_run(tmp_path / "runs" / "base")
    before = snapshot(run)
    result = invoke("analyze", sweep, "--out", run)
    words = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert str(run) in words and "config.yaml" in words and "report.html" in words
    assert "another --out" in words
    assert snapshot(run) == before
    with pytest.raises(SweepError, match="not an earlier design analysis"):
        analyze([sweep], run)  # the library refuses it too
    assert snapshot(run) == before


def test_analyze_replaces_its_own_earlier_report(tmp_path):
    sweep = finished_sweep(tmp_path / "sweep")
    assert invoke("analyze", sweep).exit_code == 0  # the default, DIR/analysis
    again = invoke("analyze", sweep)  # run again after more trials finished: replaced
    assert again.exit_code == 0, again.output
    written = json.loads((sweep / "analysis" / "summary.json").read_text())
    assert written["format"] == "cnnlab design analysis" and written["spaces"][0]["done"] == 3
    (tmp_path / "empty").mkdir()
    assert invoke("analyze", sweep, "--out", tmp_path / "empty").exit_code == 0


def test_a_report_written_before_the_marker_is_still_replaced(tmp_path):
    sweep = finished_sweep(tmp_path / "sweep")
    analyze([sweep], tmp_path / "old")
    path = tmp_path / "old" / "summary.json"
    written = json.loads(path.read_text())
    del written["format"]  # as older cnnlab wrote it
    path.write_text(json.dumps(written))
    assert invoke("analyze", sweep, "--out", tmp_path / "old").exit_code == 0
    # ... but not once other files sit beside it: the folder is no longer only a report.
    path.write_text(json.dumps(written))
    (tmp_path / "old" / "notes.txt").write_text("mine")
    result = invoke("analyze", sweep, "--out", tmp_path / "old")
    assert result.exit_code == 2 and "notes.txt" in result.output


# ---------------------------------------------------------------- run --executor


@pytest.mark.parametrize("options, words", [
    (["--executor", "rayy"], ["'rayy'", "local or ray"]),
    (["--address", "head:6379"], ["--address", "--executor ray"]),
])
def test_a_bad_executor_is_refused_before_anything_is_created(tmp_path, options, words):
    out = tmp_path / "s8"
    result = invoke("run", *TINY, *options, "--out", out)
    assert result.exit_code == 2, result.output
    assert all(w in result.output for w in words), result.output
    assert "sweep " not in result.output  # no header: no sweep was reported
    assert not out.exists()


def test_a_bad_executor_leaves_a_sweep_it_would_resume_unchanged(tmp_path):
    create_sweep(tmp_path / "s", tiny_spec(), 1)
    before = snapshot(tmp_path / "s")
    result = invoke("run", "--resume", tmp_path / "s", "-n", "3", "--executor", "rayy")
    assert result.exit_code == 2 and "'rayy'" in result.output
    assert snapshot(tmp_path / "s") == before  # not extended to 3 trials


# ---------------------------------------------------------------- run --out / --resume


def test_a_new_sweep_is_refused_in_a_training_runs_folder(tmp_path):
    run = training_run(tmp_path / "runs" / "base")
    before = snapshot(run)
    result = invoke("run", *TINY, "--out", run)
    words = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert str(run) in words and "config.yaml" in words and "not a design sweep" in words
    assert "another --out" in words
    assert snapshot(run) == before  # neither trials.sqlite nor .lock
    with pytest.raises(SweepError, match="already holds other files"):
        create_sweep(run, tiny_spec(), 1)
    assert snapshot(run) == before


def test_a_temporary_file_a_killed_creation_left_does_not_block_the_folder(tmp_path):
    # The store is made under a hidden temporary name first; a kill in those milliseconds
    # leaves it behind, and it is no one's: the folder still takes a sweep, or a report.
    out = tmp_path / "sweep"
    out.mkdir()
    (out / ".trials.sqlite.k1ll3d.tmp").write_bytes(b"")
    assert create_sweep(out, tiny_spec(), 1)["pending"] == 1
    report = tmp_path / "report"
    report.mkdir()
    (report / ".summary.json.x9.tmp").write_text("{")
    with TrialStore(out) as store:  # an analysis needs a finished trial
        store.record(0, "done", error_pct=50.0, test_acc=0.5, train_time_s=1.0)
    analyze([out], report)
    assert (report / "report.html").exists()


@pytest.mark.parametrize("kind", ["empty", "training run"])
def test_a_refused_resume_leaves_the_folder_as_it_was(tmp_path, kind):
    folder = tmp_path / "d"
    folder.mkdir()
    if kind == "training run":
        training_run(folder)
    before = snapshot(folder)
    result = invoke("run", "--resume", folder)
    assert result.exit_code == 2 and "not a design sweep" in result.output, result.output
    assert snapshot(folder) == before  # no .lock left behind


def test_ray_missing_is_named_before_anything_is_created(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    result = invoke("run", *TINY, "--executor", "ray", "--out", tmp_path / "s")
    assert result.exit_code == 1 and "pip install 'cnnlab[ray]'" in result.output
    assert not (tmp_path / "s").exists()
