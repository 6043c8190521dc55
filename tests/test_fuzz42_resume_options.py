"""`cnnlab resume RUN --max-time` out of range is named by the flag, as -1 and nan were:
inf fell through to the config's "invalid value for max_time: inf" (session 42)."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app


def test_an_infinite_max_time_is_named_by_its_flag(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic", "--device",
                                 "cpu", "--quiet", "--epochs", "1", "--train-subset", "16",
                                 "--eval-subset", "16", "--no-figures", "--out-dir",
                                 str(tmp_path), "--run-name", "run"])
    assert result.exit_code == 0, result.output
    for value in ("inf", "-inf", "nan", "-1"):
        result = runner.invoke(app, ["resume", str(run), "--max-time", value])
        assert result.exit_code == 2, result.output
        assert f"--max-time {value}: give a total training time in seconds > 0, or 0 for " \
               "no time limit" in " ".join(result.stderr.split())
