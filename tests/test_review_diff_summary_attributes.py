"""summary() of a model holding tensors as plain attributes that refuse a write (an
expanded view, an inference tensor) and that its forward leaves alone."""

import torch
from torch import nn

from cnnlab import summary


class Cached(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.offset = torch.zeros(1, 4, 1, 1).expand(1, 4, 6, 6)  # a broadcast view
        with torch.inference_mode():
            self.scale = torch.ones(1)  # as a model built under inference_mode has it

    def forward(self, x):
        return self.conv(x) + self.scale + self.offset  # (a sum saves neither)


def test_summary_of_a_model_with_read_only_tensor_attributes():
    net = Cached()
    s = summary(net, (1, 8, 8), batch_size=2)
    assert s.totals.training_pass_mode == "train"
    assert torch.equal(net.scale, torch.ones(1))
