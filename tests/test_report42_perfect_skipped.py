"""--no-figures on a run that got every test image right: the misclassified images are
not among the figures skipped (there are none to draw), and a resume is not sent to
draw them."""

from __future__ import annotations

import json

from test_report42_perfect_model import words

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train


def test_a_perfect_run_without_figures_names_no_misclassified_images_skipped(tmp_path):
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=16,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    result = train(cfg, data=make_synthetic(num_train=64, num_test=16, num_classes=2,
                                            noise=5.0))
    assert result.confusion == [[8, 0], [0, 8]]
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["figures_skipped"] == ["curves.png", "confusion.png"]
    text = words((run / "report.html").read_text(encoding="utf-8"))
    assert "The figures (curves.png and confusion.png) were not drawn" in text
