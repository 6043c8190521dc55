"""The zoo's params and MACs columns are the trained model's: its classifier has the
data's classes (they were counted for Fashion-MNIST's 10, whatever the data)."""

from __future__ import annotations

import json

from PIL import Image

from cnnlab.bench import zoo
from cnnlab.data.synthetic import make_synthetic

LENET_10_CLASSES = 61_706  # lenet_d2l at 1x28x28: its last layer is 84 x 10 + 10
LENET_3_CLASSES = LENET_10_CLASSES - 7 * (84 + 1)


def three_class_folder(root):
    for label, base in (("dark", 0), ("grey", 90), ("light", 180)):
        (root / label).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (28, 28), base + 10 * i).save(root / label / f"{i}.png")
    return root


def test_a_folder_of_three_classes_counts_a_three_class_classifier(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))  # not ~/.cache/cnnlab
    folder = three_class_folder(tmp_path / "photos")
    # data=None: the command line decodes a folder per model, as training does.
    [row] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                        out_dir=tmp_path / "out", data_spec=f"folder:{folder}",
                        overrides={"batch_size": 4})
    assert row["status"] == "done", row["error"]
    assert row["params"] == LENET_3_CLASSES
    summary = json.loads((tmp_path / "out" / "zoo-book-runs" / "lenet_d2l"
                          / "summary.json").read_text())
    assert row["params"] == summary["parameters"]  # what the run trained
    ten = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                      out_dir=tmp_path / "ten", data_spec="synthetic",
                      overrides={"eval_subset": 64})[0]
    assert ten["params"] == LENET_10_CLASSES
    assert ten["macs"] - row["macs"] == 84 * 7  # the classifier's multiply-adds


def test_loaded_data_of_three_classes_and_a_run_without_its_summary(tmp_path):
    data = make_synthetic(num_train=64, num_test=32, num_classes=3)
    [row] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                        out_dir=tmp_path, data=data, data_spec="synthetic")
    assert row["status"] == "done", row["error"]
    assert row["params"] == LENET_3_CLASSES
    # Killed after training, before its summary or its row was written: the classes
    # come from the last checkpoint.
    (tmp_path / "zoo-book-runs" / "lenet_d2l" / "summary.json").unlink()
    assert zoo._trained_classes(tmp_path / "zoo-book-runs" / "lenet_d2l") == 3
