"""The warm-up warning's advice, followed, silences it for every small run shape.

Written against a mutant of cnnlab/train/lr_plan.py the suite let through (session 35's
mutation report, L27): advice computed from ``longest + 0.5`` steps instead of
``longest + 0.4``. Python rounds a half to the even number, so 2.75 epochs of 2 steps
(5.5 steps) became a 6-step warm-up, one past the 5 the run had room for; the existing
cases never met a half.
"""

from __future__ import annotations

import re

from warning_helpers import warned

from cnnlab.train.lr_plan import warn_of_a_warmup_without_room


def said(warmup_epochs, epochs, schedule, steps_per_epoch) -> list[str]:
    return warned(warn_of_a_warmup_without_room, warmup_epochs, epochs, schedule,
                  steps_per_epoch)


def test_the_advice_fits_every_run_of_up_to_5_epochs_of_up_to_40_steps():
    unfit = []
    for steps_per_epoch in range(1, 41):
        for epochs in range(1, 6):
            for schedule in ("onecycle", "cosine", "constant"):
                # A warm-up of the whole run: always warned, with advice where one fits.
                (message,) = said(float(epochs), epochs, schedule, steps_per_epoch)
                given = re.search(r"give warmup_epochs ([\d.]+) or less", message)
                if given and said(float(given[1]), epochs, schedule, steps_per_epoch):
                    unfit.append((steps_per_epoch, epochs, schedule, given[1]))
    assert unfit == []


def test_a_one_epoch_run_is_named_in_the_singular():
    (message,) = said(1.0, 1, "cosine", 10)
    assert "the run has 10 (1 epoch):" in message
    (message,) = said(2.0, 2, "cosine", 10)
    assert "the run has 20 (2 epochs):" in message
