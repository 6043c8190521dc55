"""With both --ema-decay and --lookahead-steps a run evaluates (and keeps as its best
checkpoint) the EMA's weights, as the report's "measured on" row says."""

import torch
from test_trainer import fast_cfg

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.report_evaluation import evaluated_weights_words
from cnnlab.train.trainer import Trainer


def test_ema_with_lookahead_evaluates_the_ema_weights(tmp_path):
    data = make_synthetic(num_train=320, num_test=96, seed=1)
    cfg = fast_cfg(tmp_path, run_name="both", epochs=1, ema_decay=0.9, lookahead_steps=3)
    assert evaluated_weights_words(vars(cfg)).startswith("EMA weights (decay 0.9)")
    trainer = Trainer(cfg, data, run_dir=tmp_path / "both")
    trainer.fit()
    weight = "features.0.weight"
    best, _ = ckpt.load_checkpoint(tmp_path / "both" / "checkpoints" / "best.safetensors")
    ema = trainer.ema.state_dict()
    ema_weight = next(v for k, v in ema.items() if k.endswith(weight))
    torch.testing.assert_close(best["model"][weight], ema_weight)
    assert not torch.equal(best["model"][weight], trainer.model.state_dict()[weight])
