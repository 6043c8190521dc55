"""Data given to train() from Python is recorded with the run (data.json), and resume and
evaluation refuse other data: config.yaml names only the spec, whose data differs."""

from __future__ import annotations

import json
import warnings

import pytest

from cnnlab.data import load_dataset
from cnnlab.data.dataset import DatasetSplits, ImageData
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import ConfigError, TrainConfig, resume, train


def cfg(tmp_path, name: str, **fields) -> TrainConfig:
    return TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                       device="cpu", quiet=True, out_dir=str(tmp_path), run_name=name,
                       **fields)


@pytest.fixture(scope="module")
def subset():
    """96 of the spec's 512 training images and 32 of its 128 test images: a notebook's
    quick run on part of a dataset."""
    full = load_dataset("synthetic")
    return DatasetSplits(full.name, ImageData(full.train.images[:96], full.train.labels[:96]),
                         ImageData(full.test.images[:32], full.test.labels[:32]),
                         full.classes, full.source)


def test_data_given_to_train_is_recorded(tmp_path, subset):
    result = train(cfg(tmp_path, "r"), data=subset)
    record = json.loads((result.run_dir / "data.json").read_text())
    assert (record["train"]["images"], record["test"]["images"]) == (96, 32)
    assert record["train"]["shape"] == [1, 28, 28] and len(record["classes"]) == 10


def test_resume_refuses_the_specs_data_for_a_run_given_other_data(tmp_path, subset):
    run = train(cfg(tmp_path, "r"), data=subset).run_dir
    metrics = (run / "metrics.csv").read_text()
    with pytest.raises(ConfigError) as caught:
        resume(run, extra_epochs=1)  # it loaded all 512 synthetic images, and went on
    words = " ".join(str(caught.value).split())
    assert "trained on data given to train() from Python" in words
    assert "synthetic, 96 training and 32 test images of 1x28x28, 10 classes" in words
    assert "config names (synthetic) is other data: synthetic, 512 training" in words
    assert f"resume({str(run)!r}, data=...)" in words
    assert (run / "metrics.csv").read_text() == metrics  # nothing trained
    result = resume(run, extra_epochs=1, data=subset)
    assert [r["epoch"] for r in result.history] == [1, 2] and result.test_images == 32


def test_resume_refuses_other_images_of_the_same_sizes(tmp_path, subset):
    run = train(cfg(tmp_path, "r"), data=subset).run_dir
    other = make_synthetic(num_train=96, num_test=32, seed=5)
    with pytest.raises(ConfigError, match=r"as many images, but others"):
        resume(run, extra_epochs=1, data=other)


def test_a_run_on_its_specs_data_resumes_as_before(tmp_path, monkeypatch):
    spec_data = make_synthetic(num_train=64, num_test=32)
    import cnnlab.train.run as run_module

    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: spec_data)
    run = train(cfg(tmp_path, "spec")).run_dir  # the CLI's way: no data given
    assert not (run / "data.json").exists()
    assert resume(run, extra_epochs=1).final["epoch"] == 2
    # Given, but the same data the spec loads (the zoo loads it once for every model).
    given = train(cfg(tmp_path, "given"), data=spec_data).run_dir
    assert resume(given, extra_epochs=1).final["epoch"] == 2


def test_a_run_from_before_the_record_resumes_on_the_data_given(tmp_path, subset):
    run = train(cfg(tmp_path, "old"), data=subset).run_dir
    (run / "data.json").unlink()  # as a run made before data.json
    assert resume(run, extra_epochs=1, data=subset).test_images == 32
    assert (run / "data.json").exists()  # recorded now: the next resume is checked
    with pytest.raises(ConfigError, match="trained on data given to train"):
        resume(run, extra_epochs=1)


def test_evaluation_is_refused_the_specs_test_split_for_a_run_given_other_data(tmp_path,
                                                                              subset):
    from cnnlab.train.run import check_evaluated_data, load_training_data

    run = train(cfg(tmp_path, "r"), data=subset).run_dir
    spec = load_training_data(TrainConfig.load(run / "config.yaml"), test_only=True)
    with pytest.raises(ConfigError, match=r"test split its config names is other data.*"
                                          r"--data SPEC"):
        check_evaluated_data(run, spec)
    check_evaluated_data(run, subset)  # its own test images
    # Another training split, the same test split: scoring it is sound.
    check_evaluated_data(run, DatasetSplits(subset.name, spec.train, subset.test,
                                            subset.classes, subset.source))


def test_a_run_given_its_data_from_python_is_evaluated_on_the_splits_given(tmp_path, subset):
    # What the refusal of its config's data says to do: evaluate_run(run, data=SPLITS).
    from cnnlab.train import evaluate_run

    result = train(cfg(tmp_path, "r"), data=subset)
    with pytest.raises(ConfigError, match=r"evaluate_run\(run, data=SPLITS\)"):
        evaluate_run(result.run_dir, device="cpu")
    scored = evaluate_run(result.run_dir, data=subset, device="cpu")
    assert scored.result.count == 32 and scored.result.acc == pytest.approx(result.best_test_acc)
    with pytest.raises(ConfigError, match="leave data_root out"):
        evaluate_run(result.run_dir, data=subset, data_root=str(tmp_path), device="cpu")


def test_compare_tells_a_run_on_a_subset_from_one_on_the_whole_set(tmp_path, subset):
    # Both runs' config.yaml say data: synthetic; the subset's data.json and the counts
    # training wrote tell them apart, as they must before their accuracies are compared.
    from cnnlab.train import compare_runs

    part = train(cfg(tmp_path, "part"), data=subset).run_dir
    whole = train(cfg(tmp_path, "whole")).run_dir
    comparison = compare_runs(part, whole)
    assert comparison.differences == {"train_images": [96, 512], "test_images": [32, 128]}
    assert not comparison.same_data
    assert "the runs trained on different data" in comparison.notes()[0]


def test_train_subset_trains_on_the_first_images_and_resumes_on_them(tmp_path):
    # A classroom's quick run: the first 64 of the 512 training images, all classes among
    # them; the run's counts say so, and a resume trains on the same 64.
    result = train(cfg(tmp_path, "quick", train_subset=64))
    summary = json.loads((result.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["train_images"] == 64
    resumed = resume(result.run_dir, extra_epochs=1)
    assert resumed.final["epoch"] == 2
    assert json.loads((result.run_dir / "summary.json").read_text(
        encoding="utf-8"))["train_images"] == 64
    # 64 images in batches of 32: each epoch two steps, not sixteen.
    assert [round(r["images_per_s"] * r["epoch_time_s"]) for r in resumed.history][-1] == 64


def test_a_train_subset_that_misses_classes_is_warned_about(tmp_path):
    from cnnlab.notices import SetupWarning

    full = load_dataset("synthetic")
    order = full.train.labels.argsort(stable=True)  # sorted by class: a prefix misses most
    by_class = DatasetSplits(full.name, ImageData(full.train.images[order],
                                                  full.train.labels[order]),
                             full.test, full.classes, full.source)
    with pytest.warns(SetupWarning, match=r"train_subset=100: the first 100 training images "
                                          r"hold 2 of the 10 classes"):
        train(cfg(tmp_path, "sorted", train_subset=100), data=by_class)
    # A few images a class, in random order: one class missing is chance, not said.
    assert len(full.train.labels[:16].unique()) == 9  # (the synthetic set's first 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)
        train(cfg(tmp_path, "few", train_subset=16), data=full)
