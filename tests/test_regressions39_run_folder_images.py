"""A class folder keeping a config.yaml and a summary.json (a labelling tool's) beside
its images is no cnnlab run: a run has no image beside its config.yaml (its plots are in
plots/). It was passed over as a run, and its class lost."""

from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.data import load_dataset
from cnnlab.data.folder_files import is_run_folder


def _class(folder: Path, n: int = 4) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(folder / f"{i}.png")


def test_a_class_with_its_own_config_and_summary_is_kept(tmp_path):
    for name in ("cat", "dog"):
        _class(tmp_path / name)
    (tmp_path / "cat" / "config.yaml").write_text("source: labeller\n", encoding="utf-8")
    (tmp_path / "cat" / "summary.json").write_text("{}", encoding="utf-8")
    assert not is_run_folder(tmp_path / "cat")
    assert load_dataset(f"folder:{tmp_path}").classes == ["cat", "dog"]


def test_a_run_with_its_plots_is_still_a_run(tmp_path):
    run = tmp_path / "run"
    _class(run / "plots")
    (run / "config.yaml").write_text("model: lenet\n", encoding="utf-8")
    (run / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    assert is_run_folder(run)
