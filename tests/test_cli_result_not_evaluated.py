"""`cnnlab train`'s result table says "not evaluated" for an accuracy not measured (NaN),
as the report and read_result say it: it printed "nan%"."""

import math
from types import SimpleNamespace

from cnnlab.cli import train_result


def test_a_result_not_evaluated_says_so(monkeypatch, capsys):
    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "1 of 2")
    result = SimpleNamespace(final={"test_acc": math.nan, "images_per_s": 100.0},
                             eval_scope="", best_test_acc=math.nan, train_time_s=1.0,
                             stopped=None, run_dir=None, history=[])
    train_result.print_result(result)
    shown = capsys.readouterr().out
    assert "nan" not in shown.lower()
    assert shown.count("not evaluated") == 2


def test_an_evaluated_result_keeps_its_percent(monkeypatch, capsys):
    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "2")
    result = SimpleNamespace(final={"test_acc": 0.91234, "images_per_s": 100.0},
                             eval_scope="", best_test_acc=0.925, train_time_s=1.0,
                             stopped=None, run_dir=None, history=[])
    train_result.print_result(result)
    shown = capsys.readouterr().out
    assert "91.23%" in shown and "92.50%" in shown
