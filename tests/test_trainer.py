"""The training loop: exact resume, interruption, divergence, run directory contents."""

import json

import pytest
import torch
from resume_helpers import signal_after_steps

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingDiverged, TrainingInterrupted, resume, train
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.presets import preset_values
from cnnlab.train.trainer import Trainer


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=320, num_test=96, seed=1)


def fast_cfg(tmp_path, **kw) -> TrainConfig:
    values = preset_values("fast", "lenet_modern")
    values.update(model="lenet_modern", data="synthetic", epochs=4, batch_size=64,
                  deterministic=True, device="cpu", out_dir=str(tmp_path), quiet=True,
                  log_every=2, erase_prob=0.25)
    values.update(kw)
    return TrainConfig(**values)


def final_weights(run_dir):
    groups, _ = ckpt.load_checkpoint(run_dir / "checkpoints" / "last.safetensors")
    return groups["model"], groups["ema"]


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_run_directory_has_everything(tmp_path, data):
    result = train(fast_cfg(tmp_path, epochs=2, run_name="r"), data=data)
    run = tmp_path / "r"
    for name in ("config.yaml", "metrics.csv", "summary.json", "report.html",
                 "plots/curves.png", "plots/confusion.png", "checkpoints/last.safetensors",
                 "checkpoints/best.safetensors", "checkpoints/last.json",
                 "class_metrics.jsonl"):
        assert (run / name).exists(), name
    assert any(p.name.startswith("events.out.tfevents") for p in run.iterdir())
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert result.final["test_acc"] > 0.5  # synthetic classes are easy
    assert len(result.confusion) == 10 and sum(map(sum, result.confusion)) == 96
    html = (run / "report.html").read_text()
    assert "data:image/png;base64" in html and "lenet_modern" in html


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_eval_every_skips_epochs_but_always_evaluates_the_last(tmp_path, data):
    import math

    from cnnlab.train.runlog import MetricsLog

    result = train(fast_cfg(tmp_path, epochs=3, eval_every=2, run_name="r"), data=data)
    run = tmp_path / "r"
    acc = [row["test_acc"] for row in result.history]
    assert math.isnan(acc[0]) and acc[1] > 0 and acc[2] > 0.5
    assert result.history[0]["eval_time_s"] == 0.0 and result.history[1]["eval_time_s"] > 0
    rows = MetricsLog.read(run / "metrics.csv")
    assert math.isnan(rows[0]["test_acc"]) and rows[2]["test_acc"] == pytest.approx(acc[2])
    lines = (run / "class_metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [2, 3]
    assert result.best_test_acc == max(acc[1:])
    assert (run / "checkpoints" / "best.safetensors").exists()
    assert (run / "plots" / "curves.png").exists()
    with pytest.raises(Exception, match="eval_every"):
        fast_cfg(tmp_path, eval_every=0).validate()


def resume_split_and_compare(tmp_path, data, monkeypatch, straight):
    """Resume the interrupted run "split"; it must end exactly as "straight" did."""
    import cnnlab.train.run as run_module

    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: data)
    resumed = resume(tmp_path / "split")
    model_a, ema_a = final_weights(tmp_path / "straight")
    model_b, ema_b = final_weights(tmp_path / "split")
    assert_same(model_a, model_b)
    assert_same(ema_a, ema_b)
    assert resumed.final["test_acc"] == straight.final["test_acc"]
    return resumed


@pytest.mark.parametrize(("stop_at_step", "extra"),
                         [(10, {}), (13, {}),
                          (13, {"lookahead_steps": 3, "flip_mode": "alternate"}),
                          (13, {"optimizer": "muon"})],
                         ids=["epoch-boundary", "mid-epoch", "mid-lookahead-cycle", "muon"])
