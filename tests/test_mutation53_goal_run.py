"""gpu-bench.sh's goal_run (its Python, taken from the script), pinned where session 42's
tests left it loose (mutation53): the goal and the book's accuracy met exactly, a MIG
slice's share not given against the whole card's peak, and the MACs of the network the
run built (its channels and classes)."""

from __future__ import annotations

from test_speedrun42_gpu_goal_run import _fake_run, _run

from cnnlab.bench.complexity import complexity
from cnnlab.models import model_info


def test_the_goal_and_the_books_accuracy_met_exactly_and_a_mig_slice(tmp_path):
    book = model_info("resnet18_d2l").book_recipe.book_accuracy
    run = _fake_run(tmp_path, [20_000.0] + [100_000.0] * 9, book,
                    "NVIDIA H100 80GB HBM3 MIG 3g.40gb")
    out = _run(run)
    assert "goal 100,000 img/s: met (1.00x)" in out, out
    assert "as good or better" in out
    # A slice has a share of the card's units: the whole card's peak is not its own
    assert "no peak known" in out and "989.4" not in out


def test_the_macs_are_those_of_the_runs_channels_and_classes(tmp_path):
    run = _fake_run(tmp_path, [1e9], 0.5, "NVIDIA H100 80GB HBM3", model="lenet_modern",
                    config={"resize": None, "channels": 3, "compile": False}, classes=5)
    macs = complexity("lenet_modern", (3, 28, 28), in_channels=3, num_classes=5)[1]
    other = {complexity("lenet_modern", (c, 28, 28), in_channels=c, num_classes=n)[1]
             for c, n in ((1, 5), (3, 10))}
    assert f"{6 * macs * 1e9 / 1e12:.1f} TFLOP/s" in _run(run)
    assert all(f"{6 * m * 1e9 / 1e12:.1f}" != f"{6 * macs * 1e9 / 1e12:.1f}" for m in other)
