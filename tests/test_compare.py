"""compare_runs: runs side by side from their files alone (what each reached, its state,
the settings they differ in, the notes on what does not compare)."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest
from compare_helpers import FINISHED, data_json, make_run, three_epochs

from cnnlab.train import ConfigError, TrainConfig, compare_runs
from cnnlab.train.compare import RunFilesError, differing_settings
from cnnlab.train.run_files import NotARunError
from cnnlab.train.runlog import RunLogWarning


def test_the_table_reads_each_runs_results_and_lists_only_the_settings_that_differ(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.7), FINISHED, lr=0.1)
    b = make_run(tmp_path, "b", three_epochs(0.6, 0.6, 0.9), FINISHED, lr=0.05, seed=1)
    comparison = compare_runs([a, b], target=0.75)
    # out_dir and run_name differ too (every run has its own): bookkeeping, not listed.
    assert comparison.differences == {"lr": [0.1, 0.05], "seed": [0, 1]}
    run_a, run_b = comparison.runs
    assert run_a.best == (0.8, 2) and run_a.last_test_acc == 0.7
    assert run_b.best == (0.9, 3)
    assert run_a.time_to(0.75) == 4.0 and run_b.time_to(0.75) == 6.0
    assert run_a.time_to(0.95) is None
    assert run_a.images_per_s == 1050.0  # the later epochs' median: the first is warm-up
    header, rows = comparison.table_cells()
    assert header == ["run", "model", "epochs", "state", "best test acc", "at epoch",
                      "last test acc", "params", "train+eval time", "time to 75%", "images/s",
                      "device"]
    assert rows[0] == ["a", "lenet_modern", "3/3", "finished", "80.00%", "2", "70.00%",
                       "61.7K", "6.0 s", "4.0 s", "1.05K", "cpu"]
    assert rows[1][4:6] == ["90.00%", "3"]
    assert comparison.differences_cells() == (["setting", "a", "b"],
                                              [["lr", "0.1", "0.05"], ["seed", "0", "1"]])
    assert comparison.title() == "2 runs of lenet_modern on synthetic, differing in lr and seed"


def test_epochs_that_eval_every_skipped_neither_count_as_best_nor_as_last(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    history[2]["test_acc"] = math.nan  # not evaluated
    a = make_run(tmp_path, "a", history, eval_every=2)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.7))
    run = compare_runs([a, b], target=0.55).runs[0]
    assert run.best == (0.6, 2) and run.last_test_acc == 0.6 and run.time_to(0.55) == 4.0


def test_a_folder_of_runs_stands_for_every_run_in_it_oldest_first(tmp_path):
    runs = tmp_path / "runs"
    for name in ("20261201-100000-b", "20261130-090000-a", "20261202-110000-c"):
        make_run(runs, name, three_epochs(0.5, 0.6, 0.7))
    (runs / "notes").mkdir()  # not a run: passed over
    comparison = compare_runs([runs, runs / "20261130-090000-a"])  # a run given twice: once
    assert [r.name for r in comparison.runs] == [
        "20261130-090000-a", "20261201-100000-b", "20261202-110000-c"]
    assert comparison.differences == {}


def test_runs_whose_folders_share_a_name_are_told_apart_by_their_paths(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    first = make_run(tmp_path / "monday", "run", history, lr=0.1)
    second = make_run(tmp_path / "tuesday", "run", history, lr=0.2)
    third = make_run(tmp_path / "tuesday", "other", history, lr=0.3)
    comparison = compare_runs([first, second, third])
    assert comparison.names() == [str(first), str(second), "other"]
    # More runs than settings: a row per run, so the table stays narrow.
    assert comparison.differences_cells() == (["run", "lr"], [[str(first), "0.1"],
                                                              [str(second), "0.2"],
                                                              ["other", "0.3"]])
    assert [cells[0] for cells in comparison.table_cells()[1]] == comparison.names()


def test_what_cannot_be_compared_is_refused_with_what_to_do(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7))
    with pytest.raises(ConfigError, match="only 1 run found in .*: a comparison needs two"):
        compare_runs([a])
    with pytest.raises(ConfigError, match="the same run, given twice"):
        compare_runs([a, a])
    with pytest.raises(NotARunError, match="does not exist"):
        compare_runs([a, tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotARunError, match="not a cnnlab run directory"):
        compare_runs(tmp_path / "empty")  # given alone: refused, naming what it is
    # Beside others (a shell's runs/* catching notes.txt): left out, with a warning.
    (tmp_path / "notes.txt").write_text("lr 0.1 was better", encoding="utf-8")
    with pytest.warns(RunLogWarning, match=r"left out: .*notes.txt is a file, not a run's") \
            as caught:
        with pytest.raises(ConfigError, match="only 1 run found"):
            compare_runs([a, tmp_path / "notes.txt"])
    # Found two calls deep in cnnlab, told at the caller's own line (a notebook's cell).
    assert caught[0].filename == __file__
    with pytest.raises(ConfigError, match=r"target 90: a test accuracy is a fraction in "
                                          r"\(0, 1\]; did you mean 0.9\?"):
        compare_runs([a, a], target=90.0)
    with pytest.raises(ConfigError, match=r"give the target accuracy by name, "
                                          r"compare_runs\(..., target=0.9\)"):
        compare_runs([a, a], 0.9)  # as the first version took it
    with pytest.raises(ConfigError, match=r"target 1.5: .* \(0, 1\], e.g. 0.9$"):
        compare_runs([a, a], target=1.5)  # not a percentage: no "did you mean 0.015"
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.7))
    (b / "config.yaml").write_text("model: lenet_modern\nlr: fast\n", encoding="utf-8")
    with pytest.raises(RunFilesError, match=r"b[/\\]config.yaml: invalid value for lr.*mend "
                                            r"it, or leave that run out"):
        compare_runs([a, b])


def test_an_unreadable_summary_is_said_and_the_rest_compared(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7), FINISHED)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.8), FINISHED)
    (b / "summary.json").write_text('{"parameters": 61', encoding="utf-8")
    with pytest.warns(RunLogWarning, match=r"summary.json could not be read .*parameters"):
        comparison = compare_runs([a, b])
    assert comparison.runs[1].best == (0.8, 3) and comparison.runs[1].parameters is None
    # A folder where summary.json goes was left out without a word; a count below zero
    # was shown as the run's parameters.
    (b / "summary.json").unlink()
    (b / "summary.json").mkdir()
    with pytest.warns(RunLogWarning, match=r"summary.json could not be read"):
        compare_runs([a, b])
    (b / "summary.json").rmdir()
    (b / "summary.json").write_text('{"parameters": -5}', encoding="utf-8")
    assert compare_runs([a, b]).runs[1].parameters is None


def test_legend_labels_leave_out_the_rounding_error_arithmetic_leaves_in_a_float(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    # lr computed in Python (a sweep's 0.1 + 0.2) is stored with its rounding error.
    a = make_run(tmp_path, "a", history, lr=0.1 + 0.2, weight_decay=0.0001 * 3)
    b = make_run(tmp_path, "b", history, lr=0.1, weight_decay=0.0005)
    assert compare_runs([a, b]).labels() == ["lr=0.3, weight_decay=0.0003",
                                             "lr=0.1, weight_decay=0.0005"]
    # Where two runs differ only in those last digits, every digit is kept for both.
    c = make_run(tmp_path, "c", history, lr=0.3, weight_decay=0.0001 * 3)
    assert compare_runs([a, c]).labels() == ["lr=0.30000000000000004", "lr=0.3"]


def test_differences_come_in_config_order_and_compare_nested_values():
    configs = [TrainConfig(model="resnet18_small", model_overrides={"width": 32}).to_dict(),
               TrainConfig(model="resnet18_small", model_overrides={"width": 64}, lr=0.2,
                           out_dir="elsewhere").to_dict()]
    assert list(differing_settings(configs)) == ["model_overrides", "lr"]


def test_legend_labels_name_the_differing_settings_while_they_are_few(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, lr=0.1)
    b = make_run(tmp_path, "b", history, lr=0.05)
    c = make_run(tmp_path, "c", history, lr=0.05, model="lenet_bn")
    assert compare_runs([a, b]).labels() == ["lr=0.1", "lr=0.05"]
    # The model by name alone.
    assert compare_runs([a, b, c]).labels() == ["lenet_modern, lr=0.1", "lenet_modern, lr=0.05",
                                                "lenet_bn, lr=0.05"]
    # A label two runs would share gets each one's folder.
    b2 = make_run(tmp_path, "b2", history, lr=0.05)
    assert compare_runs([a, b, b2]).labels() == ["lr=0.1", "lr=0.05 (b)", "lr=0.05 (b2)"]
    d = make_run(tmp_path, "d", history, lr=0.05, seed=0)
    e = make_run(tmp_path, "e", history, lr=0.1, seed=0)
    f = make_run(tmp_path, "f", history, lr=0.1, seed=1)
    assert compare_runs([d, e, f]).labels() == ["lr=0.05, seed=0", "lr=0.1, seed=0",
                                                "lr=0.1, seed=1"]
    same = make_run(tmp_path, "same", history)
    assert compare_runs([same, make_run(tmp_path, "twin", history)]).labels() == ["same", "twin"]
    many = make_run(tmp_path, "many", history, lr=0.3, seed=2, epochs=3, batch_size=64,
                    weight_decay=0.123)
    assert compare_runs([a, many]).labels() == ["a", "many"]  # 4 differences: folder names
    # Past three, the run's name (the table's rows are named so: "no preset" alone matched
    # no row), then the preset (and model) where they differ: a preset sets most others.
    book = make_run(tmp_path, "book", history, preset="book", lr=0.3, batch_size=64,
                    weight_decay=0.123)
    assert compare_runs([a, book]).labels() == ["a: no preset", "book: preset=book"]
    # ... and the data where it differs: what most sets the runs apart.
    photos = make_run(tmp_path, "photos", history, data=f"folder:{tmp_path / 'photos'}",
                      lr=0.3, batch_size=64, weight_decay=0.123)
    assert compare_runs([a, book, photos]).labels() == [
        "a: data=synthetic, no preset", "book: data=synthetic, preset=book",
        "photos: data=photos, no preset"]
    assert compare_runs([a, many]).title().endswith(
        "differing in batch_size, lr, weight_decay and seed")
    five = make_run(tmp_path, "five", history, lr=0.3, seed=2, batch_size=64,
                    weight_decay=0.123, label_smoothing=0.05)
    assert compare_runs([a, five]).title().endswith(
        "differing in batch_size, lr, weight_decay and 2 more settings")


def test_notes_warn_where_the_numbers_do_not_compare(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, {**FINISHED, "device": "cuda:0"})
    b = make_run(tmp_path, "b", history, FINISHED, data="fashion-mnist", eval_subset=100)
    notes = compare_runs([a, b]).notes()
    assert notes == ["the runs trained on different data: their accuracies do not compare",
                     "the runs were scored on different test images (eval_subset, a "
                     "folder's split_seed, or data given to train() from Python)",
                     "the runs trained on different devices or processors: their speeds do "
                     "not compare"]
    # A run not finished yet, device "auto" in its config: where it trains is not known,
    # so nothing is said of it (both trained on this CPU).
    running = make_run(tmp_path, "running", history[:1], device="auto")
    assert compare_runs([running, make_run(tmp_path, "c", history, FINISHED)]).notes() == []
    assert compare_runs([running, a]).table_cells()[1][0][-1] == "?"
    # A run from before summary.json named the CPU ("cpu") beside one that names it: the
    # same machine, as far as the files say; two named CPUs are two machines.
    epyc = {**FINISHED, "environment": {"cpu_model": "AMD EPYC 7B13"}}
    old, new = (make_run(tmp_path, name, history, summary) for name, summary in (
        ("old", FINISHED), ("new", epyc)))
    assert compare_runs([old, new]).notes() == []
    xeon = make_run(tmp_path, "xeon", history, {**FINISHED, "environment": {
        "cpu_model": "Intel Xeon"}})
    assert compare_runs([new, xeon]).notes() == [
        "the runs trained on different devices or processors: their speeds do not compare"]
    text = compare_runs([a, b])._repr_html_()
    assert text.count("<table>") == 2 and "Settings that differ" in text
    assert "Note: the runs trained on different data" in str(compare_runs([a, b]))


def test_a_trained_run_compares_with_its_own_numbers(tiny_run, tmp_path):
    # The real files training writes, not this file's imitation of them.
    twin = tmp_path / "twin"
    shutil.copytree(tiny_run, twin)
    config = TrainConfig.load(twin / "config.yaml")
    config.lr = 0.05  # as if trained at another learning rate
    config.save(twin / "config.yaml")
    comparison = compare_runs([tiny_run, twin])
    summary = json.loads((tiny_run / "summary.json").read_text(encoding="utf-8"))
    run = comparison.runs[0]
    assert run.state == "finished" and run.best[0] == summary["best_test_acc"]
    assert run.parameters == summary["parameters"] and run.device == "cpu"
    assert run.wall_s == summary["final"]["wall_s"]
    assert list(comparison.differences) == ["lr"]


def test_rows_written_before_wall_s_existed_are_timed_by_their_training_clock(tmp_path):
    # A run begun before metrics.csv had wall_s, resumed since: its old rows' wall_s blank.
    history = three_epochs(0.5, 0.8, 0.9)
    for r in history[:2]:
        r["wall_s"] = ""
    old = make_run(tmp_path, "old", history)
    run = compare_runs([old, make_run(tmp_path, "new", history)], target=0.75).runs[0]
    assert run.time_to(0.75) == history[1]["elapsed_s"] == 3.8 and run.wall_s == 6.0
    fig = compare_runs([old, old.parent / "new"]).figure(x="time")
    assert list(fig.axes[0].lines[0].get_xdata()) == [1.9, 3.8, 6.0]


def test_runs_trained_on_more_processes_differ_in_processes(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    single = make_run(tmp_path, "single", history, {**FINISHED, "world_size": 1})
    ddp = make_run(tmp_path, "ddp", history, {**FINISHED, "world_size": 2})
    unknown = make_run(tmp_path, "unknown", history)  # no summary.json yet
    assert compare_runs([single, ddp, unknown]).differences == {"processes": [1, 2, None]}
    assert compare_runs([single, unknown]).differences == {}  # nothing known to differ


def test_auto_amp_and_device_compare_as_the_run_resolved_them(tmp_path):
    # amp "auto" on a CPU ran without autocast, as "off" does: not a difference. Where
    # the runs did differ, the table says what each used, not "auto".
    history = three_epochs(0.5, 0.6, 0.7)
    cpu = {**FINISHED, "amp": "off"}
    auto = make_run(tmp_path, "auto", history, cpu, amp="auto", device="auto")
    off = make_run(tmp_path, "off", history, cpu, amp="off", device="cpu")
    assert compare_runs([auto, off]).differences == {}
    gpu = make_run(tmp_path, "gpu", history, {**FINISHED, "device": "cuda", "amp": "bf16"},
                   amp="auto", device="auto")
    assert compare_runs([auto, gpu]).differences == {"device": ["cpu", "cuda"],
                                                      "amp": ["off", "bf16"]}
    # Until summary.json says what it used, a run's "auto" is not known to differ; beside
    # runs that differ, it shows as "auto".
    running = make_run(tmp_path, "running", history, amp="auto", device="auto")
    assert compare_runs([off, running]).differences == {}
    assert compare_runs([off, running]).to_rows()[1]["device"] is None  # not known yet
    assert compare_runs([auto, gpu, running]).differences == {
        "device": ["cpu", "cuda", "auto"], "amp": ["off", "bf16", "auto"]}


def test_data_given_from_python_is_told_apart_by_its_counts_and_fingerprints(tmp_path):
    # A notebook's run on 5,000 training and 1,000 test images has the config's data name:
    # "fashion-mnist". Its data.json, and the other run's summary, count the images.
    history = three_epochs(0.5, 0.6, 0.7)
    full = make_run(tmp_path, "full", history, {**FINISHED, "train_images": 60000,
                                                "eval_images": 10000}, data="fashion-mnist")
    subset = make_run(tmp_path, "subset", history, data_json=data_json(5000, 1000),
                      data="fashion-mnist")
    comparison = compare_runs(full, subset)
    assert comparison.differences == {"train_images": [60000, 5000],
                                      "test_images": [10000, 1000]}
    assert not comparison.same_data and comparison.notes()[:2] == [
        "the runs trained on different data: their accuracies do not compare",
        "the runs were scored on different test images (eval_subset, a folder's split_seed, "
        "or data given to train() from Python)"]
    # As many images, but others: only the fingerprints tell.
    other = make_run(tmp_path, "other", history, data_json=data_json(5000, 1000, "4567"),
                     data="fashion-mnist")
    comparison = compare_runs(subset, other)
    assert comparison.differences == {} and not comparison.same_data
    assert len(comparison.notes()) == 2
    again = make_run(tmp_path, "again", history, data_json=data_json(5000, 1000),
                     data="fashion-mnist", seed=1)
    comparison = compare_runs(subset, again)
    assert comparison.differences == {"seed": [0, 1]} and comparison.same_data
    assert comparison.notes() == []


def test_no_resize_compares_as_the_size_the_network_was_fed(tmp_path):
    # The book's preset writes resize: 28, the fast one none: on 28x28 images, alike.
    history = three_epochs(0.5, 0.6, 0.7)
    book = make_run(tmp_path, "book", history, FINISHED, input_size=28, resize=28, lr=0.9)
    fast = make_run(tmp_path, "fast", history, FINISHED, input_size=28, lr=0.1)
    assert compare_runs(book, fast).differences == {"lr": [0.9, 0.1]}
    big = make_run(tmp_path, "big", history, FINISHED, input_size=64, resize=64, lr=0.1)
    assert compare_runs(big, fast).differences == {"resize": [64, 28]}
    # Before its first checkpoint a run's input size is not known, so not known to differ.
    new = make_run(tmp_path, "new", [], lr=0.1)
    assert compare_runs(big, new).differences == {}


def test_rows_keep_numbers_and_settings_as_config_yaml_holds_them(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, FINISHED, lr=0.1, model_overrides={"kernel_size": 3},
                 device="cpu")
    b = make_run(tmp_path, "b", history, lr=0.05, device="cuda")
    comparison = compare_runs([a, b])
    rows = comparison.to_rows()
    assert rows[0]["lr"] == 0.1 and rows[0]["model_overrides"] == {"kernel_size": 3}
    assert rows[1]["model_overrides"] == {} and rows[1]["parameters"] is None
    # The setting named like a result column keeps its own column.
    assert rows[0]["device"] == "cpu" and rows[1]["device"] == "cuda"
    assert (rows[0]["config.device"], rows[1]["config.device"]) == ("cpu", "cuda")
    table = list(csv.DictReader(comparison.to_csv().splitlines()))
    assert table[0]["model_overrides"] == '{"kernel_size": 3}' and table[1]["parameters"] == ""


def test_a_run_from_another_cnnlab_version_is_compared_as_written(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history)
    newer = make_run(tmp_path, "newer", history, lr=0.2)
    config = (newer / "config.yaml").read_text(encoding="utf-8")
    (newer / "config.yaml").write_text(config + "future_setting: 3\n", encoding="utf-8")
    with pytest.warns(RunLogWarning, match="fields this cnnlab does not know "
                                           r"\(future_setting\)"):
        comparison = compare_runs([a, newer])
    assert comparison.differences == {"lr": [0.1, 0.2], "future_setting": [None, 3]}


def test_one_folder_given_as_text_is_a_folder_not_letters(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    make_run(tmp_path, "a", history)
    make_run(tmp_path, "b", history)
    assert [r.name for r in compare_runs(str(tmp_path)).runs] == ["a", "b"]


def test_a_budget_that_ran_out_on_the_last_step_finished_the_run(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    whole = {**FINISHED, "stopped": "max_time", "final": {"epoch": 3}, "train_images": 1100}
    done = make_run(tmp_path, "done", history, whole)  # 1100 images/s for 1 s: every image
    history = three_epochs(0.5, 0.6, 0.7)
    history[2]["epoch_time_s"] = 0.99  # 1089 of 1100 images: 2.99 epochs, shown as 2.9
    almost = make_run(tmp_path, "almost", history, whole)
    runs = compare_runs([done, almost])
    assert [r.state for r in runs.runs] == ["finished", "time budget"]
    assert [row[2] for row in runs.table_cells()[1]] == ["3/3", "2.9/3"]


def test_a_few_steps_of_a_first_epoch_are_not_shown_as_none(tmp_path):
    # 3 of 60 steps read "0.0/1": rounded down, as if nothing had trained.
    cut = {**FINISHED, "stopped": "max_time", "final": {"epoch": 1},
           "cut_epoch": {"steps": 3, "of": 60}}
    run = make_run(tmp_path, "cut", three_epochs(0.5, speeds=(500.0,)), cut, epochs=1)
    whole = make_run(tmp_path, "whole", three_epochs(0.5, speeds=(500.0,)), FINISHED, epochs=1)
    cells = compare_runs([run, whole]).table_cells()[1]
    assert [row[2] for row in cells] == ["<0.1/1", "1/1"]
