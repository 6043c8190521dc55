"""Run folders as training leaves them, written directly, for the compare tests: what
`cnnlab compare` reads (config.yaml, metrics.csv, summary.json) without the seconds a
training takes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cnnlab.train import TrainConfig
from cnnlab.train.runlog import METRIC_COLUMNS


def row(epoch: int, test_acc: float, wall_s: float, images_per_s: float = 1000.0) -> dict:
    return {"epoch": epoch, "train_loss": 1.0, "train_acc": 0.5,
            "test_loss": 1.0, "test_acc": test_acc, "lr": 0.1, "images_per_s": images_per_s,
            "epoch_time_s": 1.0, "elapsed_s": wall_s - 0.1 * epoch, "eval_time_s": 0.1,
            "wall_s": wall_s, "peak_memory_mb": 100.0}


def make_run(root: Path, name: str, history: list[dict], summary: dict | None = None,
             data_json: dict | None = None, input_size: int | None = None,
             checkpoint: dict | None = None, **settings) -> Path:
    """A run folder as training leaves it (config.yaml, metrics.csv, summary.json; with
    ``data_json`` the record of data given from Python, with ``input_size`` or
    ``checkpoint`` the last checkpoint's readable copy, holding those), written directly:
    what compare reads, without the seconds a training takes."""
    run_dir = root / name
    (run_dir / "checkpoints").mkdir(parents=True)
    settings = {"model": "lenet_modern", "data": "synthetic", "epochs": 3,
                "out_dir": str(root), "run_name": name, **settings}
    TrainConfig(**settings).save(run_dir / "config.yaml")
    with open(run_dir / "metrics.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, METRIC_COLUMNS)
        writer.writeheader()
        writer.writerows(history)
    if summary is not None:
        (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if data_json is not None:
        (run_dir / "data.json").write_text(json.dumps(data_json), encoding="utf-8")
    if input_size is not None or checkpoint is not None:
        state = {"epoch": len(history), "step_in_epoch": 0,
                 "preprocess": {"channels": 1, "image_size": input_size or 28},
                 **(checkpoint or {})}
        (run_dir / "checkpoints" / "last.json").write_text(json.dumps(state),
                                                           encoding="utf-8")
    return run_dir


def data_json(train_images: int, test_images: int, fingerprint: str = "0123") -> dict:
    """data.json as train() writes it for data given from Python (classes shortened)."""
    return {"name": "fashion-mnist", "classes": ["a", "b"],
            "train": {"images": train_images, "shape": [1, 28, 28],
                      "fingerprint": f"train-{fingerprint}"},
            "test": {"images": test_images, "shape": [1, 28, 28],
                     "fingerprint": f"test-{fingerprint}"}}


def three_epochs(*accs: float, speeds=(500.0, 1000.0, 1100.0)) -> list[dict]:
    return [row(e, acc, wall_s=2.0 * e, images_per_s=speed)
            for e, (acc, speed) in enumerate(zip(accs, speeds, strict=True), start=1)]


FINISHED = {"parameters": 61706, "device": "cpu", "stopped": None}
