"""A help example does what the line above it says it does (a teacher read "stages only"
above `cnnlab summary resnet18_d2l --depth 1`, which rolls every stage into one row)."""

from __future__ import annotations

import re
import shlex

from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.examples import EXAMPLES


def test_the_summary_example_for_stages_shows_each_stage_as_a_row():
    [(example, _)] = [(c, what) for c, what in EXAMPLES["summary"] if "stage" in what]
    result = CliRunner().invoke(app, shlex.split(example)[1:], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # resnet18_d2l's four residual stages, b2 to b5, one row each and nothing below them.
    stages = re.findall(r"^\s+(\S*b[2-5])\s+Sequential", result.output, re.M)
    assert len(stages) == 4, result.output
    assert not re.search(r"b[2-5]\.\d", result.output), result.output
