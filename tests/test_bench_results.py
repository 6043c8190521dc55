"""What the benches store: one record of the machine per result file, NaN as null."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cnnlab.bench import results
from cnnlab.cli import app


def test_a_result_file_holds_one_machine_record_with_the_device_and_load(tmp_path,
                                                                         tiny_fashion):
    # `bench loader --out` wrote the machine twice: runlog's environment and its own
    # bench_environment, each with fields the other lacked.
    tiny = tiny_fashion(tmp_path / "fm", n_train=64, n_test=10)
    out = tmp_path / "loader.json"
    result = CliRunner().invoke(app, [
        "bench", "loader", "--data-root", str(tiny.directory), "--resize", "16",
        "--batch-size", "32", "--workers", "0", "--epochs", "1", "--no-augment",
        "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert set(written) == {"rows", "environment"}
    env = written["environment"]
    assert env["device"] == "cpu" and "load_average" in env
    assert {"torch", "numpy", "cpu_model", "cpu_count", "torch_threads", "command",
            "cnnlab"} <= set(env)
    assert "load_average" in result.output and "device cpu" in result.output


def test_json_rows_write_nan_as_null(tmp_path):
    results.write_json(tmp_path / "r.json", [{"a": float("nan"), "b": [float("inf"), 1.0]}])
    assert json.loads((tmp_path / "r.json").read_text())["rows"] == [{"a": None,
                                                                      "b": [None, 1.0]}]
