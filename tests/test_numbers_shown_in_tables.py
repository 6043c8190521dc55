"""The numbers of a summary's totals and of a training run's epoch lines follow the same
unit rules as the rows and tables beside them (cnnlab.formatting)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from torch import nn

from cnnlab import summary
from cnnlab.formatting import format_bytes, format_count
from cnnlab.train.train_progress import TrainProgress


def test_a_summary_past_a_trillion_macs_writes_them_in_t_rows_and_total_alike():
    # 64.5 GMACs a sample, at batch 16: 1.03e12 MACs (VGG-11 at 224 x 224 and batch 200
    # had read "1522G", four digits of a unit, beside "133M" parameters). On the meta
    # device: nothing is computed.
    model = nn.Conv2d(16, 4096, 31, padding=15, device="meta")
    s = summary(model, (16, 32, 32), batch_size=16, device="meta", depth=0)
    header, rows, footer = s.table_cells()
    macs = header.index("MACs")
    assert footer[macs] == rows[0][1][macs] == format_count(s.totals.macs) == "1.03T"
    assert footer[-1] == format_bytes(s.totals.forward_activation_bytes) == "256 MiB"
    assert dict(s.totals_lines())["MACs"].startswith("1.03T (1,031,865,892,864)")


@pytest.mark.parametrize("seconds, end", [(5.8, "img/s  5.8 s"),
                                          (2712.4, "img/s  45.2 min")])  # was "2712.4 s"
def test_an_epoch_line_writes_its_time_as_the_run_report_does(seconds, end):
    out = io.StringIO()
    row = {"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.6,
           "test_acc": 0.79, "images_per_s": 1000.0, "epoch_time_s": seconds}
    TrainProgress(3, 469, quiet=True, console=Console(file=out, width=200)).end_epoch(row)
    assert out.getvalue().rstrip().endswith(end)
