"""compare_runs: each run's state told from its files (finished, training, time budget,
interrupted, unfinished), real runs' files among them, and what only a finished run's
files say not taken for a difference."""

from __future__ import annotations

import pytest
from compare_helpers import FINISHED, data_json, make_run, three_epochs

from cnnlab.train import TrainConfig, compare_runs


def test_each_runs_state_is_told_from_its_files(tmp_path):
    done = make_run(tmp_path, "done", three_epochs(0.5, 0.6, 0.7), FINISHED)
    cut = make_run(tmp_path, "cut", three_epochs(0.5, 0.6, 0.7)[:2])
    timed = make_run(tmp_path, "timed", three_epochs(0.5, 0.6, 0.7)[:2],
                     {**FINISHED, "stopped": "max_time", "final": {"epoch": 2}}, max_time=5.0)
    # Stopped at its budget once, then resumed with more time and interrupted: its
    # summary.json is the earlier stop's.
    resumed = make_run(tmp_path, "resumed", three_epochs(0.5, 0.6, 0.7)[:2],
                       {**FINISHED, "stopped": "max_time", "final": {"epoch": 1}})
    empty = make_run(tmp_path, "empty", [])
    # Out of time in the last planned epoch: its row is epoch 3's, a quarter of it seen.
    history = three_epochs(0.5, 0.6, 0.7)
    history[2]["epoch_time_s"] = 0.25 * 512 / history[2]["images_per_s"]
    cut_last = make_run(tmp_path, "cut_last", history, {**FINISHED, "stopped": "max_time",
                                                         "final": {"epoch": 3},
                                                         "train_images": 512})
    runs = compare_runs([done, cut, timed, resumed, empty, cut_last]).runs
    assert [r.state for r in runs] == ["finished", "unfinished", "time budget",
                                       "unfinished", "no epoch finished", "time budget"]
    assert runs[5].epochs_done == 2.25 and runs[0].epochs_done == 3
    header, rows = compare_runs([cut, empty, cut_last]).table_cells()
    assert rows[1][2:9] == ["0/3", "no epoch finished", "-", "-", "-", "-", "-"]
    assert rows[0][7] == "-"  # parameters: in summary.json, which an unfinished run lacks
    assert rows[2][2] == "2.2/3"
    # Images/s times seconds is the images seen give or take a rounding: 64 / 0.013 * 0.013
    # is 63.99999999999999 (a real run's test failed on it, once in CI).
    first = three_epochs(0.5, 0.6, 0.7)[:1]
    first[0]["images_per_s"], first[0]["epoch_time_s"] = 64 / 0.013, 0.013
    rounded = make_run(tmp_path, "rounded", first, {**FINISHED, "stopped": "max_time",
                                                     "final": {"epoch": 1},
                                                     "train_images": 512})
    assert compare_runs([done, rounded]).runs[1].epochs_done == 64 / 512


def test_a_run_training_now_or_stopped_by_a_signal_says_so(tmp_path):
    import os
    import subprocess
    import sys

    two = three_epochs(0.5, 0.6, 0.7)[:2]
    # Its lock held: training now (this process holds it as the trainer would).
    live = make_run(tmp_path, "live", two)
    (live / ".lock").write_text(f"{os.getpid()}\n", encoding="utf-8")
    held = open(live / ".lock", encoding="utf-8")  # noqa: SIM115 - held for the test
    if os.name == "posix":
        import fcntl

        fcntl.flock(held, fcntl.LOCK_EX)
    # Killed outright: its lock file stays, held by no one, naming a process gone or, by
    # now, another one (this one: alive, yet not training it).
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = make_run(tmp_path, "killed", two, checkpoint={"epoch": 2})
    (killed / ".lock").write_text(f"{gone}\n", encoding="utf-8")
    reused = make_run(tmp_path, "reused", three_epochs(0.5, 0.6, 0.7), FINISHED)
    (reused / ".lock").write_text(f"{os.getpid()}\n", encoding="utf-8")
    # Ctrl-C in epoch 3: a checkpoint mid-epoch, with its device and size, no summary.
    stopped = make_run(tmp_path, "stopped", two, checkpoint={
        "epoch": 2, "step_in_epoch": 7, "device": "cpu", "parameters": 61706})
    first = make_run(tmp_path, "first", [], checkpoint={"epoch": 0, "step_in_epoch": 3})
    # Ctrl-C as epoch 2 was evaluated: the checkpoint at step 0 of epoch 3, as a kill's
    # is, says the signal (it was called "unfinished": killed, crashed or diverged).
    between = make_run(tmp_path, "between", two, checkpoint={"epoch": 2, "stopped_by": "SIGINT"})
    try:
        runs = compare_runs(live, killed, reused, stopped, first, between).runs
    finally:
        held.close()
    if os.name == "posix":  # no run locks on Windows
        assert (runs[0].state, runs[0].training_pid) == ("training", os.getpid())
    assert [r.state for r in runs[1:]] == ["unfinished", "finished", "interrupted",
                                           "interrupted", "interrupted"]
    assert (runs[3].parameters, runs[3].device) == (61706, "cpu")


