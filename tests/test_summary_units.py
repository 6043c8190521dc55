"""`cnnlab summary MODEL --json` says which megabytes its size fields count, and gives
them in the table's binary units (MiB) too; the decimal *_mb fields stay as they were."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.formatting import format_bytes


def test_the_json_sizes_name_their_unit_and_match_the_table():
    result = CliRunner().invoke(app, ["summary", "lenet_modern", "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    totals = d["totals"]
    assert totals["param_mib"] == pytest.approx(totals["param_bytes"] / 2**20)
    assert totals["param_mb"] == pytest.approx(totals["param_bytes"] / 1e6)  # kept
    assert d["units"]["*_mib"].startswith("MiB") and d["units"]["*_mb"].startswith("MB")
    # The table's "Parameter size" is the *_mib figure, in the same unit.
    table = dict(d["totals_lines"])["Parameter size"]
    assert table == format_bytes(totals["param_bytes"]) and table.endswith(("KiB", "MiB"))
    for name in ("input", "forward_activation", "training_activation"):
        mib, size = totals[f"{name}_mib"], totals[f"{name}_bytes"]
        assert mib is None if size is None else mib == pytest.approx(size / 2**20)
