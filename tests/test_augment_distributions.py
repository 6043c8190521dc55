"""The random parameters cnnlab.data.augment draws follow torchvision's distributions.

Seeds are fixed and samples large, and each bound is many standard errors wide, so
the tests neither flake nor pass a wrong distribution (each says what it would catch).
"""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from cnnlab.data import augment as A

N = 40_000


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def chi_square(counts: torch.Tensor) -> float:
    expected = counts.sum() / counts.numel()
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("padding", [1, 3])
def test_crop_offsets_are_uniform_over_every_shift_both_ends_included(padding):
    offsets = A.sample_crop_offsets(N, padding, gen(0))
    side = 2 * padding + 1
    assert offsets.min() == 0 and offsets.max() == 2 * padding  # both ends reachable
    counts = torch.bincount(offsets[:, 0] * side + offsets[:, 1], minlength=side * side)
    assert counts.numel() == side * side
    # 48 degrees of freedom at most: chi-square above 110 has odds under 1e-6 when
    # uniform; an off-by-one range (one shift never drawn) scores in the thousands.
    assert chi_square(counts.float()) < 110


def test_flips_have_probability_one_half_independently():
    flips = A.sample_flips(N, gen(1))
    assert abs(flips.float().mean().item() - 0.5) < 0.015  # 6 standard errors
    pairs = torch.bincount(flips[:-1].long() * 2 + flips[1:].long(), minlength=4).float()
    assert chi_square(pairs) < 30  # neighbours independent (3 dof)
    assert abs(A.sample_flips(N, gen(2), p=0.2).float().mean().item() - 0.2) < 0.015


def torchvision_boxes(n: int, height: int, width: int, scale, ratio) -> torch.Tensor:
    """RandomErasing's own boxes, (top, left, height, width), empty where it gave up."""
    torch.manual_seed(3)
    image = torch.zeros(1, height, width)
    erasing = v2.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=0)
    boxes = []
    for _ in range(n):
        # make_params from torchvision 0.21; _get_params before (0.19, the floor)
        draw = getattr(erasing, "make_params", None) or erasing._get_params
        params = draw([image])
        top, left, h, w = (params[k] for k in ("i", "j", "h", "w"))
        gave_up = params["v"] is None  # (0, 0, H, W) and no value: image left alone
        boxes.append((0, 0, 0, 0) if gave_up else (top, left, h, w))
    return torch.tensor(boxes)


@pytest.mark.parametrize("height, width", [(28, 28), (20, 40), (8, 8)])
def test_erase_boxes_follow_torchvisions_random_erasing(height, width):
    scale, ratio = (0.02, 0.33), (0.3, 3.3)
    ours = A.sample_erase_boxes(N, height, width, gen(4), p=1.0, scale=scale, ratio=ratio)
    theirs = torchvision_boxes(2000, height, width, scale, ratio)
    # torchvision redraws a box that does not fit strictly inside the image: no box
    # spans the whole height or width. Clipping one instead gave 20 x 40 images 12%
    # of full-height boxes.
    assert (ours[:, 2] < height).all() and (ours[:, 3] < width).all()
    assert (ours[:, :2] + ours[:, 2:] <= torch.tensor([height, width])).all()
    for column, name in enumerate(["top", "left", "height", "width"]):
        a, b = ours[:, column].float(), theirs[:, column].float()
        # 5 standard errors of the difference of means (0.1 to 0.3 px here).
        se = (a.var() / len(a) + b.var() / len(b)).sqrt().item()
        assert abs(a.mean().item() - b.mean().item()) < 5 * se + 0.02, name
    areas = [(b[:, 2] * b[:, 3]).float().mean().item() / (height * width) for b in (ours, theirs)]
    assert abs(areas[0] - areas[1]) < 0.01


def test_erasing_gives_up_like_torchvision_when_no_box_fits():
    # Every box of a 10 x 10 image's whole area with ratio 2 is 14 x 7: taller than
    # the image. torchvision then leaves the image alone; clipping erased a 10 x 7 box.
    boxes = A.sample_erase_boxes(500, 10, 10, gen(5), p=1.0, scale=(1.0, 1.0), ratio=(2.0, 2.0))
    assert (boxes[:, 2:] == 0).all()
    x = torch.rand(500, 1, 10, 10, generator=gen(6))
    assert torch.equal(A.erase(x, boxes, -1.0), x)


def test_erase_probability_is_p():
    boxes = A.sample_erase_boxes(N, 28, 28, gen(7), p=0.3)
    assert abs((boxes[:, 2] > 0).float().mean().item() - 0.3) < 0.015


def test_parameters_are_a_function_of_the_generators_seed():
    for draw in (lambda g: A.sample_crop_offsets(64, 2, g), lambda g: A.sample_flips(64, g),
                 lambda g: A.sample_erase_boxes(64, 12, 9, g, p=0.5)):
        assert torch.equal(draw(gen(8)), draw(gen(8)))
        assert not torch.equal(draw(gen(8)), draw(gen(9)))
