"""`bench throughput`'s table in a narrow terminal: with the baseline beside the asked
setting (or several optimizers) it has long text columns, and its numbers must stay
whole while those wrap (at 80 columns the train img/s read "1…", at 60 they vanished)."""

import re

import pytest
from rich.console import Console
from throughput_helpers import throughput_row

from cnnlab.cli.throughput import _compare, throughput_table


@pytest.fixture(autouse=True)
def _one_machine_name(monkeypatch):
    # The title names the host's CPU, so its length, and where it wraps, changed with the
    # machine: "AMD EPYC, 2 CPUs" left "64" alone on the title's second line at 60 columns.
    monkeypatch.setattr("cnnlab.bench.results.machine_name",
                        lambda device: "Intel Xeon Gold 6338 CPU @ 2.00GHz, 16 CPUs")


def _row(**kw):
    return throughput_row(**{"model": "resnet18_d2l", "input_size": "1x96x96",
                             "train_samples_per_s": 12_345.6, "train_step_ms": 5.18,
                             "train_step_ms_min": 5.0, "train_step_ms_max": 5.5,
                             "infer_step_ms": 1.56, "train_tflops": 0.0235, **kw})


def _table(rows, width):
    compared = []
    for r in rows:
        _compare(r, compared, rows[0]["optimizer"])
        compared.append(r)
    console = Console(record=True, width=width)
    console.print(throughput_table(compared, "cpu", 5, width=width))
    return console.export_text().split("Median of")[0]


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("sweep", ["baseline", "optimizers"])
def test_numbers_stay_whole_in_a_narrow_terminal(width, sweep):
    if sweep == "baseline":
        rows = [_row(baseline=True),
                _row(amp="bf16", channels_last=True, train_samples_per_s=23_456.7,
                     infer_samples_per_s=98_765.4)]
    else:
        rows = [_row(), _row(optimizer="muon", train_samples_per_s=23_456.7,
                             infer_samples_per_s=98_765.4)]
    table = _table(rows, width)
    assert all(len(line.rstrip()) <= width for line in table.splitlines()), table
    cells = re.findall(r"[\w.,()x-]+", table)
    for number in ("12,300", "23,500", "41,000", "98,800"):  # train and infer img/s
        assert number in cells, table
    assert "resnet18_d2l" in cells, table  # the model's name whole


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("sweep", ["baseline", "optimizers"])
def test_names_and_headers_stay_whole_in_a_narrow_terminal(width, sweep):
    # At 60 columns the optimizer header read "optim…" and "nesterov" "neste…": the
    # wrapping "train speed" column was measured as one line, so the names gave way.
    if sweep == "baseline":
        rows = [_row(baseline=True), _row(amp="bf16", channels_last=True)]
        names = ["setting", "NHWC,"]
    else:
        rows = [_row(), _row(optimizer="nesterov", train_samples_per_s=23_456.7)]
        names = ["optimizer", "nesterov"]
    table = _table(rows, width)
    assert "…" not in table, table
    cells = re.findall(r"[\w.,()x-]+", table)
    for name in names:
        assert name in cells, table
    title = " ".join(" ".join(table.splitlines()[:2]).split())  # its words, as wrapped
    assert title.endswith(", batch 64"), table


def test_the_caption_wraps_at_words_in_a_terminal(monkeypatch):
    # The command's console soft-wraps (a pipe's lines stay whole): the caption, some 600
    # characters, went out as one line, which an 80-column terminal cut mid-word.
    import io

    from typer.testing import CliRunner

    from cnnlab.cli import app
    from cnnlab.cli import throughput as cli

    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, width=80, soft_wrap=True,
                                                force_terminal=True, no_color=True))
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--batch-size", "4", "--steps", "1", "--device",
                                      "cpu", "--no-infer", "--threads", "1"])
    assert result.exit_code == 0, result.output
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buf.getvalue())
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "Median of 1 timed step(s) after 2 warm-up steps" in " ".join(text.split())
