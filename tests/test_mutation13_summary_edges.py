"""summary() edges no other test reached (mutation13's hand mutants survived them)."""
import pytest
from torch import nn

from cnnlab import get_model, summary
from cnnlab.inspect._input import failure_hint


def test_a_built_pooling_model_is_told_the_input_size_to_try_not_to_rebuild():
    # densenet_d2l's classifier pools: any side from 29 works on the model as built, so
    # the hint is the size to try, not "built for ...; summary(name, ...) builds one"
    model = get_model("densenet_d2l")
    assert getattr(model, "cnnlab_input_size", None) is not None  # built for one size
    assert failure_hint(model, (1, 8, 8)) == (". densenet_d2l takes inputs of at least "
                                              "29x29 pixels: try input_size (1, 29, 29)")


def test_a_named_model_is_built_for_the_channels_of_the_input_size():
    # lenet_d2l's first conv: 6 filters of 5x5 per input channel, so 3 channels add
    # 2 x 6 x 25 = 300 weights to its 61,706 parameters
    assert summary("lenet_d2l", (3, 28, 28)).totals.params == 61_706 + 300


def test_a_batch_size_below_one_is_refused_by_summary():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 2))
    with pytest.raises(ValueError, match=r"batch_size must be >= 1, not 0"):
        summary(model, (1, 8, 8), batch_size=0)


def test_table_rows_are_indented_one_level_per_depth_below_the_first():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.Flatten(),
                          nn.Linear(72, 2))
    lines = str(summary(model, (1, 8, 8), depth=2)).splitlines()

    def column(start):  # where a row's layer name begins
        line = next(x for x in lines if x.lstrip().startswith(start))
        return len(line) - len(line.lstrip())

    assert column("Total") == column("1 ") == column("2 ")  # depth 1: not indented
    assert column("0.0 ") == column("0.1 ") == column("Total") + 2  # depth 2: one level


@pytest.mark.parametrize("training", [False, True])
def test_summary_leaves_the_model_in_the_mode_it_found(training):
    # the training-memory pass runs the model in train mode, then puts the mode back
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                          nn.Linear(72, 2)).train(training)
    assert summary(model, (1, 8, 8), batch_size=2).totals.training_activation_bytes
    assert model.training is training
    assert all(m.training is training for m in model.modules())


class _FallbackNet(nn.Module):
    """Runs its convolution inside an except block, as a fallback path does."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        try:
            raise RuntimeError("the fast path is not available")
        except RuntimeError:
            return self.conv(x)  # called while an error is being handled, not raising


def test_a_layer_run_inside_an_except_block_gets_its_own_row_and_macs():
    rows = {r.name: r for r in summary(_FallbackNet(), (1, 8, 8)).rows}
    assert rows["conv"].macs == 2 * 6 * 6 * 9  # 72 outputs of 3x3 over one channel
    assert rows["conv"].output_shapes == [(1, 2, 6, 6)]
    assert not any(r.own for r in rows.values())


class _Refuses(nn.Module):
    def forward(self, x):
        raise ValueError("this model takes no input")


def test_a_failure_in_the_models_own_forward_is_placed_in_the_model():
    from cnnlab.inspect.summary import SummaryError

    with pytest.raises(SummaryError, match=r"failed in module '<model>' \(_Refuses\): "
                                           r"this model takes no input"):
        summary(_Refuses(), (1, 8, 8))
