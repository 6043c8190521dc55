"""Helpers shared by the op tests (tests/test_ops_*.py), which import them by name.

``assert_same_op`` is the one check every op test uses: it runs our op and
PyTorch's on the same float64 inputs and compares forward values and the
gradients of every input. ``conv_cases``, ``check_conv`` and ``EDGE_CASES`` serve
both direct and FFT convolution, which must agree with ``F.conv2d`` on the same
cases.

A plain module, not a test file: pytest's default ("prepend") import mode puts
tests/ on ``sys.path`` before importing a test module, so ``from op_helpers
import ...`` resolves here. Pytest does not rewrite the asserts of a module like
this one, so each assert carries its own message.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from cnnlab.ops import conv_output_size

ATOL, RTOL = 1e-10, 1e-9


def assert_same_op(ours, reference, *inputs: torch.Tensor | None, atol=ATOL, rtol=RTOL):
    """Compare ``ours(*inputs)`` with ``reference(*inputs)``: output and input gradients.

    Each op gets its own leaf copies of the inputs (None passes through), both
    backpropagate the same random output gradient, and every input's gradient
    must agree. Returns our output.
    """
    def leaves():
        return [None if t is None else t.detach().clone().requires_grad_() for t in inputs]

    ours_in, ref_in = leaves(), leaves()
    out, expected = ours(*ours_in), reference(*ref_in)
    assert out.shape == expected.shape, f"shape {tuple(out.shape)} != {tuple(expected.shape)}"
    torch.testing.assert_close(out, expected, atol=atol, rtol=rtol)
    upstream = torch.randn(expected.shape, dtype=expected.dtype,
                           generator=torch.Generator().manual_seed(0))
    out.backward(upstream)
    expected.backward(upstream)
    for k, (a, b) in enumerate(zip(ours_in, ref_in, strict=True)):
        if a is not None:
            torch.testing.assert_close(a.grad, b.grad, atol=atol, rtol=rtol,
                                       msg=lambda m, k=k: f"gradient of input {k}: {m}")
    return out


def rand(*shape, seed=0):
    return torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@st.composite
def conv_cases(draw, allow_same=True):
    """Shapes and hyperparameters F.conv2d accepts, edge cases included."""
    groups = draw(st.integers(1, 3))
    c_group, o_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if allow_same and stride == (1, 1) and draw(st.booleans()):
        padding = draw(st.sampled_from(["same", "valid"]))
        pads = [d * (k - 1) if padding == "same" else 0
                for k, d in zip(kernel, dilation, strict=True)]
    else:
        padding = (draw(st.integers(0, 6)), draw(st.integers(0, 6)))  # up to beyond the kernel
        pads = [2 * p for p in padding]
    # Smallest input the dilated kernel fits in, plus a little: covers kernel == input.
    size = [max(1, d * (k - 1) + 1 - p) + draw(st.integers(0, 6))
            for k, d, p in zip(kernel, dilation, pads, strict=True)]
    return dict(
        x=(draw(st.integers(1, 3)), groups * c_group, *size),
        weight=(groups * o_group, c_group, *kernel),
        bias=draw(st.booleans()),
        stride=stride, padding=padding, dilation=dilation, groups=groups,
    )


def check_conv(op, case: dict, **op_kwargs):
    """One conv case through ``assert_same_op``, and its size against conv_output_size."""
    x, w = rand(*case["x"], seed=1), rand(*case["weight"], seed=2)
    b = rand(case["weight"][0], seed=3) if case["bias"] else None
    hyper = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    out = assert_same_op(lambda *t: op(*t, **hyper, **op_kwargs),
                         lambda *t: F.conv2d(*t, **hyper), x, w, b)
    stride, dilation = case["stride"], case["dilation"]
    for axis in range(2):
        k = case["weight"][2 + axis]
        if case["padding"] == "same":
            total = dilation[axis] * (k - 1)
        else:
            total = 0 if case["padding"] == "valid" else 2 * case["padding"][axis]
        expected = conv_output_size(case["x"][2 + axis], k, total, stride[axis], dilation[axis])
        assert out.shape[2 + axis] == expected, (
            f"axis {axis}: output size {out.shape[2 + axis]}, conv_output_size says {expected}"
        )
    return out


# Geometries random cases rarely hit, named so a failure says which.
EDGE_CASES = {
    "kernel as large as the input": dict(x=(2, 3, 5, 4), weight=(4, 3, 5, 4), padding=0),
    "stride larger than the kernel": dict(x=(2, 3, 11, 9), weight=(4, 3, 2, 3), stride=(4, 5)),
    "padding larger than the kernel": dict(x=(2, 3, 4, 5), weight=(2, 3, 2, 2), padding=(4, 3)),
    "depthwise (groups = channels)": dict(x=(2, 6, 7, 7), weight=(6, 1, 3, 3), groups=6,
                                          padding=1),
    "depthwise with multiplier 2": dict(x=(2, 4, 6, 6), weight=(8, 1, 3, 3), groups=4,
                                        stride=2, padding=1),
    "same, even kernel, dilation": dict(x=(2, 3, 9, 8), weight=(4, 3, 4, 2), padding="same",
                                        dilation=(2, 3)),
    "1x1 with stride": dict(x=(2, 5, 7, 7), weight=(3, 5, 1, 1), stride=2),
    "dilation and stride together": dict(x=(1, 2, 13, 12), weight=(3, 2, 3, 3), stride=3,
                                         dilation=2, padding=2),
}
