"""The data-sheet peaks a throughput row's "of peak" share divides by (issue 6): every
card's every math pinned to its data sheet's dense figure, a card whose name merely
contains a listed one (an RTX A1000 is no A100) given none, and the TF32 switch read as
off when torch refuses to say."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cnnlab.bench import peaks
from cnnlab.bench.peaks import data_sheet_peak

# (name as torch.cuda.get_device_name gives it, less "NVIDIA "; bf16, fp16, tf32, fp32):
# NVIDIA's data sheets, dense (half the 2:4-sparsity figure they quote first).
SHEETS = [
    ("H100 80GB HBM3", (989.4, 989.4, 494.7, 67.0)),
    ("H100 PCIe", (756.5, 756.5, 378.0, 51.0)),
    ("H100 NVL", (835.5, 835.5, 417.5, 60.0)),
    ("H200", (989.4, 989.4, 494.7, 67.0)),
    ("H200 NVL", (835.5, 835.5, 417.5, 60.0)),
    ("GH200 480GB", (989.4, 989.4, 494.7, 67.0)),
    ("A100-SXM4-80GB", (312.0, 312.0, 156.0, 19.5)),
    ("A100 80GB PCIe", (312.0, 312.0, 156.0, 19.5)),
]


@pytest.mark.parametrize(("name", "sheet"), SHEETS)
def test_every_math_of_every_card_is_its_data_sheets(name, sheet):
    got = tuple(data_sheet_peak(name, m) for m in ("bf16", "fp16", "tf32", "fp32"))
    assert got == sheet


@pytest.mark.parametrize("name", ["RTX A1000 6GB Laptop GPU", "RTX A1000", "A10",
                                  "H20", "H1000"])
def test_a_card_whose_name_only_contains_a_listed_one_has_no_peak(name):
    # "A100" is in "RTX A1000": its "of peak" share was against the A100's 312 TFLOP/s.
    assert data_sheet_peak(name, "bf16") is None


def test_tf32_is_taken_as_off_when_torch_refuses_to_say(monkeypatch):
    class Cudnn:  # set apart by the newer switches, allow_tf32 raises
        fp32_precision = "none"

        @property
        def allow_tf32(self):
            raise RuntimeError("mixed legacy and new precision settings")

    fake = SimpleNamespace(backends=SimpleNamespace(cudnn=Cudnn(), fp32_precision="none"))
    monkeypatch.setattr(peaks, "torch", fake)
    assert peaks.cudnn_convs_in_tf32() is False
    assert peaks.step_math("off") == "fp32"
