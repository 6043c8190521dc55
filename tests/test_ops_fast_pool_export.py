"""MaxPool2x2 under torch.export is nn.MaxPool2d's own operator (mutation7, s36)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.ops.fast_pool import MaxPool2x2


def test_an_exported_pool_is_one_max_pool2d_as_nn_maxpool2d_exports():
    # Export counts as compiling: the fast path's views and maxima would otherwise be
    # what an exported model (ONNX, ExecuTorch) holds instead of one pooling operator.
    x = torch.randn(2, 3, 6, 8)
    program = torch.export.export(torch.nn.Sequential(MaxPool2x2()), (x,))
    ops = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    assert ops == ["aten.max_pool2d.default"]
    assert torch.equal(program.module()(x), F.max_pool2d(x, 2, 2))
