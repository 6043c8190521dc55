"""The report of a model that gets every test image right: written whole, with no grid of
misclassified images (there are none), and saying so beside the confusion matrix."""

from __future__ import annotations

import json
import re

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train
from cnnlab.train.report import write_report

TINY_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
            b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
            b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def words(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def perfect_run(tmp_path):
    """A run of a tiny model that got every one of its 16 test images right."""
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=16,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    # Two classes of little noise: learned in one epoch, every test image right.
    result = train(cfg, data=make_synthetic(num_train=64, num_test=16, num_classes=2,
                                            noise=5.0))
    assert result.confusion == [[8, 0], [0, 8]]
    return tmp_path / "r"


def perfect_summary() -> dict:
    return {"model": "lenet_modern", "classes": ["cat", "dog"],
            "final": {"epoch": 1, "test_acc": 1.0, "images_per_s": 100.0},
            "best_test_acc": 1.0, "best_epoch": None, "eval_images": 16,
            "per_class_acc": {"cat": 1.0, "dog": 1.0}, "confusion": [[8, 0], [0, 8]],
            "config": {"data": "synthetic", "epochs": 1}}


def test_the_confusion_matrix_of_a_perfect_model_says_no_image_was_misclassified(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "confusion.png").write_bytes(TINY_PNG)
    page = write_report(tmp_path, perfect_summary(), figures=["confusion.png"]).read_text(
        encoding="utf-8")
    text = words(page)
    assert "the cells count test images. No test image was misclassified." in text
    assert "Most often confused" not in text
    assert "cat 8 8 100.0% dog 8 8 100.0%" in text


@pytest.mark.usefixtures("figures_drawn")
def test_a_run_that_gets_every_test_image_right_writes_its_report(tmp_path, monkeypatch):
    # The curves and the matrix stand in as a pixel each (drawing them is seconds); the
    # misclassified images are looked for by the run's own model, which finds none.
    from cnnlab.train import run_outputs

    def tiny(*args, **kwargs):
        out = next(a for a in args if hasattr(a, "write_bytes"))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(TINY_PNG)

    monkeypatch.setattr(run_outputs, "plot_curves", tiny)
    monkeypatch.setattr(run_outputs, "plot_confusion", tiny)
    run = perfect_run(tmp_path)
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["confusion.png", "curves.png"]
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert "figures_not_drawn" not in summary  # nothing failed, nothing left to draw
    text = words((run / "report.html").read_text(encoding="utf-8"))
    assert "No test image was misclassified." in text
    assert "Misclassified test images" not in text


def test_a_matrix_without_its_class_names_names_no_pair_confused(tmp_path):
    # A summary that kept its confusion matrix but not the classes' accuracies (so not
    # their names): the caption names no pair rather than guess, or fail on, the names.
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "confusion.png").write_bytes(TINY_PNG)
    summary = {**perfect_summary(), "confusion": [[6, 2], [1, 7]], "classes": None}
    del summary["per_class_acc"]
    text = words(write_report(tmp_path, summary, figures=["confusion.png"]).read_text(
        encoding="utf-8"))
    assert "the cells count test images." in text
    assert "Most often confused" not in text and "misclassified." not in text


def test_the_headline_names_the_preset_or_none(tmp_path):
    summary = perfect_summary()
    assert "preset none epochs 1 " in words(write_report(tmp_path, summary).read_text(
        encoding="utf-8"))
    summary["config"]["preset"] = "fast"
    assert "preset fast epochs 1 " in words(write_report(tmp_path, summary).read_text(
        encoding="utf-8"))
