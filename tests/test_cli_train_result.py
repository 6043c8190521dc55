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


def test_a_last_accuracy_far_under_the_best_points_at_the_best_checkpoint(monkeypatch):
    # lenet_modern with no preset: 84.8% at epoch 9, 39.9% at 10, and the table's first
    # row read "test accuracy 39.90%" with nothing said of the checkpoint eval would use.
    import cnnlab.train
    from cnnlab.train.outcome import TrainResult

    def trained(accuracies):
        history = [{"epoch": e, "test_acc": a, "images_per_s": 1000.0}
                   for e, a in enumerate(accuracies, 1)]
        return TrainResult(run_dir=None, history=history, final=history[-1],
                           best_test_acc=max(accuracies), train_time_s=20.0)

    swinging = [0.628, 0.678, 0.274, 0.623, 0.68, 0.623, 0.681, 0.832, 0.848, 0.399]
    monkeypatch.setattr(cnnlab.train, "train", lambda cfg, console: trained(swinging))
    result = runner.invoke(app, [*TRAIN, "--preset", "fast"])
    assert result.exit_code == 0, result.output
    assert "note: the last epoch scored 39.90%, 44.9 points under the best (84.80%, epoch " \
           "9): cnnlab eval, predict and export use the best checkpoint (--which last: " \
           "the last)" in " ".join(result.stderr.split())
    steady = [0.80, 0.85, 0.848, 0.84]  # under the best by less than 10 points: no note
    monkeypatch.setattr(cnnlab.train, "train", lambda cfg, console: trained(steady))
    result = runner.invoke(app, [*TRAIN, "--preset", "fast"])
    assert result.exit_code == 0 and "last epoch scored" not in result.stderr
