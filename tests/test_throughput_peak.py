"""What share of its card's peak a throughput row used (issue 6 asks the speed goal's
TFLOP/s "and its share of the card's peak"): the data sheets' dense peaks by card and
math, the table's 'of peak' column, and --peak-tflops for a card cnnlab does not know."""

from __future__ import annotations

import json

import pytest
import torch
from rich.console import Console
from throughput_helpers import throughput_row

from cnnlab.bench.peaks import data_sheet_peak, device_peak, step_math
from cnnlab.cli.throughput import throughput_table


@pytest.mark.parametrize(("name", "math", "peak"), [
    ("H100 80GB HBM3", "bf16", 989.4),  # the SXM card's name
    ("H100 80GB HBM3", "tf32", 494.7),
    ("H100 PCIe", "bf16", 756.5),  # not the SXM card's, though "H100" is in its name
    ("H100 NVL", "fp16", 835.5),
    ("H200", "bf16", 989.4),
    ("H200 NVL", "tf32", 417.5),
    ("A100-SXM4-80GB", "fp32", 19.5),
    ("Tesla T4", "bf16", None),
])
def test_data_sheet_peaks_by_card_and_math(name, math, peak):
    assert data_sheet_peak(name, math) == peak


def test_a_steps_math_is_its_cast_or_cudnns_tf32():
    assert step_math("bf16") == "bf16" and step_math("fp16", cudnn_tf32=False) == "fp16"
    assert step_math("off", cudnn_tf32=True) == "tf32"
    assert step_math("off", cudnn_tf32=False) == "fp32"


def test_the_peak_of_a_cuda_device_by_its_name(monkeypatch):
    assert device_peak(torch.device("cpu"), "bf16") == (None, "")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    assert device_peak(torch.device("cuda"), "bf16") == (989.4, "H200, bf16 dense")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA L4")
    assert device_peak(torch.device("cuda"), "bf16") == (None, "")


def test_the_table_gives_the_share_of_peak_and_says_of_which():
    # 40,000 img/s of a 1.6 GMAC step: 6 x 1.6e9 x 4e4 = 384 TFLOP/s, 38.8% of 989.4
    rows = [throughput_row(model="resnet18_d2l", device="cuda", amp="bf16",
                           train_tflops=384.0, peak_tflops=989.4,
                           peak_of="H100 80GB HBM3, bf16 dense"),
            throughput_row(model="lenet_bn", device="cuda")]  # a card with no peak known
    console = Console(record=True, width=200)
    console.print(throughput_table(rows, "cuda", 5, width=200))
    text = " ".join(console.export_text().split())
    assert "of peak" in text and "38.8%" in text, text
    assert "H100 80GB HBM3, bf16 dense: 989 TFLOP/s" in text, text


def test_no_peak_no_column():
    console = Console(record=True, width=200)
    console.print(throughput_table([throughput_row()], "cpu", 5, width=200))
    assert "of peak" not in console.export_text()


def test_peak_tflops_gives_the_share_on_any_device(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--batch-size", "8", "--steps", "1", "--no-infer",
                                      "--device", "cpu", "--peak-tflops", "0.5",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    [row] = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert row["peak_tflops"] == 0.5 and row["peak_of"] == "--peak-tflops"
    said = " ".join(result.output.split())
    assert "--peak-tflops: 0.5 TFLOP/s" in said, said
    share = 100 * row["train_tflops"] / 0.5
    from cnnlab.formatting import sig3

    assert f"{sig3(share)}%" in said, said


@pytest.mark.skipif(not hasattr(torch.backends.cudnn, "conv"),
                    reason="torch before fp32_precision (2.9)")
def test_the_newer_precision_switch_is_read_and_never_fails_a_row():
    # Set apart from cuDNN's RNNs, reading the legacy allow_tf32 raised RuntimeError: on a
    # GPU every timed row came back "failed". (A switch, not an attribute monkeypatch
    # could put back.)
    convs, before = torch.backends.cudnn.conv, torch.backends.cudnn.conv.fp32_precision
    try:
        convs.fp32_precision = "ieee"
        assert step_math("off") == "fp32"
        convs.fp32_precision = "tf32"
        assert step_math("off") == "tf32"
    finally:
        convs.fp32_precision = before


def test_a_mig_slice_has_no_peak_of_the_whole_card(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name",
                        lambda device=None: "NVIDIA A100-SXM4-40GB MIG 1g.10gb")
    assert device_peak(torch.device("cuda"), "bf16") == (None, "")


def test_a_given_peak_is_not_the_baselines(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--batch-size", "8", "--steps", "1", "--no-infer",
                                      "--channels-last", "--device", "cpu",
                                      "--peak-tflops", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    baseline, asked = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert baseline["baseline"] and baseline["peak_tflops"] is None
    assert asked["peak_tflops"] == 0.5
    assert "data sheets" not in " ".join(result.output.split())
