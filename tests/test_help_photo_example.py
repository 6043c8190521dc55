"""`cnnlab train --help`'s example for a folder of photos trains them in colour.

It named resnet18_small, a one-channel network for 28x28 images with no downsampling
stem: it read the photos as greyscale (with a warning) and at 64x64 costs 2.2G MACs an
image, 15 times resnet18 (README's Training examples name resnet18 too).
"""
from __future__ import annotations

import shlex

from cnnlab.cli.examples import EXAMPLES
from cnnlab.models import model_info


def test_train_help_trains_a_photo_folder_in_colour():
    folder_examples = [shlex.split(line) for line, _ in EXAMPLES["train"]
                       if "--data folder:" in line and "--weights" not in line]
    assert folder_examples
    for words in folder_examples:
        model = words[2]
        assert "--channels" in words or model_info(model).input_size[0] == 3, model
