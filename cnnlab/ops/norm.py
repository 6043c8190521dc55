"""Batch normalisation written from its definition, and a drop-in module around it.

Ioffe & Szegedy (2015): for each channel, subtract the mini-batch mean and divide
by the mini-batch standard deviation, then scale by ``gamma`` and shift by
``beta``. At evaluation time the batch statistics are replaced by running
estimates accumulated during training.

The functional :func:`batch_norm` and the :class:`BatchNorm` module reproduce
``torch.nn.functional.batch_norm`` / ``nn.BatchNorm1d`` / ``nn.BatchNorm2d``
exactly (forward values, gradients, running statistics, state_dict keys), so a
model built with one loads the other's weights. Gradients come from autograd
through the plain formula; nothing is hand-derived.

Momentum follows PyTorch's convention, ``running = (1 - momentum) * running +
momentum * batch``, default 0.1, as the book's PyTorch code has it since d2l-en PR
#2213 (2022; earlier editions, and d2l-zh, swap the weights and pass 0.9: the same
10% for the latest batch). Differences from the Dive into Deep Learning chapter
(v1.0.3), on purpose:

- Running variance: updated with the *unbiased* batch variance (divide by n - 1),
  as PyTorch does; normalising always uses the biased one. The book uses the
  biased variance for both.
- Train/eval: decided by ``module.training``, not by ``torch.is_grad_enabled()``
  as in the book, so a training step under ``no_grad`` still uses batch statistics
  and an evaluation pass that needs gradients (saliency maps) leaves the running
  statistics alone.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.ops._from_scratch import FromScratch


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Normalise ``x`` per channel (dim 1) over the batch and any spatial dims.

    The signature and argument order are ``F.batch_norm``'s, so a call written for one
    runs on the other. The book's function takes ``(X, gamma, beta, moving_mean,
    moving_var, eps, momentum)`` instead; a call in that order is refused (``training``
    must be a bool, and running statistics never require grad), not run on the wrong
    tensors.

    Args:
        x: (N, C) from a linear layer, or (N, C, H, W) from a convolution; (N, C, L)
            and higher ranks work the same way (every dim but 1 is reduced).
        running_mean, running_var: per-channel estimates (the book's ``moving_mean``,
            ``moving_var``), C values each. In training they are updated in place
            (without autograd); ``None`` means "not tracked", and then batch
            statistics are used in evaluation too (where ``F.batch_norm`` refuses).
        weight, bias: per-channel scale and shift (the book's ``gamma`` and ``beta``),
            C values each; ``None`` means 1 and 0.
        training: use batch statistics (True) or the running estimates (False).
        momentum: weight of the current batch in the running-average update.
        eps: added to the variance before the square root, for stability.

    Returns:
        A tensor shaped like ``x``.
    """
    if x.dim() < 2:
        raise ValueError(f"batch_norm expects (N, C, ...) input, got shape {tuple(x.shape)}")
    _check_arguments(x.shape[1], running_mean, running_var, weight, bias, training)
    # As F.batch_norm refuses: with eps 0 a constant channel's batch variance is 0 and
    # its output 0/0 (NaN), where PyTorch's names the argument.
    if eps < 0 or (training and eps <= 0):
        need = "positive during training" if training else "non-negative"
        raise ValueError(f"batch_norm eps must be {need}, but got {eps}")
    if x.dtype in (torch.float16, torch.bfloat16):
        # As F.batch_norm does under autocast: statistics in float32, the result in x's
        # dtype (float32 statistics and weights would otherwise promote it).
        y = batch_norm(x.float(), running_mean, running_var, weight, bias, training,
                       momentum, eps)
        return y.to(x.dtype)
    reduce_dims = [0, *range(2, x.dim())]
    # Per-channel vectors broadcast against x once shaped (1, C, 1, 1, ...).
    channel_shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    use_batch_stats = training or running_mean is None or running_var is None

    if use_batch_stats:
        count = x.numel() // x.shape[1] if x.shape[1] else 0
        if count == 0:  # an empty batch: no statistics to take or keep (as F's); the
            # weights stay in the graph below (zero gradients, as torch gives them)
            mean, var = x.new_zeros(channel_shape), x.new_ones(channel_shape)
        elif count < 2:
            raise ValueError(
                f"batch_norm needs more than one value per channel in training, got input "
                f"of shape {tuple(x.shape)}; use a batch of at least 2 or call .eval()"
            )
        else:
            mean = x.mean(dim=reduce_dims, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=reduce_dims, keepdim=True)  # biased: divide by n
        if count and training and running_mean is not None and running_var is not None:
            _update_running_stats(running_mean, running_var, mean, var, count, momentum)
    else:
        mean = running_mean.reshape(channel_shape)
        var = running_var.reshape(channel_shape)

    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight.reshape(channel_shape)
    if bias is not None:
        y = y + bias.reshape(channel_shape)
    return y


