"""Commands' tables and lines in a narrow terminal (40 columns: a split pane, a large
font, a screen magnifier; some at 80): no number or name cut to "…" with nothing to say
so. A cell folds, a column a table goes without is named in its caption, a bar shows
fewer fields. The consoles are made as wide as a terminal COLUMNS says would be."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

WIDTHS = [40, 80, 200]


def _invoke(monkeypatch, console, width: int, args: list[str]) -> str:
    """``cnnlab ARGS`` with ``console`` as wide as a ``width``-column terminal: the
    command's console is made once, at import, so COLUMNS alone would come too late."""
    monkeypatch.setattr(console, "width", width)
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.output


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]


def _ops_result() -> dict:
    kernel = {"image": 28, "kernel": 3, "batch": 8, "channels": 16, "torch_ms": 0.15,
              "scratch_ms": 0.153, "scratch_method": "unfold", "shift_ms": 0.43,
              "unfold_ms": 0.153, "fft_ms": 0.41}
    group = {"groups": 4, "macs_m": 0.0184, "ideal_speedup": 4.0, "torch_ms": 0.13,
             "scratch_ms": 0.17, "scratch_method": "unfold", "fft_ms": 0.32,
             "torch_speedup": 3.46, "scratch_speedup": 2.95, "fft_speedup": 1.31}
    target = {"image": 28, "batch": 64, "channels": 64, "torch_ms": 3.25, "scratch_ms": 4.0,
              "scratch_method": "unfold", "shift_ms": 9.0, "unfold_ms": 4.0, "ratio": 1.23,
              "torch_train_ms": 9.51, "scratch_train_ms": 13.6, "train_ratio": 1.43}
    pool = {"op": "adaptive avg 14 -> 7", "input": "64x64x14x14", "torch_ms": 0.02,
            "scratch_ms": 0.1, "ratio": 5.76, "torch_train_ms": 0.28, "scratch_train_ms": 0.75,
            "train_ratio": 2.67}
    return {"threads": 2, "kernels": [kernel], "crossover": [{"image": 28, "vs_torch": 13,
                                                               "vs_scratch": None}],
            "groups": [group], "target": [target], "pooling": [pool]}


@pytest.mark.parametrize("width", WIDTHS)
def test_bench_ops_cuts_no_number(monkeypatch, width):
    # At 80 columns the method read "0.15 (unfol…" and the input "64x64x28…"; at 40 every
    # time read "0…". Now the cells fold, and a table too wide goes without its
    # timings first, its caption naming them: the ratios, what each table is about, stay.
    from cnnlab.cli import bench

    monkeypatch.setattr("cnnlab.bench.ops.run_ops_bench", lambda **kw: _ops_result())
    out = _invoke(monkeypatch, bench.console, width, ["bench", "ops"])
    assert "…" not in out, out
    assert all(len(line) <= width for line in _table_lines(out)), out
    for ratio in ("1.23x", "1.43x", "5.76x", "2.67x"):  # target and pooling, fwd and fwd+bwd
        assert re.search(rf"\b{re.escape(ratio)}", out), (ratio, out)
    assert "(unfold)" in out or "not shown at 40 columns" in out
    if width < 200:
        assert f"not shown at {width} columns" in out and "--out FILE" in out
    else:
        assert "not shown" not in out


@pytest.mark.parametrize("width", WIDTHS)
def test_design_sample_cuts_no_count(monkeypatch, width):
    # At 40 columns the MACs, params and acts read "2…", "9…", "1…" and the headers a
    # letter each: now the stage lists wrap, and the ratios, group widths and acts go
    # first, named under the table.
    from cnnlab.cli import design

    out = _invoke(monkeypatch, design.console, width,
                  ["design", "sample", "--space", "anynetx_a", "-n", "3"])
    assert "…" not in out, out
    assert all(len(line) <= width for line in _table_lines(out)), out
    cells = re.findall(r"[^\s│┃]+", out)
    for word in ("21.8M", "4.52M", "1.33M", "902K", "depths", "widths", "MACs", "params"):
        assert word in cells, (word, out)
    caption = " ".join(out.split())
    assert ("not shown at 40 columns: bottleneck ratios, group widths, acts" in caption) == \
        (width == 40), out


def _bar_frame(width: int, epochs: int = 10, steps: int = 469, done: int = 123) -> str:
    """The live training bar's last frame in a ``width``-column terminal: the last of
    ``epochs`` epochs, step ``done`` of ``steps``, a loss of 12.3456 and 123,456 img/s."""
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    screen = io.StringIO()
    console = Console(file=screen, width=width, force_terminal=True, color_system=None,
                      soft_wrap=True)
    bar = TrainProgress(epochs, steps, console=console)
    with bar:
        bar.start_epoch(epochs)
        bar.update(done, 12.3456, 0.51234, 123456.0)
        bar.progress.refresh()
        frames = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue()).replace("\r", "\n")
    return [line for line in frames.splitlines() if "epoch" in line][-1]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_training_bar_shows_fewer_fields_rather_than_cut_ones(width):
    # At 40 columns it read "epoch 1… loss 12.3456  acc … 123,456 i…", at 80 the time
    # "0:00:…": the epoch and the accuracy were lost, every frame. Progress goes first
    # (each epoch's loss and accuracy get a line of their own as it ends).
    frame = _bar_frame(width)
    assert "…" not in frame and len(frame) <= width, frame
    assert "epoch 10/10" in frame and "123/469" in frame and "━" in frame, frame
    if width >= 80:
        assert "loss 12.3456  acc 0.512" in frame and "123,456 img/s" in frame, frame
    if width == 200:
        assert frame.count(":") == 4, frame  # both times


