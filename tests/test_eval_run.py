"""`cnnlab eval` / evaluate_run repeat a run's own reported numbers: they evaluate
through the loader, precision and test-time views training evaluated with."""

import pytest

import cnnlab.train.run as run_module
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, evaluate_run, train


def _train_tiny(tmp_path, monkeypatch, num_test: int, **settings):
    data = make_synthetic(num_train=48, num_test=num_test, seed=3)
    # Training and evaluate_run both read the data its config names through this.
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg, test_only=False: data)
    cfg = TrainConfig(**{**dict(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                                deterministic=True, quiet=True, out_dir=str(tmp_path),
                                run_name="tiny"), **settings})
    result = train(cfg)
    return tmp_path / "tiny", result


@pytest.mark.parametrize("num_test, settings", [
    (40, {"batch_size": 16}),  # a few dozen images: one evaluation batch
    # An evaluation batch of max(batch_size, 512): 600 images in one batch, not 512 + 88
    # (the summed loss rounds differently in two).
    (600, {"batch_size": 640}),
    (40, {"batch_size": 16, "amp": "bf16"}),  # evaluated under the run's autocast
], ids=["few-dozen", "large-batches", "bf16"])
def test_eval_repeats_the_best_checkpoints_accuracy_and_loss_exactly(
        tmp_path, monkeypatch, num_test, settings):
    run_dir, result = _train_tiny(tmp_path, monkeypatch, num_test, **settings)
    [row] = result.history  # one epoch: it wrote the best checkpoint
    scored = evaluate_run(run_dir, device="cpu")
    assert scored.checkpoint.stem == "best" and scored.result.count == num_test
    assert scored.result.acc == row["test_acc"] == result.best_test_acc
    assert scored.result.loss == row["test_loss"]


def test_eval_lays_the_model_out_channels_last_as_training_did(tmp_path, monkeypatch):
    # (On a CPU the layout seldom changes a result; on a GPU it picks other kernels.)
    import torch

    from cnnlab.train import evaluate as evaluate_module

    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 20, batch_size=16, channels_last=True)
    seen = {}
    real = evaluate_module.evaluate

    def spy(model, loader, *args, **kwargs):
        seen["weights"] = [w for w in model.parameters() if w.dim() == 4]
        return real(model, loader, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "evaluate", spy)
    evaluate_run(run_dir, device="cpu")
    assert seen["weights"] and all(
        w.is_contiguous(memory_format=torch.channels_last) for w in seen["weights"])


def test_evaluate_run_is_importable_from_the_evaluate_module_and_the_package():
    import cnnlab.train
    from cnnlab.train import evaluate as evaluate_module

    assert cnnlab.train.evaluate_run is evaluate_module.evaluate_run


@pytest.mark.parametrize("resize", [None, 32], ids=["stored-size", "resized"])
def test_predict_feeds_a_test_image_exactly_as_the_evaluation_batches_did(resize):
    import torch

    from cnnlab.train.distributed import DistInfo
    from cnnlab.train.evaluate import Preprocess, channel_stats
    from cnnlab.train.predict import image_to_tensor
    from cnnlab.train.run_data import make_loader

    data = make_synthetic(num_train=8, num_test=6, channels=3, seed=1)
    mean, std = channel_stats(data.train.images)
    pp = Preprocess(3, resize or 28, mean, std)
    cfg = TrainConfig(model="lenet_modern", batch_size=4, resize=resize)
    loader = make_loader(cfg, pp, data.test.images, data.test.labels, train=False,
                         device=torch.device("cpu"), dist=DistInfo())
    [(batch, _)] = list(loader)
    for i in range(len(batch)):
        assert torch.equal(image_to_tensor(data.test.images[i], pp)[0], batch[i])


def test_a_run_is_refused_whole_for_a_foreign_checkpoint_or_a_shift_no_image_survives(
        tiny_run, tmp_path):
    # A checkpoint from a run of the same model on other data was loaded: its classes
    # were printed as this run's. A tta_shift past the image failed every image alone.
    import shutil

    import yaml

    from cnnlab.train import checkpoint as ckpt
    from cnnlab.train import load_run

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "tta_shift": 99}))
    with pytest.raises(ValueError, match="tta_shift=99 does not fit the model's 28-pixel"):
        load_run(run)
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "data": "fashion-mnist"}))
    with pytest.raises(ckpt.CheckpointError, match=r"best.safetensors was saved by a run on "
                       r"synthetic, but config.yaml says fashion-mnist: config.yaml was "
                       r"edited \(set data: back to synthetic\) or the file was copied "
                       r"from another run"):
        load_run(run)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert load_run(run).classes  # as it was: loads


@pytest.mark.parametrize("subset", [0, -3, True])
def test_an_eval_subset_that_is_no_number_of_images_is_refused(tiny_run, subset):
    with pytest.raises(ValueError, match=f"eval_subset {subset}: give a number of test "
                                         "images, 1 or more"):
        evaluate_run(tiny_run, device="cpu", eval_subset=subset)


