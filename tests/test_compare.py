"""`cnnlab compare` / compare_runs: runs side by side from their files alone."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import ConfigError, TrainConfig, compare_runs
from cnnlab.train.compare import differing_settings
from cnnlab.train.run_files import NotARunError
from cnnlab.train.runlog import METRIC_COLUMNS, RunLogWarning

runner = CliRunner()


def row(epoch: int, test_acc: float, wall_s: float, images_per_s: float = 1000.0) -> dict:
    return {"epoch": epoch, "train_loss": 1.0, "train_acc": 0.5,
            "test_loss": 1.0, "test_acc": test_acc, "lr": 0.1, "images_per_s": images_per_s,
            "epoch_time_s": 1.0, "elapsed_s": wall_s - 0.1 * epoch, "eval_time_s": 0.1,
            "wall_s": wall_s, "peak_memory_mb": 100.0}


def make_run(root: Path, name: str, history: list[dict], summary: dict | None = None,
             **settings) -> Path:
    """A run folder as training leaves it (config.yaml, metrics.csv, summary.json),
    written directly: what compare reads, without the seconds a training takes."""
    run_dir = root / name
    (run_dir / "checkpoints").mkdir(parents=True)
    settings = {"model": "lenet_modern", "data": "synthetic", "epochs": 3,
                "out_dir": str(root), "run_name": name, **settings}
    TrainConfig(**settings).save(run_dir / "config.yaml")
    with open(run_dir / "metrics.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, METRIC_COLUMNS)
        writer.writeheader()
        writer.writerows(history)
    if summary is not None:
        (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


def three_epochs(*accs: float, speeds=(500.0, 1000.0, 1100.0)) -> list[dict]:
    return [row(e, acc, wall_s=2.0 * e, images_per_s=speed)
            for e, (acc, speed) in enumerate(zip(accs, speeds, strict=True), start=1)]


FINISHED = {"parameters": 61706, "device": "cpu", "stopped": None}


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
    assert run_a.images_per_s == 1000.0  # the median epoch, not the slow first one
    header, rows = comparison.table_cells()
    assert header[8] == "time to 75%"
    assert rows[0][:8] == ["a", "lenet_modern", "3/3", "finished", "80.00% (epoch 2)",
                           "70.00%", "61.7K", "6.0 s"]
    assert rows[0][8:] == ["4.0 s", "1.00K", "cpu"]
    assert rows[1][4] == "90.00% (epoch 3)"
    assert comparison.differences_cells() == (["setting", "a", "b"],
                                              [["lr", "0.1", "0.05"], ["seed", "0", "1"]])
    assert comparison.title() == "2 runs of lenet_modern on synthetic, differing in lr and seed"


def test_each_runs_state_is_told_from_its_files(tmp_path):
    done = make_run(tmp_path, "done", three_epochs(0.5, 0.6, 0.7), FINISHED)
    cut = make_run(tmp_path, "cut", three_epochs(0.5, 0.6, 0.7)[:2])
    timed = make_run(tmp_path, "timed", three_epochs(0.5, 0.6, 0.7)[:2],
                     {**FINISHED, "stopped": "max_time", "final": {"epoch": 2}}, max_time=5.0)
    # Stopped at its budget once, then resumed with more time and interrupted: its
    # summary.json is the earlier stop's.
    resumed = make_run(tmp_path, "resumed", three_epochs(0.5, 0.6, 0.7)[:2],
                       {**FINISHED, "stopped": "max_time", "final": {"epoch": 1}})
    empty = make_run(tmp_path, "empty", [])
    runs = compare_runs([done, cut, timed, resumed, empty]).runs
    assert [r.state for r in runs] == ["finished", "unfinished", "time budget",
                                       "unfinished", "no epoch yet"]
    header, rows = compare_runs([cut, empty]).table_cells()
    assert rows[1][2:8] == ["0/3", "no epoch yet", "-", "-", "-", "-"]
    assert rows[0][6] == "-"  # parameters: in summary.json, which an unfinished run lacks


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
    assert comparison.differences_cells()[0] == ["setting", str(first), str(second), "other"]
    assert [cells[0] for cells in comparison.table_cells()[1]] == comparison.names()


def test_what_cannot_be_compared_is_refused_with_what_to_do(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7))
    with pytest.raises(ConfigError, match="1 run found in .*: a comparison needs two or more"):
        compare_runs([a])
    with pytest.raises(NotARunError, match="does not exist"):
        compare_runs([a, tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotARunError, match="not a cnnlab run directory"):
        compare_runs([a, tmp_path / "empty"])
    with pytest.raises(ConfigError, match="target 90.0: give a test accuracy between 0 and 1"):
        compare_runs([a, a], target=90.0)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.7))
    (b / "config.yaml").write_text("model: lenet_modern\nlr: fast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"b[/\\]config.yaml: invalid value for lr"):
        compare_runs([a, b])


def test_an_unreadable_summary_is_said_and_the_rest_compared(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7), FINISHED)
    b = make_run(tmp_path, "b", three_epochs(0.5, 0.6, 0.8), FINISHED)
    (b / "summary.json").write_text('{"parameters": 61', encoding="utf-8")
    with pytest.warns(RunLogWarning, match=r"summary.json could not be read .*parameters"):
        comparison = compare_runs([a, b])
    assert comparison.runs[1].best == (0.8, 3) and comparison.runs[1].parameters is None


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
    # Past three, the preset (and model) where they differ: a preset sets most others.
    book = make_run(tmp_path, "book", history, preset="book", lr=0.3, batch_size=64,
                    weight_decay=0.123)
    assert compare_runs([a, book]).labels() == ["preset=null", "preset=book"]
    assert compare_runs([a, many]).title().endswith(
        "differing in batch_size, lr, weight_decay and seed")
    five = make_run(tmp_path, "five", history, lr=0.3, seed=2, batch_size=64,
                    weight_decay=0.123, label_smoothing=0.05)
    assert compare_runs([a, five]).title().endswith(
        "differing in batch_size, lr, weight_decay and 2 more settings")


def test_the_figure_draws_each_run_on_shared_axes(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.7), lr=0.1)
    history = three_epochs(0.6, 0.6, 0.9)
    for r, loss in zip(history, (2.0, 0.01, 0.001), strict=True):
        r["test_loss"] = loss
    history[1]["train_loss"] = 1e-6  # not drawn: label smoothing may be in it, or not
    b = make_run(tmp_path, "b", history, lr=0.05)
    comparison = compare_runs([a, b], target=0.75)
    fig = comparison.figure()
    ax_acc, ax_loss = fig.axes
    assert [line.get_label() for line in ax_acc.lines] == ["lr=0.1", "lr=0.05", "target 75%"]
    assert list(ax_acc.lines[1].get_ydata()) == [60.0, 60.0, 90.0]
    assert list(ax_acc.lines[0].get_xdata()) == [1, 2, 3]
    assert list(ax_loss.lines[1].get_ydata()) == [2.0, 0.01, 0.001]
    assert ax_loss.get_yscale() == "log"  # 2.0 to 0.001: three decades
    assert fig.get_suptitle() == "2 runs of lenet_modern on synthetic, differing in lr"
    by_time = comparison.figure(x="time")
    assert list(by_time.axes[0].lines[1].get_xdata()) == [2.0, 4.0, 6.0]
    assert by_time.axes[0].get_xlim()[0] == 0
    with pytest.raises(ValueError, match="x 'steps': give one of epoch, time"):
        comparison.figure(x="steps")


def test_notes_warn_where_the_numbers_do_not_compare(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    a = make_run(tmp_path, "a", history, {**FINISHED, "device": "cuda:0"})
    b = make_run(tmp_path, "b", history, FINISHED, data="fashion-mnist", eval_subset=100)
    notes = compare_runs([a, b]).notes()
    assert notes == ["the runs trained on different data: their accuracies do not compare",
                     "the runs were scored on different parts of the test split (eval_subset)",
                     "the runs trained on different devices: their speeds do not compare"]
    text = compare_runs([a, b])._repr_html_()
    assert text.count("<table>") == 2 and "Settings that differ" in text
    assert "Note: the runs trained on different data" in str(compare_runs([a, b]))


def invoke(*args):
    return runner.invoke(app, ["compare", *map(str, args)])


def test_the_command_prints_both_tables_and_writes_the_csv_and_figure(tmp_path):
    a = make_run(tmp_path / "runs", "[a]", three_epochs(0.5, 0.8, 0.7), FINISHED, lr=0.1)
    make_run(tmp_path / "runs", "b", three_epochs(0.6, 0.6, 0.9), FINISHED, lr=0.05)
    out_csv, out_png = tmp_path / "out" / "c.csv", tmp_path / "out" / "c.png"
    result = invoke(tmp_path / "runs", "--target", 0.75, "--csv", out_csv, "--plot", out_png,
                    "--x", "time")
    assert result.exit_code == 0, result.output
    assert "[a]" in result.output  # a run's name is not read as markup
    assert "80.00% (epoch 2)" in result.output and "Settings that differ" in result.output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [r["run"] for r in rows] == [str(a), str(tmp_path / "runs" / "b")]
    assert rows[1]["best_test_acc"] == "0.9" and rows[1]["time_to_0.75_s"] == "6.0"
    assert rows[0]["lr"] == "0.1" and rows[1]["lr"] == "0.05"
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_runs_alike_are_said_to_be_alike(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    result = invoke(make_run(tmp_path, "a", history), make_run(tmp_path, "b", history))
    assert result.exit_code == 0, result.output
    assert "The runs' settings are the same (seeds too)" in result.output


@pytest.mark.parametrize("args, words", [
    (["--x", "steps"], "--x 'steps': give one of epoch, time"),
    (["--plot", "c.txt"], "this command writes the figure as .png or .svg or .pdf"),
    (["--csv", "c.json"], "this command writes the table as .csv"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, args, words):
    history = three_epochs(0.5, 0.6, 0.7)
    runs = [make_run(tmp_path, "a", history), make_run(tmp_path, "b", history)]
    result = invoke(*runs, *args)
    assert result.exit_code == 2
    assert words in " ".join(result.output.replace("│", " ").split()), result.output


def test_one_run_and_no_run_end_with_status_2_and_the_fix(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7))
    result = invoke(a)
    assert result.exit_code == 2 and "a comparison needs two or more" in result.output
    result = invoke(a, tmp_path / "nothing")
    assert result.exit_code == 2 and "does not exist" in result.output


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
