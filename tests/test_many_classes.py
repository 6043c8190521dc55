"""A run of many classes (a folder of 300 or 1,000: birds, products, an ImageNet subset)
reads as well as Fashion-MNIST's ten: its per-class tables show their two ends and say
where every class is, and reading its class_metrics.jsonl does not read every epoch."""

from __future__ import annotations

import json
import re

from cnnlab.train import class_metrics_file
from cnnlab.train.report import figure_caption, write_report
from cnnlab.train.report_evaluation import (
    CLASSES_AT_EACH_END,
    ShownEvaluation,
    class_metrics,
    ranked_classes,
)


def classes_and_matrix(n: int) -> tuple[list[str], list[list[int]]]:
    """``n`` classes of 10 test images each; class i gets i % 11 of them right, the
    rest predicted as the next class; class 7 has no test image."""
    names = [f"species{i:04d}" for i in range(n)]
    matrix = [[0] * n for _ in range(n)]
    for i in range(n):
        if i != 7:
            matrix[i][i] = min(i % 11, 10)
            matrix[i][(i + 1) % n] = 10 - matrix[i][i]
    return names, matrix


def shown_of(n: int) -> ShownEvaluation:
    names, matrix = classes_and_matrix(n)
    acc = {name: (row[i] / sum(row) if sum(row) else None)
           for i, (name, row) in enumerate(zip(names, matrix, strict=True))}
    return ShownEvaluation(3, acc, matrix, True)


def summary_of(shown: ShownEvaluation) -> dict:
    return {"model": "lenet_modern", "classes": list(shown.per_class_acc),
            "final": {"epoch": 3, "test_acc": 0.4, "images_per_s": 1000.0},
            "best_test_acc": 0.4, "best_epoch": 3, "eval_images": 3000,
            "config": {"data": "folder:birds", "epochs": 3}, "device": "cpu"}


def rows_of(page: str) -> list[str]:
    """The first cell of each body row of the page's tables."""
    return re.findall(r"<tr><td>([^<]*)</td>", page)


def test_a_report_of_many_classes_shows_the_ends_and_folds_the_whole_table(tmp_path):
    # 300 classes: the per-class table was 300 rows in name order, the run's
    # configuration a long scroll below it, the failing classes nowhere in particular.
    shown = shown_of(300)
    page = write_report(tmp_path, summary_of(shown), shown=shown,
                        figures=[]).read_text(encoding="utf-8")
    seen, folded = page.split("<details>")
    shown_rows = rows_of(seen)
    assert len(shown_rows) <= 3 * CLASSES_AT_EACH_END  # lowest, highest, confused pairs
    assert "Lowest accuracy" in seen and "Highest accuracy" in seen
    assert "Every class (300)" in folded and len(rows_of(folded)) == 300
    # The lowest are those with none right (i % 11 == 0), in the classes' order; the
    # class without a test image is not ranked, but said.
    assert shown_rows[:3] == ["species0000", "species0011", "species0022"]
    assert "species0007" not in seen and "1 class had no test image" in seen
    assert shown_rows[CLASSES_AT_EACH_END] == "species0010"  # 10 of 10 right
    assert "Configuration" in folded.split("</details>")[1]


def test_a_report_of_ten_classes_keeps_its_one_table():
    shown = shown_of(10)
    assert ranked_classes(shown.per_class_acc) is None


def test_the_most_confused_caption_names_the_largest_off_diagonal_cell():
    shown = shown_of(300)
    caption = figure_caption("confusion.png", summary_of(shown), shown)
    # species0000 (none right): all 10 images predicted as species0001, the first of
    # the largest cells.
    assert "Most often confused: species0000 predicted as species0001 (10 images)" in caption


def test_the_last_epochs_metrics_are_found_without_reading_the_earlier_epochs(
        tmp_path, monkeypatch):
    # A run of 1,000 classes writes 3 MB a line: after 100 epochs the report and
    # read_result looked at all 300 MB to find the last epoch's line.
    names, matrix = classes_and_matrix(40)
    path = tmp_path / "class_metrics.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for epoch in range(1, 21):
            fh.write(json.dumps({"epoch": epoch, "per_class_acc": dict.fromkeys(names, 0.5),
                                 "confusion": matrix}) + "\n")
    looked_at = []
    real = class_metrics_file.line_epoch
    monkeypatch.setattr(class_metrics_file, "line_epoch",
                        lambda line: looked_at.append(line) or real(line))
    record = class_metrics(path, 20, 40)
    assert record is not None and record["epoch"] == 20
    assert len(looked_at) == 1  # the last line only
    looked_at.clear()
    assert class_metrics(path, 18, 40)["epoch"] == 18
    assert len(looked_at) == 3  # from the end to epoch 18's line


def scored_of(n: int):
    from pathlib import Path

    from cnnlab.train.evaluate import EvalResult, RunEvaluation

    names, matrix = classes_and_matrix(n)
    acc = [row[i] / sum(row) if sum(row) else float("nan") for i, row in enumerate(matrix)]
    return RunEvaluation(EvalResult(1.0, 0.4, acc, matrix, 10 * (n - 1)), names,
                         (False, 0), Path("best.safetensors"), 3, 0, 3)


def test_a_notebook_shows_the_ends_of_many_classes_not_the_whole_matrix():
    # 1,000 classes: a row of 1,000 "as ..." cells per class, 33 MB of HTML.
    page = scored_of(300)._repr_html_()
    assert page.count("<tr>") == 2 + 2 * CLASSES_AT_EACH_END  # two header rows
    assert "species0000</td>" in page and "species0001 (10)" in page  # taken for, counted
    assert ".per_class_acc" in page and ".result.confusion" in page
    assert len(page) < 20_000


def test_eval_lists_the_ends_of_many_classes_or_every_one_when_asked():
    scored = scored_of(300)
    groups = scored.class_table()
    assert [heading for heading, _ in groups] == ["lowest accuracy", "highest accuracy"]
    assert groups[0][1][0] == ("species0000", "0.00%")
    assert all(len(rows) == CLASSES_AT_EACH_END for _, rows in groups)
    (heading, rows), = scored.class_table(every=True)
    assert heading == "" and len(rows) == 300 and rows[7] == ("species0007",
                                                              "n/a (no test images)")
    (_, few), = scored_of(10).class_table()
    assert len(few) == 10


def test_cnnlab_eval_of_many_classes_prints_the_two_ends_and_how_to_see_all(tmp_path,
                                                                            monkeypatch):
    # 1,000 classes printed 1,000 rows in name order: which fail, the table's question,
    # was a long scroll to find.
    from typer.testing import CliRunner

    import cnnlab.train.run as run_module
    from cnnlab.cli import app
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, train

    data = make_synthetic(num_train=120, num_test=80, num_classes=40, seed=3)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg, test_only=False: data)
    train(TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=40,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r"))
    args = ["eval", str(tmp_path / "r"), "--device", "cpu"]
    shown = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.stdout.splitlines() if re.search(r"│ class\d+ ", line)]
    assert len(rows) == 2 * CLASSES_AT_EACH_END
    assert "lowest accuracy" in shown.stdout and "highest accuracy" in shown.stdout
    words = " ".join(shown.stdout.split())
    assert ("40 classes: the 10 of lowest and the 10 of highest accuracy; add --all-classes "
            "to list every one") in words
    every = CliRunner().invoke(app, [*args, "--all-classes"], env={"COLUMNS": "120"})
    assert every.exit_code == 0, every.output
    assert len([line for line in every.stdout.splitlines()
                if re.search(r"│ class\d+ ", line)]) == 40
