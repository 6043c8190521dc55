"""Small pieces session 42 added, pinned where its tests left them loose (mutation53): the
zoo table's recipe words for several presets, a module's call shapes of different ranks
(terminal and report), calls without an output shape, which failed trials count as
diverged, an unset channels with no data named, and batch norm's eps 0 in evaluation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.bench.zoo_report import _recipe_words
from cnnlab.design.trial import all_diverged
from cnnlab.inspect._layout import fmt_call_shapes, shapes_by_call
from cnnlab.ops.norm import batch_norm
from cnnlab.train.report import _output_cell, setting_words


def test_rows_of_two_presets_name_both_in_the_plural():
    rows = [{"preset": "fast"}, {"preset": "book"}, {"preset": "fast"}]
    assert _recipe_words(rows) == "trained with the book/fast presets"
    assert _recipe_words(rows[:1]) == "trained with the fast preset"


def test_call_shapes_of_different_ranks_are_each_written_once():
    calls = [(1, 8, 4, 4), (1, 8), (1, 8, 4, 4), (1, 8)]
    assert fmt_call_shapes(calls) == "[1, 8, 4, 4] / [1, 8]"
    row = {"output_shapes": [[1, 8, 4, 4]], "call_shapes": [list(s) for s in calls]}
    assert _output_cell(row) == "8x4x4 / 8"


def test_a_call_without_an_output_shape_adds_none():
    node = object()
    events = [(node, None, None), (node, None, (1, 3)), (node, None, None)]
    assert shapes_by_call(events) == {id(node): [(1, 3)]}


def test_no_failed_trial_is_not_all_diverged_nor_one_that_names_it_later():
    assert all_diverged([]) is False
    assert all_diverged([{"message": "TrainingDiverged: loss NaN"}]) is True
    assert all_diverged([{"message": "RuntimeError: after a TrainingDiverged retry"}]) is False
    assert all_diverged([{"message": None}]) is False


def test_unset_channels_without_the_data_named_reads_as_the_models():
    assert setting_words(None, "channels") == "the model's"
    assert setting_words(None, "channels", "fashion-mnist") == "the data's"


def test_batch_norm_in_evaluation_takes_eps_zero_as_torch_does():
    x = torch.randn(4, 3, 2, 2)
    mean, var = torch.zeros(3), torch.ones(3)
    ours = batch_norm(x, mean, var, training=False, eps=0.0)
    assert torch.allclose(ours, F.batch_norm(x, mean, var, training=False, eps=0.0))
