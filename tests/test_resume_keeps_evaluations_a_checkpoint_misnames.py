"""A checkpoint's evaluated_off_schedule names the epoch a time budget's stop evaluated
off the eval_every schedule, which a resume forgets (its row's test results, its class
metrics). Only the checkpoint's own epoch can be that one: a mark naming an earlier
epoch (a hand-edited or damaged checkpoint) must not erase that epoch's real evaluation."""

import json
import math

from resume_helpers import small_run
from safetensors import safe_open
from safetensors.torch import save_file

from cnnlab.train import checkpoint as ckpt
from cnnlab.train import resume
from cnnlab.train.runlog import MetricsLog


def test_a_mark_naming_an_earlier_epoch_erases_none_of_its_results(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    run = tmp_path / "run"
    path = run / "checkpoints" / "last.safetensors"
    with safe_open(path, "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        state = json.loads(f.metadata()[ckpt.STATE_KEY])
    assert state["epoch"] == 2 and state["evaluated_off_schedule"] is None
    state["evaluated_off_schedule"] = 1  # epoch 1 was evaluated on schedule
    save_file(tensors, path, metadata={ckpt.STATE_KEY: json.dumps(state)})
    before = MetricsLog.read(run / "metrics.csv")[0]["test_acc"]
    resume(run, extra_epochs=1)
    rows = MetricsLog.read(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert not math.isnan(rows[0]["test_acc"]) and rows[0]["test_acc"] == before
    lines = (run / "class_metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
