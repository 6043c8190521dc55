"""Resume after a kill: a run killed after its last checkpoint, while its summary and
report were written, gets them from resume; what killed writes left is removed; a run's
result is read back from its folder."""

import json

import pytest
from resume_helpers import count_steps, small_run

import cnnlab.train.run as run_module
from cnnlab.train import ConfigError, resume, resume_checks
from cnnlab.train import checkpoint as ckpt


@pytest.fixture
def one_epoch_run(tmp_path, monkeypatch):
    """A finished 1-epoch run (its plan: 1 epoch)."""
    small_run(tmp_path, monkeypatch, epochs=1, run_name="one")
    return tmp_path / "one"


# What summary.json says of a run's training; the report and plots are drawn from it.
RESULT_KEYS = ("final", "best_test_acc", "best_epoch", "train_time_s", "stopped", "eval_images",
               "train_images", "parameters", "per_class_acc", "confusion", "classes")


def kill_while_the_outputs_are_written(run):
    """As a kill -9 after the last checkpoint leaves a run: no summary, report or plots,
    and the last checkpoint's readable copy not written yet."""
    import shutil

    (run / "summary.json").unlink()
    (run / "report.html").unlink()
    shutil.rmtree(run / "plots")
    (run / "checkpoints" / "last.json").unlink()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
@pytest.mark.parametrize("budget", [None, 1e-6])
def test_a_run_killed_while_its_report_was_written_gets_it_from_resume(tmp_path, monkeypatch,
                                                                         budget):
    # Every epoch trained (or its time budget spent) and checkpointed, then killed: resume
    # refused ("trained all its epochs"), and nothing wrote the report, ever.
    small_run(tmp_path, monkeypatch, epochs=2, run_name="run", max_time=budget)
    run = tmp_path / "run"
    written = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    kill_while_the_outputs_are_written(run)
    steps = count_steps(monkeypatch)
    with pytest.warns(run_module.CheckpointWarning, match="stopped while its summary and "
                                                          "report were written"):
        result = resume(run)
    assert steps["n"] == 0  # nothing trained
    again = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert {k: again[k] for k in RESULT_KEYS} == {k: written[k] for k in RESULT_KEYS}
    assert len(again["commands"]) == len(written["commands"]) + 1  # the resume that wrote it
    assert (run / "report.html").is_file() and (run / "plots" / "confusion.png").is_file()
    assert result.stopped == written["stopped"] and result.confusion == written["confusion"]
    _, state = ckpt.load_checkpoint(run / "checkpoints" / "last.safetensors")
    state.pop("rng")  # written for older versions; the readable copy leaves it out
    assert json.loads((run / "checkpoints" / "last.json").read_text(encoding="utf-8")) == state
    # Now whole: refused as any finished (or spent) run is.
    with pytest.raises(ConfigError, match=r"trained every epoch of its plan \(2\)"
                       if budget is None else "budget"):
        resume(run)


def test_a_report_older_than_the_last_checkpoint_is_written_again(tmp_path, monkeypatch):
    # resume --epochs 1, killed after epoch 2's checkpoint: the summary and report said
    # "epoch 1 of 1" beside checkpoints and metrics of 2 epochs, for good.
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    run = tmp_path / "run"
    old = {name: (run / name).read_bytes() for name in ("summary.json", "report.html")}
    resume(run, extra_epochs=1)
    for name, content in old.items():  # as the kill left them
        (run / name).write_bytes(content)
    with pytest.warns(run_module.CheckpointWarning, match="writing them now"):
        resume(run)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["final"]["epoch"] == 2 and summary["config"]["epochs"] == 2


def test_resume_removes_what_writes_cut_short_by_a_kill_left(one_epoch_run):
    # kill -9 between a write and its rename leaves the temporary file (a checkpoint's is
    # as large as the checkpoint); nothing removed them, however often the run resumed.
    checkpoints = one_epoch_run / "checkpoints"
    leftovers = [checkpoints / ".last.safetensors.0a1b2c3d.tmp",
                 one_epoch_run / ".summary.json.deadbeef.tmp"]
    kept = [one_epoch_run / ".notes.tmp", one_epoch_run / ".plan.v2.not-hex1.tmp"]
    for path in leftovers + kept:
        path.write_bytes(b"x" * 100)
    resume(one_epoch_run, extra_epochs=1)
    assert [p.exists() for p in leftovers] == [False, False]
    assert [p.exists() for p in kept] == [True, True]  # not named as cnnlab names its own


