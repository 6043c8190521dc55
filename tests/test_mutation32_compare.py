"""What a comparison tells a reader that the other compare tests left unpinned (found by
hand-mutating cnnlab.train.compare*, session 40): which notes are said, how far runs got,
the numbers and words in the table, and the figure's axes."""

from __future__ import annotations

from compare_helpers import FINISHED, make_run, three_epochs

from cnnlab.train import compare_runs

TEST_IMAGES_NOTE = ("the runs were scored on different test images (eval_subset, a folder's "
                    "split_seed, or data given to train() from Python)")


def test_a_folders_split_seed_changes_the_test_images_and_is_said_so(tmp_path):
    # A folder of images is split into train and test by split_seed: another seed scores
    # the runs on other images. On a dataset with its own test split, the seed is unused.
    history = three_epochs(0.5, 0.6, 0.7)
    photos = f"folder:{tmp_path / 'photos'}"
    a = make_run(tmp_path, "a", history, FINISHED, data=photos, split_seed=0)
    b = make_run(tmp_path, "b", history, FINISHED, data=photos, split_seed=1)
    assert TEST_IMAGES_NOTE in compare_runs([a, b]).notes()
    assert not compare_runs([a, b]).same_data
    c = make_run(tmp_path, "c", history, FINISHED, split_seed=0)
    d = make_run(tmp_path, "d", history, FINISHED, split_seed=1)
    assert compare_runs([c, d]).notes() == [] and compare_runs([c, d]).same_data


def test_three_differing_settings_still_name_each_run_by_its_settings(tmp_path):
    # LABEL_SETTINGS is 3: three settings fit a legend; the fourth turns it to folder names.
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, lr=0.1)
    b = make_run(tmp_path, "b", history, lr=0.2, seed=1, batch_size=64)
    assert compare_runs([a, b]).labels() == ["batch_size=128, lr=0.1, seed=0",
                                             "batch_size=64, lr=0.2, seed=1"]


def test_rows_hold_the_best_accuracy_with_the_first_epoch_that_reached_it(tmp_path):
    # For CSV and pandas: best_epoch is an epoch number, the first to reach the best.
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.8), FINISHED, lr=0.1)
    b = make_run(tmp_path, "b", three_epochs(0.6, 0.6, 0.9), FINISHED, lr=0.05)
    rows = compare_runs([a, b], target=0.8).to_rows()
    assert [(r["best_test_acc"], r["best_epoch"], r["last_test_acc"]) for r in rows] == [
        (0.8, 2, 0.8), (0.9, 3, 0.9)]
    # A run that reached the target exactly has reached it.
    assert [r["time_to_0.8_s"] for r in rows] == [4.0, 6.0]
    assert [(r["epochs_done"], r["epochs"], r["state"]) for r in rows] == [
        (3, 3, "finished"), (3, 3, "finished")]


def test_a_target_reached_in_a_row_without_a_clock_is_reached_not_missed(tmp_path):
    # A hand-mended metrics.csv with no clock in the row that reached the target: the run
    # did reach it, at a time not known ("not reached" would say the opposite).
    history = three_epochs(0.5, 0.8, 0.9)
    history[1]["wall_s"] = history[1]["elapsed_s"] = ""
    a = make_run(tmp_path, "a", history, FINISHED, lr=0.1)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.7), FINISHED, lr=0.2)
    header, rows = compare_runs([a, b], target=0.75).table_cells()
    at = header.index("time to 75%")
    assert [r[at] for r in rows] == ["reached (no clock)", "not reached"]


def test_a_title_names_the_model_and_data_only_where_the_runs_share_them(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history)
    bn = make_run(tmp_path, "bn", history, model="lenet_bn")
    assert compare_runs([a, bn]).title() == "2 runs on synthetic, differing in model"
    fashion = make_run(tmp_path, "fashion", history, data="fashion-mnist")
    assert compare_runs([a, fashion]).title() == "2 runs of lenet_modern, differing in data"


def test_a_budget_cut_that_counts_every_step_of_the_epoch_finished_it(tmp_path):
    # cut_epoch {"steps": 60, "of": 60}: the budget ran out on the epoch's last step, so
    # nothing was cut: 3/3 and finished, not "3.0/3" and "time budget".
    whole = {**FINISHED, "stopped": "max_time", "final": {"epoch": 3},
             "cut_epoch": {"steps": 60, "of": 60}}
    done = make_run(tmp_path, "done", three_epochs(0.5, 0.6, 0.7), whole)
    cut = make_run(tmp_path, "cut", three_epochs(0.5, 0.6, 0.7),
                   {**whole, "cut_epoch": {"steps": 59, "of": 60}})
    comparison = compare_runs([done, cut])
    assert [r.state for r in comparison.runs] == ["finished", "time budget"]
    assert [row[2] for row in comparison.table_cells()[1]] == ["3/3", "2.9/3"]


