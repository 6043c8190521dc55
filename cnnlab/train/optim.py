"""Optimizers, learning-rate schedules, parameter groups and the weight EMA."""

from __future__ import annotations

import math

import torch
from torch import nn

from cnnlab.models.transfer import split_backbone_head
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.lr_plan import lr_factor, warmup_step_count  # here too, as before


def parameter_groups(model: nn.Module, weight_decay: float,
                     backbone_lr: float | None = None) -> list[dict]:
    """Weight decay on weights only; never on norm scales/shifts and biases.

    Decaying a BN gamma or a bias does not regularise the function the network
    computes (BN undoes weight scale anyway), it only fights the optimizer.
    One-dimensional parameters are exactly the norm and bias parameters. A parameter
    with ``no_weight_decay = True`` set on it is left undecayed too (a whitened stem's
    held filters: models/whitened_stem.py).

    With ``backbone_lr`` the classifier's groups come first (at the optimizer's lr,
    so ``param_groups[0]`` logs the peak lr) and the backbone's groups run at
    ``backbone_lr``: fine-tuning then moves pretrained features less than the new head.
    """
    if backbone_lr is None:
        return _decay_groups(model.parameters(), weight_decay)
    backbone, head = split_backbone_head(model)
    groups = _decay_groups(head, weight_decay)
    groups += [{**g, "lr": backbone_lr} for g in _decay_groups(backbone, weight_decay)]
    return [g for g in groups if g["params"]]


def _decay_groups(params, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for param in params:
        if not param.requires_grad:
            continue
        undecayed = param.ndim <= 1 or getattr(param, "no_weight_decay", False)
        (no_decay if undecayed else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    scaled = cfg.backbone_lr_scale != 1.0
    groups = parameter_groups(model, cfg.weight_decay,
                              cfg.lr * cfg.backbone_lr_scale if scaled else None)
    fused = True if cfg.fused_optimizer else None  # None: torch's default (foreach)
    if cfg.optimizer == "muon":
        momentum = cfg.momentum if cfg.momentum > 0 else 0.9
        return Muon(muon_groups(groups, cfg.muon_lr, cfg.lr), lr=cfg.lr, momentum=momentum)
    try:
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=cfg.lr, fused=fused)
        nesterov = cfg.optimizer == "nesterov"
        momentum = cfg.momentum if cfg.momentum > 0 or not nesterov else 0.9
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=momentum, nesterov=nesterov,
                               fused=fused)
    except (RuntimeError, TypeError) as exc:
        if not cfg.fused_optimizer:
            raise
        # Older PyTorch lacks a fused kernel for some optimizer/device pairs.
        raise ConfigError(f"fused_optimizer=true: this PyTorch ({torch.__version__}) has no "
                          f"fused {cfg.optimizer} for these parameters ({exc}); "
                          "drop --fused-optimizer") from exc


# Coefficients of the quintic Newton-Schulz iteration in Muon (Jordan et al. 2024): chosen
# to pull every singular value of a normalised matrix into roughly [0.7, 1.2] in 5 steps,
# as fast as possible, rather than converging exactly to 1.
_NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)


def orthogonalize(matrix: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """``U V^T`` of ``matrix = U S V^T``, approximately: every singular value near 1.

    Five Newton-Schulz steps of matrix products, no SVD (cheap on a GPU). Works on the
    wider orientation so that ``X X^T`` is the small Gram matrix.
    """
    return orthogonalize_many([matrix], steps)[0]


def orthogonalize_many(matrices: list[torch.Tensor], steps: int = 5) -> list[torch.Tensor]:
    """:func:`orthogonalize` for each matrix, same-shaped ones batched together.

    One matrix at a time, written plainly, costs ~40 kernel launches; a ResNet's dozens of
    filter banks would make Muon's step hundreds of launches, which on a GPU take longer
    than the small products themselves. Here each step is three batched products
    (``G = X X^T``, ``bG + cG^2``, ``aX + (.)X``) for all matrices of one shape at once.
    Matrices of different shapes are not padded into one batch: on a CPU the padding's
    extra products cost more than the launches they save (measured: BENCHMARKS.md).
    """
    a, b, c = _NEWTON_SCHULZ
    tall = [m.shape[0] > m.shape[1] for m in matrices]
    wide = [m.T if t else m for m, t in zip(matrices, tall, strict=True)]
    buckets: dict[tuple[int, int], list[int]] = {}
    for index, m in enumerate(wide):
        buckets.setdefault(tuple(m.shape), []).append(index)
    out: list[torch.Tensor | None] = [None] * len(matrices)
    for indices in buckets.values():
        x = torch.stack([wide[i] for i in indices]) if len(indices) > 1 else wide[indices[0]][None]
        # spectral norm <= Frobenius norm <= 1: inside the iteration's basin
        x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
        for _ in range(steps):
            gram = torch.bmm(x, x.mT)
            poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)  # b G + c G G
            x = torch.baddbmm(x, poly, x, beta=a)  # a X + (b G + c G G) X
        for row, i in enumerate(indices):
            out[i] = x[row].T if tall[i] else x[row]
    return out


