"""Float pixels take the whole 0..1 range, both ends included: a white pixel is 1.0, as
torchvision's ToTensor gives it (mutation13: refusing 1.0 or accepting values below 0
passed every other test)."""
import pytest
import torch
from test_mutation11_predict_ranking import _approx, _by_hand, _run

from cnnlab.train.predict import predict_image


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_float_pixels_at_either_end_of_the_range_are_the_uint8_ones(level):
    floats = torch.full((1, 8, 8), level)
    as_uint8 = torch.full((1, 8, 8), int(level * 255), dtype=torch.uint8)
    answer = predict_image(_run(), floats, top_k=3, tta=False)
    assert answer == _approx(_by_hand(level)) == _approx(
        predict_image(_run(), as_uint8, top_k=3, tta=False))


@pytest.mark.parametrize("low", [-0.5, -1e-3])
def test_float_pixels_below_zero_are_refused(low):
    pixels = torch.full((1, 8, 8), 0.5)
    pixels[0, 0, 0] = low
    with pytest.raises(ValueError, match="float pixels go from 0 to 1"):
        predict_image(_run(), pixels, top_k=1, tta=False)


def test_the_border_level_reads_all_four_edges():
    from cnnlab.train.predict import _border_level

    pixels = torch.zeros(1, 8, 8, dtype=torch.uint8)
    pixels[0, -1, :] = 255  # a white bottom row: 8 of the 32 border pixels taken, and
    # the left and right columns end in it too: 10 white of 32
    assert _border_level(pixels) == pytest.approx(10 / 32)
    assert _border_level(pixels.transpose(1, 2)) == pytest.approx(10 / 32)  # right column


def test_an_image_inverted_as_asked_is_not_told_to_try_invert(monkeypatch):
    import warnings

    import cnnlab.train.predict as predict_module

    monkeypatch.setattr(predict_module, "_light_on_dark_data", lambda spec: True)
    paper = torch.full((1, 8, 8), 250, dtype=torch.uint8)  # dark on light: a light border
    with pytest.warns(UserWarning, match="light background"):
        predict_image(_run(), paper, top_k=1, tta=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # --invert given: nothing more to tell
        predict_image(_run(), paper, top_k=1, tta=False, invert=True)


def test_a_folders_pictures_in_an_undecoded_format_are_told_of(tmp_path):
    from PIL import Image

    from cnnlab.data import DataWarning
    from cnnlab.train.predict import image_paths

    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "IMG_0001.heic").write_bytes(b"ftypheic")  # a phone's photo
    with pytest.warns(DataWarning, match=r"not classified: 1 picture\(s\) in a format "
                                         r"cnnlab does not decode \(.heic\)"):
        assert image_paths(tmp_path) == [tmp_path / "a.png"]


@pytest.mark.parametrize(("spec", "light_on_dark"), [
    ("fashion-mnist", True), ("Fashion-MNIST", True), ("fashion_mnist", True),
    ("synthetic", False), ("folder:/photos", False)])
def test_fashion_mnist_is_light_on_dark_in_any_spelling_the_data_option_takes(spec,
                                                                              light_on_dark):
    # a config's data: Fashion-MNIST trains on the same images as --data fashion-mnist
    from cnnlab.train.predict import _light_on_dark_data

    assert _light_on_dark_data(spec) is light_on_dark
