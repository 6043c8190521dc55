"""The learning rate's plan over a run: its factor at each optimizer step, the warm-up
in steps, and a warning where that warm-up leaves the schedule no room.

Apart from optim.py (which builds the scheduler from it, and still exports both) so that
the report's planned curve and resume's checks read the plan without the optimizers.
"""

from __future__ import annotations

import math


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps``.

    - constant: 1 throughout (the book's recipe), after an optional linear warmup;
    - onecycle: linear warmup from 0.1 to 1, then linear decay to 0 (as airbench);
    - cosine: linear warmup, then half a cosine down to 0.

    Neither end of a ramp is a step of its own: a step at lr 0 trains nothing. The
    warm-up's first step is already one step up its ramp (``start + (1 - start) / W``
    of ``W`` steps: 0.1 itself is never used) and its last reaches the peak; the decay
    starts at the peak (held for two steps, the warm-up's last and the decay's first)
    and ends one step short of 0: the last of ``T`` steps runs at ``1 / (T - W)`` of
    the peak (onecycle) or ``(1 - cos(pi / (T - W))) / 2`` (cosine). Step for step
    this is torch's ``SequentialLR`` of a ``LinearLR`` warm-up over ``W - 1`` steps
    then ``LinearLR(1, 0, T - W)`` or ``CosineAnnealingLR(T - W)``
    (tests/test_optim_schedules.py checks it).
    """
    if warmup_steps > 0 and step < warmup_steps:
        start = 0.1 if schedule == "onecycle" else 0.0
        return start + (1.0 - start) * (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    remaining = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / remaining, 1.0)
    if schedule == "onecycle":
        return max(1.0 - progress, 0.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_step_count(warmup_epochs: float, steps_per_epoch: int) -> int:
    """The optimizer steps of a ``warmup_epochs`` warm-up: rounded to whole steps, and at
    least two when asked for at all. A warm-up reaches the peak on its last step
    (:func:`lr_factor`), so one step is no warm-up: 0.3 epochs of a 1-step epoch had
    rounded to none, silently, and a single step would still start at the peak."""
    if warmup_epochs <= 0:
        return 0
    return max(int(round(warmup_epochs * steps_per_epoch)), 2)


def warn_of_a_warmup_without_room(warmup_epochs: float, epochs: int, schedule: str,
                                  steps_per_epoch: int) -> None:
    """Say when the warm-up, in optimizer steps, leaves the schedule nothing of the run.

    The config's own check is in epochs (fewer than the run's); rounding to whole steps
    can still make it every step: 1.96 of 2 ten-step epochs is 20 of 20 steps, and the
    learning rate then never decays. A decay starts at the peak (:func:`lr_factor`), so
    it needs two steps after the warm-up to go below it; the constant schedule needs
    one at the peak. A warning, not a refusal: a quick run of a preset on a few batches
    (1 epoch of 1 step, against the warm-up's least of 2) meets it too, and still trains.
    """
    warmup = warmup_step_count(warmup_epochs, steps_per_epoch)
    total = epochs * steps_per_epoch
    room = 1 if schedule == "constant" else 2  # steps the schedule needs after the warm-up
    if warmup == 0 or warmup + room <= total:
        return
    from cnnlab.notices import SetupWarning, warn_user

    end = ("climbs all the run, to its peak at the last step at best" if schedule == "constant"
           else "never decays")
    longest = total - room  # the most warm-up steps the run has room for
    if longest >= 2:
        # Rounded down to 2 places, then it rounds to no more than `longest` steps.
        fits = math.floor((longest + 0.4) / steps_per_epoch * 100) / 100
        fix = f"give warmup_epochs {fits:g} or less (--warmup-epochs), train more epochs"
    else:
        fix = "give warmup_epochs 0 (no warm-up: it takes 2 steps at least), train more epochs"
    run = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    warn_user(f"warmup_epochs {warmup_epochs:g} is a warm-up of {warmup:,} optimizer steps "
              f"(of {steps_per_epoch:,} an epoch) and the run has {total:,} ({run}): the "
              f"{schedule} schedule's learning rate {end}. To keep the plan, {fix}, or give "
              "a smaller batch size (more steps an epoch)", SetupWarning)
