"""Result reprs checked the way a notebook meets them: four figures at the 10,000 boundary,
containers whose own repr says more than braces, and a run loaded at a mid-epoch
checkpoint (Ctrl-C), whose epoch= alone read as the end of that epoch."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from dataclasses import dataclass, field

from test_api_objects_reprs import check_names_are_values, loaded_run

from cnnlab.formatting import four_figures, rounded_repr


def test_a_number_that_rounds_to_10000_reads_whole_not_in_exponent_form():
    assert four_figures(9999.95) == "10000"
    assert four_figures(-9999.96) == "-10000"
    assert four_figures(9999.4) == "9999"
    assert four_figures(0.5) == "0.5"


Views = namedtuple("Views", "flip shift")


@dataclass(repr=False)
class _Held:
    views: tuple = Views(True, 2)
    counts: dict = field(default_factory=lambda: defaultdict(int, {"a": 1}))
    plain: dict = field(default_factory=lambda: {"x": (0.123456,)})

    __repr__ = rounded_repr


def test_a_named_tuple_or_dict_subclass_keeps_its_own_repr():
    text = repr(_Held())
    assert "views=Views(flip=True, shift=2)" in text
    assert "counts=defaultdict(<class 'int'>, {'a': 1})" in text
    assert "plain={'x': (0.1235,)}" in text  # the built-in ones are still rounded


def test_a_run_loaded_inside_an_epoch_says_its_step():
    run = loaded_run(epoch=1, step_in_epoch=2)
    assert "epoch=1, step_in_epoch=2, num_classes=3" in repr(run)
    assert check_names_are_values(run) == ["run_dir", "model_name", "checkpoint", "epoch",
                                           "step_in_epoch", "num_classes", "input_shape"]
    assert "step_in_epoch" not in repr(loaded_run(epoch=1))  # an epoch's end, as before