def test_resume_is_exact(tmp_path, data, monkeypatch, stop_at_step, extra):
    # 320 samples / batch 64 = 5 steps per epoch: step 10 ends epoch 2, step 13 is inside 3
    # (and one step into a 3-step lookahead cycle, whose slow weights the checkpoint keeps).
    straight = train(fast_cfg(tmp_path, run_name="straight", **extra), data=data)
    with monkeypatch.context() as m:
        signal_after_steps(m, stop_at_step)
        with pytest.raises(TrainingInterrupted, match=r"resume\(.*, data=\.\.\.\)"):
            train(fast_cfg(tmp_path, run_name="split", **extra), data=data)
    resumed = resume_split_and_compare(tmp_path, data, monkeypatch, straight)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    lines = (tmp_path / "split" / "class_metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    assert resumed.final["train_loss"] == pytest.approx(straight.final["train_loss"], rel=1e-9)


def test_a_signal_between_accumulated_batches_waits_for_the_optimizer_step(tmp_path, data,
                                                                         monkeypatch):
    # accum_steps 2, 5 batches per epoch: the signal comes with epoch 2's first batch,
    # whose gradients wait for the second. Stopping there would lose them (the checkpoint
    # has weights, not pending gradients); the run stops after the step and resumes exactly.
    extra = {"accum_steps": 2}
    straight = train(fast_cfg(tmp_path, run_name="straight", **extra), data=data)
    original = Trainer._forward_loss
    batches = {"n": 0}

    def signal_with_batch_6(self, x, y):
        batches["n"] += 1
        if batches["n"] == 6:
            self._stop_signal = "SIGINT"
        return original(self, x, y)

    with monkeypatch.context() as m:
        m.setattr(Trainer, "_forward_loss", signal_with_batch_6)
        with pytest.raises(TrainingInterrupted, match="epoch 2, step 1 of 3;"):
            train(fast_cfg(tmp_path, run_name="split", **extra), data=data)
    resume_split_and_compare(tmp_path, data, monkeypatch, straight)


def test_lookahead_ignores_an_optimizer_step_that_fp16_overflow_skipped(tmp_path, data,
                                                                        monkeypatch):
    # The first step's loss overflows: GradScaler skips AdamW's step, whose state stays
    # empty. Lookahead putting its slow weights there made AdamW's next step fail.
    original = Trainer._forward_loss
    calls = {"n": 0}

    def overflow_first(self, x, y):
        calls["n"] += 1
        logits, loss = original(self, x, y)
        return logits, loss * float("inf") if calls["n"] == 1 else loss

    monkeypatch.setattr(Trainer, "_forward_loss", overflow_first)
    trainer = Trainer(fast_cfg(tmp_path, run_name="fp16", epochs=1, optimizer="adamw",
                               lr=1e-3, amp="fp16", lookahead_steps=2), data)
    monkeypatch.setattr(Trainer, "_check_finite", lambda *a: None)  # the inf is the point
    trainer.fit()
    assert trainer.optimizer.param_groups[0]["lookahead_step"] == 5 - 1  # 5 steps, 1 skipped
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_lookahead_runs_are_evaluated_where_the_next_sync_would_put_the_weights(tmp_path,
                                                                               data):
    # 5 steps an epoch, a sync every 3: at the evaluation the live weights are 2 steps
    # past the slow ones. The evaluated (and best-saved) weights are slow + alpha (live -
    # slow), Lookahead's output; the live ones train on untouched.
    cfg = fast_cfg(tmp_path, run_name="la", epochs=1, ema_decay=0.0, lookahead_steps=3,
                   lookahead_alpha=0.5)
    trainer = Trainer(cfg, data, run_dir=tmp_path / "la")
    cfg.save(tmp_path / "la" / "config.yaml")  # as train() leaves it, for load_run
    trainer.fit()
    weight = "features.0.weight"
    live = trainer.model.state_dict()[weight]
    slow = trainer.optimizer.state[trainer.model.get_parameter(weight)]["lookahead_slow"]
    assert not torch.equal(live, slow)
    best, _ = ckpt.load_checkpoint(tmp_path / "la" / "checkpoints" / "best.safetensors")
    torch.testing.assert_close(best["model"][weight], slow + 0.5 * (live - slow))
    from cnnlab.train import load_run

    last = load_run(tmp_path / "la", which="last").model  # eval/predict/export of "last"
    torch.testing.assert_close(last.state_dict()[weight], slow + 0.5 * (live - slow))


def test_the_lr_column_is_the_lr_of_each_epochs_last_step(tmp_path, data):
    # Muon's filter group comes first in the optimizer (at muon_lr 0.5): the column is
    # still --lr (0.1) under the schedule, as it stood for the epoch's last step.
    from cnnlab.train.optim import lr_factor

    result = train(fast_cfg(tmp_path, run_name="lr", epochs=2, optimizer="muon", lr=0.1,
                            muon_lr=0.5, schedule="cosine", warmup_epochs=0), data=data)
    for row in result.history:  # 5 steps per epoch
        last_step = 5 * row["epoch"] - 1
        assert row["lr"] == pytest.approx(0.1 * lr_factor("cosine", last_step, 10, 0)), row


def test_the_training_clock_runs_to_the_epochs_synchronised_end(tmp_path, data):
    # elapsed_s (the zoo's train time) was read before the end-of-epoch wait for the
    # device, epoch_time_s after: on a GPU the queued work's end was left out.
    result = train(fast_cfg(tmp_path, run_name="clock", epochs=2), data=data)
    first, second = result.history
    assert first["elapsed_s"] == first["epoch_time_s"]
    assert second["elapsed_s"] == pytest.approx(first["epoch_time_s"] + second["epoch_time_s"])
    assert result.train_time_s == second["elapsed_s"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, data):
    cfg = fast_cfg(tmp_path, run_name="nan", epochs=3, ema_decay=0.0)
    original = Trainer._train_epoch

    def poisoned(self, bar):
        if self.epoch == 1:  # after one good epoch, wreck the weights
            with torch.no_grad():
                for p in self.model.parameters():
                    p.fill_(float("nan"))
        return original(self, bar)

    Trainer._train_epoch = poisoned
    try:
        with pytest.raises(TrainingDiverged, match="NaN/inf at epoch 2.*The last good "
                                                   "checkpoint stays"):
            train(cfg, data=data)
    finally:
        Trainer._train_epoch = original
    groups, state = ckpt.load_checkpoint(tmp_path / "nan" / "checkpoints" / "last.safetensors")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in groups["model"].values())


