"""`cnnlab bench throughput --override KEY=VALUE`: the options a refusal lists are the ones
the bench takes. It listed get_model's own (num_classes, in_channels, weights,
scratch_ops) and image_size, which the bench sets itself and refuses."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import cnnlab.bench.throughput as tp
from cnnlab.cli import app

BENCH_SETS = ("num_classes", "in_channels", "weights", "scratch_ops", "image_size")


def _refused(monkeypatch, *override: str) -> str:
    monkeypatch.setattr(tp, "measure", lambda *a, **k: pytest.fail("measured first"))
    args = ["bench", "throughput", "--models", "lenet_d2l", "--device", "cpu"]
    for item in override:
        args += ["--override", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_an_unknown_option_lists_only_options_the_bench_takes(monkeypatch):
    said = _refused(monkeypatch, "chanels=[6, 16]")
    assert "--override chanels: lenet_d2l has no such option" in said
    assert "Did you mean: channels?" in said
    listed = re.search(r"It takes: (.*?)\.", said)[1].split(", ")
    assert "channels" in listed and "kernel_size" in listed
    assert not set(listed) & set(BENCH_SETS), listed
    assert "model_overrides" not in said  # training's name for them


@pytest.mark.parametrize("key", BENCH_SETS)
def test_what_the_bench_sets_itself_is_refused_saying_so(monkeypatch, key):
    said = _refused(monkeypatch, f"{key}=5")
    assert f"--override {key}=5: the bench sets {key} itself" in said, said
    if key == "image_size":
        assert "--image-size" in said
