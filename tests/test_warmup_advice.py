"""The warm-up warning's advice, taken as given, must silence the warning.

Written against mutants of cnnlab/train/lr_plan.py the suite let through (session 33's
mutation report, L12 and L13): advice rounded up past the room the run has (1.0 of a
500-step epoch for a room of 498 steps), and a 1-step warm-up, which warmup_step_count
makes 2.
"""

from __future__ import annotations

import re

import pytest
from warning_helpers import warned

from cnnlab.train.lr_plan import warmup_step_count, warn_of_a_warmup_without_room


def said(warmup_epochs, epochs, schedule, steps_per_epoch) -> list[str]:
    return warned(warn_of_a_warmup_without_room, warmup_epochs, epochs, schedule,
                  steps_per_epoch)


@pytest.mark.parametrize("warmup_epochs, epochs, schedule, steps_per_epoch, advice", [
    (1.0, 1, "cosine", 500, "0.99"),  # room for 498 of 500: 0.996 must not round up to 1
    (1.0, 1, "constant", 2, None),  # room for 1 step: a warm-up is 2 at least, so none
    (1.0, 1, "cosine", 3, None),  # the same for a decay (3 steps, 2 after the warm-up)
])
def test_following_the_warmup_advice_leaves_the_schedule_its_room(
        warmup_epochs, epochs, schedule, steps_per_epoch, advice):
    (message,) = said(warmup_epochs, epochs, schedule, steps_per_epoch)
    given = re.search(r"give warmup_epochs ([\d.]+) or less", message)
    if advice is None:
        assert given is None and "give warmup_epochs 0 (no warm-up" in message
        return
    assert given[1] == advice
    room = 1 if schedule == "constant" else 2
    total = epochs * steps_per_epoch
    assert warmup_step_count(float(advice), steps_per_epoch) + room <= total
    assert said(float(advice), epochs, schedule, steps_per_epoch) == []
