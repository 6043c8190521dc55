"""`cnnlab resume` of a run that stopped on its time budget (max_time): refused while the
budget is spent, continued in full once --max-time raises or lifts it."""

import json

import pytest
import torch
from resume_helpers import STEPS_PER_EPOCH, count_steps, signal_after_steps, small_run
from typer.testing import CliRunner

import cnnlab.train.run as run_module
from cnnlab.cli import app
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import ConfigError, TrainConfig, resume, resume_checks, train
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.runlog import MetricsLog
from cnnlab.train.trainer import Trainer

runner = CliRunner()


@pytest.fixture
def timed_out_run(tmp_path, monkeypatch):
    """A 3-epoch run whose (tiny) budget ended it after one step of epoch 1."""
    result = small_run(tmp_path, monkeypatch, epochs=3, run_name="mt", max_time=1e-6)
    assert result.stopped == "max_time" and len(result.history) == 1
    return tmp_path / "mt"


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_resume_with_the_budget_spent_is_refused(timed_out_run, monkeypatch):
    steps = count_steps(monkeypatch)
    # Seconds as --max-time takes them, never "4.52e+03 s" (its .3g)
    with pytest.raises(ConfigError, match=r"trained for \d+\.\d s of its 1e-06 s budget.*"
                                          r"--max-time S.*--max-time 0"):
        resume(timed_out_run)
    with pytest.raises(ConfigError, match="budget"):  # a new budget below the time spent
        resume(timed_out_run, max_time=1e-9)
    with pytest.raises(ConfigError, match="--max-time -1"):
        resume(timed_out_run, max_time=-1)
    assert steps["n"] == 0
    summary = json.loads((timed_out_run / "summary.json").read_text())
    assert summary["final"]["epoch"] == 1  # nothing was recorded as trained


def test_resume_with_the_budget_lifted_trains_the_remaining_epochs_in_full(timed_out_run,
                                                                        monkeypatch):
    steps = count_steps(monkeypatch)
    result = resume(timed_out_run, max_time=0)
    assert result.stopped is None
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    # The rest of epoch 1 (its first step was trained), then epochs 2 and 3.
    assert steps["n"] == 3 * STEPS_PER_EPOCH - 1
    assert result.history[0]["images_per_s"] > 0
    summary = json.loads((timed_out_run / "summary.json").read_text())
    assert summary["config"]["max_time"] is None and summary["stopped"] is None


@pytest.mark.parametrize("accum_steps", [1, 2])
def test_a_budgeted_run_resumed_trains_as_one_without_a_budget(tmp_path, monkeypatch,
                                                              accum_steps):
    # Out of time inside epoch 1 (after its first optimizer step, which with accum_steps 2
    # is its second batch), resumed with the budget lifted: the same weights and train
    # metrics as a run that never had a budget.
    common = dict(epochs=2, batch_size=16, accum_steps=accum_steps)
    straight = small_run(tmp_path, monkeypatch, **common, run_name="straight")
    budgeted = small_run(tmp_path, monkeypatch, **common, run_name="budget", max_time=1e-6)
    assert budgeted.stopped == "max_time"
    resumed = resume(tmp_path / "budget", max_time=0)
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert b["train_acc"] == a["train_acc"]
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-9)
    a, _ = ckpt.load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.safetensors")
    b, _ = ckpt.load_checkpoint(tmp_path / "budget" / "checkpoints" / "last.safetensors")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_resume_command_names_the_option(timed_out_run):
    result = runner.invoke(app, ["resume", str(timed_out_run)])
    assert result.exit_code == 2, result.output
    assert "--max-time" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["resume", str(timed_out_run), "--max-time", "60"])
    assert result.exit_code == 0, result.output
    assert "stopped" not in result.output


