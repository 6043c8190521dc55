"""wall_s, the run's clock with evaluation: the sum of every epoch's training and
evaluation seconds (mutation13: leaving the evaluation out passed every other test)."""
import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train


def test_wall_seconds_add_up_each_epochs_training_and_evaluation(tmp_path):
    data = make_synthetic(num_train=64, num_test=32, seed=2)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, eval_every=2,
                      batch_size=32, device="cpu", out_dir=str(tmp_path), quiet=True)
    rows = train(cfg, data=data).history
    assert [r["eval_time_s"] > 0 for r in rows] == [False, True, True]  # 2 and the last
    total = 0.0
    for row in rows:
        total += row["epoch_time_s"] + row["eval_time_s"]
        assert row["wall_s"] == pytest.approx(total, rel=1e-9)
        assert row["wall_s"] > row["elapsed_s"] or row["eval_time_s"] == 0
