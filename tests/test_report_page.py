"""report.html says which evaluation its class-by-class results are, and that cnnlab eval
and predict use the best checkpoint; its percentages have the decimals their counts
support."""

from __future__ import annotations

import json
import re

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train
from cnnlab.train.report import write_report

CLASSES = ["cat", "dog"]


def matrix(right_cats: int, right_dogs: int) -> list[list[int]]:
    return [[right_cats, 500 - right_cats], [500 - right_dogs, right_dogs]]


def run_with_epochs(tmp_path, test_acc: list[float], cats: list[int]) -> dict:
    """A run folder with class_metrics.jsonl for each epoch, and its summary."""
    with open(tmp_path / "class_metrics.jsonl", "w") as fh:
        for epoch, right in enumerate(cats, start=1):
            fh.write(json.dumps({"epoch": epoch,
                                 "per_class_acc": {"cat": right / 500, "dog": 0.9},
                                 "confusion": matrix(right, 450)}) + "\n")
    best = max(test_acc)
    return {
        "model": "lenet_modern", "classes": CLASSES,
        "final": {"epoch": len(test_acc), "test_acc": test_acc[-1], "images_per_s": 1000.0},
        "best_test_acc": best, "best_epoch": test_acc.index(best) + 1,
        "eval_images": 1000, "test_images": 1000, "train_images": 6000, "eval_scope": "",
        "per_class_acc": {"cat": cats[-1] / 500, "dog": 0.9},
        "confusion": matrix(cats[-1], 450),
        "config": {"data": "fashion-mnist", "preset": "fast", "epochs": len(test_acc),
                   "ema_decay": 0.999, "weights": None, "flip": False, "model_overrides": {}},
        "environment": {"date": "2026-12-05T08:08:04", "cpu_model": "Intel(R) Xeon(R) Gold",
                        "torch_threads": 2, "python": "3.11.7"},
        "commands": [{"command": "cnnlab train", "date": "2026-12-05T08:05:11"}],
        "device": "cpu", "parameters": 62158,
    }


def text(page: str) -> str:
    """The page's words, tags dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_class_results_are_the_best_checkpoints_and_say_which_evaluation(tmp_path):
    # Best at epoch 2 (cats 450 of 500 right), last at epoch 3 (cats 400): the per-class
    # table and confusion matrix showed epoch 3's beside epoch 2's headline, unnamed.
    summary = run_with_epochs(tmp_path, [0.80, 0.90, 0.85], [300, 450, 400])
    words = text(write_report(tmp_path, summary).read_text())
    assert ("Class by class: test set (1,000 images), after epoch 2 of 3, EMA weights "
            "(decay 0.999), the best checkpoint") in words
    assert "cat 450 500 90.0%" in words  # epoch 2's, not the last epoch's 80.0%
    assert "The last epoch (3) scored 85.0%" in words
    assert "the weights cnnlab eval and cnnlab predict use" in words
    assert "90.0% at epoch 2: the best checkpoint" in words


def test_without_the_best_epochs_line_the_last_evaluation_is_shown_as_such(tmp_path):
    summary = run_with_epochs(tmp_path, [0.80, 0.90, 0.85], [300, 450, 400])
    lines = (tmp_path / "class_metrics.jsonl").read_text().splitlines()
    (tmp_path / "class_metrics.jsonl").write_text(lines[0] + "\n" + lines[2] + "\n")
    words = text(write_report(tmp_path, summary).read_text())
    assert "after epoch 3 of 3, EMA weights (decay 0.999), the last epoch" in words
    assert "cat 400 500 80.0%" in words
    assert "The best checkpoint (epoch 2, 90.0%) is what cnnlab eval and cnnlab predict use" \
        in words


@pytest.mark.parametrize(("images", "shown"), [(128, "100.0%"), (10_000, "100.00%")])
def test_overall_accuracy_has_the_decimals_its_test_set_supports(tmp_path, images, shown):
    summary = {"model": "m", "final": {"epoch": 1, "test_acc": 1.0}, "best_test_acc": 1.0,
               "eval_images": images, "config": {}}
    words = text(write_report(tmp_path, summary).read_text())
    assert f"test accuracy, last epoch {shown}" in words


def test_a_runs_confusion_matrix_is_the_best_epochs_and_titled_so(tmp_path, monkeypatch):
    from cnnlab.train import run_outputs

    drawn = {}
    monkeypatch.setattr(run_outputs, "plot_confusion",
                        lambda matrix, classes, out, **kw: drawn.update(kw, matrix=matrix))
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r",
                      ema_decay=0.9)
    train(cfg, data=make_synthetic(num_train=64, num_test=64))
    run = tmp_path / "r"
    best = json.loads((run / "summary.json").read_text())["best_epoch"]
    lines = [json.loads(line) for line in (run / "class_metrics.jsonl").read_text()
             .splitlines()]
    assert drawn["matrix"] == next(r["confusion"] for r in lines if r["epoch"] == best)
    assert (f"test set (64 images), after epoch {best} of 3, EMA weights (decay 0.9), the "
            "best checkpoint") == drawn["title"]