def test_resume_refuses_a_negative_number_of_extra_epochs(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(epochs=3).save(run / "config.yaml")
    (run / "checkpoints" / "last.safetensors").write_bytes(b"")  # never read: refused first
    with pytest.raises(ConfigError, match="adds epochs"):
        resume(run, extra_epochs=-3)


@pytest.fixture
def one_epoch_run(tmp_path, monkeypatch):
    """A finished 1-epoch run (its plan: 1 epoch)."""
    small_run(tmp_path, monkeypatch, epochs=1, run_name="one")
    return tmp_path / "one"


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_resuming_a_finished_run_is_refused_and_keeps_its_results(one_epoch_run, monkeypatch):
    from cnnlab.train.run import RunFinished

    before = (one_epoch_run / "summary.json").read_text()
    steps = count_steps(monkeypatch)
    # A run of data given to train(): evaluated from Python with that data (the command
    # `cnnlab eval`, which loads the data its config names, refuses it)
    with pytest.raises(RunFinished, match=r"every epoch of its plan \(1\).*--epochs N \(from "
                                          r"Python: resume\(\.\.\., extra_epochs=N\)\).*"
                                          r"evaluate_run\(.*data=\.\.\.\)"):
        resume(one_epoch_run)
    assert steps["n"] == 0
    assert (one_epoch_run / "summary.json").read_text() == before  # confusion matrix kept
    result = runner.invoke(app, ["resume", str(one_epoch_run)])
    assert result.exit_code == 2 and "--epochs" in result.output
    assert "Traceback" not in result.output


def test_a_second_resume_keeps_the_epochs_the_first_added(one_epoch_run, monkeypatch):
    # resume --epochs 2, interrupted inside epoch 2, then a plain resume: the plan is
    # still 3 epochs (config.yaml says so), not the original 1.
    from cnnlab.train import TrainingInterrupted

    with monkeypatch.context() as m:
        signal_after_steps(m, 1)
        with pytest.raises(TrainingInterrupted):
            resume(one_epoch_run, extra_epochs=2)
    assert TrainConfig.load(one_epoch_run / "config.yaml").epochs == 3
    resume_data_root = one_epoch_run.parent / "data-moved-here"
    steps = count_steps(monkeypatch)
    result = resume(one_epoch_run, data_root=str(resume_data_root))  # the data moved
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert TrainConfig.load(one_epoch_run / "config.yaml").data_root == str(resume_data_root)
    assert steps["n"] == 2 * STEPS_PER_EPOCH - 1
    # summary.json keeps the command that began the run beside the resumes.
    summary = json.loads((one_epoch_run / "summary.json").read_text())
    assert len(summary["commands"]) == 3  # train, the interrupted resume, this resume
    assert summary["commands"][-1]["command"] == summary["environment"]["command"]


def test_a_resume_that_fails_before_its_first_checkpoint_leaves_the_plan_as_it_was(
        one_epoch_run, monkeypatch):
    # The plan was written before training: a `resume --epochs 2` that crashed at once had
    # raised it to 3 already, and the same command again planned 5.
    def crash(self):
        raise RuntimeError("a crash before any checkpoint")

    with monkeypatch.context() as m:
        m.setattr(Trainer, "_optimizer_step", crash)
        with pytest.raises(RuntimeError, match="a crash"):
            resume(one_epoch_run, extra_epochs=2)
    assert TrainConfig.load(one_epoch_run / "config.yaml").epochs == 1
    result = resume(one_epoch_run, extra_epochs=2)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert TrainConfig.load(one_epoch_run / "config.yaml").epochs == 3


def test_more_epochs_on_a_decaying_schedule_say_the_lr_jumps_back_up(tmp_path, monkeypatch):
    import warnings

    from cnnlab.train.run import CheckpointWarning

    small_run(tmp_path, monkeypatch, epochs=2, run_name="oc", schedule="onecycle", lr=0.1)
    # onecycle over 8 steps ended at 0; over 12 steps, step 8 is a third of the peak
    with pytest.warns(CheckpointWarning, match=r"onecycle schedule now spans 3 epochs, so the "
                      r"learning rate goes from 0 back up to 0\.0333 here"):
        resume(tmp_path / "oc", extra_epochs=1)
    small_run(tmp_path, monkeypatch, epochs=1, run_name="c", schedule="constant")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)  # a constant lr does not jump
        resume(tmp_path / "c", extra_epochs=1)


