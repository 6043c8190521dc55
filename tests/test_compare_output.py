"""`cnnlab compare` and what a comparison shows: the figure, the HTML, the command's
tables, files and errors."""

from __future__ import annotations

import csv
import math

import pytest
from compare_helpers import FINISHED, data_json, make_run, row, three_epochs
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.formatting import rich_as_text
from cnnlab.train import compare_runs
from cnnlab.train.compare import RunFilesError
from cnnlab.train.runlog import RunLogWarning

runner = CliRunner()


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


def test_a_last_epoch_cut_short_is_drawn_where_the_run_stopped(tmp_path):
    # Out of time a quarter into epoch 3: drawn at 2.25 epochs, beside a run that
    # trained 3 whole ones, as the table says "2.2/3".
    history = three_epochs(0.5, 0.6, 0.7)
    history[2]["epoch_time_s"] = 0.25 * 512 / history[2]["images_per_s"]
    cut = make_run(tmp_path, "cut", history, {**FINISHED, "stopped": "max_time",
                                              "final": {"epoch": 3}, "train_images": 512})
    whole = make_run(tmp_path, "whole", three_epochs(0.5, 0.6, 0.7), FINISHED, lr=0.05)
    ax_acc, ax_loss = compare_runs(cut, whole).figure().axes
    assert list(ax_acc.lines[0].get_xdata()) == [1, 2, 2.25]
    assert list(ax_loss.lines[0].get_xdata()) == [1, 2, 2.25]
    assert list(ax_acc.lines[1].get_xdata()) == [1, 2, 3]


def invoke(*args):
    return runner.invoke(app, ["compare", *map(str, args)])


def test_the_command_prints_both_tables_and_writes_the_csv_and_figure(tmp_path):
    a = make_run(tmp_path / "runs", "[a]", three_epochs(0.5, 0.8, 0.7), FINISHED, lr=0.1)
    make_run(tmp_path / "runs", "b", three_epochs(0.6, 0.6, 0.9), FINISHED, lr=0.05)
    # An output folder holding "[b]": rich took it for markup, and "written to" lost it
    out_csv, out_png = tmp_path / "out [b]" / "c.csv", tmp_path / "out [b]" / "c.png"
    result = invoke(tmp_path / "runs", "--target", 0.75, "--csv", out_csv, "--plot", out_png,
                    "--x", "time")
    assert result.exit_code == 0, result.output
    assert "[a]" in result.output  # a run's name is not read as markup
    assert "80.00%" in result.output and "Settings that differ" in result.output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [r["run"] for r in rows] == [str(a), str(tmp_path / "runs" / "b")]
    assert rows[1]["best_test_acc"] == "0.9" and rows[1]["time_to_0.75_s"] == "6.0"
    assert rows[0]["lr"] == "0.1" and rows[1]["lr"] == "0.05"
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    said = " ".join(result.output.split())
    assert f"table written to {out_csv}" in said and f"figure written to {out_png}" in said


