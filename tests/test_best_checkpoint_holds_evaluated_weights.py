"""The best checkpoint of a run with a weight EMA holds the EMA's weights, the ones its
evaluation scored, and says so: eval and predict of it repeat the run's accuracy."""

import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.presets import preset_values


def test_an_ema_runs_best_checkpoint_is_its_ema_not_its_live_weights(tmp_path):
    values = preset_values("fast", "lenet_modern")
    values.update(model="lenet_modern", data="synthetic", epochs=1, batch_size=64,
                  deterministic=True, device="cpu", out_dir=str(tmp_path), quiet=True,
                  run_name="r", threads=1, ema_decay=0.3)  # reached in its 3 steps
    cfg = TrainConfig(**values)
    train(cfg, data=make_synthetic(num_train=192, num_test=64, seed=2))
    folder = tmp_path / "r" / "checkpoints"
    best, state = ckpt.load_checkpoint(folder / "best.safetensors")
    last = ckpt.load_checkpoint(folder / "last.safetensors")[0]
    assert state["weights"] == "ema"
    assert best["model"].keys() == last["ema"].keys()
    assert all(torch.equal(best["model"][k], last["ema"][k]) for k in last["ema"])
    assert not all(torch.equal(best["model"][k], last["model"][k]) for k in last["model"])
