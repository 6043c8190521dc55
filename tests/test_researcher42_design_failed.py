"""A design report says when failed trials (a network the recipe diverges on) are left out
of its EDFs: the paper's F(e) counts every sampled network, so a space whose networks
diverge more often would otherwise look no worse, and nothing said so."""

from __future__ import annotations

from test_design_report import sweep

from cnnlab.design.report import analyze
from cnnlab.design.store import TrialStore


def test_the_notes_say_failed_trials_are_left_out_of_the_edfs(tmp_path):
    a = sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0])
    b = sweep(tmp_path / "b", [20.0, 21.0])
    with TrialStore(b) as store:  # two more of b's networks diverged
        store.init_sweep(store.spec(), 4)
        for i in (2, 3):
            store.mark_running(i, "lab-pc:101")
            store.record(i, "failed", message="TrainingDiverged: the loss became NaN/inf",
                         worker="lab-pc:101")
    analyze([a, b], tmp_path / "r", resamples=50)
    text = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    assert ("Failed trials (diverged, or broken) are left out of the EDFs, KS tests, best "
            "and median errors: anynetx_b (b) 2 of 4.") in text
    assert "looks better than it is" in text
    assert "Failed trials" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_no_such_note_when_every_trial_finished(tmp_path):
    a = sweep(tmp_path / "a", [30.0, 31.0])
    analyze([a], tmp_path / "r", resamples=50)
    assert "Failed trials" not in (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")


def _ended(tmp_path, messages):
    import io

    from rich.console import Console

    from cnnlab.cli.design_run import say_how_it_ended

    folder = sweep(tmp_path / "s", [30.0])
    with TrialStore(folder) as store:
        store.init_sweep(store.spec(), 1 + len(messages))
        for i, message in enumerate(messages, start=1):
            store.mark_running(i, "lab-pc:101")
            store.record(i, "failed", message=message, worker="lab-pc:101")
        counts = store.counts()
    out = io.StringIO()
    say_how_it_ended(folder, counts, Console(file=out, width=400))
    return out.getvalue()


DIVERGED = ("TrainingDiverged: the loss became NaN/inf at epoch 1, step 16 (lr 1000000.0): "
            "the sweep's recipe diverges on this network; trained the same way again "
            "(--retry-failed) it would again")


def test_diverged_trials_are_not_sent_to_retry_failed(tmp_path):
    # Each trial's message said --retry-failed would diverge again, and the sweep's last
    # line then offered exactly that command.
    said = _ended(tmp_path, [DIVERGED, DIVERGED])
    assert "train them again with" not in said
    assert "--retry-failed would train again unchanged" in said
    assert "a lower --lr" in said and "clip_grad_norm=1.0" in said


def test_other_failures_are_still_offered_retry_failed(tmp_path):
    said = _ended(tmp_path, [DIVERGED, "RuntimeError: CUDA out of memory (trainer.py:80)"])
    assert "train them again with: cnnlab design run --resume" in said
    assert "--retry-failed" in said
