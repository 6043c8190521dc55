"""Whole networks built with ``scratch_ops`` train as they do on PyTorch's layers.

The ops are checked one by one elsewhere (tests/test_ops_*.py); here a few small
registered models, built by ``get_model(..., scratch_ops=...)`` with the same seed, are
compared with the plain build through what a training run does: logits in train and eval
mode, every gradient, BatchNorm's running statistics, 3 SGD-with-momentum steps and an
AdamW step. How the tolerances are chosen is in ``scratch_compare``'s docstring; the
sweep over every registered model is that module run as a script.
"""

from __future__ import annotations

import copy
import io

import pytest
import torch
from scratch_compare import compare, failures, get_model_scratch

from cnnlab.ops import BatchNorm, Conv2d


@pytest.mark.parametrize("name, fft", [("lenet_modern", False), ("lenet_bn", True)])
def test_a_scratch_model_trains_as_the_pytorch_one(name, fft):
    # The build compared really runs on cnnlab's layers (a scratch_ops that converted
    # nothing would pass the comparison below trivially).
    built = {type(m) for m in get_model_scratch(name, 28, fft).modules()}
    assert Conv2d in built and BatchNorm in built and torch.nn.Conv2d not in built
    report = compare(name, fft=fft)
    assert not failures(report), failures(report)


def test_a_scratch_model_under_bfloat16_autocast_is_as_close_as_pytorchs():
    amp = torch.bfloat16
    report = compare("lenet_modern", amp=amp, exact=False, steps=False)
    assert not failures(report, amp), failures(report, amp)


def test_a_whole_scratch_model_survives_deepcopy_and_torch_save():
    model = get_model_scratch("lenet_modern", 28, fft=True).eval()
    x = torch.randn(2, 1, 28, 28)
    buffer = io.BytesIO()
    torch.save(model, buffer)  # the whole module, pickled (not only its state_dict)
    buffer.seek(0)
    for copied in (copy.deepcopy(model), torch.load(buffer, weights_only=False)):
        kinds = {type(m) for m in copied.modules()}
        assert Conv2d in kinds and BatchNorm in kinds
        assert all(m.fft for m in copied.modules() if isinstance(m, Conv2d))
        assert torch.equal(copied(x), model(x))
