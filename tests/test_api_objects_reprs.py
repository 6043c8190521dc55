"""What a notebook shows of cnnlab's result objects: a short repr whose every ``name=``
can be read off the object by that name, as a value (not a method, not another kind of
thing), and the same accuracy under the same name on each of them."""

import math
import pickle
import re
from pathlib import Path

import pytest
from test_many_classes import scored_of


def shown_names(text: str) -> list[str]:
    """The ``name=`` keys at the top level of a repr ``Type(a=..., b=...)``."""
    return re.findall(r"[(,]\s*([A-Za-z_]\w*)=", text)


def check_names_are_values(obj) -> list[str]:
    names = shown_names(repr(obj))
    assert names, repr(obj)
    for name in names:
        assert hasattr(obj, name), f"{type(obj).__name__}'s repr shows {name}=, no such attribute"
        assert not callable(getattr(obj, name)), f"{name} is a method, not the value shown"
    return names


def loaded_run(epoch=1, step_in_epoch=0):
    from torch import nn

    from cnnlab.train.config import TrainConfig
    from cnnlab.train.evaluate import Preprocess
    from cnnlab.train.loaded_run import LoadedRun

    return LoadedRun(Path("runs/r"), TrainConfig(model="lenet_modern"), nn.Identity(),
                     ["a", "b", "c"], Preprocess(1, 28, None, None),
                     Path("runs/r/checkpoints/best.safetensors"), epoch, step_in_epoch)


def test_a_loaded_runs_repr_names_its_attributes():
    run = loaded_run()
    assert check_names_are_values(run) == ["run_dir", "model_name", "checkpoint", "epoch",
                                           "num_classes", "input_shape"]
    # model= showed the name where .model is the network; classes=3 where .classes is
    # a list; input= was no attribute at all.
    assert run.model_name == "lenet_modern" and "model=" not in repr(run)
    assert run.num_classes == 3 and run.input_shape == (1, 28, 28)
    assert "num_classes=3, input_shape=(1, 28, 28))" in repr(run)


def test_a_run_evaluations_repr_shows_values_it_holds_by_those_names():
    scored = scored_of(3)
    check_names_are_values(scored)
    text = repr(scored)
    assert f"count={scored.result.count}," in text and scored.count == scored.result.count
    assert "epoch=3, epochs=3" in text and "step_in_epoch" not in text  # 0: not shown
    assert len(text) < 300 and "confusion" not in text
    # The words stay a call away.
    assert scored.when() == "after epoch 3 of 3" and scored.images() == "20 images"


def test_a_run_evaluation_cut_mid_epoch_shows_its_step():
    from dataclasses import replace

    scored = replace(scored_of(3), epoch=2, step_in_epoch=40)
    assert "epoch=2, step_in_epoch=40, epochs=3" in repr(scored)
    check_names_are_values(scored)


def test_an_evaluation_and_a_training_result_name_their_test_accuracy_alike():
    from cnnlab.train.outcome import TrainResult

    scored = scored_of(3)
    assert scored.test_acc == scored.acc == scored.result.acc
    result = TrainResult(None, [{"epoch": 1, "test_acc": 0.5}], {"epoch": 1, "test_acc": 0.5},
                         0.5, 1.0)
    assert result.test_acc == 0.5  # the same name on both


def compared(**summary):
    from cnnlab.train.compared_run import ComparedRun

    config = {"model": "lenet_modern", "epochs": 2, "lr": 0.1, "data": "fashion-mnist",
              **{f"setting{i}": i for i in range(60)}}
    history = [{"epoch": e, "test_acc": 0.1 + e / 3, "wall_s": 1.23456789 * e}
               for e in (1, 2)]
    return ComparedRun(Path("runs/a"), config, history, summary)


def test_a_compared_run_shows_in_one_short_line():
    run = compared()
    text = repr(run)
    assert len(text) < 250, text  # was the whole config and history: thousands
    assert not re.search(r"\d\.\d{6,}", text), text  # no 16-digit floats
    assert check_names_are_values(run)[0] == "run_dir"
    assert "state='finished'" in text and "best_test_acc=0.7667" in text


def test_a_compared_run_names_its_best_accuracy_as_a_train_result_does():
    run = compared()
    assert run.best_test_acc == run.best[0] == pytest.approx(0.1 + 2 / 3)
    empty = compared()
    object.__setattr__(empty, "history", [])
    assert empty.best_test_acc is None and "best_test_acc=None" in repr(empty)


def test_the_result_objects_pickle_and_compare_equal_after():
    for obj in (scored_of(3), compared()):
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj
    run = pickle.loads(pickle.dumps(loaded_run()))
    assert run.input_shape == (1, 28, 28) and not math.isnan(run.num_classes)
