"""`cnnlab bench throughput` as a command, on a fake clock (mutation testing, session 41):
which settings get a baseline row, which row each ratio is against, the progress count,
the rows on file before the next model is timed, the table's title, caption and columns,
and the refusals made before any timing. Nothing is timed: ``measure`` is faked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cnnlab.bench import throughput as tp
from cnnlab.cli import app

# img/s of a fake step by (optimizer, baseline or not): ratios a test can predict.
SPEED = {("sgd", True): 100.0, ("sgd", False): 200.0, ("nesterov", True): 50.0,
         ("nesterov", False): 400.0, ("muon", False): 800.0}


def _fake(monkeypatch, calls: list | None = None, on_call=None):
    def measure(name, batch_size, image_size=None, **kw):
        plain = not (kw.get("amp", "off") != "off" or kw.get("channels_last")
                     or kw.get("compile") or kw.get("pad_stem"))
        if calls is not None:
            calls.append(dict(kw, name=name, batch_size=batch_size))
        if on_call is not None:
            on_call(name)
        rate = SPEED[(kw["optimizer"], plain)]
        ms = 1000 * batch_size / rate
        return tp.ThroughputRow(
            name, "1x28x28", batch_size, rate, ms, 2 * rate, ms / 2, None, 1e-3,
            kw.get("amp", "off"), kw.get("channels_last", False), kw.get("compile", False),
            str(kw["device"]), train_step_ms_min=ms, train_step_ms_max=ms,
            infer_step_ms_min=ms / 2, infer_step_ms_max=ms / 2, timed_steps=kw["steps"],
            pad_stem=kw.get("pad_stem", 0), optimizer=kw["optimizer"])

    monkeypatch.setattr(tp, "measure", measure)


def _run(*args: str, width: int = 250):
    result = CliRunner().invoke(app, ["bench", "throughput", "--device", "cpu", "--batch-size",
                                      "8", *args], env={"COLUMNS": str(width)})
    return result, " ".join(result.output.split())


@pytest.mark.parametrize("setting", [["--pad-stem", "4"], ["--compile"]])
def test_a_padded_stem_or_compile_alone_is_timed_beside_the_plain_step(monkeypatch, tmp_path,
                                                                       setting):
    calls = []
    _fake(monkeypatch, calls)
    out = tmp_path / "tp.json"
    result, said = _run("--models", "lenet_d2l", *setting, "--out", str(out))
    assert result.exit_code == 0, result.output
    base, row = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert base["baseline"] and not row["baseline"]
    assert row["train_speed_ratio"] == pytest.approx(2.0) and row["ratio_vs"] == "baseline"
    assert "[1/2] lenet_d2l" in said and "[2/2] lenet_d2l" in said


def test_later_optimizers_are_against_the_first_and_its_baseline_uses_it(monkeypatch,
                                                                         tmp_path):
    calls = []
    _fake(monkeypatch, calls)
    out = tmp_path / "tp.json"
    result, said = _run("--models", "lenet_d2l", "--amp", "bf16", "--optimizer", "nesterov",
                        "--optimizer", "muon", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [(r["optimizer"], r["baseline"]) for r in rows] == [
        ("nesterov", True), ("nesterov", False), ("muon", False)]
    # bf16 nesterov: 400 img/s over its plain 50; muon: 800 over bf16 nesterov's 400.
    assert [r["train_speed_ratio"] for r in rows] == pytest.approx([None, 8.0, 2.0])
    assert [r["ratio_vs"] for r in rows] == ["", "baseline", "nesterov"]
    assert "[3/3] lenet_d2l-muon" in said and "[1/3] lenet_d2l-nesterov" in said


def test_each_row_is_on_file_before_the_next_model_is_timed(monkeypatch, tmp_path):
    out = tmp_path / "tp.json"
    on_file = []

    def look(name):
        if out.exists():
            stored = json.loads(out.read_text(encoding="utf-8"))["rows"]
            on_file.append([r["model"] for r in stored])

    _fake(monkeypatch, on_call=look)
    result, _ = _run("--models", "lenet_d2l,lenet_bn", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert on_file == [["lenet_d2l"]]


def test_no_ratio_no_reference_named(monkeypatch, tmp_path):
    # A failed baseline: the row's JSON names no reference for the ratio it does not have.
    real = None

    def measure(name, batch_size, image_size=None, **kw):
        if not kw.get("channels_last"):
            raise RuntimeError("no kernel for this")
        return real(name, batch_size, image_size, **kw)

    _fake(monkeypatch)
    real = tp.measure
    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.json"
    result, said = _run("--models", "lenet_d2l", "--channels-last", "--out", str(out))
    assert result.exit_code == 1, result.output
    base, row = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert row["train_speed_ratio"] is None and row["ratio_vs"] == ""
    assert "nan" not in said.lower()


def test_the_title_says_the_batch_and_the_caption_the_steps_timed(monkeypatch):
    calls = []
    _fake(monkeypatch, calls)
    result, said = _run("--models", "lenet_d2l", "--steps", "3", "--pad-stem", "4")
    assert result.exit_code == 0, result.output
    assert {c["steps"] for c in calls} == {3}
    assert ", batch 8" in said and "Median of 3 timed step(s) after 2 warm-up steps" in said
    assert "fp32, NCHW, eager, stem 4 ch" in said  # the setting column names the stem


def test_a_halved_batch_gets_a_batch_column(monkeypatch):
    from rich.console import Console
    from throughput_helpers import throughput_row

    from cnnlab.cli.throughput import throughput_table

    rows = [throughput_row(batch_size=64), throughput_row(model="vgg11", batch_size=16)]
    console = Console(record=True, width=250)
    console.print(throughput_table(rows, "cpu", 5, width=250))
    text = console.export_text()
    header = next(line for line in text.splitlines() if "model" in line and "input" in line)
    assert "batch" in header and ", batch" not in text.splitlines()[0]
    vgg = next(line for line in text.splitlines() if "vgg11" in line)
    assert " 16 " in vgg


def test_an_image_side_at_the_models_least_is_taken(monkeypatch):
    _fake(monkeypatch)
    result, _ = _run("--models", "lenet_bn", "--image-size", "16")
    assert result.exit_code == 0, result.output


def test_an_override_value_the_model_refuses_is_refused_before_timing(monkeypatch):
    monkeypatch.setattr(tp, "measure", lambda *a, **k: pytest.fail("measured first"))
    result, said = _run("--models", "speednet_wide", "--override", "widths=[8, 16]")
    assert result.exit_code == 2, result.output
    assert "--override widths=[8, 16]: speednet_wide:" in said, said


def test_a_row_whose_write_a_ctrl_c_cut_is_written_once_more(monkeypatch, tmp_path):
    # Ctrl-C inside the second row's write (an atomic write: the file keeps the first row
    # alone): the rows are written again on the way out, the second one included.
    from cnnlab.bench import results

    real, writes = results.write_rows, []

    def write_rows(*args, **kw):
        writes.append(1)
        if len(writes) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    _fake(monkeypatch)
    monkeypatch.setattr(results, "write_rows", write_rows)
    out = tmp_path / "tp.json"
    result, said = _run("--models", "lenet_d2l,lenet_bn,lenet_modern", "--out", str(out))
    assert result.exit_code == 130, result.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [r["model"] for r in rows] == ["lenet_d2l", "lenet_bn"]
    assert "2 of 3 rows measured" in said