def test_without_a_lock_no_leftover_is_taken_for_one(one_epoch_run, monkeypatch):
    # No lock (Windows, a mount without them): a run may be training in another process,
    # and its checkpoint's temporary file is then a live write, not a leftover.
    # runlog kept a second switch of its own (runlog.fcntl): set file_lock's alone, it
    # still opened the lock file, and left it behind in the run's folder.
    from cnnlab import file_lock

    monkeypatch.setattr(file_lock, "fcntl", None)
    live = one_epoch_run / "checkpoints" / ".last.safetensors.0a1b2c3d.tmp"
    live.write_bytes(b"x")
    resume(one_epoch_run, extra_epochs=1)
    assert live.exists()
    assert not (one_epoch_run / ".lock").exists()  # as on Windows: no lock file


def test_a_runs_result_is_read_back_from_its_folder(tmp_path, monkeypatch):
    # A notebook opened again the next day: the run's result without training it again,
    # from its summary, or (interrupted, or killed before its summary) its checkpoint.
    from cnnlab.train import read_result

    trained = small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    run = tmp_path / "run"
    back = read_result(run)
    for key in ("history", "final", "best_test_acc", "train_time_s", "per_class_acc",
                "confusion", "stopped", "eval_images", "test_images", "preprocess"):
        assert getattr(back, key) == getattr(trained, key), key
    assert back.model is None and back.curves().axes
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    (run / "summary.json").unlink()
    from_checkpoint = read_result(run)
    for key in ("history", "final", "best_test_acc", "train_time_s", "per_class_acc",
                "confusion"):
        assert getattr(from_checkpoint, key) == getattr(trained, key), key
    # Its checkpoints deleted to save space: its summary still says it all.
    import shutil

    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    shutil.rmtree(run / "checkpoints")
    assert read_result(run).confusion == trained.confusion
    (run / "summary.json").unlink()
    with pytest.raises(ckpt.CheckpointError, match="has neither checkpoints/last.safetensors "
                                                   "nor summary.json"):
        read_result(run)


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_whole_run_copied_without_its_times_is_still_refused(tmp_path, monkeypatch):
    # A copy that does not keep timestamps (shutil.copyfile, rsync without -t) wrote the
    # report before the summary: an mtime test took such a finished run for one killed
    # while writing them, and rewrote them with this machine's record.
    import os

    small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    run = tmp_path / "run"
    report = (run / "report.html").stat().st_mtime_ns
    os.utime(run / "summary.json", ns=(report + 10**9, report + 10**9))
    with pytest.raises(run_module.RunFinished, match=r"trained every epoch of its plan \(1\)"):
        resume(run)


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_lost_outputs_are_written_only_on_as_many_processes_as_trained_the_run(tmp_path,
                                                                              monkeypatch):
    # The summary records the process count: written by one process for a run two trained,
    # it said 1, and halved its batch in every comparison.
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    run = tmp_path / "run"
    kill_while_the_outputs_are_written(run)
    monkeypatch.setattr(resume_checks, "launched_world_size", lambda: 2)
    with pytest.raises(ConfigError, match="was trained on 1 process .* this resume runs on 2"):
        resume(run)
    assert not (run / "summary.json").exists()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_budget_spent_on_the_last_step_is_still_said_when_the_outputs_are_rebuilt(
        tmp_path, monkeypatch):
    # One step an epoch and a budget of a microsecond: out of time on the plan's last step.
    small_run(tmp_path, monkeypatch, epochs=1, run_name="run", max_time=1e-6, batch_size=128)
    run = tmp_path / "run"
    assert json.loads((run / "summary.json").read_text(encoding="utf-8"))["stopped"] == \
        "max_time"
    kill_while_the_outputs_are_written(run)
    with pytest.warns(run_module.CheckpointWarning):
        resume(run)
    assert json.loads((run / "summary.json").read_text(encoding="utf-8"))["stopped"] == \
        "max_time"
