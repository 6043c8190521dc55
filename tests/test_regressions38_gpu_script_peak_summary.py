"""gpu-bench.sh part A's summary of the goal's step (share_of_peak) on what `bench
throughput --out` writes when a step failed (out of memory, a compile error): a failed row,
its NaN numbers written as null. It is to say 'no result', not end in a traceback that
hides the line (math.isfinite(None) raised TypeError)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.bench.results import write_json
from cnnlab.bench.throughput import _failed_row

SCRIPT = Path(__file__).parents[1] / "scripts" / "gpu-bench.sh"


def _summary_program() -> str:
    """The Python that share_of_peak feeds to $PY, as the script holds it."""
    text = SCRIPT.read_text(encoding="utf-8")
    body = text.split("share_of_peak() {", 1)[1]
    return re.search(r"<<'PYEOF'\n(.*?)\nPYEOF", body, re.S)[1]


def _summary(tmp_path, goal: dict, book: dict) -> subprocess.CompletedProcess:
    paths = []
    for name, row in (("goal", goal), ("book", book)):
        paths.append(tmp_path / f"{name}.json")
        write_json(paths[-1], [row])
    return subprocess.run([sys.executable, "-", *map(str, paths)], input=_summary_program(),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def failed():
    return _failed_row("resnet18_d2l", 1000, 96, RuntimeError("CUDA out of memory"),
                       {"amp": "bf16", "device": "cuda"})


def test_a_failed_goal_step_reads_no_result(tmp_path, failed):
    done = _summary(tmp_path, failed, failed)
    assert "Traceback" not in done.stderr, done.stderr
    assert "goal step: no result" in done.stdout + done.stderr


def test_a_failed_book_step_leaves_the_goal_line(tmp_path, failed):
    goal = {**failed, "train_samples_per_s": 5000.0, "train_tflops": 120.0,
            "peak_tflops": 989.4, "peak_of": "H100 80GB HBM3, bf16 dense", "note": ""}
    done = _summary(tmp_path, goal, failed)
    assert done.returncode == 0, done.stderr
    assert "goal step: 5,000 img/s" in done.stdout and "12.1% of H100" in done.stdout
    assert "book step" not in done.stdout
