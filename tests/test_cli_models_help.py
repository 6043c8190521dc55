"""`cnnlab summary --help` says how activations are counted, and the count is that."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.inspect import summary
from cnnlab.models import get_model


def test_the_help_says_how_activations_are_counted_and_they_are():
    help_text = " ".join(CliRunner().invoke(app, ["summary", "--help"],
                                            env={"COLUMNS": "200"}).output.split())
    # It said "as torchinfo counts them"; torchinfo 1.8 sums only the outputs of layers
    # with weights, doubled: 52,144 bytes for lenet_d2l, where cnnlab counts 58,408.
    assert "as torchinfo counts them" not in help_text
    assert "summed over every layer" in help_text
    s = summary(get_model("lenet_d2l"), (1, 28, 28))
    weightless = [r.activation_bytes for r in s.rows if r.params == 0]  # Sigmoid, pools
    with_weights = [r.activation_bytes for r in s.rows if r.params > 0]
    assert s.totals.forward_activation_bytes == sum(weightless) + sum(with_weights) == 58_408
    assert 2 * sum(with_weights) == 52_144  # torchinfo's "Forward/backward pass size"


def test_a_vast_class_count_is_refused_as_the_class_count_not_the_input():
    # 10**12 classes asked 336 TB of the CPU, and the error said "cannot summarise
    # lenet_d2l at input 1x28x28".
    done = CliRunner().invoke(app, ["summary", "lenet_d2l", "--num-classes", str(10**12)],
                              env={"COLUMNS": "200"})
    assert done.exit_code == 2
    assert "--num-classes" in done.output and "at input" not in done.output
