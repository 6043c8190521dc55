"""The learning-rate warm-up: one asked for is never rounded away, and the help says
where each schedule's warm-up starts and in which pixels --crop-padding counts."""

import re

import pytest
import torch
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import TrainConfig
from cnnlab.train.optim import build_scheduler, lr_factor, warmup_step_count
from cnnlab.train.report_figures import planned_lr


def scheduled_lrs(cfg: TrainConfig, steps_per_epoch: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch)
    lrs = []
    for _ in range(cfg.epochs * steps_per_epoch):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("schedule, first", [("onecycle", 0.055), ("cosine", 0.05),
                                             ("constant", 0.05)])
def test_a_warmup_that_rounds_to_no_step_still_warms_up(schedule, first):
    # One optimizer step an epoch: 0.3 epochs of warm-up rounded to 0 steps, and the
    # first step ran at the peak.
    cfg = TrainConfig(epochs=4, lr=0.1, schedule=schedule, warmup_epochs=0.3)
    lrs = scheduled_lrs(cfg, steps_per_epoch=1)
    assert lrs[0] == pytest.approx(first) and lrs[1] == pytest.approx(0.1)
    # The report's lr figure plans the same schedule.
    assert planned_lr(0.1, schedule, 4, 0.3, 1)[1] == pytest.approx(lrs)


def test_the_warmup_is_rounded_to_steps_as_before_where_that_gave_two_or_more():
    assert warmup_step_count(0.0, 1) == 0
    assert warmup_step_count(0.3, 235) == 70  # the fast preset on Fashion-MNIST
    assert warmup_step_count(0.3, 1) == warmup_step_count(0.5, 2) == 2
    cfg = TrainConfig(epochs=3, lr=0.1, schedule="onecycle", warmup_epochs=0.5)
    lrs = scheduled_lrs(cfg, steps_per_epoch=10)  # the decay phase is lr_factor's own
    assert lrs == pytest.approx([0.1 * lr_factor("onecycle", s, 30, 5) for s in range(30)])


def train_help() -> str:
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def test_the_help_says_where_each_warmup_starts_and_whose_pixels_crop_padding_counts():
    text = train_help()
    # It said onecycle's "rises from 0.1x the peak lr, cosine's and constant's from 0":
    # where the ramps start, not a step that runs (lr_factor: none runs at 0.1 or 0).
    assert ("Over its W optimizer steps the lr climbs evenly to the peak, reached on the "
            "last: the first runs at 0.1 + 0.9/W of the peak lr with onecycle, 1/W with "
            "cosine and constant.") in text
    for w in (2, 5):
        assert lr_factor("onecycle", 0, 100, w) == pytest.approx(0.1 + 0.9 / w)
        assert lr_factor("cosine", 0, 100, w) == lr_factor("constant", 0, 100, w) == 1 / w
        assert all(lr_factor(s, w - 1, 100, w) == 1 for s in ("onecycle", "cosine", "constant"))
    assert "Random translation by up to N pixels of the stored image, before --resize" in text
    assert "2 at 28 -> 56 moves the model's input up to +-4 pixels" in text