def test_a_best_checkpoint_picked_before_the_last_epoch_is_called_optimistic(
        tmp_path, monkeypatch):
    # Its accuracy is the highest of several looks at these test images: eval printed it
    # as plain "test accuracy". lr ~0: both epochs score alike, so epoch 1 stays best.
    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16, epochs=2, lr=1e-12,
                             schedule="constant", ema_decay=0.0)
    best = evaluate_run(run_dir, device="cpu")
    assert best.when() == "after epoch 1 of 2" and best.picked_on_this_split
    assert "picked as the epoch that scored highest on this test split, so optimistic " \
           "here: the last checkpoint (--which last)" in best.headline()
    last = evaluate_run(run_dir, device="cpu", which="last")
    assert not last.picked_on_this_split and "picked" not in last.headline()
    # A run that stopped after its best epoch (max_time, Ctrl-C) evaluated nothing later:
    # its best is its last, and no choice was made (the note compared with the plan).
    metrics = run_dir / "metrics.csv"
    metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:2]))
    assert not evaluate_run(run_dir, device="cpu").picked_on_this_split


def test_load_run_takes_any_device_cnnlab_takes_and_names_a_wrong_one(tiny_run):
    # "auto" and "gpu" failed with torch's own "Expected one of cpu, cuda, ipu, xpu, ...".
    from cnnlab.train import ConfigError, load_run

    assert next(load_run(tiny_run, device="auto").model.parameters()).device.type in (
        "cpu", "cuda", "mps")
    with pytest.raises(ConfigError, match="unknown device 'gpu'; use auto, cpu, cuda"):
        load_run(tiny_run, device="gpu")


def test_eval_takes_a_thread_count_for_this_evaluation_only(tmp_path, monkeypatch):
    # train, resume, speedrun and the benches take --threads (1 is steadiest on a busy
    # CPU); `cnnlab eval RUN --threads 1` failed with "No such option".
    import torch
    from typer.testing import CliRunner

    import cnnlab.train.evaluate as evaluation
    from cnnlab.cli import app

    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16)
    seen, score = [], evaluation.evaluate
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: (
        seen.append(torch.get_num_threads()), score(*a, **k))[1])
    before = torch.get_num_threads()
    evaluate_run(run_dir, device="cpu", threads=before + 2)
    assert seen == [before + 2] and torch.get_num_threads() == before  # put back
    result = CliRunner().invoke(app, ["eval", str(run_dir), "--device", "cpu", "--threads",
                                      str(before + 1)])
    assert result.exit_code == 0, result.output
    assert seen[-1] == before + 1 and torch.get_num_threads() == before
    result = CliRunner().invoke(app, ["eval", str(run_dir), "--device", "cpu", "--threads", "0"])
    # Refused by its flag, before the run is read (it said "threads 0", the field's name).
    assert result.exit_code == 2 and "--threads" in result.output, result.output


def test_a_best_checkpoint_at_a_time_budgets_cut_is_not_said_to_be_picked(tmp_path, monkeypatch):
    # A run its max_time stopped mid-epoch evaluated once, there, and wrote best and last
    # at that step; eval called best "picked as the epoch that scored highest on this test
    # split, so optimistic here", as if a later evaluation had scored lower.
    run_dir, result = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16, epochs=3,
                                  max_time=0.001)
    scored = evaluate_run(run_dir, device="cpu")
    assert result.stopped == "max_time" and scored.step_in_epoch > 0  # cut mid-epoch
    assert scored.checkpoint.stem == "best" and not scored.picked_on_this_split
    assert "picked" not in scored.headline()


def test_per_class_accuracy_is_keyed_by_class_as_the_training_result_is(tmp_path,
                                                                       monkeypatch):
    # TrainResult.per_class_acc and summary.json give {class: accuracy}; evaluate_run's
    # result gave only the unnamed list, under .result.
    run_dir, result = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16)
    scored = evaluate_run(run_dir, device="cpu")
    assert scored.per_class_acc == result.per_class_acc
    assert list(scored.per_class_acc) == scored.classes
    assert list(scored.per_class_acc.values()) == scored.result.per_class_acc  # kept


def test_a_script_is_told_when_the_run_scored_part_of_the_split(tmp_path, monkeypatch):
    # `cnnlab eval` said so; evaluate_run in a script gave 45.6% beside the run's 49.2%
    # and no word of why.
    import warnings

    from cnnlab.notices import SetupWarning

    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16, eval_subset=24)
    with pytest.warns(SetupWarning, match="the run itself measured its accuracy on its first "
                      "24 test images .* of all 40; eval_subset=24 .* repeats them"):
        assert evaluate_run(run_dir, device="cpu").result.count == 40
    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)  # asked as the run scored: nothing said
        assert evaluate_run(run_dir, device="cpu", eval_subset=24).result.count == 24
