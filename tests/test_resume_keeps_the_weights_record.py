"""A run begun from --weights keeps what loading them did (summary.json's weights_loaded,
the report's "starting weights" row) through a resume: the resumed session loads its
weights from the checkpoint, so the record can only come from the checkpoint too."""

import json

import torch
from safetensors.torch import save_file

from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import get_model
from cnnlab.train import TrainConfig, resume, train


def test_the_starting_weights_record_survives_a_resume(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "ten.safetensors"
    save_file(get_model("lenet_modern", num_classes=10).state_dict(), weights)
    data = make_synthetic(num_train=64, num_test=32, num_classes=2)
    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=32, device="cpu", quiet=True,
                      out_dir=str(tmp_path), run_name="run", weights=str(weights), threads=1)
    train(cfg, data=data)
    summary = tmp_path / "run" / "summary.json"
    first = json.loads(summary.read_text(encoding="utf-8"))["weights_loaded"]
    assert first["source"] == str(weights) and first["new_head"]
    assert len(resume(tmp_path / "run", data=data, extra_epochs=1).history) == 2
    assert json.loads(summary.read_text(encoding="utf-8"))["weights_loaded"] == first