def test_a_loss_that_diverges_in_the_first_epoch_says_no_checkpoint_was_written(tmp_path,
                                                                                  data):
    cfg = fast_cfg(tmp_path, run_name="nan", epochs=2, lr=1e9, ema_decay=0.0)
    with pytest.raises(TrainingDiverged, match="NaN/inf at epoch 1.*No epoch had finished: "
                                               "no checkpoint was written"):
        train(cfg, data=data)
    assert not (tmp_path / "nan" / "checkpoints" / "last.safetensors").exists()


def test_time_budget_stops_early(tmp_path, data):
    result = train(fast_cfg(tmp_path, run_name="t", epochs=50, max_time=0.5), data=data)
    assert result.stopped == "max_time"
    assert len(result.history) < 50


def test_weights_of_another_model_are_refused_with_the_keys(tmp_path, data):
    from cnnlab.models.interop import WeightsMismatchError

    train(fast_cfg(tmp_path, run_name="a", epochs=1), data=data)
    cfg = fast_cfg(tmp_path, run_name="b", epochs=1, model="lenet_d2l",
                   weights=str(tmp_path / "a" / "checkpoints" / "best.safetensors"))
    with pytest.raises(WeightsMismatchError, match="key"):
        train(cfg, data=data)


def test_starting_weights_are_used(tmp_path, data):
    first = train(fast_cfg(tmp_path, run_name="a", epochs=2), data=data)
    cfg = fast_cfg(tmp_path, run_name="b", epochs=1, lr=1e-6,
                   weights=str(tmp_path / "a" / "checkpoints" / "best.safetensors"))
    second = train(cfg, data=data)
    # With a negligible lr the fine-tuned model keeps (about) the first run's accuracy.
    assert second.final["test_acc"] >= first.best_test_acc - 0.05


