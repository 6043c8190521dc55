"""What a notebook hands the functions that take a run: the TrainResult ``train()``
returned stands for its run's folder everywhere a folder is taken, and anything else is
refused by a message naming what is taken (not an AttributeError or a bare TypeError)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cnnlab.train import (
    TrainConfig,
    compare_runs,
    evaluate_run,
    load_run,
    predict_image,
    predict_images,
    read_result,
    resume,
    train,
)
from cnnlab.train.outcome import TrainResult
from cnnlab.train.run_files import NotARunError


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> TrainResult:
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path_factory.mktemp("runs")),
                      run_name="nb", train_subset=64)
    return train(cfg, console=False)


@pytest.fixture(scope="module")
def image():
    from cnnlab.data import load_dataset

    return load_dataset("synthetic").test.images[0]


def test_a_result_is_a_path_to_its_run_folder(result):
    assert os.fspath(result) == str(result.run_dir)
    assert Path(result) == result.run_dir
    assert isinstance(result, os.PathLike)


def test_a_result_is_taken_where_a_run_folder_is(result, image, tmp_path):
    # Each of these failed: AttributeError ... 'data', or TypeError: expected str, bytes
    # or os.PathLike object, not TrainResult, or 'TrainResult' object is not iterable.
    loaded = load_run(result)
    assert loaded.run_dir == result.run_dir
    assert predict_image(result, image) == predict_image(loaded, image)
    from PIL import Image

    png = tmp_path / "one.png"
    Image.fromarray(image[0].numpy()).save(png)
    assert predict_images(result, png)[0][0] == png
    scored = evaluate_run(result, device="cpu")
    assert scored.checkpoint == loaded.checkpoint
    twin = tmp_path / "twin"
    shutil.copytree(result.run_dir, twin)
    assert len(compare_runs(result, read_result(twin)).runs) == 2
    assert len(compare_runs([result, twin]).runs) == 2
    more = resume(read_result(twin), extra_epochs=1, console=False)
    assert more.run_dir == twin and more.final["epoch"] == 2


def test_a_result_without_a_run_folder_says_there_is_none_to_read():
    result = TrainResult(run_dir=None, history=[], final={}, best_test_acc=0.0,
                         train_time_s=0.0)
    for call in (load_run, evaluate_run, resume, os.fspath):
        with pytest.raises(NotARunError, match=r"write_run_dir=False.*result\.model"):
            call(result)


def test_other_things_are_refused_naming_what_is_taken(result, image):
    for name, call in (("load_run", load_run), ("evaluate_run", evaluate_run),
                       ("resume", resume), ("read_result", read_result)):
        with pytest.raises(TypeError, match=f"^{name} takes a run's folder: a path "
                                            r"\(str or Path\) or the TrainResult .*not int"):
            call(42)
    loaded = load_run(result)
    with pytest.raises(TypeError, match=r"not LoadedRun \(a loaded run: give its \.run_dir\)"):
        evaluate_run(loaded)
    with pytest.raises(TypeError, match="^compare_runs takes a run's folder.*not NoneType"):
        compare_runs(result, None)
    with pytest.raises(TypeError, match="^predict_images takes a run's folder"):
        predict_images(loaded, "photos/")
    with pytest.raises(TypeError, match=r"^predict_image takes a run: load_run\(\.\.\.\)'s "
                                        r".*; not dict"):
        predict_image({"model": loaded.model}, image)
