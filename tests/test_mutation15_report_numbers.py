"""Numbers a run's report and read_result show, pinned where mutation testing found them
unchecked (session 38, helper mutation15): which epoch the best checkpoint is named by,
whose per-class numbers an interrupted run reads back, which cells are "most confused"."""

import json

from cnnlab.train.report import figure_caption
from cnnlab.train.report_evaluation import (
    CLASSES_LISTED_WHOLE,
    ShownEvaluation,
    best_epoch,
    confused_pairs,
    last_class_metrics,
    ranked_classes,
)


def _best_record(run_dir, epoch, step):
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "checkpoints" / "best.json").write_text(
        json.dumps({"epoch": epoch, "step_in_epoch": step}), encoding="utf-8")


def test_a_best_checkpoint_of_an_epoch_the_history_lacks_names_no_epoch(tmp_path):
    # best.json says epoch 3, but metrics.csv holds no row of it (cut off, or replaced):
    # naming epoch 3 would point the report at an evaluation no file has.
    history = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7}]
    _best_record(tmp_path, 3, 0)
    assert best_epoch(history, 0.7, tmp_path) is None
    history.append({"epoch": 3, "test_acc": 0.7})
    assert best_epoch(history, 0.7, tmp_path) == 3


def _class_lines(path, epochs, names):
    with open(path, "w", encoding="utf-8") as fh:
        for epoch in epochs:
            right = epoch  # images of the first class right: tells the epochs apart
            fh.write(json.dumps({"epoch": epoch,
                                 "per_class_acc": {names[0]: right / 10, names[1]: 1.0},
                                 "confusion": [[right, 10 - right], [0, 10]]}) + "\n")


def test_an_interrupted_runs_class_numbers_are_its_last_evaluations(tmp_path):
    names = ["cat", "dog"]
    _class_lines(tmp_path / "class_metrics.jsonl", [1, 2, 3], names)
    history = [{"epoch": e, "test_acc": 0.5 + e / 100} for e in (1, 2, 3)]
    row, record = last_class_metrics(tmp_path, history, 2)
    assert row["epoch"] == 3 and record["confusion"][0] == [3, 7]
    assert record["per_class_acc"]["cat"] == 0.3
    # eval_every skipped epoch 3 (NaN): the last evaluated epoch is 2
    history[-1]["test_acc"] = float("nan")
    row, record = last_class_metrics(tmp_path, history, 2)
    assert row["epoch"] == 2 and record["confusion"][0] == [2, 8]


def test_a_per_class_table_is_cut_only_past_its_whole_listing():
    names = [f"c{i:02d}" for i in range(CLASSES_LISTED_WHOLE + 1)]
    assert ranked_classes(dict.fromkeys(names[:-1], 0.5)) is None  # 30: listed whole
    assert ranked_classes(dict.fromkeys(names, 0.5)) is not None  # 31: cut


def test_most_confused_never_names_a_class_taken_for_itself():
    matrix = [[90, 3, 7], [1, 95, 4], [20, 5, 75]]
    assert confused_pairs(matrix, 2) == [(20, 2, 0), (7, 0, 2)]
    shown = ShownEvaluation(3, {"cat": 0.9, "dog": 0.95, "eel": 0.75}, matrix, True)
    summary = {"best_epoch": 3, "final": {"epoch": 3}, "config": {"epochs": 3},
               "eval_images": 300}
    caption = figure_caption("confusion.png", summary, shown)
    assert "Most often confused: eel predicted as cat (20 images)." in caption


def test_the_report_names_the_weights_its_accuracy_was_measured_on():
    from cnnlab.train.report_evaluation import evaluated_weights_words

    assert evaluated_weights_words({}) == "trained weights"
    assert evaluated_weights_words({"ema_decay": 0.999}) == "EMA weights (decay 0.999)"
    assert evaluated_weights_words({"lookahead_steps": 5}) == "Lookahead's weights"
    assert (evaluated_weights_words({"tta_flip": True, "tta_shift": 2})
            == "trained weights, test-time views: mirror + shifts of 2 px")


def test_an_epoch_cut_short_in_the_last_planned_epoch_still_says_of_the_plan():
    from cnnlab.train.report import epochs_words

    assert epochs_words(3, 3) == "3"
    assert epochs_words(2, 3) == "2 of 3"
    # max_time cut epoch 3 of 3 halfway: 2.5 epochs trained of the 3 planned
    assert (epochs_words(3, 3, {"steps": 5, "of": 10})
            == "2.5 of 3 (epoch 3 stopped at step 5 of 10)")