def test_a_row_torn_by_a_kill_is_not_glued_to_the_next_one(tmp_path, monkeypatch):
    # Killed mid-append: the files end in half a line. The resume's rows must start on a
    # line of their own, not continue it (a 230% test accuracy, a jsonl that does not parse).
    small_run(tmp_path, monkeypatch, epochs=1, run_name="torn")
    run = tmp_path / "torn"
    with open(run / "metrics.csv", "a", encoding="utf-8") as fh:
        fh.write("2,2.42")
    with open(run / "class_metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"epoch": 2, "per_class_acc": {"cl')
    resume(run, extra_epochs=1)
    rows = MetricsLog.read(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and all(r["test_acc"] <= 1 for r in rows)
    lines = (run / "class_metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]


def test_a_metrics_row_edited_into_no_record_is_dropped_with_a_warning(tmp_path, monkeypatch):
    # A whole line that is not a row (an edit, a paste) made resume fail with a TypeError
    # comparing epochs, and left an empty TensorBoard file behind on every try.
    from cnnlab.train.runlog import RunLogWarning

    small_run(tmp_path, monkeypatch, epochs=1, run_name="edited")
    run = tmp_path / "edited"
    with open(run / "metrics.csv", "a", encoding="utf-8") as fh:
        fh.write('garbage,,,"\n')
    with pytest.warns(RunLogWarning, match=r"metrics\.csv line 3: dropped a row whose epoch"):
        resume(run, extra_epochs=1)
    assert [r["epoch"] for r in MetricsLog.read(run / "metrics.csv")] == [1, 2]


def test_each_epochs_row_is_written_before_its_checkpoint(tmp_path, monkeypatch):
    # A kill between the two must not lose the row of an epoch the checkpoint has.
    from cnnlab.train import resumable

    seen = []
    real_save = resumable.Resumable._save

    def save(self, tag, eval_weights=False):
        seen.append((tag, len(MetricsLog.read(self.run_dir / "metrics.csv"))))
        real_save(self, tag, eval_weights)

    monkeypatch.setattr(resumable.Resumable, "_save", save)
    small_run(tmp_path, monkeypatch, epochs=2, run_name="order")
    assert [n for tag, n in seen if tag == "last"] == [1, 2]


def test_a_run_is_resumed_on_as_many_processes_as_trained_it(timed_out_run, monkeypatch):
    # Batches and the schedule are per process: 2 processes resuming a 1-process run
    # would take steps twice as large, and repeat images of the interrupted epoch.
    from cnnlab.train.distributed import launch_command

    steps = count_steps(monkeypatch)
    monkeypatch.setattr(resume_checks, "launched_world_size", lambda: 2)
    with pytest.raises(ConfigError, match=r"trained on 1 process \(batch 32 each, 32 a step\)"
                                          r".*runs on 2.*as it was trained: cnnlab resume"):
        resume(timed_out_run, max_time=0)
    assert steps["n"] == 0
    assert json.loads((timed_out_run / "summary.json").read_text())["world_size"] == 1
    assert launch_command("resume runs/x", 4) == (
        "torchrun --nproc_per_node=4 -m cnnlab resume runs/x")


def test_a_run_still_training_is_not_resumed_alongside(timed_out_run, monkeypatch):
    # Two processes training one run appended the same epochs twice to metrics.csv. The
    # run's lock is an OS lock: held here by this process, as a live `train` holds it.
    from cnnlab.train.runlog import RunInUse, run_lock

    steps = count_steps(monkeypatch)
    with run_lock(timed_out_run):
        with pytest.raises(RunInUse, match=r"being trained by another process now \(pid \d+\)"
                                           r".*kill -TERM \d+"):
            resume(timed_out_run, max_time=0)
        # Before its first checkpoint too: not "stopped before its first checkpoint".
        (timed_out_run / "checkpoints" / "last.safetensors").rename(timed_out_run / "x")
        result = runner.invoke(app, ["resume", str(timed_out_run)])
        assert result.exit_code == 1 and "being trained by another process" in result.output
        (timed_out_run / "x").rename(timed_out_run / "checkpoints" / "last.safetensors")
    assert steps["n"] == 0
    assert not (timed_out_run / ".lock").exists()  # released, and no file left behind
    resume(timed_out_run, max_time=0)
    assert not (timed_out_run / ".lock").exists()


def test_a_run_begun_on_another_device_is_resumed_with_device(timed_out_run, monkeypatch):
    # A run begun on a GPU, resumed where there is none: config.yaml says cuda, and the
    # way out the error gives (--device cpu) exists for resume too.
    config = timed_out_run / "config.yaml"
    config.write_text(config.read_text().replace("device: cpu", "device: cuda:7"))
    result = runner.invoke(app, ["resume", str(timed_out_run), "--max-time", "0"])
    assert result.exit_code == 2 and "--device cpu" in result.output
    result = runner.invoke(app, ["resume", str(timed_out_run), "--max-time", "0",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert TrainConfig.load(config).device == "cpu"  # later resumes stay on it


def test_resume_takes_quiet_and_threads_for_this_session_only(timed_out_run, monkeypatch):
    # As `cnnlab train` does: --threads 1 on a busy machine, --no-quiet to see the bar.
    seen, threads = [], []
    original = Trainer.__init__

    def init(self, cfg, *args, **kwargs):
        seen.append((cfg.quiet, cfg.threads))
        original(self, cfg, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", init)
    monkeypatch.setattr(torch, "set_num_threads", threads.append)  # the suite's stays
    result = runner.invoke(app, ["resume", str(timed_out_run), "--max-time", "0",
                                 "--no-quiet", "--threads", "1"])
    assert result.exit_code == 0, result.output
    # 1 for the session, then the process's own count back once it ends
    assert seen == [(False, 1)] and threads == [1, torch.get_num_threads()]
    config = TrainConfig.load(timed_out_run / "config.yaml")
    assert (config.quiet, config.threads) == (True, None)  # the run's own, for later resumes
    refused = runner.invoke(app, ["resume", str(timed_out_run), "--epochs", "1",
                                  "--threads", "0"])
    assert refused.exit_code == 2 and "threads" in refused.output, refused.output
    assert TrainConfig.load(timed_out_run / "config.yaml").epochs == 3  # plan unchanged


def test_the_run_lock_is_never_held_twice_and_never_stops_a_run_for_want_of_locks(
        tmp_path, monkeypatch):
    import errno
    import fcntl
    import os

    import cnnlab.train.runlog as runlog
    from cnnlab.train.runlog import RunInUse, run_lock

    # A process that opened the lock file just before its holder finished (and removed
    # it) locks a file no longer at that name: it must start again on the new one, or a
    # third process would hold the lock beside it.
    with run_lock(tmp_path):
        stale = os.open(tmp_path / ".lock", os.O_RDWR)
    real_open, first = os.open, [stale]
    monkeypatch.setattr(runlog.os, "open",
                        lambda *a, **k: first.pop() if first else real_open(*a, **k))
    with run_lock(tmp_path):  # given the stale file first, it takes the new one
        monkeypatch.setattr(runlog.os, "open", real_open)
        with pytest.raises(RunInUse):
            with run_lock(tmp_path):
                pass
    def no_locks(fd, operation):  # a mount that refuses locks: on without one, as Windows
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)  # and said, whatever was said before:
    monkeypatch.setattr(runlog.file_lock, "_SAID", set())
    with pytest.warns(UserWarning, match="trains unguarded"), run_lock(tmp_path):
        pass


def test_a_folder_run_resumes_from_the_folders_new_place(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))  # not ~/.cache/cnnlab
    # --data-root was refused ("root applies to fashion-mnist only"): a folder run whose
    # images moved could only be resumed by editing config.yaml.
    from PIL import Image

    old = tmp_path / "photos"
    for label in ("a", "b"):
        (old / label).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (28, 28), 40 * i + (100 if label == "b" else 0)).save(
                old / label / f"{i}.png")
    train(TrainConfig(model="lenet_modern", data=f"folder:{old}", epochs=1, batch_size=4,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="f"))
    new = old.rename(tmp_path / "moved")
    result = resume(tmp_path / "f", extra_epochs=1, data_root=str(new))
    assert [r["epoch"] for r in result.history] == [1, 2]
    saved = TrainConfig.load(tmp_path / "f" / "config.yaml")
    assert saved.data == f"folder:{new}" and saved.data_root is None


def test_eval_of_a_run_its_budget_stopped_mid_epoch_says_so(timed_out_run, monkeypatch):
    # It said "after epoch 0 of 3": the checkpoint holds epoch 1's first step.
    data = make_synthetic(num_train=128, num_test=32, seed=1)  # the run's own
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg, **kw: data)
    result = runner.invoke(app, ["eval", str(timed_out_run), "--device", "cpu", "--which",
                                 "last"])
    assert result.exit_code == 0, result.output
    assert "checkpoint last, at step 1 of epoch 1 of 3)" in " ".join(result.output.split())


def test_tensorboard_drops_the_rows_a_resume_replaces(timed_out_run):
    # The budget stopped the run inside epoch 1, which was evaluated and logged as it
    # stood; the resume trains that epoch again and replaces its metrics.csv row.
    # TensorBoard showed both epoch-1 points (two values at step 1, a zigzag), the
    # stale one first.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    resume(timed_out_run, max_time=0)
    events = EventAccumulator(str(timed_out_run))
    events.Reload()
    shown = [(e.step, e.value) for e in events.Scalars("test/acc")]
    rows = MetricsLog.read(timed_out_run / "metrics.csv")
    assert shown == [(r["epoch"], pytest.approx(r["test_acc"])) for r in rows]


def test_a_budget_cut_resumed_ends_with_the_uninterrupted_runs_best_checkpoint(
        tmp_path, monkeypatch):
    # Every evaluation scores 50%. Cut after epoch 1's first step, the budget's evaluation
    # became the best; epoch 1's full evaluation only tied it, so best.safetensors kept the
    # mid-epoch weights, which a run never stopped never had (nor its "best").
    import dataclasses

    evaluate = Trainer._evaluate
    monkeypatch.setattr(Trainer, "_evaluate",
                        lambda self: dataclasses.replace(evaluate(self), acc=0.5))
    straight = small_run(tmp_path, monkeypatch, epochs=2, run_name="straight")
    small_run(tmp_path, monkeypatch, epochs=2, run_name="cut", max_time=1e-6)
    kept = tmp_path / "cut" / "checkpoints" / "best-before-cut.safetensors"
    assert not kept.exists()  # nothing was best before the cut: the resume removes it
    resumed = resume(tmp_path / "cut", max_time=0)
    assert resumed.best_test_acc == straight.best_test_acc == 0.5
    a, state_a = ckpt.load_checkpoint(tmp_path / "straight" / "checkpoints" / "best.safetensors")
    b, state_b = ckpt.load_checkpoint(tmp_path / "cut" / "checkpoints" / "best.safetensors")
    assert (state_b["epoch"], state_b["step_in_epoch"]) == (state_a["epoch"], 0) == (1, 0)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert not list((tmp_path / "cut" / "checkpoints").glob("best-before-cut*"))


def test_the_best_from_before_a_cut_is_put_back_file_for_file(tmp_path):
    # The case the run above cannot reach: a best checkpoint existed before the cut.
    from cnnlab.train.resumable import Resumable

    run = Resumable()
    run.run_dir, run.writes, run.best_test_acc = tmp_path, True, 0.7
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for suffix in (".safetensors", ".json"):
        (folder / f"best{suffix}").write_text("epoch 2's")
    run._keep_best_before_cut()  # then the cut's evaluation is saved as the best
    for suffix in (".safetensors", ".json"):
        (folder / f"best{suffix}").write_text("the cut's")
    run.best_test_acc = 0.8
    run._put_back_best_before_cut()  # a resume trains the cut epoch again
    assert (run.best_test_acc, run.best_before_cut) == (0.7, None)
    assert [(folder / f"best{s}").read_text() for s in (".safetensors", ".json")] == [
        "epoch 2's"] * 2


def test_resume_leaves_the_callers_python_and_numpy_random_states_alone(one_epoch_run,
                                                                         monkeypatch):
    # Training draws from torch's generators alone, yet the checkpoint's Python and NumPy
    # states were restored: a notebook's resume() reset the caller's own `random` state.
    import random

    import numpy as np

    random.seed(7)
    np.random.seed(7)
    expected = (random.random(), float(np.random.rand()))
    random.seed(7)
    np.random.seed(7)
    resume(one_epoch_run, extra_epochs=1)
    assert (random.random(), float(np.random.rand())) == expected


def test_a_checkpoint_without_its_generator_state_is_named(one_epoch_run, monkeypatch):
    # A damaged or hand-made `last` checkpoint without rng.torch: a bare KeyError.
    from safetensors import safe_open
    from safetensors.torch import save_file

    last = one_epoch_run / "checkpoints" / "last.safetensors"
    with safe_open(last, "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys() if k != "rng.torch"}
        metadata = f.metadata()
    save_file(tensors, last, metadata=metadata)
    with pytest.raises(ckpt.CheckpointError, match=r"last\.safetensors: its random gen"):
        resume(one_epoch_run, extra_epochs=1)