@pytest.mark.parametrize("full_batch, accum_steps", [(320, 2), (192, 3)])
def test_gradient_accumulation_matches_the_large_batch(tmp_path, data, full_batch, accum_steps):
    # lenet_d2l has no batch norm, so 2 x 160 accumulated equals one batch of 320. With
    # 3 x 64, the epoch's 5 batches make groups of 3 and 2, as batches of 192 and 128 do:
    # the short group is a mean over its own 2 batches (it was divided by 3).
    # No warm-up: one or two steps leave it no room (a warning says so), and the two runs
    # share their schedule whatever it is.
    common = dict(model="lenet_d2l", epochs=1, optimizer="sgd", momentum=0.0, lr=0.1,
                  schedule="constant", warmup_epochs=0.0, crop_padding=0, flip=False,
                  erase_prob=0.0, ema_decay=0.0, label_smoothing=0.0, normalize=False,
                  channels_last=False)
    # One full-batch step per epoch against two accumulated half-batch steps.
    full = fast_cfg(tmp_path, run_name="full", batch_size=full_batch, **common)
    accum = fast_cfg(tmp_path, run_name="accum", batch_size=full_batch // accum_steps,
                     accum_steps=accum_steps, **common)
    train(full, data=data)
    train(accum, data=data)
    a, _ = final_weights(tmp_path / "full")
    b, _ = final_weights(tmp_path / "accum")
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_fused_optimizer_takes_the_same_steps(tmp_path, data):
    # Same arithmetic in one kernel per group: fed the same gradients for a whole epoch
    # of Nesterov SGD (weight decay on one group, none on the other; the one-cycle lr),
    # the plain optimizer's weights agree with the fused one's to rounding. Two runs of
    # their own are not compared: torch 2.4's fused CPU kernel rounds a tensor's last
    # elements 1 ulp apart, which flips max-pool ties, and the runs' weights then drift
    # 1e-4 apart in 5 steps (newer torch rounds alike, so such runs agreed there).
    common = dict(epochs=1, erase_prob=0.0, ema_decay=0.0)
    plain = Trainer(fast_cfg(tmp_path, run_name="plain", **common), data)
    fused = Trainer(fast_cfg(tmp_path, run_name="fused", fused_optimizer=True, **common), data)
    assert not plain.optimizer.defaults["fused"] and fused.optimizer.defaults["fused"]
    assert [g["weight_decay"] for g in fused.optimizer.param_groups] == [5e-4, 0.0]
    fused_step, steps = fused._optimizer_step, []

    def step_both():
        for p, q in zip(plain.model.parameters(), fused.model.parameters(), strict=True):
            p.grad = q.grad.clone()
        plain._optimizer_step()  # the trainer's own step: its scheduler advances too
        fused_step()
        steps.append(plain.last_lr)

    fused._optimizer_step = step_both
    fused.fit()
    assert len(steps) == 5 and len(set(steps)) > 1  # 320 images in batches of 64; lr moved
    a, b = dict(plain.model.named_parameters()), dict(fused.model.named_parameters())
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6, rtol=1e-5), k


def test_scratch_ops_switch_trains_with_cnnlab_layers(tmp_path, data):
    from cnnlab.ops import Conv2d

    cfg = fast_cfg(tmp_path, run_name="scratch", epochs=1, scratch_ops=True)
    from cnnlab.train.run import train_with_trainer

    trainer, result = train_with_trainer(cfg, data=data)
    assert any(isinstance(m, Conv2d) for m in trainer.model.modules())
    # Same seed, PyTorch's layers: the same training, up to float rounding.
    reference = train(fast_cfg(tmp_path, run_name="torch", epochs=1), data=data)
    assert result.final["train_loss"] == pytest.approx(reference.final["train_loss"], rel=1e-4)
    # The run reads back with the same layers and weights.
    from cnnlab.train import load_run

    run = load_run(tmp_path / "scratch")
    assert any(isinstance(m, Conv2d) for m in run.model.modules())


def test_densenet_memory_efficient_with_scratch_bn_updates_stats_once():
    from cnnlab import get_model

    torch.manual_seed(0)
    plain = get_model("densenet121", num_classes=3, in_channels=1, scratch_ops=True)
    eff = get_model("densenet121", num_classes=3, in_channels=1, scratch_ops=True,
                    memory_efficient=True)
    eff.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 32, 32)
    plain(x).sum().backward()
    eff(x).sum().backward()
    for (k, a), b in zip(plain.state_dict().items(), eff.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-5), k