def test_runs_alike_are_said_to_be_alike(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    result = invoke(make_run(tmp_path, "a", history), make_run(tmp_path, "b", history))
    assert result.exit_code == 0, result.output
    assert "The runs' settings are the same (seeds too)" in result.output
    # Alike in every setting, but trained on other images given from Python (as many):
    # not "by chance".
    result = invoke(make_run(tmp_path, "c", history, data_json=data_json(96, 32)),
                    make_run(tmp_path, "d", history, data_json=data_json(96, 32, "other")))
    assert result.exit_code == 0, result.output
    assert "settings are the same" not in result.output
    assert "trained on different data" in " ".join(result.output.split())


@pytest.mark.parametrize("args, words", [
    (["--x", "steps"], "--x 'steps': give one of epoch, time"),
    (["--plot", "c.txt"], "this command writes the figure as .png or .svg or .pdf"),
    (["--csv", "c.json"], "this command writes the table as .csv"),
    (["--target", "92"], "--target 92: a test accuracy is a fraction in (0, 1]; did you mean 0.92"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, args, words):
    history = three_epochs(0.5, 0.6, 0.7)
    runs = [make_run(tmp_path / "runs", "a", history), make_run(tmp_path / "runs", "b", history)]
    out = tmp_path / "out"
    args = [str(out / a) if a.startswith("c.") else a for a in args]
    # The other output options valid, so their files would be written if the bad one
    # were found only after the work.
    valid = [*(["--plot", out / "ok.png"] if "--plot" not in args else []),
             *(["--csv", out / "ok.csv"] if "--csv" not in args else [])]
    result = invoke(*runs, *args, *valid)
    assert result.exit_code == 2
    assert words in " ".join(result.output.replace("│", " ").split()), result.output
    assert not out.exists()  # neither the refused file nor the valid ones


def test_one_run_and_no_run_end_with_status_2_and_the_fix(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7))
    result = invoke(a)
    assert result.exit_code == 2 and "a comparison needs two runs or more" in result.output
    result = invoke(a, tmp_path / "nothing")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_damaged_metrics_file_is_named_and_a_damaged_summary_set_aside(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7), FINISHED)
    # Bytes that are no text cost their row, said (as a resume reads the file), not the run.
    latin = make_run(tmp_path, "latin", [])
    (latin / "metrics.csv").write_bytes(b"epoch\n\xe9\n")
    with pytest.warns(RunLogWarning, match=r"latin[/\\]metrics.csv line 2: dropped a row that "
                                           r"is not text"):
        compare_runs([a, latin])
    run = make_run(tmp_path, "huge", [])
    (run / "metrics.csv").write_bytes(b"epoch,train_loss\n1," + b"9" * 200_000 + b"\n")
    with pytest.raises(RunFilesError, match=r"huge[/\\]metrics.csv cannot be read .*: "
                                             "mend it, or leave that run out"):
        compare_runs([a, run])
    result = invoke(a, tmp_path / "huge")
    assert result.exit_code == 1 and "metrics.csv cannot be read" in result.output
    # A summary.json edited into another shape: set aside with a warning, not a traceback.
    odd = make_run(tmp_path, "odd", three_epochs(0.5, 0.6, 0.7)[:2], {"final": [1],
                                                                       "stopped": "max_time"})
    listed = make_run(tmp_path, "listed", three_epochs(0.5, 0.6, 0.7))
    (listed / "summary.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.warns(RunLogWarning, match="it holds a list, not an object"):
        runs = compare_runs([odd, listed]).runs
    assert [r.state for r in runs] == ["unfinished", "finished"]


def test_html_escapes_what_runs_are_named(tmp_path):
    history = three_epochs(0.5, 0.6, 0.7)
    comparison = compare_runs([make_run(tmp_path, "<i>&", history, lr=0.2),
                               make_run(tmp_path, "plain", history)])
    text = comparison._repr_html_()
    assert "&lt;i&gt;&amp;" in text and "<i>" not in text
    assert repr(comparison) == ("<RunComparison of 2 runs: 2 runs of lenet_modern on "
                                "synthetic, differing in lr>")
    # A notebook has no stylesheet of cnnlab's: numbers are set right by each cell's own
    # style, text left (JupyterLab right-aligns every cell), parameters "-" where unknown.
    assert '<td style="text-align:left">plain</td>' in text and "class=num" not in text
    header = text[:text.index("</thead>")]
    assert '<th scope=col style="text-align:right">params</th>' in header


def test_the_figure_leaves_out_runs_never_evaluated_and_cuts_a_high_accuracy_axis(tmp_path):
    make_run(tmp_path, "a", three_epochs(0.91, 0.92, 0.93), lr=0.1)
    make_run(tmp_path, "b", three_epochs(0.90, 0.92, 0.94), lr=0.2)
    never = three_epochs(0.5, 0.6, 0.7)
    for r in never:
        r["test_acc"] = r["test_loss"] = math.nan
    c = make_run(tmp_path, "c", never, lr=0.3)
    fig = compare_runs(c.parent).figure()
    assert [line.get_label() for line in fig.axes[0].lines] == ["lr=0.1", "lr=0.2"]
    assert fig.axes[0].get_ylim()[0] == 80  # the 10% step below 90%: differences show
    assert "axis starts at 80%" in fig.axes[0].get_title()


def test_a_long_clock_is_drawn_in_minutes(tmp_path):
    history = [row(e, 0.5 + 0.1 * e, wall_s=400.0 * e) for e in (1, 2, 3)]
    fig = compare_runs([make_run(tmp_path, "a", history, lr=0.1),
                        make_run(tmp_path, "b", history, lr=0.2)]).figure(x="time")
    assert fig.axes[0].get_xlabel() == "minutes of training and evaluation"
    assert list(fig.axes[0].lines[0].get_xdata()) == [400 / 60, 800 / 60, 20.0]


def test_a_row_cut_short_is_left_out_with_a_warning_and_the_figure_still_drawn(tmp_path):
    a = make_run(tmp_path, "a", three_epochs(0.5, 0.6, 0.7))
    cut = make_run(tmp_path, "cut", three_epochs(0.5, 0.6, 0.7)[:2])
    with open(cut / "metrics.csv", "a", encoding="utf-8", newline="") as fh:
        fh.write("3,1.0,0.\n")  # the write of epoch 3's row killed midway
    with pytest.warns(RunLogWarning, match=r"the row of epoch 3 is cut short .*left out"):
        comparison = compare_runs([a, cut])
    assert comparison.runs[1].epochs_done == 2 and comparison.runs[1].state == "unfinished"
    edited = make_run(tmp_path, "edited", three_epochs(0.5, 0.6, 0.7))
    text = (edited / "metrics.csv").read_text(encoding="utf-8")
    (edited / "metrics.csv").write_text(text.replace(",0.6,", ",abc,", 1), encoding="utf-8")
    fig = compare_runs([a, edited]).figure()  # a cell of text: that point is not drawn
    assert list(fig.axes[0].lines[1].get_ydata()) == [50.0, 70.0]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_narrow_terminal_gets_whole_words_and_the_columns_left_out_named(tmp_path, width):
    # At 80 columns every cell had been folded ("lenet_bn_d2l" in four lines of letters).
    runs = [make_run(tmp_path, f"lenet_bn_d2l-{name}", three_epochs(0.5, 0.8, 0.7), FINISHED,
                     model="lenet_bn_d2l") for name in ("book", "fast")]
    comparison = compare_runs(runs)
    text = rich_as_text(*comparison.to_tables(width), width=width)
    body = text.split("Settings that differ")[0]
    assert all(len(line) <= width for line in body.splitlines()), text
    assert "lenet_bn_d2l-book" in body and "80.00%" in body
    caption = " ".join(body.split("┘")[-1].split())
    assert caption.startswith(f"not shown at {width} columns: device"), text
    shown = [name for name in ("images/s", "params", "state") if name in caption]
    assert width > 100 or shown, text  # a narrow one leaves out more than the device
    wide = rich_as_text(*comparison.to_tables(200), width=200)
    assert "not shown" not in wide and "images/s" in wide


def test_a_setting_not_set_reads_none_as_in_the_run_report(tmp_path):
    # The settings table wrote config.yaml's "null" where the report's headline says
    # "none": a reader saw two words for one thing.
    make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.7), FINISHED, max_time=60.0)
    make_run(tmp_path, "b", three_epochs(0.6, 0.6, 0.9), FINISHED)
    comparison = compare_runs(tmp_path / "a", tmp_path / "b")
    text = str(comparison) + comparison._repr_html_()
    assert "null" not in text
    assert comparison.labels() == ["max_time=60.0", "max_time=none"]
    result = invoke(tmp_path / "a", tmp_path / "b")
    assert "null" not in result.output and "none" in result.output
