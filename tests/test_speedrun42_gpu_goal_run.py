"""gpu-bench.sh part A's summary of A2, the throughput goal's run (issue 6: >= 100,000
img/s on the book's ResNet-18 at 96 px, the same 10-epoch accuracy or better, and the
TFLOP/s with its share of the card's peak): said by the script itself, from the run's
metrics.csv and summary.json, where it had been worked out by hand from the epoch lines."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

from cnnlab.bench.complexity import complexity

SCRIPT = Path(__file__).parents[1] / "scripts" / "gpu-bench.sh"
MACS = complexity("resnet18_d2l", (1, 96, 96), in_channels=1)[1]  # ~318.7M


def _program() -> str:
    """The Python that goal_run feeds to $PY, as the script holds it."""
    body = SCRIPT.read_text(encoding="utf-8").split("goal_run() {", 1)[1]
    return re.search(r"<<'PYEOF'\n(.*?)\nPYEOF", body, re.S)[1]


def _run(run_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-", str(run_dir)], input=_program(),
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[1])
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def _fake_run(tmp_path: Path, rates: list[float], acc: float, gpu: str,
              model: str = "resnet18_d2l", config: dict | None = None,
              classes: int | None = None) -> Path:
    """A run folder as A2 leaves it: its epochs' rates, summary.json's model, settings,
    classes (None: not recorded) and card."""
    run = tmp_path / "resnet18-fast-compiled"
    run.mkdir()
    with open(run / "metrics.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "test_acc", "images_per_s"])
        writer.writerows([i + 1, acc, r] for i, r in enumerate(rates))
    (run / "summary.json").write_text(json.dumps({
        "model": model, "amp": "bf16",
        "config": {"resize": 96, "channels": None} if config is None else config,
        **({"classes": [str(i) for i in range(classes)]} if classes else {}),
        "final": {"epoch": len(rates), "test_acc": acc},
        "eval_scope": "all 10,000 test images",
        "environment": {"gpu": gpu}}), encoding="utf-8")
    return run


def test_the_goal_runs_rate_tflops_share_and_accuracy_are_said(tmp_path):
    # epoch 1 compiles (20k img/s): left out of the mean, 70k over epochs 2-10
    run = _fake_run(tmp_path, [20_000.0] + [70_000.0] * 9, 0.9051, "NVIDIA H100 80GB HBM3")
    out = _run(run)
    tflops = 6 * MACS * 70_000 / 1e12
    assert "70,000 img/s, mean of epochs 2-10" in out, out
    assert f"{tflops:.1f} TFLOP/s" in out
    assert f"{100 * tflops / 989.4:.1f}% of H100 80GB HBM3 989.4 TFLOP/s (bf16 dense)" in out
    assert "goal 100,000 img/s: not met (0.70x)" in out
    assert "test acc 90.51% (all 10,000 test images) after 10 epochs" in out
    assert "the book's 90.3% after 10: as good or better" in out


def test_a_goal_met_below_the_books_accuracy_says_both(tmp_path):
    run = _fake_run(tmp_path, [30_000.0] + [101_000.0] * 9, 0.8938, "NVIDIA H200")
    out = _run(run)
    assert "goal 100,000 img/s: met (1.01x)" in out and "of H200 989.4" in out
    assert "the book's 90.3% after 10: below it" in out


def test_a_run_cut_before_its_files_reads_no_result(tmp_path):
    assert "goal run: no result" in _run(tmp_path / "missing")


def test_part_a_says_it_after_training_the_goal(tmp_path):
    part_a = SCRIPT.read_text(encoding="utf-8").split("part_a() {", 1)[1].split("\n}\n", 1)[0]
    assert 'goal_run "$WORK/runs/resnet18-fast-compiled"' in part_a
    assert "--run-name resnet18-fast-compiled" in part_a


def test_part_b_times_the_zoos_own_models_alone():
    # B3 says "every zoo model alone": "*_d2l" timed resnext_d2l (not in the zoo) and
    # left out lenet_bn (in it)
    from cnnlab.bench.zoo import default_models
    from cnnlab.cli.bench import model_names

    part_b = SCRIPT.read_text(encoding="utf-8").split("part_b() {", 1)[1].split("\n}\n", 1)[0]
    b3 = part_b.split('step "B3.', 1)[1]
    listed = re.search(r'local zoo_models="([^"]+)"', b3)
    assert listed, b3
    assert sorted(model_names(listed[1])) == sorted(default_models())
    assert b3.count('--models "$zoo_models"') == 2
