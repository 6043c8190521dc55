"""The optimizer steps `cnnlab train` counts for its --lookahead-steps note leave out the
last batch of one image that training drops (run_data.drops_a_lone_last_image): 65
images in batches of 16 train 4 steps an epoch, and --lookahead-steps 5 never synced,
without a word, as the note counted 5 (mutation53)."""

from __future__ import annotations

from cnnlab.cli.train_notes import settings_without_effect
from cnnlab.train import TrainConfig


def test_a_dropped_lone_last_image_is_no_optimizer_step():
    cfg = TrainConfig(model="lenet_modern", data="synthetic", train_subset=65, batch_size=16,
                      epochs=1, lookahead_steps=5)
    said = " ".join(settings_without_effect(cfg, {"lookahead_steps"}))
    assert "more than the run's 4 optimizer steps at most" in said, said
    cfg.lookahead_steps = 4
    assert settings_without_effect(cfg, {"lookahead_steps"}) == []
