"""`cnnlab train`'s result table: what it says of the epochs trained and of the best
checkpoint."""

import json

from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()
TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--batch-size", "64", "--threads", "1"]


def _rows(output: str) -> dict[str, str]:
    """The result table's rows, label -> value."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃|").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_an_epoch_cut_short_by_max_time_counts_as_the_share_trained(tmp_path):
    # The log said "epoch 1/3 (stopped at step 1 of 8)", compare "0.1/3", and the
    # result table "epochs 1".
    result = runner.invoke(app, [*TRAIN, "--epochs", "3", "--max-time", "0.001",
                                 "--out-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
    cut = json.loads((run / "summary.json").read_text(encoding="utf-8"))["cut_epoch"]
    assert cut["of"] == 8 and 0 < cut["steps"] < 8  # a step or so in 0.001 s
    share = f"{cut['steps'] / 8:.2f}".rstrip("0")
    assert _rows(result.stdout)["epochs"] == (
        f"{share} of 3 (epoch 1 stopped at step {cut['steps']} of 8)")
    result = runner.invoke(app, ["resume", str(run), "--max-time", "0"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert _rows(result.stdout)["epochs"] == "3"  # every planned epoch: as before
