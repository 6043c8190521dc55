"""The learning-rate schedules (cnnlab/train/optim.py) against torch's own schedulers,
step by step, and as the trainer uses them: one step of the schedule per optimizer step
(not per accumulated batch), and a resume that carries on with the plan's next value."""

import math
import warnings

import pytest
import torch
from torch.optim import lr_scheduler

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train.optim import build_scheduler, lr_factor, warmup_step_count
from cnnlab.train.presets import preset_values
from cnnlab.train.trainer import Trainer


def torch_schedule(schedule: str, total: int, warmup: int) -> list[float]:
    """The factor of every step from torch's schedulers: a LinearLR warm-up whose first
    step is one step up the ramp, then LinearLR to 0, a cosine, or constant."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    parts, milestones = [], []
    if warmup:
        start = 0.1 if schedule == "onecycle" else 0.0
        first = start + (1 - start) / warmup
        parts.append(lr_scheduler.LinearLR(optimizer, first, 1.0, total_iters=warmup - 1))
        milestones.append(warmup)
    if schedule == "onecycle":
        parts.append(lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=total - warmup))
    elif schedule == "cosine":
        parts.append(lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - warmup))
    else:
        parts.append(lr_scheduler.ConstantLR(optimizer, 1.0, total_iters=0))
    with warnings.catch_warnings():  # SequentialLR's own deprecated step(epoch) calls
        warnings.simplefilter("ignore")
        scheduler = (lr_scheduler.SequentialLR(optimizer, parts, milestones)
                     if milestones else parts[0])
        factors = []
        for _ in range(total):
            factors.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return factors


def cnnlab_schedule(cfg: TrainConfig, steps_per_epoch: int) -> list[float]:
    """The lr of every step as the trainer's scheduler sets it, over two groups."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    optimizer = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}],
                                lr=cfg.lr)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch)
    lrs = []
    for _ in range(cfg.epochs * steps_per_epoch):
        lrs.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
@pytest.mark.parametrize("epochs, steps_per_epoch, warmup_epochs",
                         [(3, 10, 0.5), (4, 7, 0.0), (2, 5, 0.3), (1, 40, 0.9)])
def test_each_schedule_is_torchs_at_every_step(schedule, epochs, steps_per_epoch,
                                               warmup_epochs):
    cfg = TrainConfig(epochs=epochs, lr=0.2, schedule=schedule, warmup_epochs=warmup_epochs)
    total = epochs * steps_per_epoch
    warmup = warmup_step_count(warmup_epochs, steps_per_epoch)
    expected = torch_schedule(schedule, total, warmup)
    got = cnnlab_schedule(cfg, steps_per_epoch)
    # Both groups follow the plan, each from its own lr (a fine-tuned backbone's).
    assert [lrs[0] for lrs in got] == pytest.approx([0.2 * f for f in expected], abs=1e-12)
    assert [lrs[1] for lrs in got] == pytest.approx([0.01 * f for f in expected], abs=1e-12)


def test_the_ends_of_each_ramp_are_where_the_docstring_says():
    # 20 steps, 4 of warm-up: what lr_factor's docstring promises at the boundaries.
    onecycle = [lr_factor("onecycle", s, 20, 4) for s in range(20)]
    assert onecycle[0] == pytest.approx(0.1 + 0.9 / 4)  # one step up from 0.1
    assert onecycle[3] == onecycle[4] == 1.0  # the peak: warm-up's last, decay's first
    assert onecycle[-1] == pytest.approx(1 / 16)  # one step short of 0
    cosine = [lr_factor("cosine", s, 20, 4) for s in range(20)]
    assert cosine[0] == pytest.approx(0.25) and cosine[3] == cosine[4] == 1.0
    assert cosine[-1] == pytest.approx((1 - math.cos(math.pi / 16)) / 2)
    assert min(onecycle + cosine) > 0  # no step is wasted at lr 0


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=320, num_test=64, seed=3)


def small_cfg(tmp_path, name: str, **kw) -> TrainConfig:
    values = preset_values("fast", "lenet_modern")
    values.update(model="lenet_modern", data="synthetic", batch_size=64, device="cpu",
                  out_dir=str(tmp_path), run_name=name, quiet=True, deterministic=True,
                  lr=0.1, schedule="onecycle", warmup_epochs=1.0, accum_steps=2)
    values.update(kw)
    return TrainConfig(**values)


def record_lrs(monkeypatch) -> list[float]:
    """The lr of the first group at each optimizer step the trainer takes."""
    seen: list[float] = []
    original = Trainer._optimizer_step

    def step(self):
        seen.append(self.optimizer.param_groups[0]["lr"])
        original(self)

    monkeypatch.setattr(Trainer, "_optimizer_step", step)
    return seen


def test_the_schedule_advances_once_per_optimizer_step_under_accumulation(tmp_path, data,
                                                                          monkeypatch):
    # 320 images in batches of 64: 5 batches an epoch, accumulated 2 by 2 into 3 optimizer
    # steps (the last of one batch). A 3-epoch plan is 9 steps, 3 of them warm-up.
    seen = record_lrs(monkeypatch)
    Trainer(small_cfg(tmp_path, "accum", epochs=3), data).fit()
    assert seen == pytest.approx([0.1 * f for f in torch_schedule("onecycle", 9, 3)])


def test_a_scheduler_restored_on_a_stretched_plan_sets_that_plans_lr():
    # What `resume --epochs 1` does to a finished 2-epoch run's schedule (20 steps, 3 of
    # warm-up), without the training: the coming step ran at the old plan's end, lr 0.
    def plan(epochs):
        cfg = TrainConfig(epochs=epochs, lr=0.1, schedule="onecycle", warmup_epochs=0.3)
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
        return optimizer, build_scheduler(optimizer, cfg, steps_per_epoch=10)

    optimizer, scheduler = plan(2)
    for _ in range(20):
        optimizer.param_groups[0]["params"][0].grad = torch.ones(1)
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.0
    saved = optimizer.state_dict(), scheduler.state_dict()
    for epochs, expected in ((3, 0.1 * lr_factor("onecycle", 20, 30, 3)), (2, 0.0)):
        optimizer, scheduler = plan(epochs)
        optimizer.load_state_dict(saved[0])  # as a resume loads them: optimizer first
        scheduler.load_state_dict(saved[1])
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected), epochs
        assert scheduler.get_last_lr() == pytest.approx([expected]), epochs


def test_resume_with_more_epochs_steps_on_the_stretched_plan_at_once(tmp_path, data,
                                                                     monkeypatch):
    # The same through the trainer, with accumulation: 3 optimizer steps an epoch.
    Trainer(small_cfg(tmp_path, "short", epochs=2), data, run_dir=tmp_path / "short").fit()
    seen = record_lrs(monkeypatch)
    trainer = Trainer(small_cfg(tmp_path, "short", epochs=3), data, run_dir=tmp_path / "short")
    trainer.load_resume_state(tmp_path / "short" / "checkpoints" / "last.safetensors")
    trainer.fit()
    stretched = [0.1 * lr_factor("onecycle", s, 9, warmup_step_count(1.0, 3))
                 for s in range(9)]
    assert seen == pytest.approx(stretched[6:])
    assert seen[0] > 0
