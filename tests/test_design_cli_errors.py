"""`cnnlab design` refuses bad input with a clear error, before creating or changing
anything: unusable devices, fields a sweep sets itself, empty sweeps, files where
folders belong, damaged stores. A sweep whose trials failed on a bad device can be
moved to another one and its failed trials retried.

Only one test trains (one tiny AnyNet, one epoch on 64 synthetic images).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design.runner import create_sweep, fill_input_shape, run_sweep
from cnnlab.design.store import SweepError, SweepSpec, TrialStore

COMMON = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
          "--threads", "1", "--set", "batch_size=32", "--set", "eval_subset=64"]
TINY = [*COMMON, "--n", "1", "--train-subset", "64"]


def invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # A clear error is an exit, never an exception escaping the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_an_unknown_device_is_refused_before_anything_is_created(tmp_path):
    out = tmp_path / "sx8"
    result = invoke("run", *TINY, "--device", "nosuch", "--out", out)
    assert result.exit_code == 2 and "'nosuch'" in result.output and "--device" in result.output
    assert not out.exists()


def test_a_missing_gpu_is_refused_before_anything_is_created(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a CPU machine
    result = invoke("run", *TINY, "--device", "cuda", "--out", tmp_path / "s")
    assert result.exit_code == 2 and "'cuda'" in result.output and "--device" in result.output
    assert "no CUDA GPU" in " ".join(result.output.split()) and not (tmp_path / "s").exists()


def _sweep_on_a_bad_device(directory, failed: bool = True) -> None:
    """A sweep as the old code left it: created with --device nosuch, its trial failed."""
    spec = SweepSpec(space="anynetx_a", macs=(1e5, 1e6), data="synthetic", train_subset=64,
                     train={"epochs": 1, "batch_size": 32, "eval_subset": 64,
                            "device": "nosuch"})
    with TrialStore(directory, create=True) as store:
        store.init_sweep(fill_input_shape(spec), 1)
        if failed:
            store.mark_running(0)
            store.record(0, "failed", message="RuntimeError: Expected one of cpu, cuda ...")


def test_run_sweep_refuses_a_bad_device_instead_of_failing_every_trial(tmp_path):
    _sweep_on_a_bad_device(tmp_path, failed=False)
    with pytest.raises(SweepError, match="'nosuch'"):
        run_sweep(tmp_path)
    with TrialStore(tmp_path) as store:
        assert store.counts()["pending"] == 1


def test_resume_moves_a_sweep_to_another_device_and_retries_failed_trials(tmp_path):
    out = tmp_path / "sx8"
    _sweep_on_a_bad_device(out)
    result = invoke("run", "--resume", out)
    assert result.exit_code == 2 and "'nosuch'" in result.output and "--device" in result.output
    result = invoke("run", "--resume", out, "--device", "cpu", "--threads", "1")
    # Its one trial is still the failed one (1: nothing to analyse yet).
    assert result.exit_code == 1, result.output
    assert "--retry-failed" in result.output  # the failed trial is kept, and it says how
    with TrialStore(out) as store:
        assert store.trial(0)["status"] == "failed"
        assert store.spec().train["device"] == "cpu"  # the rest of the sweep runs there
    result = invoke("run", "--resume", out, "--retry-failed", "--threads", "1")
    assert result.exit_code == 0, result.output
    with TrialStore(out) as store:
        row = store.trial(0)
    assert row["status"] == "done" and row["message"] is None and row["error_pct"] >= 0


@pytest.mark.parametrize("field, hint", [("seed", "--seed"), ("model", "--space"),
                                         ("model_overrides", "--space"), ("data", "--data")])
def test_fields_the_sweep_sets_itself_are_refused(tmp_path, field, hint):
    value = "{}" if field == "model_overrides" else "5"
    result = invoke("run", *TINY, "--device", "cpu", "--set", f"{field}={value}",
                    "--out", tmp_path / "s")
    assert result.exit_code == 2 and field in result.output and hint in result.output
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("option, value", [("--n", "0"), ("--train-subset", "0"),
                                           ("--train-subset", "-5")])
def test_empty_sweeps_and_subsets_are_refused(tmp_path, option, value):
    result = invoke("run", *COMMON, "--device", "cpu", option, value, "--out", tmp_path / "s")
    assert result.exit_code == 2 and option in result.output
    assert not (tmp_path / "s").exists()


def test_the_library_refuses_an_empty_training_subset(tmp_path):
    spec = SweepSpec(space="anynetx_a", data="synthetic", train_subset=0)
    with pytest.raises(SweepError, match="train_subset"):
        create_sweep(tmp_path / "s", spec, 1)
    assert not (tmp_path / "s").exists()


def test_a_file_where_a_sweep_folder_belongs_is_named(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("notes")
    result = invoke("analyze", afile)
    assert result.exit_code == 2 and "afile" in result.output and "not a folder" in result.output
    result = invoke("run", *TINY, "--device", "cpu", "--out", afile)
    assert result.exit_code == 2 and "afile" in result.output and "not a folder" in result.output
    assert afile.read_text() == "notes"


def test_analyze_to_a_file_is_refused(tmp_path):
    with TrialStore(tmp_path / "s", create=True) as store:
        store.init_sweep(SweepSpec(space="anynetx_a", data="synthetic", image_size=28,
                                   in_channels=1, num_classes=10), 1)
    report = tmp_path / "report"
    report.write_text("keep me")
    result = invoke("analyze", tmp_path / "s", "--out", report)
    assert result.exit_code == 2 and "report" in result.output and "--out" in result.output
    assert report.read_text() == "keep me"


def test_analyze_refuses_one_sweep_named_twice(tmp_path):
    # It was compared with itself (D = 0) and reported as a pair.
    with TrialStore(tmp_path / "s", create=True) as store:
        store.init_sweep(SweepSpec(space="anynetx_a", data="synthetic", image_size=28,
                                   in_channels=1, num_classes=10), 1)
    result = invoke("analyze", tmp_path / "s", f"{tmp_path}/s/", "--out", tmp_path / "r")
    assert result.exit_code == 2 and "is named more than once" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("option", ["--bins", "--resamples"])
def test_analyze_refuses_zero_bins_and_resamples(tmp_path, option):
    result = invoke("analyze", tmp_path, option, "0")
    assert result.exit_code == 2 and option in result.output


@pytest.mark.parametrize("n", ["0", "-3"])
def test_sample_refuses_drawing_no_networks(n):
    result = invoke("sample", "--space", "anynetx_a", "--n", n)
    assert result.exit_code == 2 and "--n" in result.output


def test_a_damaged_store_is_named_and_left_alone(tmp_path):
    db = tmp_path / "trials.sqlite"
    junk = b"not a database at all " * 100
    db.write_bytes(junk)
    for args in (["status", tmp_path], ["analyze", tmp_path], ["run", "--resume", tmp_path]):
        result = invoke(*args)
        assert result.exit_code == 1 and "trials.sqlite" in result.output, args
        assert "damaged" in result.output
    assert db.read_bytes() == junk


@pytest.mark.parametrize("damage, what", [
    ("UPDATE meta SET value = json_set(value, '$.evil', 1) WHERE key = 'spec'", "sweep spec"),
    ("UPDATE meta SET value = json_set(value, '$.macs', 5) WHERE key = 'spec'", "sweep spec"),
    ("UPDATE meta SET value = '\"lots\"' WHERE key = 'n'", "number of trials"),
    ("UPDATE trials SET config = 'not json' WHERE id = 0", "trial 0's config"),
])
def test_a_store_holding_what_no_sweep_writes_is_named_not_a_traceback(tmp_path, damage,
                                                                        what):
    # A crafted or hand-edited trials.sqlite had given a TypeError or JSONDecodeError.
    import sqlite3

    create_sweep(tmp_path / "s", SweepSpec(space="anynetx_a", macs=(1e5, 1e6),
                                           data="synthetic", train={"epochs": 1}), 2)
    with sqlite3.connect(tmp_path / "s" / "trials.sqlite") as db:
        db.execute(damage)
    with TrialStore(tmp_path / "s") as store, pytest.raises(SweepError) as info:
        store.spec(), store.planned(), store.trials()
    assert f"{what} is damaged" in str(info.value)
    if what == "sweep spec":  # run again on it: through init_sweep
        with TrialStore(tmp_path / "s") as store, pytest.raises(SweepError, match=what):
            store.init_sweep(SweepSpec(space="anynetx_a", macs=(1e5, 1e6), data="synthetic",
                                       train={"epochs": 1}), 2)
    if what == "sweep spec":  # what status and analyze read first
        for args in (["status", tmp_path / "s"], ["analyze", tmp_path / "s"]):
            result = invoke(*args)
            words = " ".join(result.output.split())
            assert result.exit_code == 1 and f"{what} is damaged" in words, result.output
            assert "restore it from a copy" in words


def test_running_a_sweep_again_without_n_keeps_its_size(tmp_path):
    out = tmp_path / "s"
    assert invoke("run", *TINY, "--out", out).exit_code == 0
    again = invoke("run", *COMMON, "--train-subset", "64", "--out", out)
    assert again.exit_code == 0, again.output
    assert "1 trials" in again.output and "1 done" in again.output  # not extended to 100
    other = invoke("run", *TINY, "--macs", "0.2M-1M", "--out", out)
    words = " ".join(other.output.split())
    assert other.exit_code == 2 and "macs: stored 100K-1M, asked 200K-1M" in words
    no_band = [a for i, a in enumerate(COMMON) if "--macs" not in COMMON[max(i - 1, 0):i + 1]]
    unbounded = invoke("run", *no_band, "--train-subset", "64", "--out", out, "-n", "1")
    words = " ".join(unbounded.output.split())
    assert unbounded.exit_code == 2 and "macs: stored 100K-1M, asked none" in words
    missing = invoke("analyze", tmp_path / "nope")  # a typo: not "not a design sweep"
    words = " ".join(missing.output.split())
    assert missing.exit_code == 2 and "nope does not exist: give a sweep's folder" in words


def test_a_store_that_cannot_be_written_is_not_called_damaged(tmp_path, monkeypatch):
    import sqlite3

    import cnnlab.design.store as store_module

    assert invoke("run", *TINY, "--out", tmp_path).exit_code == 0
    before = (tmp_path / "trials.sqlite").read_bytes()
    connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        # As root, permissions never stop a write; a read-only connection stands in for them.
        if str(path).endswith("trials.sqlite"):
            return connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        return connect(path, *args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only)
    assert invoke("status", tmp_path).exit_code == 0  # reading it is fine
    result = invoke("run", "--resume", tmp_path, "-n", "2")  # draws one more trial
    words = " ".join(result.output.split())
    assert result.exit_code == 1 and "trials.sqlite cannot be opened for writing" in words
    assert "permissions" in words and "damaged" not in words
    assert (tmp_path / "trials.sqlite").read_bytes() == before


def test_a_store_that_is_a_folder_or_empty_is_named_and_left_alone(tmp_path):
    (tmp_path / "a" / "trials.sqlite").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "trials.sqlite").write_bytes(b"")
    for folder, words in (("a", "is not a file"), ("b", "is empty: not a sweep")):
        for args in (["status", tmp_path / folder], ["analyze", tmp_path / folder],
                     ["run", *TINY, "--out", tmp_path / folder]):  # not a new sweep either
            result = invoke(*args)
            assert result.exit_code == 1 and words in result.output, (args, result.output)
    assert (tmp_path / "b" / "trials.sqlite").read_bytes() == b""  # no schema written in


def test_a_new_sweep_whose_warm_up_outlasts_its_epochs_is_refused(tmp_path):
    result = invoke("run", *TINY, "--set", "warmup_epochs=5", "--out", tmp_path / "s")
    assert result.exit_code == 2 and "warmup_epochs" in result.output, result.output
    assert not (tmp_path / "s").exists()


def test_a_new_sweep_without_a_band_is_told_the_range_it_spans(tmp_path, monkeypatch):
    # Drawn over every complexity, silently: the paper compares spaces inside one band.
    from cnnlab.cli import design as design_cli

    said = []
    monkeypatch.setattr(design_cli.messages, "warning", said.append)
    create_sweep(tmp_path / "s", SweepSpec(space="anynetx_a", data="synthetic", image_size=28,
                                          in_channels=1, num_classes=10), 20)
    design_cli._warn_of_no_band(tmp_path / "s")
    [message] = said
    assert message.startswith("no --macs band: these 20 networks range over every complexity")
    assert "give one (e.g. --macs " in message


def test_a_sweep_whose_every_trial_failed_exits_1(tmp_path, monkeypatch):
    # It exited 0, as a good sweep does: a script could not tell.
    import cnnlab.design.executors as executors

    monkeypatch.setattr(executors, "run_trial", lambda task: {
        "id": task["id"], "status": "failed", "message": "RuntimeError: boom",
        "worker": "here", "wall_time_s": 0.0})
    result = invoke("run", *TINY, "--workers", "1", "--out", tmp_path / "s")
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "0 done, 1 failed" in said and "every trial of" in said and "nothing to analyse" in said
