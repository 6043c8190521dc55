"""The random_* augmentations honour every setting they take, and Augment refuses the
settings it documents as invalid. A hand mutation test (round 4) of cnnlab/data/augment.py
found each of these could be dropped with the suite still passing: random_hflip's p,
random_erase's fill value, the erase_scale ceiling, the erase_ratio order and the
generator-device message."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data import augment as A


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_random_hflip_flips_each_sample_with_its_probability_p():
    x = torch.arange(6.0).repeat(4000, 1, 1, 1)  # every row reads 0..5, so a flip shows
    flipped = lambda out: (out[:, 0, 0, 0] == 5).float()  # noqa: E731
    assert torch.equal(A.random_hflip(x, gen(), p=0.0), x)
    assert torch.equal(A.random_hflip(x, gen(), p=1.0), x.flip(-1))
    share = flipped(A.random_hflip(x, gen(), p=0.2)).mean().item()
    assert abs(share - 0.2) < 0.04  # 6 standard errors at 4,000 samples
    # The same seed mirrors the same samples: sample_flips, then hflip.
    assert torch.equal(A.random_hflip(x, gen(7), p=0.2),
                       A.hflip(x, A.sample_flips(4000, gen(7), 0.2)))


def test_random_erase_fills_its_boxes_with_the_value_given():
    x = torch.zeros(64, 3, 12, 12)
    out = A.random_erase(x, gen(1), p=1.0, value=2.5)
    boxes = A.sample_erase_boxes(64, 12, 12, gen(1), p=1.0)
    inside = A.erase_mask(boxes, 12, 12).expand_as(x)
    assert inside.any() and torch.all(out[inside] == 2.5) and torch.all(out[~inside] == 0)


@pytest.mark.parametrize("kwargs, word", [
    (dict(erase_scale=(0.1, 1.5)), "erase_scale"),  # more than the whole image
    (dict(erase_ratio=(3.0, 0.5)), "erase_ratio"),  # low above high
])
def test_augment_refuses_erase_ranges_it_cannot_draw_from(kwargs, word):
    with pytest.raises(ValueError, match=word):
        A.Augment(erase_prob=0.5, **kwargs)


def test_a_generator_on_another_device_is_named_with_the_fix():
    # A CPU generator for a batch elsewhere ("meta" stands in for a GPU here): the error
    # says which device to create the generator on, for every random op.
    x = torch.zeros(2, 1, 5, 5, device="meta")
    for op in (lambda: A.random_crop(x, 1, gen()), lambda: A.random_hflip(x, gen()),
               lambda: A.random_erase(x, gen())):
        with pytest.raises(ValueError, match=r"torch.Generator\(device='meta'\)"):
            op()
