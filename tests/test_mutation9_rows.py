"""Per-row numbers of ``summary`` checked against golden or hand-computed values: the
cases hand mutation testing of cnnlab.inspect found no test for (a module called twice,
tied and frozen weights, a module never called, a child that raises and is caught, a
double-precision model, dict outputs, what a container computes itself)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from cnnlab.inspect import summary


def _rows(s):
    return {r.name: r for r in s.rows}


def _adds_up(s):
    """Every column of the rows sums to its total, whatever the depth."""
    t = s.totals
    assert sum(r.params for r in s.rows) == t.params
    assert sum(r.trainable_params for r in s.rows) == t.trainable_params
    assert sum(r.macs for r in s.rows) == t.macs
    assert sum(r.activation_bytes for r in s.rows) == t.forward_activation_bytes


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_torchvision_resnet18_rows_add_up_to_its_published_ops(depth):
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    s = summary(model, (3, 224, 224), depth=depth, device="meta")
    meta = torchvision.models.ResNet18_Weights.DEFAULT.meta
    assert s.totals.params == meta["num_params"] == 11_689_512
    assert round(s.totals.macs / 1e9, 3) == meta["_ops"]  # 1.814 GMACs
    _adds_up(s)
    if depth is None:
        rows = _rows(s)
        assert rows["conv1"].macs == 64 * 3 * 7 * 7 * 112 * 112
        assert rows["fc"].macs == 512 * 1000
        assert rows["layer1.0.conv1"].macs == 64 * 64 * 3 * 3 * 56 * 56
        assert rows["conv1"].activation_bytes == 64 * 112 * 112 * 4
    if depth == 0:
        assert [r.name for r in s.rows] == [""]


class _Twice(nn.Module):
    """One conv run at two resolutions, and a layer registered but never called."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.unused = nn.Linear(3, 3)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.conv(self.pool(self.conv(x)))


def test_a_module_called_twice_shows_its_first_output_and_counts_both_calls():
    s = summary(_Twice(), (2, 8, 8))
    conv = _rows(s)["conv"]
    assert conv.calls == 2 and conv.output_shapes == [(1, 2, 8, 8)]
    assert conv.macs == 2 * 2 * 9 * (8 * 8 + 4 * 4)
    assert conv.activation_bytes == (2 * 8 * 8 + 2 * 4 * 4) * 4
    assert "Conv2d (2 calls)" in str(s) and "MaxPool2d (" not in str(s)
    # Execution order; the never-called layer right after the one registered before it.
    assert [r.name for r in s.rows] == ["conv", "unused", "pool"]
    assert _rows(s)["unused"].output_shapes == [] and _rows(s)["unused"].calls == 0
    _adds_up(s)


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4, bias=False)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight  # tied: 16 weights held by two layers

    def forward(self, x):
        return self.b(self.a(x))


def test_tied_weights_count_once_in_the_rows_as_in_the_total():
    s = summary(_Tied(), (4,))
    assert s.totals.params == 16 + 4
    assert _rows(s)["a"].params == 16 and _rows(s)["b"].params == 4
    _adds_up(s)


class _Scaled(nn.Module):
    """A container with a parameter of its own (frozen) and a functional matmul."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 5)
        self.scale = nn.Parameter(torch.ones(5), requires_grad=False)
        self.register_buffer("mix", torch.ones(5, 3))

    def forward(self, x):
        return F.relu(self.fc(x) * self.scale) @ self.mix  # 5x3 MACs, no parameter


class _Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _Scaled()
        self.head = nn.Linear(3, 2)
        self.head.weight.requires_grad_(False)

    def forward(self, x):
        return {"logits": self.head(self.inner(x))}


def test_a_containers_own_work_and_frozen_weights_have_rows_of_their_own():
    s = summary(_Outer(), (6,))
    t = s.totals
    assert (t.params, t.trainable_params) == (35 + 5 + 8, 35 + 2)
    own = _rows(s)["inner"]
    assert own.own and (own.params, own.trainable_params, own.macs) == (5, 0, 15)
    assert (_rows(s)["head"].params, _rows(s)["head"].trainable_params) == (8, 2)
    assert t.macs == 30 + 15 + 6
    assert "Trainable" in str(s) and "inner (own)" in str(s)
    _adds_up(s)
    # A dict output: its tensor is the model's output shape, at depth 0 and in the flow.
    whole = summary(_Outer(), (6,), depth=0)
    assert [r.output_shapes for r in whole.rows] == [[(1, 2)]]
    assert whole.flow[-1] == (2,)
    rolled = summary(_Outer(), (6,), depth=1)
    assert _rows(rolled)["inner"].macs == 45 and not _rows(rolled)["inner"].own
    _adds_up(rolled)


class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(4, 4))

    def forward(self, x):
        x @ self.w  # 16 MACs counted before it gives up
        raise RuntimeError("probe failed")


class _Tolerant(nn.Module):
    def __init__(self):
        super().__init__()
        self.probe = _Probe()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        try:
            self.probe(x)
        except RuntimeError:
            pass
        return self.fc(x)


def test_a_child_that_raises_and_is_caught_leaves_its_ops_to_its_parent():
    s = summary(_Tolerant(), (4,))
    assert s.totals.macs == 16 + 12
    assert _rows(s)["fc"].macs == 12 and _rows(s)["fc"].calls == 1
    assert _rows(s)["probe"].calls == 0
    _adds_up(s)


def test_a_double_model_is_measured_in_double():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).double()
    s = summary(model, (1, 5, 5))
    assert s.dtype == "float64"
    t = s.totals
    assert (t.param_bytes, t.input_bytes) == (20 * 8, 25 * 8)
    assert [r.activation_bytes for r in s.rows] == [2 * 3 * 3 * 8] * 2
    assert t.training_activation_bytes is not None


def test_a_1d_convolution_takes_a_side_as_its_length():
    s = summary(nn.Sequential(nn.Conv1d(3, 4, 3)), 16)
    assert s.input_size == (3, 16) and s.rows[0].output_shapes == [(1, 4, 14)]


def test_a_model_built_by_get_model_keeps_the_batch_asked_for():
    from cnnlab.models import get_model

    s = summary(get_model("lenet_d2l"), batch_size=3)
    assert s.batch_size == 3 and s.totals.input_bytes == 3 * 28 * 28 * 4
    assert s.totals.macs == 3 * 416_520


def test_a_vector_tensor_is_one_sample_for_a_model_without_convolutions():
    s = summary(nn.Linear(5, 2), torch.zeros(5))
    assert (s.input_size, s.batch_size) == ((5,), 1)


def test_a_size_that_is_not_whole_is_refused():
    with pytest.raises(TypeError, match="got"):
        summary(nn.Conv2d(1, 1, 1), (1, 2.5, 3))


class _Split(nn.Module):
    """A block with two outputs: the map the network goes on with, then a side vector."""

    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(x), x.mean((2, 3))[:, :3]


class _TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.split = _Split()
        self.fc = nn.Linear(64, 2)

    def forward(self, x):
        features, _ = self.split(x)
        return self.fc(features.flatten(1))


def test_the_flow_follows_a_blocks_first_output():
    s = summary(_TwoOutputs(), (4, 8, 8))
    assert s.flow == [(4, 8, 8), (4, 4, 4), (64,), (2,)]
    rows = _rows(summary(_TwoOutputs(), (4, 8, 8), depth=1))
    assert rows["split"].output_shapes == [(1, 4, 4, 4), (1, 3)]
