"""What a result's repr shows can be read off it by the same names."""

import re

from test_many_classes import scored_of


def test_the_acc_and_loss_the_repr_shows_are_attributes():
    scored = scored_of(3)
    shown = dict(re.findall(r"(acc|loss)=([0-9.]+)", repr(scored)))
    assert scored.acc == scored.result.acc == 0.4
    assert scored.loss == scored.result.loss == 1.0
    assert float(shown["acc"]) == round(scored.acc, 4)
    assert float(shown["loss"]) == round(scored.loss, 4)


def test_a_train_results_epochs_and_test_acc_are_attributes():
    import math

    from cnnlab.train.outcome import TrainResult

    history = [{"epoch": 1, "test_acc": 0.8}, {"epoch": 2, "test_acc": 0.85}]
    result = TrainResult(run_dir=None, history=history, final=history[-1],
                         best_test_acc=0.85, train_time_s=3.0)
    shown = dict(re.findall(r"(epochs_done|test_acc)=([0-9.]+)", repr(result)))
    assert result.epochs_done == int(shown["epochs_done"]) == 2
    assert result.test_acc == float(shown["test_acc"]) == 0.85
    # A last epoch not evaluated (eval_every) and a run with none finished.
    skipped = TrainResult(None, [{"epoch": 3, "test_acc": float("nan")}],
                          {"epoch": 3, "test_acc": float("nan")}, 0.85, 4.0)
    assert math.isnan(skipped.test_acc) and skipped.epochs_done == 3
    empty = TrainResult(None, [], {}, float("nan"), 0.0)
    assert empty.epochs_done == 0 and math.isnan(empty.test_acc)
