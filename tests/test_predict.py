"""`cnnlab predict`: the number of classes shown per image (--top-k)."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import ConfigError
from cnnlab.train.predict import predict_images

runner = CliRunner()


@pytest.fixture(scope="module")
def run_and_image(tiny_run, tmp_path_factory):
    image = tmp_path_factory.mktemp("images") / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8)
                    ).save(image)
    return tiny_run, image


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_below_one_is_refused(run_and_image, top_k):
    run, image = run_and_image
    with pytest.raises(ConfigError, match=rf"--top-k {top_k} \(top_k={top_k}\): show at least 1"):
        predict_images(run, [image], top_k=top_k)
    result = runner.invoke(app, ["predict", str(run), str(image), "--top-k", str(top_k)])
    assert result.exit_code == 2 and "show at least 1" in result.output, result.output


def test_top_k_above_the_classes_shows_them_all(run_and_image):
    run, image = run_and_image
    [(_, ranked)] = predict_images(run, [image], top_k=50)
    assert len(ranked) == 10
    assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)
    # The command showed 10 and said nothing of the 20 it was asked for.
    result = runner.invoke(app, ["predict", str(run), str(image), "--top-k", "20"])
    assert result.exit_code == 0 and result.stdout.count("%") == 10, result.output
    assert "note: --top-k 20, but the model knows 10 classes: all of them are shown" in \
        " ".join(result.stderr.split())
    assert "note:" not in runner.invoke(app, ["predict", str(run), str(image), "--top-k",
                                              "10"]).stderr


def test_an_unreadable_image_is_named_and_the_others_still_classified(run_and_image, tmp_path):
    run, image = run_and_image
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    result = runner.invoke(app, ["predict", str(run), str(image), str(fake), str(image),
                                 str(tmp_path / "missing.png")])
    assert result.exit_code == 1
    assert result.stdout.count("%") == 6  # both good images got their 3 classes
    assert result.stdout.count(" unreadable ") == 2  # their rows say so
    words = " ".join(result.output.split())
    assert "fake.png: not a readable image" in words and "image not found" in words
    assert "2 of 4 images could not be read" in words and "Traceback" not in result.output


@pytest.fixture(scope="module")
def tta_run(tiny_run, tmp_path_factory):
    """tiny_run as if trained with test-time mirror and shift views."""
    import shutil

    import yaml

    run = tmp_path_factory.mktemp("tta") / "tiny"
    shutil.copytree(tiny_run, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "tta_flip": True,
                                                     "tta_shift": 1}))
    return run


def test_eval_uses_the_runs_test_time_views_unless_told(tta_run):
    from cnnlab.train.evaluate import evaluate_run

    own_run = evaluate_run(tta_run, device="cpu")
    own, views = own_run.result, own_run.views
    explicit = evaluate_run(tta_run, device="cpu", tta_flip=True, tta_shift=1).result
    plain_run = evaluate_run(tta_run, device="cpu", tta_flip=False, tta_shift=0)
    plain, plain_views = plain_run.result, plain_run.views
    assert views == (True, 1) and plain_views == (False, 0)
    assert own.loss == explicit.loss and own.loss != plain.loss
    result = runner.invoke(app, ["eval", str(tta_run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "test-time augmentation: mirror + shifts of 1 px" in " ".join(result.output.split())


def test_predict_averages_the_runs_test_time_views(tta_run, run_and_image):
    import torch

    from cnnlab.train.predict import image_to_tensor, open_for_prediction, predict_image

    _, image = run_and_image
    run = open_for_prediction(tta_run)
    x = image_to_tensor(image, run.preprocess)
    black = torch.tensor(run.preprocess.black_level()).view(1, -1, 1, 1)
    with torch.no_grad():
        views = [x, x.flip(3)]
        for d in (1, -1):
            moved = black.expand_as(x).clone()  # moved d pixels down and right
            if d > 0:
                moved[..., d:, d:] = x[..., :-d, :-d]
            else:
                moved[..., :d, :d] = x[..., -d:, -d:]
            views += [moved, moved.flip(3)]
        weights = [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
        logits = sum(w * run.model(v) for w, v in zip(weights, views, strict=True))
    expected = logits.softmax(dim=1)[0].sort(descending=True).values[:3].tolist()
    got = [p for _, p in predict_image(run, image, top_k=3)]
    alone = [p for _, p in predict_image(run, image, top_k=3, tta=False)]
    assert got == pytest.approx(expected, abs=1e-6) and alone != pytest.approx(got, abs=1e-6)


def test_a_folder_is_every_image_below_it_and_out_writes_them_as_csv(run_and_image, tmp_path):
    import csv

    run, image = run_and_image
    photos = tmp_path / "photos"
    (photos / "boots").mkdir(parents=True)
    (photos / ".ipynb_checkpoints").mkdir()
    for name in ("boots/b.png", "a.jpg", ".ipynb_checkpoints/a.png", "notes.txt"):
        target = photos / name
        if name.endswith("txt"):
            target.write_text("not an image")
        else:
            Image.open(image).convert("RGB").save(target)
    (photos / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", str(run), str(photos), "--top-k", "2",
                                 "--out", str(out)])
    assert result.exit_code == 1, result.output  # broken.png: named, the others classified
    rows = list(csv.DictReader(out.open()))
    assert [row["image"] for row in rows] == [
        str(photos / "a.jpg"), str(photos / "boots/b.png"), str(photos / "broken.png")]
    assert list(rows[0]) == ["image", "class_1", "probability_1", "class_2",
                             "probability_2", "error"]
    assert rows[0]["class_1"] == rows[1]["class_1"] and rows[0]["error"] == ""
    assert 1.0 >= float(rows[0]["probability_1"]) >= float(rows[0]["probability_2"]) > 0
    assert "not a readable image" in rows[2]["error"] and rows[2]["class_1"] == ""
    [(path, ranked)] = predict_images(run, str(photos / "a.jpg"), top_k=1)  # one path, bare
    assert path == photos / "a.jpg" and ranked[0][0] == rows[0]["class_1"]

    assert "checkpoint best, after epoch" in result.output  # which weights answered
    quiet = runner.invoke(app, ["predict", str(run), str(photos / "boots"), "--quiet",
                                "--out", str(tmp_path / "q.csv")])
    assert quiet.exit_code == 0 and "%" not in quiet.stdout
    assert len(list(csv.DictReader((tmp_path / "q.csv").open()))) == 1


def test_a_folder_without_images_or_a_device_this_machine_lacks_is_named(
        run_and_image, tmp_path):
    run, image = run_and_image
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["predict", str(run), str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "empty: a folder with no image files below it" in " ".join(result.output.split())
    result = runner.invoke(app, ["predict", str(run), str(image), "--device", "cuda:7"])
    assert result.exit_code == 2 and "cuda:7" in result.output
    result = runner.invoke(app, ["predict", str(run), str(image), "--out", "rows.json"])
    assert result.exit_code == 2 and "ending in .csv" in result.output


def test_a_folder_without_images_among_the_arguments_costs_the_others_nothing(
        run_and_image, tmp_path):
    # `predict RUN a.png some_folder/ b.png` stopped at some_folder/ and classified none;
    # it is said as an unreadable file is: an error line, a row, exit 1 at the end.
    import csv

    run, image = run_and_image
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.txt").write_text("no image")
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(run), str(image), str(tmp_path / "empty"),
                                 str(image), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stdout.count("%") == 6 and result.stdout.count(" no images ") == 1
    words = " ".join(result.output.split())
    assert "empty: a folder with no image files below it" in words
    assert "1 folder held no images (above)" in words and "could not be read" not in words
    rows = list(csv.DictReader(out.open()))
    assert [r["image"] for r in rows] == [str(image), str(tmp_path / "empty"), str(image)]
    assert "no image files" in rows[1]["error"] and rows[0]["error"] == ""
    # Nothing at all to classify: said up front, every folder named, no model loaded.
    result = runner.invoke(app, ["predict", str(run), str(tmp_path / "empty"),
                                 str(tmp_path / "notes")])
    assert result.exit_code == 1 and "checkpoint" not in result.output
    words = " ".join(result.output.split())
    assert "empty: a folder with no image" in words and "notes: a folder with no image" in words


def test_pixels_and_pil_images_are_classified_as_the_same_picture_in_a_file(run_and_image):
    import torch

    from cnnlab.train import load_run, predict_image

    run_dir, image = run_and_image
    run = load_run(run_dir)
    pixels = np.asarray(Image.open(image))  # (28, 28) uint8, read-only, as PIL gives them
    from_file = predict_image(run, image, top_k=3)
    assert predict_image(run, str(image), top_k=3) == from_file
    assert predict_image(run, Image.open(image), top_k=3) == from_file
    # The run's folder itself, as predict_images takes it ('str' object has no attribute
    # 'preprocess' before).
    assert predict_image(run_dir, image, top_k=3) == predict_image(str(run_dir), image,
                                                                     top_k=3) == from_file
    assert predict_image(run, torch.tensor(pixels)[None], top_k=3) == from_file
    assert predict_image(run, pixels, top_k=3) == from_file
    as_float = predict_image(run, torch.tensor(pixels).float() / 255, top_k=3)
    assert [n for n, _ in as_float] == [n for n, _ in from_file]
    assert [p for _, p in as_float] == pytest.approx([p for _, p in from_file], abs=1e-5)
    wide = np.zeros((28, 40), np.uint8)  # cut to its centre square, as a file is
    wide[:, 6:34] = pixels
    assert predict_image(run, wide, top_k=3) == from_file

    for bad, words in [(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "one image at a time"),
                       (torch.zeros(28, 28, 1, dtype=torch.uint8), "channels last"),
                       (torch.full((28, 28), 2.0), "float pixels go from 0 to 1"),
                       (torch.zeros(28, 28, dtype=torch.int64), "give uint8")]:
        with pytest.raises(ValueError, match=words):
            predict_image(run, bad)


def test_an_out_file_it_cannot_write_is_named_after_the_table(run_and_image, tmp_path,
                                                               monkeypatch):
    # A PermissionError traceback, after classifying, and no table. Root ignores
    # permissions, so the refusal is the operating system's, simulated.
    import cnnlab.atomic
    import cnnlab.cli.paths

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cnnlab.atomic, "new_temp_file", refused)
    run, image = run_and_image
    # Found before any image is classified, where the place refuses every file ...
    result = runner.invoke(app, ["predict", str(run), str(image), "--out",
                                 str(tmp_path / "p.csv")])
    assert result.exit_code == 2 and "%" not in result.stdout, result.output
    said = " ".join(result.output.replace("│", " ").split())  # typer's box, unwrapped
    assert "cannot write in" in said and "(permission denied)" in said, said
    # ... and, where the write fails only at the end (a full disk), after the table.
    monkeypatch.setattr(cnnlab.cli.paths, "check_writable_place", lambda *a, **k: None)
    result = runner.invoke(app, ["predict", str(run), str(image), "--out",
                                 str(tmp_path / "p.csv")])
    assert result.exit_code == 1 and result.stdout.count("%") == 3, result.output
    assert f"cannot write {tmp_path / 'p.csv'}: permission denied; choose another --out" in \
        " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["predict", str(run), str(image), "--out",
                                 str(tmp_path / "p.csv"), "--quiet"])  # the answers kept
    assert result.exit_code == 1 and result.stdout.count("%") == 3, result.output


def test_pixels_no_class_can_be_read_off_are_refused_by_name(run_and_image, tmp_path):
    # NaN pixels gave ('Bag', nan); top_k 0 an empty list, -1 and an empty image torch's
    # errors. And a batch of which no image could be read wrote a CSV without its class
    # columns, which a script reading class_1 broke on.
    import torch

    from cnnlab.train import load_run
    from cnnlab.train.predict import predict_image

    run_dir, _ = run_and_image
    run = load_run(run_dir)
    with pytest.raises(ValueError, match=r"the pixels hold NaN \(not a number\)"):
        predict_image(run, torch.full((1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match=r"an empty image, shape \(1, 0, 0\)"):
        predict_image(run, torch.zeros(1, 0, 0, dtype=torch.uint8))
    for top_k in (0, -1):
        with pytest.raises(ConfigError, match=rf"top_k={top_k}\): show at least 1 class"):
            predict_image(run, torch.zeros(1, 28, 28), top_k)
    (tmp_path / "fake.png").write_text("not an image")
    result = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "fake.png"), "--out",
                                 str(tmp_path / "p.csv"), "--quiet"])
    assert result.exit_code == 1
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == (
        "image,class_1,probability_1,class_2,probability_2,class_3,probability_3,error")


def test_many_images_with_a_light_background_are_told_of_in_one_warning(run_and_image,
                                                                        tmp_path,
                                                                        monkeypatch):
    # A folder of 100 product photos printed 100 lines of the same advice.
    import cnnlab.train.predict as predict_module

    run, _ = run_and_image
    monkeypatch.setattr(predict_module, "_light_on_dark_data", lambda spec: True)
    papers = tmp_path / "papers"
    papers.mkdir()
    for i in range(5):
        Image.fromarray(np.full((28, 28), 250 - i, np.uint8)).save(papers / f"p{i}.png")
    with pytest.warns(UserWarning) as told:
        predict_images(run, papers)
    assert [str(w.message) for w in told] == [
        "5 of 5 images (p0.png, p1.png, p2.png, ...) have a light background, and "
        "synthetic's images are light on black: if the classes look wrong, try --invert "
        "(from Python, invert=True)"]
    result = runner.invoke(app, ["predict", str(run), str(papers)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 0 and said.count("light background") == 1, said
    assert "5 of 5 images (p0.png, p1.png, p2.png, ...) have a light background" in said
    with pytest.warns(UserWarning, match=r"^p0.png has a light background"):  # one: as it was
        predict_images(run, papers / "p0.png")
    # An unreadable image ends the batch: those told of before it are not lost (the
    # first version caught every warning, and dropped them all on an error).
    (papers / "z.png").write_text("not an image")
    with pytest.warns(UserWarning, match=r"^5 of 6 images \(p0.png"), \
            pytest.raises(ValueError, match="z.png"):
        predict_images(run, papers)
