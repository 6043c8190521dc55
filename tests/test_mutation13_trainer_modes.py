"""A network its builder hands over in eval mode (weights loaded and .eval() called, as
cnnlab.models.interop's loaders return them) still trains in training mode: dropout on,
BatchNorm on the batch's statistics (mutation13: dropping the trainer's .train() at the
start of each epoch passed every other test)."""
import torch
from test_own_model import SmallNet, _own
from torch import nn

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train


class _EvalNet(SmallNet):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.norm = nn.BatchNorm2d(kw.get("in_channels", 1))
        self.modes = []  # module.training at each forward that builds a graph

    def forward(self, x):
        if torch.is_grad_enabled():
            self.modes.append(self.training)
        return super().forward(self.norm(x))


def test_a_model_built_in_eval_mode_trains_in_training_mode(registry):  # noqa: F811
    built = []

    def own_eval(**kw):
        built.append(_EvalNet(**kw).eval())
        return built[-1]

    _own(registry, "own_eval_mode", own_eval)
    data = make_synthetic(num_train=64, num_test=16, seed=4)
    cfg = TrainConfig(model="own_eval_mode", data="synthetic", epochs=2, batch_size=32,
                      device="cpu", quiet=True)
    train(cfg, data=data, write_run_dir=False)
    model = built[-1]
    assert model.modes == [True] * 4  # 2 epochs of 2 steps, each in training mode
    assert int(model.norm.num_batches_tracked) == 4  # BatchNorm updated its statistics