def muon_groups(groups: list[dict], muon_lr: float, lr: float) -> list[dict]:
    """Split parameter groups: convolution filters (4-D) get Muon's orthogonalised
    update at ``muon_lr``; everything else (norms, biases, the linear head) plain
    Nesterov SGD. Muon is meant for hidden layers' weight matrices; a conv filter bank is
    one when flattened to (out channels, in channels x kernel area). The rule is by shape,
    for the convolutional nets it was measured on: a classifier made of convolutions
    (NiN's) is stepped by Muon, hidden fully connected layers (VGG's, AlexNet's) are not.
    A group with its own lr (a fine-tuned backbone's, below ``lr``) scales ``muon_lr`` by
    the same factor."""
    split = []
    for group in groups:
        filters = [p for p in group["params"] if p.ndim == 4]
        others = [p for p in group["params"] if p.ndim != 4]
        if filters:
            scaled = muon_lr * group.get("lr", lr) / lr
            split.append({**group, "params": filters, "lr": scaled, "orthogonalize": True})
        if others:
            split.append({**group, "params": others, "orthogonalize": False})
    return split


class Muon(torch.optim.Optimizer):
    """Muon (Jordan et al. 2024) for groups marked ``orthogonalize``, Nesterov SGD for the rest.

    For a filter bank, the Nesterov momentum update is flattened to a matrix and replaced
    by its orthogonalisation (:func:`orthogonalize`), scaled by ``sqrt(max(1, rows /
    cols))``: every direction the update spans moves by the same amount, instead of the
    few dominant ones moving most. One optimizer for both kinds of group, so the lr
    schedule, checkpoints and resume treat it like any other. Weight decay: on filters
    decoupled (``w *= 1 - lr * decay``, outside the orthogonalised direction), elsewhere
    added to the gradient as torch's SGD does.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      orthogonalize=False, ns_steps=ns_steps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Each group's parameters move together in list ("foreach") operations and its
        # same-shaped filter banks are orthogonalised as one batch: a step is a few dozen
        # kernel launches per group rather than several per parameter.
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
            grads = [p.grad for p in params]
            if decay and group["orthogonalize"]:
                torch._foreach_mul_(params, 1.0 - lr * decay)  # decoupled: not in the direction
            elif decay:
                grads = torch._foreach_add(grads, params, alpha=decay)  # as torch's SGD
            buffers = self._momentum_buffers(params, grads, momentum)
            updates = torch._foreach_add(grads, buffers, alpha=momentum)  # Nesterov
            if group["orthogonalize"]:
                updates = self._orthogonalized(params, updates, group["ns_steps"])
            torch._foreach_add_(params, updates, alpha=-lr)
        return loss

    def _momentum_buffers(self, params, grads, momentum: float) -> list[torch.Tensor]:
        """``buf = momentum * buf + grad``; a parameter's first buffer is its gradient."""
        buffers, running, their_grads = [], [], []
        for param, grad in zip(params, grads, strict=True):
            state = self.state[param]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.clone()
            else:
                running.append(state["momentum_buffer"])
                their_grads.append(grad)
            buffers.append(state["momentum_buffer"])
        if running:
            torch._foreach_mul_(running, momentum)
            torch._foreach_add_(running, their_grads)
        return buffers

    @staticmethod
    def _orthogonalized(params, updates, steps: int) -> list[torch.Tensor]:
        """Each filter bank's update flattened to (out, in x kernel area), orthogonalised
        and scaled by ``sqrt(max(1, rows / cols))``, in the parameter's shape, dtype and
        memory layout.

        A channels_last filter bank is flattened in its own memory order (kernel area,
        then input channels): a view, not a copy, and the result comes back with the
        parameter's strides, so the update is added in one fused kernel. The order of a
        matrix's columns does not change its orthogonalisation (it permutes with them)."""
        channels_last = [p.dim() == 4 and not p.is_contiguous()
                         and p.is_contiguous(memory_format=torch.channels_last) for p in params]
        matrices = [(u.permute(0, 2, 3, 1) if last else u).reshape(len(u), -1).float()
                    for u, last in zip(updates, channels_last, strict=True)]
        results = []
        for param, matrix, ortho, last in zip(params, matrices,
                                              orthogonalize_many(matrices, steps),
                                              channels_last, strict=True):
            scale = max(1.0, matrix.shape[0] / matrix.shape[1]) ** 0.5
            ortho = (ortho * scale if scale != 1.0 else ortho).to(param.dtype)
            if last:
                out, channels, height, width = param.shape
                ortho = ortho.reshape(out, height, width, channels).permute(0, 3, 1, 2)
            results.append(ortho.reshape(param.shape))
        return results


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The schedule of ``cfg`` over ``steps_per_epoch`` optimizer steps an epoch (not
    batches: with gradient accumulation, fewer), advanced once per optimizer step."""
    total = cfg.epochs * steps_per_epoch
    warmup = warmup_step_count(cfg.warmup_epochs, steps_per_epoch)
    # A plain function, not a callable object: LambdaLR's state_dict would save an
    # object's attributes and a resume would put the old plan's total back.
    return PlannedLR(optimizer, lambda step: lr_factor(cfg.schedule, step, total, warmup))


class PlannedLR(torch.optim.lr_scheduler.LambdaLR):
    """LambdaLR whose restored state is put on the plan it was built with.

    A checkpoint's optimizer holds the lr the saved plan had set for the coming step.
    A resume that adds epochs stretches the plan, and that lr was the old plan's: the
    first step after ``resume --epochs N`` of a finished run ran at lr 0 (its plan's
    end), and only the second took up the stretched schedule. Loaded after the
    optimizer (as torch asks), this sets every group's lr for the coming step from the
    current plan; a resume of the same plan gets the very values saved.
    """

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group, base, factor in zip(self.optimizer.param_groups, self.base_lrs,
                                       self.lr_lambdas, strict=True):
            group["lr"] = base * factor(self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class Lookahead:
    """Lookahead (Zhang et al. 2019): every ``k`` optimizer steps, the slow weights move
    ``alpha`` of the way to the live ("fast") ones, and the live weights restart there.

    The fast weights explore ``k`` steps ahead and the slow weights average out their
    noise, which the training itself then continues from: unlike the weight EMA, which
    is only evaluated, this changes the path training takes.

    The slow weights live in the optimizer's own per-parameter state (``lookahead_slow``)
    and the step count in its parameter groups (``lookahead_step``), so a checkpoint of
    the optimizer carries them and a resumed run continues exactly. They start from the
    weights after a parameter's first step (an empty per-parameter state is how Adam
    knows a parameter is new, so nothing is added before the optimizer has stepped it:
    a parameter without a gradient, which optimizers skip, gets none yet).

    What is evaluated is where the next sync would put the weights,
    ``slow + alpha (fast - slow)`` (:meth:`evaluated_weights`): the slow weights are
    Lookahead's output, and the fast ones stand up to ``k - 1`` noisy steps past them.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, k: int, alpha: float):
        if k < 1 or not 0.0 < alpha <= 1.0:
            raise ValueError(f"Lookahead needs k >= 1 and 0 < alpha <= 1, got k={k}, "
                             f"alpha={alpha}")
        self.optimizer, self.k, self.alpha = optimizer, k, alpha

    @torch.no_grad()
    def step(self) -> None:
        """Call after each ``optimizer.step()`` that was taken (not one GradScaler skipped),
        before the gradients are zeroed (they say which parameters it stepped)."""
        for group in self.optimizer.param_groups:
            group["lookahead_step"] = group.get("lookahead_step", 0) + 1
            for param in group["params"]:
                state = self.optimizer.state[param]
                if "lookahead_slow" not in state and param.grad is not None:
                    state["lookahead_slow"] = param.detach().clone()
            if group["lookahead_step"] % self.k:
                continue
            params, slow = self._with_slow(group)
            torch._foreach_lerp_(slow, params, self.alpha)  # slow += alpha (fast - slow)
            torch._foreach_copy_(params, slow)

    def _with_slow(self, group: dict) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = [p for p in group["params"] if "lookahead_slow" in self.optimizer.state.get(p, {})]
        return params, [self.optimizer.state[p]["lookahead_slow"] for p in params]

    @torch.no_grad()
    def evaluated_weights(self, model: nn.Module, target: nn.Module) -> nn.Module:
        """``target`` (a copy of ``model``, or ``model`` itself) set to ``model``'s state
        with each parameter where the next sync would put it (the live weights are left
        as they are unless ``target`` is ``model``)."""
        target.load_state_dict(model.state_dict())
        slow_of = {id(p): s for group in self.optimizer.param_groups
                   for p, s in zip(*self._with_slow(group), strict=True)}
        for live, copied in zip(model.parameters(), target.parameters(), strict=True):
            if id(live) in slow_of:
                copied.copy_(torch.lerp(slow_of[id(live)], live, self.alpha))
        return target


