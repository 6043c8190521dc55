"""The book's networks layer by layer, as Dive into Deep Learning (PyTorch) writes them
(LeNet 7.6, NiN 8.3, ResNet 8.6), with its lazy layers given their sizes: same layers,
same settings, same order. Parameter counts miss a pooling swapped for another, a padding
that leaves the size unchanged at the book's input, or a dropout rate."""

import pytest
import torch
from torch import nn

from cnnlab.models import get_model


def _book_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def _nin_block(in_ch, out_ch, kernel_size, strides, padding):
    return [nn.Conv2d(in_ch, out_ch, kernel_size, strides, padding), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, kernel_size=1), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, kernel_size=1), nn.ReLU()]


def _book_nin():
    return nn.Sequential(
        *_nin_block(1, 96, 11, 4, 0), nn.MaxPool2d(3, stride=2),
        *_nin_block(96, 256, 5, 1, 2), nn.MaxPool2d(3, stride=2),
        *_nin_block(256, 384, 3, 1, 1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5), *_nin_block(384, 10, 3, 1, 1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())


def _layers(model):
    # ReLU's in-place flag saves memory and changes no value; Flatten is a reshape.
    return [repr(m).replace("inplace=True", "").replace("(1, 1)", "1")
            for m in model.modules()
            if not list(m.children()) and not isinstance(m, (nn.Flatten, nn.Identity))]


@pytest.mark.parametrize("name, book", [("lenet_d2l", _book_lenet), ("nin_d2l", _book_nin)])
def test_the_books_layers_in_the_books_order(name, book):
    with torch.device("meta"):
        assert _layers(get_model(name)) == _layers(book())


def test_the_book_resnets_first_block():
    """d2l 8.6's b1: 7x7/2 conv (biased), BN, ReLU, 3x3/2 max-pool padded by 1. Unpadded,
    a 96-px image still ends at 3x3 and the counts stay, so only this shows it."""
    book_b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                            nn.BatchNorm2d(64), nn.ReLU(),
                            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.device("meta"):
        assert _layers(get_model("resnet18_d2l").b1) == _layers(book_b1)
