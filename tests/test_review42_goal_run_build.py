"""gpu-bench.sh's goal_run counts the MACs of the network the run built: a model whose
classifier is sized for its input (alexnet_d2l at --resize 67) had its MACs counted on a
build for 224 px, and the script stopped on a traceback instead of saying the goal."""

from __future__ import annotations

import json

from test_speedrun42_gpu_goal_run import _run

from cnnlab.bench.complexity import complexity


def _summary_run(tmp_path, model: str, config: dict, compiled: bool):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch,test_acc,images_per_s\n1,0.5,1000.0\n",
                                     encoding="utf-8")
    (run / "summary.json").write_text(json.dumps({
        "model": model, "amp": "bf16", "config": {**config, "compile": compiled},
        "final": {"epoch": 1, "test_acc": 0.5}, "classes": [str(i) for i in range(5)],
        "environment": {"gpu": "NVIDIA H100 80GB HBM3"}}), encoding="utf-8")
    return run


def test_a_sized_head_runs_macs_are_those_of_its_own_build(tmp_path):
    out = _run(_summary_run(tmp_path, "alexnet_d2l", {"resize": 67, "channels": None}, True))
    macs = complexity("alexnet_d2l", (1, 67, 67), in_channels=1, image_size=67,
                      num_classes=5)[1]
    assert f"{6 * macs * 1000 / 1e12:.1f} TFLOP/s" in out, out
    assert "epoch 1 only (compiling)" in out


def test_an_uncompiled_first_epoch_is_not_said_to_compile(tmp_path):
    out = _run(_summary_run(tmp_path, "lenet_modern", {"resize": None, "channels": None},
                            False))
    assert "mean of epoch 1 only (" in out and "compiling" not in out, out
