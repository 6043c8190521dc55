"""A run with no evaluation yet says so wherever its best accuracy is shown: NaN in a
result, null in summary.json, "not evaluated" in its report; never the trainer's start
value -1 ("-100.00%"). summary.json files written before carry that -1, and still read
as not evaluated."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest
from resume_helpers import small_run

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, read_result
from cnnlab.train.report import write_report
from cnnlab.train.summary_json import summary_json
from cnnlab.train.trainer import Trainer


def test_summary_json_writes_a_best_accuracy_not_measured_as_null():
    # It wrote the bare NaN of the result: not JSON (jq, a browser refuse the file).
    text = summary_json({"model": "m", "best_test_acc": math.nan, "confusion": [[1, 0]]})
    assert "NaN" not in text and json.loads(text)["best_test_acc"] is None


def test_a_summary_without_an_evaluation_reads_back_as_nan(tmp_path, monkeypatch):
    # Read from summary.json alone (checkpoints deleted to save space): -1 came back as
    # the best accuracy, and null made the result's repr fail.
    run = small_run(tmp_path, monkeypatch, epochs=1, run_name="r").run_dir
    shutil.rmtree(run / "checkpoints")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    for stored in (-1.0, None):  # summary.json before, and now
        summary["best_test_acc"] = stored
        (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        result = read_result(run)
        assert math.isnan(result.best_test_acc) and "best_test_acc=nan" in repr(result)


def test_a_trainer_that_has_evaluated_nothing_reports_nan_not_minus_one():
    # The result of a loop ended before any evaluation carried the start value, -1.
    data = make_synthetic(num_train=32, num_test=16, seed=1)
    trainer = Trainer(TrainConfig(model="lenet_modern", data="synthetic", batch_size=16,
                                  device="cpu", quiet=True), data, console=False)
    assert math.isnan(trainer._finish([], None).best_test_acc)


def words(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("best", [-1.0, None, math.nan])  # an old summary, a new one, live
def test_the_report_of_a_run_not_evaluated_says_so(tmp_path, best):
    # -1 showed as "best test accuracy -100.00%", NaN as "nan%".
    summary = {"model": "m", "final": {"epoch": 1, "test_acc": math.nan},
               "best_test_acc": best, "best_epoch": None, "eval_images": 100, "config": {}}
    page = words(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    assert "best test accuracy not evaluated" in page
    assert "test accuracy, last epoch not evaluated" in page
    assert "-100" not in page and "nan%" not in page
