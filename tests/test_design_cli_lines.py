"""What `cnnlab design run` and `design status` print about trials, checked against what
the sweep's report says of the same trials."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from cnnlab.cli.design import app

# 64 test images of the synthetic set: one image moves the error by 1.6%.
TINY = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
        "--threads", "1", "--set", "batch_size=32", "--set", "eval_subset=64", "--n", "2",
        "--train-subset", "64", "--device", "cpu"]


def test_each_trials_error_has_the_decimals_the_report_gives_it(tmp_path):
    # The line said "error 90.62%" where the report, from the same 64 test images,
    # said 90.6: a second decimal those images cannot hold.
    out = tmp_path / "sweep"
    result = CliRunner().invoke(app, ["run", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    errors = re.findall(r"trial \d: error (\d+\.\d+)%", result.output)
    assert len(errors) == 2 and all(len(e.split(".")[1]) == 1 for e in errors), result.output
    status = CliRunner().invoke(app, ["status", str(out)])
    assert re.search(r"best so far: trial \d, error \d+\.\d%", status.output), status.output
