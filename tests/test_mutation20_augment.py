"""Mutation testing of the augmentations (session 38, mutation20): properties of the
random draws that the other augmentation tests let a wrong implementation break."""

from __future__ import annotations

import torch

from cnnlab.data.augment import sample_erase_boxes


def test_an_erasing_box_draws_its_row_and_column_independently():
    # torchvision draws the box's top and left separately; drawing both from one
    # uniform number puts every box on the image's diagonal.
    g = torch.Generator().manual_seed(0)
    height, width = 20, 30
    top, left, box_h, box_w = sample_erase_boxes(4000, height, width, g, p=1.0).T.double()
    kept = box_h > 0
    # Each position as a fraction of the places the box fits: uniform, whatever its size.
    rows = (top / (height - box_h + 1))[kept]
    cols = (left / (width - box_w + 1))[kept]
    corr = torch.corrcoef(torch.stack([rows, cols]))[0, 1]
    assert kept.sum() > 3000 and abs(corr) < 0.1, float(corr)
