"""The loss the training loop minimises, against the textbook formula: with label
smoothing e over K classes the target puts 1 - e + e/K on the label and e/K on each
other class, so the loss is (1 - e) * cross-entropy + e * mean over classes of -log p."""

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.trainer import Trainer


def _smoothed_by_hand(logits: torch.Tensor, y: torch.Tensor, e: float) -> torch.Tensor:
    log_p = logits.double().log_softmax(dim=1)
    label = -log_p[torch.arange(len(y)), y]
    uniform = -log_p.mean(dim=1)
    return ((1 - e) * label + e * uniform).mean()


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_the_training_loss_is_cross_entropy_with_the_configs_label_smoothing(smoothing):
    data = make_synthetic(num_train=64, num_test=16, seed=3)
    trainer = Trainer(TrainConfig(model="lenet_modern", data="synthetic", batch_size=32,
                                  device="cpu", quiet=True, label_smoothing=smoothing), data)
    trainer.model.eval()  # the same forward twice: no dropout, BN's running statistics
    x, y = next(iter(trainer.train_loader))
    with torch.no_grad():
        logits, loss = trainer._forward_loss(x, y)
        expected = _smoothed_by_hand(trainer.model(x), y, smoothing)
    assert logits.shape == (32, 10)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
