"""The result table `cnnlab train` and `resume` print, pinned where hand-made mutants of
cli/train_result.py went unnoticed (session 41, mutation46). No run: the result is stood
in for."""

from __future__ import annotations

from types import SimpleNamespace


def test_the_result_table_writes_long_times_in_minutes_and_speeds_with_thousands(
        monkeypatch, capsys):
    # As report.html and `cnnlab compare` write them: "75.4 min", not "4523.7 s"; a
    # GPU's images/s as "12,346".
    from cnnlab.cli import train_result

    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "3")
    train_result.print_result(SimpleNamespace(
        final={"test_acc": 0.9, "images_per_s": 12345.6}, eval_scope="", best_test_acc=0.9,
        train_time_s=4523.7, stopped=None, run_dir=None, history=[]))
    rows = [line.split("│") for line in capsys.readouterr().out.splitlines()]
    cells = {row[1].strip(): row[2].strip() for row in rows if len(row) == 4}
    assert cells["train time"] == "75.4 min"
    assert cells["images/s (last epoch)"] == "12,346"


def test_a_run_folder_named_like_markup_is_printed_as_written(monkeypatch, capsys, tmp_path):
    # "runs/[red]x" is a folder's name, to be copied from the line as it stands.
    from cnnlab.cli import train_result

    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "1")
    run = tmp_path / "[red]x"
    run.mkdir()
    train_result.print_result(SimpleNamespace(
        final={"test_acc": 0.9, "images_per_s": 10.0}, eval_scope="", best_test_acc=0.9,
        train_time_s=1.0, stopped=None, run_dir=run, history=[]))
    out = capsys.readouterr().out
    assert f"run:    {run}\n" in out and f"report: {run / 'report.html'}\n" in out
