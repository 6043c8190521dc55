"""The "shift" method of :func:`cnnlab.ops.conv2d`: one GEMM per kernel tap, no im2col copy.

Tap (i, j) multiplies every input pixel by the (C_in, C_out) matrix
``weight[:, :, i, j]``, read from the input shifted by (i, j). With the input
channels-last and batch and rows flattened into one axis, a shift is an offset
along that axis, so each tap is one contiguous GEMM accumulated into the output:
no unfolded copy of the input. Outputs are computed on the whole padded grid,
then cropped (a few percent for small kernels). A stride s splits the padded
input into s x s phases (rows a::s, cols b::s); each tap reads one phase at an
offset, wasting nothing.

The forward pass is blocked for the cache and the backward pass is written by
hand (see :class:`_ShiftConv`), tested against PyTorch's gradients.

``g`` below is the validated :class:`cnnlab.ops.conv.ConvGeometry` of the call.
It is read only for its attributes, and deliberately not imported: conv.py
imports this module, and this module stays free of an import back.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

# Input + output values per thread in one block of the shift method: 1 MiB of
# float32, about what a core's L2 cache holds.
BLOCK_ELEMENTS = 2**18


def _phase_buffer(x: torch.Tensor, g, stride: tuple[int, int], tail: int):
    """Zero-padded input as (s_h, s_w, groups, N*Hq*Wq + tail, C_in/groups), one copy.

    Phase (a, b) holds padded rows a, a+s_h, ... and columns b, b+s_w, ... of every
    image, channels last, with the batch and both spatial axes flattened into one;
    ``tail`` extra zero rows let the last image's taps read past its end.
    """
    sh, sw = stride
    hq, wq = g.phase_grid(stride)
    top, _, left, _ = g.pad
    cg = g.c_in // g.groups
    rows = g.n * hq * wq
    buf = x.new_zeros(sh, sw, g.groups, rows + tail, cg)
    grid = buf[:, :, :, :rows].view(sh, sw, g.groups, g.n, hq, wq, cg)
    src = x.view(g.n, g.groups, cg, g.h, g.w).permute(1, 0, 3, 4, 2)  # (G, N, H, W, Cg)
    for a in range(sh):
        r0 = (a - top) % sh  # first input row that lands in phase a
        q0 = (r0 + top) // sh
        for b in range(sw):
            c0 = (b - left) % sw
            p0 = (c0 + left) // sw
            part = src[:, :, r0::sh, c0::sw]
            grid[a, b, :, :, q0 : q0 + part.shape[2], p0 : p0 + part.shape[3]] = part
    return buf, hq, wq


def _grouped_weight(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """(C_out, Cg, kh, kw) -> (groups, kh, kw, Cg, C_out/groups): one matrix per group and tap."""
    c_out, cg, kh, kw = weight.shape
    return weight.view(groups, c_out // groups, cg, kh, kw).permute(0, 3, 4, 2, 1)


def conv_shift(x, weight, bias, g) -> torch.Tensor:
    """(N, C_out, H_out, W_out) conv2d output by the shift method, for geometry ``g``.

    Half precision is computed in float32 and rounded once at the end, as PyTorch's
    kernels accumulate: summed tap by tap into a bfloat16 block, each of the k*k taps
    rounded the running sum again (2 to 5 times F.conv2d's error, 3x3 to 7x7 kernels).
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        return conv_shift(x.float(), weight.float(), None if bias is None else bias.float(),
                          g).to(x.dtype)
    sh, sw = g.stride
    dh, dw = g.dilation
    # Tap (i, j) reads padded row h*s + i*d = (h + i*d // s) * s + i*d % s: phase
    # (i*d % s) at a shift of (i*d // s) phase rows; the same for columns.
    hq, wq = g.phase_grid(g.stride)
    taps = [(i, j, i * dh % sh, j * dw % sw, (i * dh // sh) * wq + j * dw // sw)
            for i in range(g.kh) for j in range(g.kw)]
    buf, hq, wq = _phase_buffer(x, g, g.stride, tail=max(t[-1] for t in taps))
    w = _grouped_weight(weight, g.groups).contiguous()  # each tap a contiguous matrix
    b = None if bias is None else bias.view(g.groups, 1, -1)
    channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return _ShiftConv.apply(buf, w, b, _ShiftPlan(g, taps, hq, wq, channels_last))


class _ShiftPlan:
    """How the shift method walks the output grid: in blocks, each stored as it is done.

    A block is a run of whole images (small images) or of grid rows within one
    image (large ones), about 1 MiB of input + output per thread, so that all k*k
    taps accumulate into it while it stays in cache; it is then cropped and copied
    straight into the final (N, C_out, H_out, W_out) output (no cropped copy of
    the whole grid). Grid rows below the last output row are skipped when blocks
    split images.
    """

    def __init__(self, g, taps, hq: int, wq: int, channels_last: bool):
        self.g, self.taps, self.hq, self.wq = g, taps, hq, wq
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        c_group, o_group = g.c_in // g.groups, g.c_out // g.groups
        target = BLOCK_ELEMENTS * torch.get_num_threads() // (g.groups * (c_group + o_group))
        self.images = max(1, target // (hq * wq))  # images per block
        self.grid_rows = min(hq, max(1, target // wq))  # grid rows per block, if one image
        self.max_rows = self.images * hq * wq if self.images > 1 else self.grid_rows * wq

    def blocks(self):
        """(first image, images, first grid row, grid rows, first flat row, flat rows)."""
        g, hq, wq = self.g, self.hq, self.wq
        if self.images > 1:
            for n0 in range(0, g.n, self.images):
                m = min(self.images, g.n - n0)
                yield n0, m, 0, hq, n0 * hq * wq, m * hq * wq
        else:
            for n in range(g.n):
                for h0 in range(0, g.h_out, self.grid_rows):  # rows past h_out: padding
                    rows = min(self.grid_rows, hq - h0)
                    yield n, 1, h0, rows, (n * hq + h0) * wq, rows * wq

    def _views(self, block, y, n0, m, h0, rows):
        """The valid part of a (G, m*rows*wq, Og) block, and the output region it fills."""
        g = self.g
        valid = min(rows, g.h_out - h0)
        grid = block.view(g.groups, m, rows, self.wq, -1)[:, :, :valid, : g.w_out]
        region = y[n0 : n0 + m, :, h0 : h0 + valid].view(m, g.groups, -1, valid, g.w_out)
        return grid, region.permute(1, 0, 3, 4, 2)  # both (G, m, valid, W_out, Og)

    def store(self, block, y, n0, m, h0, rows) -> None:
        grid, region = self._views(block, y, n0, m, h0, rows)
        region.copy_(grid)

    def load(self, grad_y, block, n0, m, h0, rows) -> None:
        block.zero_()  # positions outside the real output get no gradient
        grid, region = self._views(block, grad_y, n0, m, h0, rows)
        grid.copy_(region)


class _ShiftConv(torch.autograd.Function):
    """Sum over taps of ``shifted input @ weight[tap]``, with the matching backward.

    Two things autograd alone would do slowly. The output is built block by block
    (see :class:`_ShiftPlan`), all taps accumulating in cache, one pass over memory
    instead of k*k. And the backward is the same loop transposed: each tap adds
    ``grad @ weight[tap]^T`` into its slice of one input gradient buffer, in place,
    and ``shifted input^T @ grad`` into its weight gradient; autograd would give
    every tap a buffer-sized tensor of zeros.

    Shapes: buf (s_h, s_w, G, N*Hq*Wq + tail, Cg); w (G, kh, kw, Cg, Og); bias
    (G, 1, Og) or None; taps (i, j, phase row, phase column, flat shift).
    """

    @staticmethod
    def forward(ctx, buf, w, bias, plan: _ShiftPlan):
        ctx.save_for_backward(buf, w)
        ctx.plan = plan
        g = plan.g
        y = torch.empty((g.n, g.c_out, g.h_out, g.w_out), dtype=buf.dtype, device=buf.device,
                        memory_format=plan.memory_format)
        scratch = buf.new_empty(g.groups, plan.max_rows, w.shape[-1])
        for n0, m, h0, rows, r0, size in plan.blocks():
            block = scratch[:, :size]
            if bias is not None:
                block.copy_(bias.expand_as(block))
            for k, (i, j, a, b, shift) in enumerate(plan.taps):
                tap = buf[a, b, :, r0 + shift : r0 + shift + size]  # (G, size, Cg)
                # beta=0 on the first tap: the block holds garbage from the last one.
                block.baddbmm_(tap, w[:, i, j], beta=0 if k == 0 and bias is None else 1)
            plan.store(block, y, n0, m, h0, rows)
        return y

    @staticmethod
    @once_differentiable  # reuses one scratch block in place: no graph for a 2nd derivative
    def backward(ctx, grad_y):
        buf, w = ctx.saved_tensors
        plan = ctx.plan
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_buf = torch.zeros_like(buf) if need_x else None
        grad_w = torch.zeros(w.shape, dtype=w.dtype, device=w.device) if need_w else None
        grad_b = w.new_zeros(w.shape[0], 1, w.shape[-1]) if need_b else None
        scratch = buf.new_empty(plan.g.groups, plan.max_rows, w.shape[-1])
        for n0, m, h0, rows, r0, size in plan.blocks():
            grad = scratch[:, :size]
            plan.load(grad_y, grad, n0, m, h0, rows)
            for i, j, a, b, shift in plan.taps:
                window = (a, b, slice(None), slice(r0 + shift, r0 + shift + size))
                if need_x:
                    grad_buf[window].baddbmm_(grad, w[:, i, j].transpose(1, 2))
                if need_w:
                    grad_w[:, i, j].baddbmm_(buf[window].transpose(1, 2), grad)
            if need_b:
                grad_b += grad.sum(1, keepdim=True)
        return grad_buf, grad_w, grad_b, None
