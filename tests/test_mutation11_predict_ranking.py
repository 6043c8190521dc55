"""What predict answers, against probabilities worked out by hand: a stand-in model whose
logits are known, classes named out of alphabetical order (a run's classes keep the
order its labels index them in: a dataset's, not a sorted one), and files classified in
batches whose boundaries fall between them."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.train.evaluate import Preprocess
from cnnlab.train.predict import classify_files, image_to_tensor, predict_image

CLASSES = ["zebra", "apple", "mango"]  # label 0 is "zebra": sorted, it would be "apple"


class _GreyLevelModel(torch.nn.Module):
    """Logits (0, 2g, 4(1 - g)) of an image's mean grey level g (0..1)."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))  # where predict sends the input

    def forward(self, x):
        g = x.mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(g), 2 * g, 4 * (1 - g)], dim=1)


def _run():
    return SimpleNamespace(model=_GreyLevelModel().eval(), classes=CLASSES, data="synthetic",
                           preprocess=Preprocess(1, 8, None, None), tta=(False, 0))


def _by_hand(g: float) -> list[tuple[str, float]]:
    logits = [0.0, 2 * g, 4 * (1 - g)]
    total = sum(math.exp(v) for v in logits)
    ranked = sorted(zip(CLASSES, (math.exp(v) / total for v in logits), strict=True),
                    key=lambda pair: -pair[1])
    return ranked


def _approx(answer):
    return [(name, pytest.approx(p, abs=1e-6)) for name, p in answer]


@pytest.mark.parametrize("top_k", [1, 2, 3, 5])
def test_the_top_classes_are_named_in_the_runs_order_with_their_probabilities(top_k):
    pixels = torch.full((1, 8, 8), 255, dtype=torch.uint8)  # g = 1: logits (0, 2, 0)
    answer = predict_image(_run(), pixels, top_k=top_k, tta=False)
    assert answer == _approx(_by_hand(1.0)[:top_k])
    assert answer[0][0] == "apple"


def test_files_across_batch_boundaries_each_get_their_own_answer(tmp_path):
    levels = [0, 40, 80, 120, 160, 200, 240]  # 7 files: batches of 3, 3 and 1
    files = []
    for i, level in enumerate(levels):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 8), level, dtype=np.uint8)).save(path)
        files.append(path)
    answers = list(classify_files(_run(), files, top_k=3, tta=False, batch_size=3))
    assert [path for path, _, _ in answers] == files
    for (_, ranked, problem), level in zip(answers, levels, strict=True):
        assert problem is None
        assert ranked == _approx(_by_hand(level / 255))


def test_pixels_are_cut_to_the_same_centre_square_as_a_picture_of_them():
    # A difference of one pixel: the floor of half, as a file's centre_square cuts it
    pixels = torch.arange(5 * 6, dtype=torch.uint8).reshape(5, 6) * 8
    pp = Preprocess(1, 5, None, None)
    as_pixels = image_to_tensor(pixels, pp)
    as_picture = image_to_tensor(Image.fromarray(pixels.numpy()), pp)
    assert torch.equal(as_pixels, as_picture)
    assert torch.equal(as_pixels[0, 0], pixels[:, :5].float() / 255)
