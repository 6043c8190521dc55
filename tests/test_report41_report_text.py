"""What a run's report.html says in its headline table and curves caption, for runs
scored on part of the test split, under torchrun, or with no epoch of its best."""

from test_report_page import run_with_epochs, text

from cnnlab.train.report import figure_caption, write_report
from cnnlab.train.report_evaluation import shown_evaluation


def test_an_accuracy_on_part_of_the_test_split_says_which_part(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8], [400])
    summary["eval_scope"] = "first 1,000 of 10,000 test images"
    words = text(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    assert "test accuracy, last epoch (first 1,000 of 10,000 test images) 80.0%" in words


def test_a_torchrun_run_counts_the_batch_of_a_step_over_every_process(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8], [400])
    summary["world_size"], summary["config"]["batch_size"] = 4, 64
    words = text(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    assert "processes (torchrun) 4, batch 64 each (256 a step)" in words


def test_the_curves_caption_names_no_epoch_for_a_best_of_no_known_epoch(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8, 0.7], [400, 350])
    summary.update(best_test_acc=0.95, best_epoch=None)
    words = figure_caption("curves.png", summary, shown_evaluation(tmp_path, summary))
    assert words.endswith("Test accuracy after the last epoch (2): 70.0%.")


def test_a_time_budget_met_at_an_epochs_end_says_so(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8], [400])
    summary.update(stopped="max_time", cut_epoch=None)
    page = write_report(tmp_path, summary).read_text(encoding="utf-8")
    words = text(page).replace("&#x27;", "'")
    assert "stopped at its time budget (max_time), at an epoch's end" in words
