"""A folder of many classes scored on a few test images (``cnnlab eval --eval-subset``,
evaluate() on a subset): too few classes scored to fill the lowest and the highest ends,
each renderer shows one table of the scored classes, not a heading over an empty one."""

from pathlib import Path

from cnnlab.train.evaluate import EvalResult, RunEvaluation
from cnnlab.train.report_evaluation import ShownEvaluation

SCORED = (3, 17, 42, 50, 61, 77, 88, 99)  # 8 of 100 classes


def few_scored() -> tuple[list[str], list[list[int]], list[float]]:
    names = [f"kind{i:03d}" for i in range(100)]
    matrix = [[0] * 100 for _ in range(100)]
    for k, i in enumerate(SCORED):
        matrix[i][i], matrix[i][0] = k % 3, 1  # 1 or 2 images, some right
    acc = [row[i] / sum(row) if sum(row) else float("nan") for i, row in enumerate(matrix)]
    return names, matrix, acc


def scored_run() -> RunEvaluation:
    names, matrix, acc = few_scored()
    return RunEvaluation(EvalResult(0.5, 2.0, acc, matrix, len(SCORED)), names, (False, 0),
                         Path("best.safetensors"), 3, 0, 3)


def test_eval_table_lists_the_few_scored_classes_under_one_heading():
    (heading, rows), = scored_run().class_table()
    assert [name for name, _ in rows] == [f"kind{i:03d}" for i in SCORED]
    assert heading == "the 8 of 100 classes that had test images scored"


def test_notebook_view_shows_the_few_scored_classes_in_one_table():
    page = scored_run()._repr_html_()
    assert "highest accuracy" not in page and "lowest accuracy" not in page
    assert page.count("<table>") == 1 and page.count("<tr>") == 1 + len(SCORED)
    assert "those that had test images scored" in page


def test_report_shows_the_few_scored_classes_in_one_table():
    from cnnlab.train.report import _class_results

    names, matrix, acc = few_scored()
    shown = ShownEvaluation(3, dict(zip(names, acc, strict=True)), matrix, True)
    summary = {"best_epoch": 3, "best_test_acc": 0.5, "final": {"epoch": 3, "test_acc": 0.5}}
    page = "".join(_class_results(summary, shown, []))
    assert "Highest accuracy" not in page and "Lowest accuracy" not in page
    assert "<h4>The 8 of 100 classes that had test images scored</h4>" in page
    first = page.split("<h4>")[1]  # the scored classes' table, before the confused pairs
    assert first.count("<tr>") == 1 + len(SCORED) and "kind099" in first


def test_cnnlab_eval_prints_one_table_of_the_few_scored_classes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.cli.train as cli_train
    import cnnlab.train.evaluate as evaluate_module
    from cnnlab.cli import app

    monkeypatch.setattr(evaluate_module, "evaluate_run", lambda *a, **k: scored_run())
    monkeypatch.setattr(cli_train, "_busy_cpu_note_for", lambda *a: None)
    shown = CliRunner().invoke(app, ["eval", str(tmp_path), "--eval-subset", "8"],
                               env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.output
    assert "highest accuracy" not in shown.stdout
    assert "8 of 100 classes" in " ".join(shown.stdout.split())


def test_fifteen_scored_of_many_are_one_table_not_ten_and_five():
    # 15 scored: the "highest" end held the 5 the lowest left over, under a heading that
    # named them the highest of 100.
    from cnnlab.train.report_evaluation import listed_classes, per_class_tables

    names = [f"kind{i:03d}" for i in range(100)]
    acc = {name: (i / 15 if i < 15 else None) for i, name in enumerate(names)}
    (heading, listed), = listed_classes(acc)
    assert listed == names[:15] and heading.startswith("the 15 of 100 classes")
    shown = ShownEvaluation(1, acc, [], True)
    page = "".join(per_class_tables(shown, [[name, "", "", ""] for name in names]))
    assert "Highest accuracy" not in page and page.count("<table>") == 2  # + every class
