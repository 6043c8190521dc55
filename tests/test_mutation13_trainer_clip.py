"""The trainer clips the gradients to the configured norm before each optimizer step
(mutation13: doubling the clip or dropping it passed every other test)."""
import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.trainer import Trainer


def _grad_norm(model) -> float:
    grads = [p.grad.double().flatten() for p in model.parameters() if p.grad is not None]
    return float(torch.cat(grads).norm())


@pytest.mark.parametrize("clip", [0.0, 0.05, 1e6])
def test_the_gradients_the_optimizer_steps_with_have_at_most_the_clip_norm(clip):
    data = make_synthetic(num_train=32, num_test=8, seed=5)
    trainer = Trainer(TrainConfig(model="lenet_modern", data="synthetic", batch_size=32,
                                  device="cpu", quiet=True, clip_grad_norm=clip), data)
    x, y = next(iter(trainer.train_loader))
    trainer.model.train()
    _, loss = trainer._forward_loss(x, y)
    loss.backward()
    before = _grad_norm(trainer.model)
    seen = []
    trainer.optimizer.register_step_pre_hook(
        lambda *_: seen.append(_grad_norm(trainer.model)))
    trainer._optimizer_step()
    assert before > 0.05  # so that the small clip does cut
    expected = before if clip == 0.0 or before <= clip else clip
    assert seen == [pytest.approx(expected, rel=1e-4)]
