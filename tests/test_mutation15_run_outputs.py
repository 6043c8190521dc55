"""What write_run_outputs leaves in a run folder, pinned where mutation testing found it
unchecked (session 38, helper mutation15)."""

import json
import shutil

import pytest


def _outputs_to_write(tiny_run, tmp_path):
    """A copy of the finished tiny run whose summary and report are to be written again."""
    run = shutil.copytree(tiny_run, tmp_path / "run")
    (run / "summary.json").unlink()
    return run


def test_outputs_cut_short_leave_no_earlier_report_beside_the_new_summary(
        tiny_run, tmp_path, monkeypatch):
    from cnnlab.train import resume, run_outputs

    run = _outputs_to_write(tiny_run, tmp_path)
    assert (run / "report.html").is_file()

    def report_fails(*args, **kwargs):
        raise RuntimeError("report cut short")

    monkeypatch.setattr(run_outputs, "write_report", report_fails)
    with pytest.warns(UserWarning, match="writing them now"), \
            pytest.raises(RuntimeError, match="report cut short"):
        resume(run, threads=1, quiet=True)
    # summary.json is this call's: an earlier report.html beside it would be taken for
    # its report (and the outputs for whole), showing the earlier numbers.
    assert (run / "summary.json").is_file() and not (run / "report.html").exists()
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="writing them now"):
        resume(run, threads=1, quiet=True)  # the outputs are behind: written again
    assert (run / "report.html").is_file()


def test_the_summarys_best_epoch_is_the_best_checkpoints_record(tiny_run, tmp_path):
    from cnnlab.train import resume

    run = _outputs_to_write(tiny_run, tmp_path)
    best = json.loads((run / "checkpoints" / "best.json").read_text(encoding="utf-8"))
    assert (best["epoch"], best["step_in_epoch"]) == (1, 0)
    # metrics.csv's accuracy no longer equals the checkpoint's: an accuracy match (how a
    # tie misnamed the epoch) finds no row, the checkpoint's own record still names it.
    metrics = run / "metrics.csv"
    header, row = metrics.read_text(encoding="utf-8").splitlines()[:2]
    cells = row.split(",")
    cells[header.split(",").index("test_acc")] = "0.125"
    metrics.write_text(f"{header}\n{','.join(cells)}\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="writing them now"):
        resume(run, threads=1, quiet=True)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["best_epoch"] == 1


def _cut(step_in_epoch, steps_per_epoch=10, accum=1, stopped="max_time"):
    from types import SimpleNamespace

    from cnnlab.train.run_outputs import _cut_epoch

    trainer = SimpleNamespace(cfg=SimpleNamespace(accum_steps=accum),
                              step_in_epoch=step_in_epoch, steps_per_epoch=steps_per_epoch)
    result = SimpleNamespace(stopped=stopped, history=[{"epoch": 2}])
    return _cut_epoch(trainer, result)


def test_the_epoch_max_time_cut_counts_its_optimizer_steps():
    assert _cut(4) == {"steps": 4, "of": 10}
    assert _cut(4, stopped=None) is None  # not cut by the budget
    assert _cut(10) is None  # its last step taken: the epoch ended, none was cut
    # 10 batches, 3 to an optimizer step: 4 steps (the last of one batch), 2 taken
    assert _cut(7, accum=3) == {"steps": 2, "of": 4}
    assert _cut(2, accum=3) is None  # no optimizer step taken yet in it: nothing trained


def test_a_run_and_its_resume_give_back_the_callers_sigterm_handler(tiny_run, tmp_path):
    import signal

    from cnnlab.train import TrainConfig, resume, train

    def callers(signum, frame):
        raise SystemExit(143)

    before = signal.signal(signal.SIGTERM, callers)
    try:
        cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=64,
                          device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r",
                          threads=1)
        train(cfg, console=False)
        # the outputs are written with SIGTERM recorded, not obeyed: afterwards the
        # caller's handler is back, or a later SIGTERM to the process was ignored
        assert signal.getsignal(signal.SIGTERM) is callers
        with pytest.warns(UserWarning, match="writing them now"):
            resume(_outputs_to_write(tiny_run, tmp_path), threads=1, quiet=True)
        assert signal.getsignal(signal.SIGTERM) is callers
    finally:
        signal.signal(signal.SIGTERM, before)