def test_a_checkpoint_that_spent_exactly_the_budget_is_time_budget(tmp_path):
    # The trainer stops once train_time >= max_time; killed before its summary was
    # written, the run's checkpoint says so: its budget ran out, not "interrupted".
    history = three_epochs(0.5, 0.6, 0.7)[:1]
    spent = make_run(tmp_path, "spent", history, max_time=5.0,
                     checkpoint={"epoch": 0, "step_in_epoch": 3, "train_time": 5.0})
    left = make_run(tmp_path, "left", history, max_time=5.0,
                    checkpoint={"epoch": 0, "step_in_epoch": 3, "train_time": 4.9})
    assert [r.state for r in compare_runs([spent, left]).runs] == ["time budget",
                                                                  "interrupted"]


def test_accuracies_get_the_decimals_their_test_images_deserve(tmp_path):
    # 10,000 test images: 2 decimals; a run scored on 300 (eval_subset, from before
    # summary.json counted them, or as counted): 1, a second decimal being noise.
    history = three_epochs(0.5, 0.6, 0.7)
    full = make_run(tmp_path, "full", history, {**FINISHED, "eval_images": 10_000})
    subset = make_run(tmp_path, "subset", history, eval_subset=300)
    counted = make_run(tmp_path, "counted", history, {**FINISHED, "eval_images": 300})
    rows = compare_runs([full, subset, counted]).table_cells()[1]
    assert [(r[4], r[6]) for r in rows] == [("70.00%", "70.00%"), ("70.0%", "70.0%"),
                                            ("70.0%", "70.0%")]


def test_data_given_from_python_counts_only_the_subsets_images(tmp_path):
    # data.json counts the data given; train_subset and eval_subset took fewer of it.
    from compare_helpers import data_json

    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, data_json=data_json(1000, 500), train_subset=64,
                 eval_subset=32)
    b = make_run(tmp_path, "b", history, data_json=data_json(1000, 500), train_subset=128,
                 eval_subset=32)
    comparison = compare_runs([a, b])
    assert [(r.train_images, r.test_images) for r in comparison.runs] == [(64, 32), (128, 32)]
    assert comparison.differences["train_images"] == [64, 128]


def test_a_gpu_run_still_training_beside_a_cpu_run_is_said_to_differ_in_device(tmp_path):
    # No summary.json yet (training, or killed), but its checkpoint says where it trains:
    # its images/s do not compare with a CPU run's, and the notes said nothing.
    history = three_epochs(0.5, 0.6, 0.7)
    gpu = make_run(tmp_path, "gpu", history[:1], device="auto", checkpoint={"device": "cuda"})
    cpu = make_run(tmp_path, "cpu", history, {**FINISHED, "environment": {
        "cpu_model": "AMD EPYC 7B13"}}, device="auto")
    assert compare_runs([gpu, cpu]).notes() == [
        "the runs trained on different devices or processors: their speeds do not compare"]
    # Its CPU not named until its summary: not another machine than the finished one's.
    slow = make_run(tmp_path, "slow", history[:1], device="auto", checkpoint={"device": "cpu"})
    assert compare_runs([slow, cpu]).notes() == []


def test_runs_on_subsets_of_the_same_data_are_not_said_not_to_compare(tmp_path):
    # A study of how far 64 or 128 training images go: the same data, the same test
    # images. Said "do not compare" once finished (counted in summary.json), not before.
    history = three_epochs(0.5, 0.6, 0.7)
    small, large = (make_run(tmp_path, f"s{n}", history, {
        **FINISHED, "train_images": n, "eval_images": 10_000}, data="fashion-mnist",
        train_subset=n) for n in (64, 128))
    comparison = compare_runs([small, large])
    assert comparison.differences == {"train_subset": [64, 128], "train_images": [64, 128]}
    assert comparison.notes() == []
    # Other data given from Python still is, subset or not.
    from compare_helpers import data_json

    a = make_run(tmp_path, "a", history, data_json=data_json(1000, 500), train_subset=64)
    b = make_run(tmp_path, "b", history, data_json=data_json(1000, 500, "other"),
                 train_subset=128)
    assert "the runs trained on different data: their accuracies do not compare" in \
        compare_runs([a, b]).notes()


def test_a_notebook_shows_the_notes_under_the_tables(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, FINISHED)
    b = make_run(tmp_path, "b", history, FINISHED, eval_subset=100)
    from html import escape

    assert f"<p>Note: {escape(TEST_IMAGES_NOTE)}</p>" in compare_runs([a, b])._repr_html_()
