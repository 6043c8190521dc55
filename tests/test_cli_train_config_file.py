"""`cnnlab train --config FILE`: the file's model is enough, MODEL and --preset still
beat the file's."""

import yaml
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import TrainConfig

runner = CliRunner()
ARGS = ["--epochs", "1", "--max-time", "0.01", "--threads", "1"]


def _config_of_the_run(out_dir) -> dict:
    [run] = [p for p in out_dir.iterdir() if p.is_dir()]
    return yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))


def test_a_config_file_that_names_a_model_needs_no_model_argument(tmp_path):
    # A run's config.yaml, re-run as it is: "Missing argument 'model'", though it says
    # model: lenet_d2l.
    config = tmp_path / "config.yaml"
    TrainConfig(model="lenet_d2l", data="synthetic", device="cpu", quiet=True,
                batch_size=64).save(config)
    out = tmp_path / "runs"
    result = runner.invoke(app, ["train", "--config", str(config), *ARGS, "--out-dir",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert _config_of_the_run(out)["model"] == "lenet_d2l"
    assert "replaces it" not in result.output


def test_no_model_anywhere_is_refused_naming_both_ways(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("data: synthetic\nepochs: 1\n", encoding="utf-8")
    for args in (["train"], ["train", "--config", str(config)]):
        result = runner.invoke(app, [*args, "--out-dir", str(tmp_path / "runs")])
        assert result.exit_code == 2, result.output
        words = " ".join(result.output.split())
        assert "no model to train" in words
        assert "give MODEL (cnnlab train lenet_modern ...) or a --config FILE that names one " \
               "(model: lenet_modern; a run's config.yaml does)" in words
        assert "Traceback" not in words
    assert f"no model to train ({config} has no model:)" in words
    assert not (tmp_path / "runs").exists()  # refused before a run folder
