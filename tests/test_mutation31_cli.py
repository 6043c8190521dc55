"""Gaps left by mutation16 in cnnlab/cli/: --no-tta's note, speedrun --compile, and
creation options given with design run --resume."""

import numpy as np
import pytest
from PIL import Image
from test_predict import tta_run  # noqa: F401  (a fixture: tiny_run with TTA views)
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.speedrun_plan import plan_study

runner = CliRunner()
NOTE = "test-time augmentation as the run evaluated"


def test_predict_says_the_runs_test_time_views_only_when_it_uses_them(tta_run, tmp_path):  # noqa: F811
    image = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 128, dtype=np.uint8)).save(image)
    told = runner.invoke(app, ["predict", str(tta_run), str(image), "--device", "cpu"])
    alone = runner.invoke(app, ["predict", str(tta_run), str(image), "--device", "cpu",
                                "--no-tta"])
    assert told.exit_code == 0 and alone.exit_code == 0, told.output + alone.output
    assert NOTE in " ".join(told.output.split())
    assert NOTE not in " ".join(alone.output.split())


@pytest.mark.parametrize("compile_", [True, False])
def test_speedrun_compile_reaches_every_planned_run(compile_):
    study = plan_study(target=None, runs=1, device="cpu", time_budget=None, model=None,
                       epochs=None, batch_size=None, lr=None, compile=compile_, threads=None,
                       set_=None, ablate=False, candidate=None, confirm=0, warmup=None,
                       out=None)
    assert study.full.compile is compile_
    assert [cfg.compile for cfg in study.plan.values()] == [compile_]
    # The CPU's defaults: no warm-up run, and the CPU recipe's target (the GPU's is 94%).
    assert study.warm is False and study.target == pytest.approx(0.92)


@pytest.mark.parametrize("extra", [["--epochs", "2"], ["--seed", "1"]])
def test_design_run_resume_refuses_options_that_shape_a_new_sweep(tmp_path, extra):
    (tmp_path / "sweep").mkdir()
    result = runner.invoke(app, ["design", "run", "--resume", str(tmp_path / "sweep"), *extra])
    assert result.exit_code == 2, result.output
    words = " ".join(result.output.split())
    assert f"--resume continues the sweep as it was created; drop {extra[0]}" in words
    assert list((tmp_path / "sweep").iterdir()) == []  # refused before anything is made
