"""What a RunEvaluation's repr shows can be read off it by the same names."""

import re

from test_many_classes import scored_of


def test_the_acc_and_loss_the_repr_shows_are_attributes():
    scored = scored_of(3)
    shown = dict(re.findall(r"(acc|loss)=([0-9.]+)", repr(scored)))
    assert scored.acc == scored.result.acc == 0.4
    assert scored.loss == scored.result.loss == 1.0
    assert float(shown["acc"]) == round(scored.acc, 4)
    assert float(shown["loss"]) == round(scored.loss, 4)
