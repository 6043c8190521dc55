"""`cnnlab predict` whose model fails on a later batch (out of memory, an input it refuses):
the answers of the batches before are shown and the error said in one line, where a
traceback lost them all."""

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.models import ModelInputError
from cnnlab.train import predict
from cnnlab.train.predict import PREDICT_BATCH


def test_a_batch_the_model_fails_on_keeps_the_answers_before_it(tiny_run, tmp_path,
                                                                 monkeypatch):
    rng = np.random.default_rng(0)
    for i in range(PREDICT_BATCH + 2):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(
            tmp_path / f"{i:03}.png")
    ranked, calls = predict._ranked, []

    def second_batch_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ModelInputError("lenet_modern cannot take this input: a stand-in")
        return ranked(*args, **kwargs)

    monkeypatch.setattr(predict, "_ranked", second_batch_fails)
    result = CliRunner().invoke(app, ["predict", str(tiny_run), str(tmp_path),
                                      "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    table = result.output.split("error:")[0]  # the answers of the first batch, shown
    assert "063.png" in table and "064.png" not in table
    assert (f"classifying stopped at {tmp_path / '064.png'}: lenet_modern cannot take this "
            f"input: a stand-in ({PREDICT_BATCH} of {PREDICT_BATCH + 2} images above; "
            f"{tmp_path / 'p.csv'} was not written)") in " ".join(result.output.split())
    assert not (tmp_path / "p.csv").exists()


def test_a_first_batch_the_model_fails_on_prints_no_empty_table(tiny_run, tmp_path,
                                                                 monkeypatch):
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "0.png")

    def fails(*args, **kwargs):
        raise ModelInputError("lenet_modern cannot take this input: a stand-in")

    monkeypatch.setattr(predict, "_ranked", fails)
    result = CliRunner().invoke(app, ["predict", str(tiny_run), str(tmp_path / "0.png")])
    assert result.exit_code == 1, result.output
    before = result.output.split("error:")[0]
    assert "1st" not in before, result.output  # no empty table (its header: image, 1st)
    assert "(the image was not classified)" in " ".join(result.output.split())  # not "1 images"
