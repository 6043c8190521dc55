"""The training-activation counter (`cnnlab summary`'s "Training activations", `cnnlab
bench memory`) counts what a training step keeps for backward, and nothing it leaves
behind: it had counted what a dropped branch saved (freed before backward), and it kept
every graph it measured alive for good (summary never runs backward), a leak of the
whole activation memory per call."""

from __future__ import annotations

import gc
import weakref

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from cnnlab.inspect import saved_activation_bytes, summary
from cnnlab.models import get_model


class DroppedBranch(nn.Module):
    """Returns relu(live(x)); also computes relu(probe(x)), as a probe or an unused head
    would, and drops it: what that branch saved is freed before backward."""

    def __init__(self):
        super().__init__()
        self.live, self.probe = nn.Linear(16, 32), nn.Linear(16, 64)

    def forward(self, x):
        out = torch.relu(self.live(x))
        torch.relu(self.probe(x))  # computed after, so it cannot reuse the live storage
        return out


def test_what_a_dropped_branch_saved_is_not_counted():
    torch.manual_seed(0)
    net, x = DroppedBranch(), torch.randn(4, 16)
    nbytes, out = saved_activation_bytes(net, lambda: net(x), (x,))
    assert nbytes == out.numel() * 4  # relu's output alone (the probe's 4x64 floats went)


def test_a_measured_graph_is_freed_without_a_backward():
    net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2), nn.Sigmoid())
    x = torch.randn(3, 8)
    _, out = saved_activation_bytes(net, lambda: net(x), (x,))
    gone = weakref.ref(out)
    del out
    gc.collect()
    assert gone() is None  # ReLU and Sigmoid save their outputs: these had held themselves


def test_the_output_still_gives_the_gradients_of_a_plain_step():
    torch.manual_seed(0)
    net, x = DroppedBranch(), torch.randn(4, 16)
    _, out = saved_activation_bytes(net, lambda: net(x), (x,))
    out.square().sum().backward()
    measured = net.live.weight.grad.clone()
    net.zero_grad()
    net(x).square().sum().backward()
    assert torch.equal(measured, net.live.weight.grad)


def test_training_activations_are_what_the_allocator_still_holds_after_forward():
    # An independent measure: torch.profiler's net CPU allocations over one train-mode
    # forward (allocated minus freed), less the logits, are the bytes kept for backward.
    # lenet_modern has what tells counters apart: BatchNorm, in-place ReLU, max-pool
    # indices, a flatten view.
    torch.manual_seed(0)
    net = get_model("lenet_modern", num_classes=10, in_channels=1).train()
    x = torch.randn(2, 1, 28, 28)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = net(x)
    held = sum(e.self_cpu_memory_usage for e in prof.events()) - out.numel() * 4
    assert summary(net, (1, 28, 28), batch_size=2).totals.training_activation_bytes == held