def test_a_long_runs_bar_keeps_its_bar_at_80_columns():
    # 100 epochs of 10,000 steps: the speed went before the bar, which was left out.
    frame = _bar_frame(80, epochs=100, steps=10_000, done=5_000)
    assert "epoch 100/100" in frame and "5000/10000" in frame and "━" in frame, frame
    assert "loss 12.3456  acc 0.512" in frame and len(frame) <= 80, frame


def test_summary_at_40_columns_keeps_each_layer_name_told_apart():
    # rich cut every name's end: "feature…" six times and "classif…" five, features.0 to
    # .5 not told apart, and the caption said nothing of it. Now each keeps its end, the
    # "…" in front, and the caption says so.
    result = CliRunner().invoke(app, ["summary", "lenet_d2l"], env={
        "FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    out = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.output)
    names = [word for word in out.split() if "…" in word and word != "(…),"]  # the caption's
    assert all(name.startswith("…") for name in names), names  # no number cut
    assert len(names) == len(set(names)) == 11, names  # features.0-5, classifier.0-4
    assert "long layer names shortened to their end" in " ".join(out.split())


@pytest.mark.parametrize("width", [40, 60])
def test_help_examples_wrap_at_the_help_width(width):
    # Wrapped once at 80 columns, an example ran past a 40- or 60-column terminal, which
    # folded it mid-word ("--data folder:~/ph" / "otos"). Now each wraps at the help's
    # width, and joined again it is still the example.
    from cnnlab.cli.examples import EXAMPLES

    for path, examples in EXAMPLES.items():
        result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": str(width)})
        assert result.exit_code == 0, result.output
        said = result.output[result.output.index("Examples:"):]
        long = [line for line in said.splitlines()
                if len(line) > width and len(line.split()) > 2]  # a long word may stand alone
        assert not long, (path, long)
        commands, continued = [], False
        for line in (line.strip() for line in said.splitlines()[1:]):
            if not line or line.startswith("#"):
                continue
            text = line.removesuffix(" \\")
            if continued:
                commands[-1] += " " + text
            else:
                commands.append(text)
            continued = line.endswith(" \\")
        assert commands == [command for command, _ in examples], (path, said)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_throughput_row_says_failed_at_any_width(width):
    # At 40 columns the note column was left out first: the failed row read
    # "densenet121 │ - │ -", told apart only by its red (none under NO_COLOR).
    import math

    from rich.console import Console
    from throughput_helpers import throughput_row

    from cnnlab.cli.throughput import throughput_table

    nan = math.nan
    rows = [throughput_row(model="resnet18_d2l", input_size="1x96x96"),
            throughput_row(model="densenet121", train_samples_per_s=nan, train_step_ms=nan,
                           train_step_ms_min=nan, train_step_ms_max=nan,
                           infer_samples_per_s=nan, train_tflops=nan,
                           note="failed: RuntimeError: out of memory")]
    console = Console(record=True, width=width, no_color=True)
    console.print(throughput_table(rows, "cpu", 5, width=width))
    table = console.export_text().split("Median of")[0]
    assert "…" not in table, table
    failed_row = table[table.index("densenet121"):]
    assert "failed:" in failed_row.split("\n")[0], table  # on the row's own line
    assert "9,500" in table, table


@pytest.mark.parametrize("width", WIDTHS)
def test_bench_memory_keeps_its_two_ratios_whole(monkeypatch, width):
    # Its seven columns at 40 cut every number; its two "vs plain" columns (memory, time)
    # are the goals, kept while the step times and the differences go.
    from cnnlab.cli import bench

    def rows(**kw):
        return [{"variant": name, "saved_mib": mib, "memory_vs_plain": mib / 40.25,
                 "step_s": s, "time_vs_plain": s / 0.512, "max_abs_logit_diff": 0.0,
                 "max_abs_grad_diff": diff}
                for name, mib, s, diff in (("plain", 40.25, 0.512, 0.0),
                                           ("memory_efficient", 14.5, 0.604, 1.2e-7))]

    monkeypatch.setattr("cnnlab.bench.memory.run_densenet_memory_bench", rows)
    out = _invoke(monkeypatch, bench.console, width, ["bench", "memory"])
    assert "…" not in out, out
    assert all(len(line) <= width for line in _table_lines(out)), out
    cells = re.findall(r"[^\s│┃]+", out)
    for word in ("memory_efficient", "0.360", "1.180"):  # memory and time vs plain
        assert word in cells, (word, out)
