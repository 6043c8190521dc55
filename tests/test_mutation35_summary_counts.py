"""cnnlab.inspect.summary: side effects, memory modes and counts that hand-made mutants of
cnnlab/inspect/summary.py and cnnlab/inspect/_measure.py had changed unseen."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.inspect import SummaryError, summary


class CountsImages(nn.Module):
    """Keeps statistics in train mode: one buffer saved with the weights, one not."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.register_buffer("seen", torch.zeros(()), persistent=False)
        self.register_buffer("mean", torch.zeros(2))

    def forward(self, x):
        y = self.conv(x)
        if self.training:
            with torch.no_grad():
                self.seen += x.shape[0]
                self.mean.mul_(0.9).add_(0.1 * y.mean((0, 2, 3)))
        return y


def test_the_training_pass_leaves_non_persistent_buffers_as_they_were():
    # A buffer registered with persistent=False is in no state_dict; the train-mode pass
    # had left it counting the summary's batch.
    m = CountsImages()
    summary(m, (1, 8, 8), batch_size=2)
    assert m.seen.item() == 0 and torch.equal(m.mean, torch.zeros(2))
    assert m.training


class TrainModeRefuses(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        if self.training:
            raise ValueError("no train mode here")
        return self.conv(x)


def test_an_eval_mode_memory_pass_asks_for_a_batch_of_two_only_at_batch_one():
    at_one, at_two = (summary(TrainModeRefuses(), (1, 8, 8), batch_size=b) for b in (1, 2))
    assert at_one.totals.training_pass_mode == at_two.totals.training_pass_mode == "eval"
    line = dict(at_one.totals_lines())["Training activations"]
    assert "--batch-size 2" in line and "eval mode" in line
    line = dict(at_two.totals_lines())["Training activations"]
    assert "--batch-size" not in line and "eval mode" in line


class TriesALinearFirst(nn.Module):
    """Catches its first layer's error, then fails in its second: the second is to blame."""

    def __init__(self):
        super().__init__()
        self.probe = nn.Linear(3, 4)
        self.conv = nn.Conv2d(5, 2, 1)

    def forward(self, x):
        try:
            self.probe(x)  # 8 features, not 3: raises, and is caught here
        except RuntimeError:
            pass
        return self.conv(x)  # 1 channel, not 5


def test_a_failure_after_a_caught_one_names_the_module_that_failed():
    with pytest.raises(SummaryError, match=r"in module 'conv' \(Conv2d\)"):
        summary(TriesALinearFirst(), (1, 8, 8))


class Hourglass(nn.Sequential):
    """A Sequential with a forward of its own (a residual around its layers): one unit."""

    def forward(self, x):
        return x + super().forward(x)


def test_a_sequential_with_its_own_forward_is_one_unit_of_the_flow():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        Hourglass(nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.Upsample(scale_factor=2)),
        nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    # Its inside's 4x4x4 is no stage of the network: the block keeps 8x8.
    assert summary(model, (1, 8, 8)).flow_str() == "1x8x8 → 4x8x8 → 256 → 10"


def test_dropout_in_the_training_pass_leaves_the_global_rng_stream_as_it_was():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5))
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    summary(model, (1, 8, 8))
    assert torch.equal(torch.rand(3), expected)