_ORDER_HINT = ("batch_norm takes F.batch_norm's order: (x, running_mean, running_var, "
                  "weight=gamma, bias=beta, training, momentum, eps)")


def _check_arguments(channels, running_mean, running_var, weight, bias, training) -> None:
    """Refuse the calls that would otherwise run on the wrong tensors: the book's order
    (its eps lands in ``training``), cnnlab's order before 2026-12-05 ``(x, gamma, beta,
    running_mean, running_var, ...)`` where gamma or beta is learnable (as it is in a
    model), and per-channel tensors of the wrong size. That older order with plain
    tensors has F's types and shapes, so it cannot be told apart without looking at the
    values (a GPU sync on every call): it runs."""
    if not isinstance(training, bool):
        raise TypeError(f"batch_norm's training must be True or False, got {training!r}; "
                        f"{_ORDER_HINT}. Pass eps= and momentum= by name.")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        # Running statistics are buffers updated without autograd; one that requires
        # grad is a learnable gamma or beta passed in their place.
        if t is not None and t.requires_grad:
            raise TypeError(f"batch_norm's {name} requires grad, so it looks like a learnable "
                            f"gamma or beta; {_ORDER_HINT}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise ValueError(f"batch_norm's {name} has {t.numel()} values (shape "
                             f"{tuple(t.shape)}) but the input has {channels} channels; "
                             f"{_ORDER_HINT}")


@torch.no_grad()
def _update_running_stats(
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    mean: torch.Tensor,
    var: torch.Tensor,
    count: int,
    momentum: float,
) -> None:
    # The running variance estimates the population variance, so it takes the
    # unbiased batch variance (Bessel's correction), as PyTorch does.
    unbiased_var = var.flatten() * (count / (count - 1))
    running_mean.mul_(1 - momentum).add_(mean.flatten(), alpha=momentum)
    running_var.mul_(1 - momentum).add_(unbiased_var, alpha=momentum)


class BatchNorm(FromScratch, nn.Module):
    """Batch normalisation from :func:`batch_norm`; a drop-in for ``nn.BatchNorm1d/2d``.

    Same parameters and buffers under the same names (``weight``, ``bias``,
    ``running_mean``, ``running_var``, ``num_batches_tracked``), same defaults and
    the same running statistics, so state_dicts load in both directions.

    Args:
        num_features: channels C (output width of the preceding layer).
        num_dims: 2 to accept only (N, C) input (like ``BatchNorm1d`` after a
            linear layer), 4 to accept only (N, C, H, W) (like ``BatchNorm2d``);
            ``None`` accepts any rank >= 2. The book passes this explicitly.
        eps: added to the variance for numerical stability.
        momentum: weight of the current batch in the running averages (PyTorch's
            convention); ``None`` gives the cumulative average over all batches.
        affine: learn ``weight`` (gamma) and ``bias`` (beta).
        track_running_stats: keep running estimates; without them evaluation also
            uses batch statistics.
    """

    def __init__(
        self,
        num_features: int,
        num_dims: int | None = None,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__()
        if num_dims not in (None, 2, 4):
            raise ValueError(f"num_dims must be 2 (linear), 4 (conv) or None (any), not {num_dims}")
        self.num_features = num_features
        self.num_dims = num_dims
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batches counted (if tracked)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, and ``weight`` 1, ``bias`` 0 (if affine)."""
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        momentum = self._momentum_for_this_step()
        return batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training,
            momentum=momentum,
            eps=self.eps,
        )

    def _check_input(self, x: torch.Tensor) -> None:
        if self.num_dims is not None and x.dim() != self.num_dims:
            kind = "(N, C)" if self.num_dims == 2 else "(N, C, H, W)"
            raise ValueError(
                f"BatchNorm(num_dims={self.num_dims}) expects {kind} input, got shape "
                f"{tuple(x.shape)}; build it with num_dims={x.dim() if x.dim() in (2, 4) else None}"
            )
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm({self.num_features}) got input of shape {tuple(x.shape)}: dim 1 "
                f"must have {self.num_features} channels"
            )

    def _momentum_for_this_step(self) -> float:
        # Counting batches happens in training only, like nn.BatchNorm; with
        # momentum=None the factor 1/n turns the update into a cumulative average.
        if not (self.training and self.track_running_stats):
            return 0.0 if self.momentum is None else self.momentum
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, num_dims={self.num_dims}, eps={self.eps}, "
            f"momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )
