"""summary() leaves a from-scratch BatchNorm's moving statistics as they were, also
where they are plain tensor attributes (the book's layer, the chapter notes' copy)."""

import torch
from torch import nn

from cnnlab import summary


class BookBatchNorm(nn.Module):
    """The book's layer as the chapter notes copy it: moving statistics rebound as plain
    attributes (not buffers), updated whenever gradients are on."""

    def __init__(self, n):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, n, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, n, 1, 1))
        self.moving_mean = torch.zeros(1, n, 1, 1)
        self.moving_var = torch.ones(1, n, 1, 1)
        self.seen = torch.zeros(())  # one changed in place

    def forward(self, X):
        if not torch.is_grad_enabled():
            X_hat = (X - self.moving_mean) / torch.sqrt(self.moving_var + 1e-5)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + 1e-5)
            self.moving_mean = 0.9 * self.moving_mean + 0.1 * mean.detach()
            self.moving_var = 0.9 * self.moving_var + 0.1 * var.detach()
            self.seen.add_(1)
        return self.gamma * X_hat + self.beta


def test_summary_restores_moving_statistics_kept_as_plain_attributes():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), BookBatchNorm(4))
    bn = net[1]
    mean, var = bn.moving_mean, bn.moving_var.clone()
    s = summary(net, (1, 8, 8), batch_size=2)
    assert s.totals.training_pass_mode == "train"
    assert bn.moving_mean is mean and torch.equal(bn.moving_mean, torch.zeros(1, 4, 1, 1))
    assert torch.equal(bn.moving_var, var)
    assert bn.seen.item() == 0
