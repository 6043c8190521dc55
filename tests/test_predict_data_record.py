"""predict_image reads a run's data.json (the data given to train() from Python) once,
not once per image, and again only when the file changes."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import cnnlab.train.predict as predict


def test_the_data_record_is_read_once_for_many_images_and_again_once_changed(tmp_path,
                                                                           monkeypatch):
    record = tmp_path / "data.json"
    record.write_text(json.dumps({"name": "folder:/photos", "train": {"shape": [3, 32, 40]}}),
                      encoding="utf-8")
    run = SimpleNamespace(run_dir=tmp_path, data="fashion-mnist")
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(predict.json, "loads", lambda text: parsed.append(1) or real_loads(text))
    for _ in range(50):  # a folder of 50 images: it was parsed 50 times
        assert predict.trained_on(run) == ("folder:/photos", (32, 40))
    assert len(parsed) == 1
    # Rewritten (another size, another time): read anew, not the first answer kept.
    record.write_text(json.dumps({"name": "folder:/photos", "train": {"shape": [3, 64, 64]}}),
                      encoding="utf-8")
    os.utime(record, ns=(1, 1))
    assert predict.trained_on(run) == ("folder:/photos", (64, 64))
    record.unlink()  # gone: the config's data, as before
    assert predict.trained_on(run) == ("fashion-mnist", None)
