"""Durations, counts and sizes read alike in every table: the CLI's result, the report's
right-aligned number columns and the design report's MACs range and mean train time use
the same writers as the rest (a long run's "train time" read "4523.7 s" where
report.html said "75.4 min")."""

from types import SimpleNamespace

from cnnlab.cli import train_result
from cnnlab.design.report_text import space_table
from cnnlab.train.report import html_table


def test_the_cli_result_writes_a_long_train_time_in_minutes(monkeypatch, capsys):
    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "10")
    result = SimpleNamespace(final={"test_acc": 0.9, "images_per_s": 100.0}, eval_scope="",
                             best_test_acc=0.9, train_time_s=4523.7, stopped=None,
                             run_dir=None, history=[])
    train_result.print_result(result)
    shown = capsys.readouterr().out
    assert "75.4 min" in shown and "4523.7" not in shown


def test_report_columns_of_minutes_hours_and_large_units_are_right_aligned():
    rows = [["a", "12.5 min", "1.52T", "1.50 TiB"], ["b", "3.2 h", "980G", "2.00 PiB"]]
    table = html_table(["name", "time", "MACs", "memory"], rows)
    head = table.split("</tr>")[0]
    assert head.count("class=num") == 3, head  # every column but the name
    assert "<th scope=col>name</th>" in head


def test_the_design_reports_macs_range_reads_as_the_trials_macs():
    space = {"label": "AnyNetX_A", "done": 2, "failed": 0, "best_error": 10.0,
             "best_of": 10, "best_level": 0.9, "best_low": 9.0, "best_high": 11.0,
             "median_error": 12.0, "macs_min": 118_000, "macs_max": 1_234_570_000,
             "mean_train_time_s": 754.0}
    _, rows = space_table({"spaces": [space]})
    assert "118K-1.23G" in rows[0] and "12.6 min" in rows[0], rows[0]