def test_a_real_run_stopped_by_its_time_budget_says_so_and_how_far_it_got(tmp_path):
    # What the trainer really writes: out of time after its first step, inside epoch 1.
    from cnnlab.train import train

    for name, budget in (("stopped", 1e-9), ("whole", None)):
        train(TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                          device="cpu", quiet=True, out_dir=str(tmp_path), run_name=name,
                          max_time=budget))
    stopped, whole = compare_runs(tmp_path).runs
    assert (stopped.state, whole.state) == ("time budget", "finished")
    assert stopped.epochs_done == 64 / 512 and whole.epochs_done == 2
    assert stopped.device == whole.device == "cpu" and stopped.processes == 1


def test_a_real_run_stopped_by_ctrl_c_is_interrupted_with_its_size_and_device(tmp_path,
                                                                               monkeypatch):
    # What the trainer really leaves at Ctrl-C in epoch 2: a checkpoint mid-epoch, and no
    # summary: its size and device were "-" and "?", its state "unfinished".
    from cnnlab.train import TrainingInterrupted, train
    from cnnlab.train.trainer import Trainer

    step = Trainer._optimizer_step

    def ctrl_c_in_epoch_2(self):
        step(self)
        if self.epoch == 1:
            self._stop_signal = "SIGINT"

    monkeypatch.setattr(Trainer, "_optimizer_step", ctrl_c_in_epoch_2)
    with pytest.raises(TrainingInterrupted):
        train(TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=64,
                          device="cpu", quiet=True, out_dir=str(tmp_path), run_name="run"))
    other = make_run(tmp_path, "other", three_epochs(0.5, 0.6, 0.7), FINISHED)
    run = compare_runs(tmp_path / "run", other).runs[0]
    assert not (tmp_path / "run" / "summary.json").exists()
    from cnnlab import get_model

    size = sum(p.numel() for p in get_model("lenet_modern").parameters())
    assert (run.state, run.device, run.parameters) == ("interrupted", "cpu", size)


def test_runs_alike_but_for_their_files_progress_are_not_told_apart(tmp_path):
    # One finished, one still without a summary: what only the finished one's files say
    # (the processor's name, the subset's count) must not read as a difference.
    history = three_epochs(0.5, 0.6, 0.7)
    finished = make_run(tmp_path, "finished", history, {
        **FINISHED, "train_images": 64, "environment": {"cpu_model": "Xeon"}},
        data_json=data_json(128, 32), train_subset=64, device="auto")
    running = make_run(tmp_path, "running", history[:1], data_json=data_json(128, 32),
                       checkpoint={"device": "cpu"}, train_subset=64, device="auto")
    comparison = compare_runs(finished, running)
    assert comparison.differences == {} and comparison.notes() == []
    # Stopped by its time budget, then killed before its summary: not "interrupted".
    budget = make_run(tmp_path, "budget", history[:1], max_time=5.0,
                      checkpoint={"epoch": 0, "step_in_epoch": 3, "train_time": 5.01})
    assert compare_runs(budget, finished).runs[0].state == "time budget"


def test_a_cut_epoch_counts_its_optimizer_steps_as_the_runs_report_does(tmp_path):
    # 80 images at batch 32: steps of 32, 32 and 16. Cut after the first, compare said
    # 0.4 of the epoch (32 of 80 images) where the run's report says 1 step of 3.
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import train

    for name, budget in (("cut", 1e-9), ("whole", None)):
        train(TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=32,
                          device="cpu", quiet=True, out_dir=str(tmp_path), run_name=name,
                          max_time=budget), data=make_synthetic(num_train=80, num_test=16))
    cut, _ = compare_runs(tmp_path).runs
    assert cut.summary["cut_epoch"] == {"steps": 1, "of": 3}
    assert cut.epochs_done == 1 / 3
    assert "0.33 of 2 (epoch 1 stopped at step 1 of 3)" in (tmp_path / "cut" /
                                                             "report.html").read_text()
