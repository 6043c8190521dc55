"""An oblong image is cut to its centre square before it is resized (the loader's way),
for pixels given as a tensor or array as for a file or a PIL image: not its top or left
square, which for a portrait photo is its top and for a banner its left end."""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.train.evaluate import Preprocess
from cnnlab.train.predict import image_to_tensor

PP = Preprocess(channels=1, image_size=8, mean=None, std=None)


@pytest.mark.parametrize("shape", [(14, 8), (8, 14)])  # taller, wider: 3 pixels off each end
def test_oblong_pixels_are_cut_to_their_centre_square(shape, tmp_path):
    pixels = torch.from_numpy(np.random.default_rng(1).integers(0, 256, shape, np.uint8))
    centre = pixels[3:11, :] if shape[0] > shape[1] else pixels[:, 3:11]
    square = image_to_tensor(centre, PP)
    for given in (pixels, pixels.numpy(), pixels.float() / 255):
        assert torch.equal(image_to_tensor(given, PP), square)
    assert not torch.equal(image_to_tensor(pixels[:8, :8], PP), square)
    path = tmp_path / "oblong.png"  # a file is cut the same way
    Image.fromarray(pixels.numpy()).save(path)
    assert torch.equal(image_to_tensor(path, PP), square)