class WeightEMA:
    """Exponential moving average of the weights, and of the float buffers.

    Every floating-point entry of the state_dict is averaged alike: the parameters and
    BatchNorm's running mean and variance (so the averaged weights are evaluated with
    averaged statistics, not with the live network's latest, which belong to other
    weights); integer buffers (BatchNorm's ``num_batches_tracked``) are copied.

    Evaluating the averaged weights smooths the last noisy SGD steps, worth a few tenths
    of a point for short schedules. The decay is warmed up
    (:func:`ema_decay_at`) so early averages are not dominated by the random initial
    weights: a run of fewer than about ``9 / (1 - decay)`` optimizer steps never reaches
    the decay given (:func:`warn_of_an_ema_decay_out_of_reach`).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._pairs: tuple | None = None  # (model id, live tensors, their shadows) by kind

    def _live_pairs(self, model: nn.Module):
        # state_dict() tensors share storage with the live parameters and buffers, so
        # they are collected once: rebuilding the dict every step costs more than the
        # averaging itself on a GPU.
        if self._pairs is None or self._pairs[0] != id(model):
            floats, float_shadows, others, other_shadows = [], [], [], []
            for name, value in model.state_dict().items():
                if value.dtype.is_floating_point:
                    floats.append(value)
                    float_shadows.append(self.shadow[name])
                else:
                    others.append(value)
                    other_shadows.append(self.shadow[name])
            self._pairs = (id(model), floats, float_shadows, others, other_shadows)
        return self._pairs[1:]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = ema_decay_at(self.decay, self.updates)
        floats, float_shadows, others, other_shadows = self._live_pairs(model)
        # One fused kernel per kind instead of one per tensor.
        if floats:
            torch._foreach_lerp_(float_shadows, floats, 1.0 - d)
        if others:
            torch._foreach_copy_(other_shadows, others)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        for name, value in state.items():
            self.shadow[name].copy_(value)
        self.updates = updates


def ema_decay_at(decay: float, updates: int) -> float:
    """The decay the weight EMA applies at its ``updates``-th update (from 1): warmed up,
    ``(1 + n) / (10 + n)`` until that reaches ``decay``."""
    return min(decay, (1 + updates) / (10 + updates))


def ema_updates_to_reach(decay: float) -> int:
    """The first update at which the EMA applies ``decay`` itself: about
    ``9 / (1 - decay)`` (8,990 for 0.999), exact to :func:`ema_decay_at`'s arithmetic."""
    updates = max(math.ceil((10 * decay - 1) / (1 - decay)), 1)
    while updates > 1 and ema_decay_at(decay, updates - 1) >= decay:  # rounding: one off
        updates -= 1
    while ema_decay_at(decay, updates) < decay:
        updates += 1
    return updates


def warn_of_an_ema_decay_out_of_reach(decay: float, optimizer_steps: int) -> None:
    """Say when a run of ``optimizer_steps`` ends before the EMA's warm-up reaches
    ``decay``: every decay above the one it ends at gives the same run (0.999 and 0.9999
    are alike over 2,350 steps), so the value given is not the one used."""
    from cnnlab.notices import SetupWarning, warn_user

    reached = ema_decay_at(decay, optimizer_steps)
    if decay <= 0 or reached >= decay:
        return
    applied = math.floor(reached * 1e4) / 1e4  # a decay this run reaches, to 4 places
    warn_user(f"ema_decay {decay:g} is never reached in this run: after n optimizer steps "
              f"the weight EMA applies the smaller of ema_decay and (1 + n)/(10 + n) (a "
              f"warm-up), so its {optimizer_steps:,} steps end at {reached:.4f} and any "
              f"ema_decay above that trains the same run; {decay:g} needs "
              f"{ema_updates_to_reach(decay):,} steps. Train longer, or give ema_decay "
              f"{applied:g} or less for a decay the run applies", SetupWarning)