def test_the_per_class_table_counts_the_diagonal_as_correct(tmp_path):
    from cnnlab.train.report import write_report

    # eel is mostly taken for cat: its row's largest cell is not its correct count
    matrix = [[90, 3, 7], [1, 95, 4], [60, 35, 5]]
    shown = ShownEvaluation(3, {"cat": 0.9, "dog": 0.95, "eel": 0.05}, matrix, True)
    summary = {"model": "lenet5", "best_epoch": 3, "best_test_acc": 0.6333,
               "final": {"epoch": 3, "test_acc": 0.6333}, "config": {"epochs": 3},
               "eval_images": 300, "classes": ["cat", "dog", "eel"]}
    page = write_report(tmp_path, summary, shown=shown, figures=[]).read_text(encoding="utf-8")
    assert ("<td>eel</td><td class=num>5</td><td class=num>100</td>"
            "<td class=num>5.0%</td>") in page
    assert "<td>cat</td><td class=num>90</td><td class=num>100</td>" in page


def test_a_report_write_cut_short_leaves_the_earlier_report_whole(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    import pytest

    from cnnlab.train.report import write_report

    (tmp_path / "report.html").write_text("<html>earlier</html>", encoding="utf-8")
    real = Path.write_text

    def half_then_disk_full(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_disk_full)
    summary = {"model": "lenet5", "final": {"epoch": 1, "test_acc": 0.5}, "config": {}}
    with pytest.raises(OSError):
        write_report(tmp_path, summary, figures=[])
    monkeypatch.undo()
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == "<html>earlier</html>"


def test_the_curves_caption_gives_the_last_and_the_best_epochs_each_its_own():
    summary = {"final": {"epoch": 3, "test_acc": 0.65, "train_acc": 0.99},
               "best_test_acc": 0.7, "best_epoch": 2, "eval_images": 1000}
    shown = ShownEvaluation(2, {}, [], True)
    caption = figure_caption("curves.png", summary, shown)
    assert caption.endswith("Test accuracy after the last epoch (3): 65.0%; best 70.0% at epoch 2.")


def test_the_date_row_counts_resumes_not_commands(tmp_path):
    from cnnlab.train.report import write_report

    def page_of(commands):
        summary = {"model": "lenet5", "final": {"epoch": 1, "test_acc": 0.5}, "config": {},
                   "commands": commands, "environment": {"date": "2026-12-07T12:00:00"}}
        return write_report(tmp_path, summary, figures=[]).read_text(encoding="utf-8")

    first = {"date": "2026-12-07T11:00:00", "argv": ["cnnlab", "train"]}
    again = {"date": "2026-12-07T11:30:00", "argv": ["cnnlab", "resume"]}
    assert "started 2026-12-07 11:00:00; report written 2026-12-07 12:00:00<" in page_of([first])
    # the run began with the first command, not the last resume
    assert "started 2026-12-07 11:00:00; report written 2026-12-07 12:00:00; resumed 1 time<" \
        in page_of([first, again])
    assert "; resumed 2 times<" in page_of([first, again, again])


def test_most_confused_shares_are_of_the_true_class(tmp_path):
    from cnnlab.train.report import write_report

    n = CLASSES_LISTED_WHOLE + 1  # the report cuts its table and lists the pairs
    names = [f"c{i:02d}" for i in range(n)]
    matrix = [[10 if i == j else 0 for j in range(n)] for i in range(n)]
    matrix[0] = [20, 20] + [0] * (n - 2)  # c00: 40 images, half taken for c01 (10 images)
    acc = {name: row[i] / sum(row) for i, (name, row) in enumerate(zip(names, matrix, strict=True))}
    shown = ShownEvaluation(1, acc, matrix, True)
    summary = {"model": "lenet5", "best_epoch": 1, "best_test_acc": 0.9,
               "final": {"epoch": 1, "test_acc": 0.9}, "config": {"epochs": 1},
               "eval_images": 340, "classes": names}
    page = write_report(tmp_path, summary, shown=shown, figures=[]).read_text(encoding="utf-8")
    assert ("<td>c00</td><td>c01</td><td class=num>20</td><td class=num>50.0%</td>"
            in page)
