"""A run's log and its display: metrics.csv kept whole, the progress bar and epoch lines."""


def test_an_empty_metrics_file_gets_its_header_back(tmp_path):
    from cnnlab.train.runlog import METRIC_COLUMNS, MetricsLog

    (tmp_path / "metrics.csv").write_text("")  # e.g. cut short by a crash
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append({"epoch": 1, "test_acc": 0.5})
    log.append({"epoch": 2, "test_acc": 0.75})
    rows = MetricsLog.read(tmp_path / "metrics.csv")
    assert list(rows[0]) == METRIC_COLUMNS
    assert [(r["epoch"], r["test_acc"]) for r in rows] == [(1, 0.5), (2, 0.75)]
    log.truncate_after(1)  # rewritten whole (atomically), header included
    assert [r["epoch"] for r in MetricsLog.read(tmp_path / "metrics.csv")] == [1]


def test_hand_edited_rows_are_dropped_by_their_line_and_the_rest_kept(tmp_path):
    import pytest

    from cnnlab.train.runlog import METRIC_COLUMNS, MetricsLog, RunLogWarning

    header = ",".join(METRIC_COLUMNS)
    (tmp_path / "metrics.csv").write_text(f"{header}\n1,2.0\n\n\nxx\n2,1.5,junk\n")
    with pytest.warns(RunLogWarning, match=r"metrics\.csv line 5: dropped a row"):
        log = MetricsLog(tmp_path, tensorboard=False)
    # The rewrite keeps a row with a field too many (it failed: "fields not in fieldnames").
    assert [r["epoch"] for r in MetricsLog.read(tmp_path / "metrics.csv")] == [1, 2]
    assert [r["epoch"] for r in log.rows] == [1, 2]


def test_the_progress_shows_where_an_epoch_really_ended():
    # A budget that ends epoch 1 at step 5 of 469: the line says so (the bar was filled and
    # the line read as a whole epoch), and before any measurement the bar shows dashes.
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    out = io.StringIO()
    row = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.1, "test_acc": 0.4,
           "images_per_s": 1000.0, "epoch_time_s": 2.0}
    with TrainProgress(3, 469, console=Console(file=out, width=200, force_terminal=True,
                                                  color_system=None)) as bar:
        bar.start_epoch(1)
        assert bar.progress.tasks[0].fields["loss"] == "-"
        bar.end_epoch(row, steps_done=5)
        assert bar.progress.tasks[0].completed == 5
    assert "epoch 1/3 (stopped at step 5 of 469)  train loss 1.0000" in out.getvalue()
    quiet = io.StringIO()
    TrainProgress(3, 469, quiet=True, console=Console(file=quiet, width=200)).end_epoch(row)
    assert "epoch 1/3  train loss" in quiet.getvalue()


def test_a_log_file_gets_whole_epoch_lines_not_a_bar_wrapped_at_80_columns():
    # `cnnlab train ... > log 2>&1`: the bar's last frame came out, and each epoch's line
    # was cut at column 80 ("10,284 \nimg/s"), which broke grep and awk on the log.
    import io

    from rich.console import Console

    from cnnlab.cli.train import training_log
    from cnnlab.train.train_progress import TrainProgress

    row = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.1, "test_acc": 0.4,
           "images_per_s": 10284.0, "epoch_time_s": 5.8}
    log = io.StringIO()
    console = Console(file=log, width=80, soft_wrap=training_log.soft_wrap,  # as the CLI's
                      force_terminal=False, force_jupyter=False)  # whatever FORCE_COLOR says
    with TrainProgress(3, 469, console=console) as bar:
        assert not bar.shows_steps
        bar.start_epoch(1)
        bar.end_epoch(row)
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("epoch 1/3  train loss 1.0000")
    assert lines[0].rstrip().endswith("img/s  5.8 s") and "━" not in log.getvalue()


def test_a_jupyter_notebook_keeps_its_live_bar(monkeypatch):
    import importlib.util
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    # With ipywidgets, which rich draws the bar with (without: plain lines, test_progress).
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "ipywidgets" else real(name, *a))
    notebook = Console(file=io.StringIO(), force_jupyter=True)
    assert not notebook.is_terminal
    assert TrainProgress(3, 469, console=notebook).shows_steps


def test_a_run_that_fails_before_training_leaves_no_out_dir_it_made(tmp_path):
    # The run folder went, but the --out-dir made for it stayed, empty (a newcomer's
    # `train` with a wrong --weights path left `runs/new/` behind).
    import dataclasses

    import pytest

    from cnnlab.train import TrainConfig, train

    new = tmp_path / "new" / "runs"
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                      quiet=True, weights=str(tmp_path / "missing.safetensors"))
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        train(dataclasses.replace(cfg, out_dir=str(new)))
    assert list(tmp_path.iterdir()) == []
    # A folder that was there stays, with what it holds.
    (tmp_path / "runs" / "earlier").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        train(dataclasses.replace(cfg, out_dir=str(tmp_path / "runs")))
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["earlier"]


def test_a_run_name_already_taken_says_where_the_run_went(tmp_path):
    # `--run-name syn1` wrote to runs/syn1-2 without a word: a script then evaluated syn1.
    import warnings

    from cnnlab.notices import SetupWarning
    from cnnlab.train.runlog import new_run_dir

    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)
        first = new_run_dir(tmp_path, "lenet_d2l", "syn1")  # free: nothing said
        new_run_dir(tmp_path, "lenet_d2l")  # a time-stamped name: nothing said either
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = new_run_dir(tmp_path, "lenet_d2l", "syn1")
    assert (first.name, second.name) == ("syn1", "syn1-2")
    [told] = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    assert told.startswith(f"{first} exists: this run is {second} (`cnnlab resume {first}` "
                           "continues that one")  # and resume(...) where called from Python


def test_a_lock_file_that_leads_to_another_file_never_overwrites_it(tmp_path):
    # A run folder copied in with .lock as a symlink (or a hard link) to another file:
    # taking the lock truncated that file and wrote the pid into it.
    import os

    import pytest

    from cnnlab.train.runlog import RunLogWarning, run_lock

    run = tmp_path / "run"
    run.mkdir()
    for make_link in (os.symlink, os.link):
        victim = tmp_path / f"precious-{make_link.__name__}.txt"
        victim.write_text("keep me\n")
        make_link(victim, run / ".lock")
        with pytest.warns(RunLogWarning, match=r"\.lock was a link to another file"):
            with run_lock(run) as held:
                assert held
                assert not (run / ".lock").is_symlink()
                assert (run / ".lock").read_text().strip() == str(os.getpid())
        assert victim.read_text() == "keep me\n"
        assert not os.path.lexists(run / ".lock")  # removed at the end, as ever