def test_compile_mode_reaches_torch_compile_and_marks_cuda_graph_steps(tmp_path, data,
                                                                       monkeypatch):
    from cnnlab.train.config import ConfigError

    modes, marks = [], []
    monkeypatch.setattr(torch, "compile", lambda module, mode=None: modes.append(mode) or module)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    cfg = fast_cfg(tmp_path, epochs=1, compile=True, compile_mode="reduce-overhead")
    trainer = Trainer(cfg, data)
    trainer.fit()
    assert modes == ["reduce-overhead"]
    assert len(marks) == trainer.steps_per_epoch  # replayed memory is released every step
    with pytest.raises(ConfigError, match="compile_mode.*reduce-overhead"):
        fast_cfg(tmp_path, compile=True, compile_mode="fastest").validate()
    with pytest.raises(ConfigError, match="needs compile=true"):
        fast_cfg(tmp_path, compile_mode="reduce-overhead").validate()
    with pytest.raises(ConfigError, match="cannot accumulate"):
        fast_cfg(tmp_path, compile=True, compile_mode="max-autotune", accum_steps=2).validate()


def test_trainer_evaluates_with_the_shift_and_the_black_border(tmp_path, data, monkeypatch):
    import cnnlab.train.trainer as trainer_module
    from cnnlab.train.config import ConfigError

    seen = []
    real = trainer_module.evaluate

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate", spy)
    trainer = Trainer(fast_cfg(tmp_path, epochs=1, tta_shift=2, normalize=True), data)
    trainer.fit()
    mean, std = trainer.preprocess.mean, trainer.preprocess.std
    assert seen[-1]["tta_shift"] == 2
    assert seen[-1]["fill"] == pytest.approx([-m / s for m, s in zip(mean, std, strict=True)])
    with pytest.raises(ConfigError, match="tta_shift=28"):
        Trainer(fast_cfg(tmp_path, tta_shift=28), data)


def test_a_last_batch_of_one_image_is_dropped_so_batchnorm1d_trains(tmp_path):
    """lenet_bn normalises its linear layers' outputs (BatchNorm1d), which one image
    cannot give statistics for; 65 images at batch 32 left one over each epoch."""
    odd = make_synthetic(num_train=65, num_test=32, seed=1)
    result = train(TrainConfig(model="lenet_bn", data="synthetic", epochs=1, batch_size=32,
                               device="cpu", out_dir=str(tmp_path), quiet=True), data=odd)
    assert result.history[0]["train_loss"] == result.history[0]["train_loss"]  # not NaN
    trainer_loader = Trainer(TrainConfig(model="lenet_bn", data="synthetic", batch_size=32,
                                         device="cpu", out_dir=str(tmp_path), quiet=True),
                             data=odd).train_loader
    assert len(trainer_loader) == 2 and trainer_loader.num_samples == 64
    lone = Trainer(TrainConfig(model="lenet_modern", data="synthetic", batch_size=32,
                               device="cpu", out_dir=str(tmp_path), quiet=True),
                   data=make_synthetic(num_train=1, num_test=32, seed=1)).train_loader
    assert len(lone) == 1  # a lone image that is the whole epoch still trains


def test_a_crop_padding_as_large_as_the_images_is_refused_before_training(tmp_path, data):
    from cnnlab.train import ConfigError

    with pytest.raises(ConfigError, match="crop_padding=28 does not fit the data's 28x28"):
        Trainer(fast_cfg(tmp_path, crop_padding=28), data)


def test_a_lookahead_runs_last_checkpoint_reads_back_as_evaluated_with_a_held_stem(
        tmp_path, data):
    # The whitened stem holds its filters out of the optimizer: rebuilding the optimizer
    # to find the slow weights failed there, so "last" keeps the evaluated weights itself.
    import warnings

    from cnnlab.train import load_run

    cfg = fast_cfg(tmp_path, run_name="ws", epochs=1, ema_decay=0.0, lookahead_steps=3,
                   whiten_stem=True)
    result = train(cfg, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        last = load_run(tmp_path / "ws", which="last").model
        best = load_run(tmp_path / "ws", which="best").model
    for key, value in best.state_dict().items():
        assert torch.equal(last.state_dict()[key], value), key  # the same evaluated weights
    assert result.best_test_acc == result.final["test_acc"]
