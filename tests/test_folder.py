"""A user's class-per-folder images: decoding, skipping, caching, splitting; `info` on them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli.data import app as data_app
from cnnlab.data import DataWarning, UnknownDatasetError, folder_cache, load_dataset
from cnnlab.data import folder as folder_mod
from cnnlab.data.folder import FolderDatasetError, load_folder, split_indices

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def solid(size: tuple[int, int], colour, mode: str = "RGB") -> Image.Image:
    return Image.new("RGB", size, colour).convert(mode)


@pytest.fixture
def tree(data_env: Path) -> Path:
    """cat: 4 good images (mixed sizes, modes, formats); dog: 3 good + 1 corrupt; empty: none."""
    root = data_env / "pets"
    cat, dog, empty = root / "cat", root / "dog", root / "empty"
    for d in (cat, dog, empty):
        d.mkdir(parents=True)
    solid((30, 20), RED).save(cat / "a.png")
    solid((8, 8), RED, "L").save(cat / "b.PNG")  # greyscale, upper-case extension
    solid((50, 40), RED).save(cat / "c.jpg", quality=95)
    (cat / "nested").mkdir()
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(cat / "nested" / "clear.png")  # transparent
    solid((20, 30), BLUE).save(dog / "a.png")
    solid((12, 12), BLUE, "P").save(dog / "b.gif")
    solid((64, 48), BLUE).save(dog / "c.jpeg", quality=95)
    (dog / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (dog / "notes.txt").write_text("not an image, ignored silently")
    (empty / "README.txt").write_text("no images here")
    return root


def load(root: Path, **options):
    options = {"image_size": 8, "progress": False, **options}
    with pytest.warns(DataWarning) as caught:
        data = load_folder(root, **options)
    return data, " | ".join(str(w.message) for w in caught)


def test_decodes_every_readable_image_and_reports_the_rest(tree: Path) -> None:
    data, warned = load(tree, image_size=(6, 10), val_fraction=0.5)
    assert data.classes == ["cat", "dog"]  # "empty" left out
    assert data.name == f"folder:{tree}"
    assert "skipped 1 unreadable image(s): " in warned and "broken.png" in warned
    assert "left out 1 class folder(s) without readable images: empty" in warned
    n = len(data.train) + len(data.test)
    assert n == 7
    assert data.train.images.shape[1:] == (3, 6, 10) and data.train.images.dtype == torch.uint8
    assert data.test.labels.dtype == torch.int64
    # Stratified: half of each class held out (at least one).
    assert data.test.class_counts(2) == [2, 2] and data.train.class_counts(2) == [2, 1]


def test_pixels_modes_and_transparency(tree: Path) -> None:
    data, _ = load(tree, val_fraction=0.0)
    images, labels = data.train.images, data.train.labels
    cat = images[labels == 0].int()
    dog = images[labels == 1].int()
    # cat: a.png, b.PNG (greyscale red -> grey), c.jpg, nested/clear.png (transparent -> white)
    assert torch.equal(cat[0], torch.tensor(RED).view(3, 1, 1).expand(3, 8, 8).int())
    assert (cat[1] == 76).all()  # ITU-R 601 luma of pure red, replicated into RGB
    assert (cat[2] - torch.tensor(RED).view(3, 1, 1)).abs().max() <= 3  # JPEG
    assert (cat[3] == 255).all()
    assert (dog[:, 2] > 250).all() and (dog[:, :2] < 5).all()  # every dog is blue


def test_greyscale_output(tree: Path) -> None:
    data, _ = load(tree, channels=1, val_fraction=0.0)
    assert data.train.images.shape[1:] == (1, 8, 8)
    whole_red = (data.train.images == 76).flatten(1).all(dim=1)  # the images come shuffled
    assert whole_red.any()


def test_fit_crops_instead_of_stretching(data_env: Path) -> None:
    root = data_env / "stripes"
    (root / "only").mkdir(parents=True)
    image = Image.new("RGB", (40, 20), GREEN)
    image.paste(Image.new("RGB", (20, 20), RED), (10, 0))  # green | red | green
    image.save(root / "only" / "x.png")
    for i in range(3):
        solid((5, 5), RED).save(root / "only" / f"r{i}.png")
    with pytest.warns(DataWarning, match="single class folder, only/"):
        data = load_folder(root, image_size=10, val_fraction=0.0, progress=False)
    images = data.train.images.int()
    # Scaled to 20x10 and centre-cropped to 10x10: only the red middle remains, give or
    # take bicubic ringing at its edges (the other images are red all over). Stretched,
    # the picture would keep green columns at both sides.
    assert (images[:, 0] > 230).all() and (images[:, 1] < 30).all()


def test_cache_is_reused_and_invalidated(tree: Path, data_env: Path, monkeypatch) -> None:
    first, _ = load(tree)
    cache_dir = data_env / "cache" / "folders"
    (tensors,) = cache_dir.glob("*.safetensors")
    sidecar = json.loads(tensors.with_suffix(".json").read_text())
    assert sidecar["classes"] == ["cat", "dog"] and sidecar["empty_classes"] == ["empty"]
    assert [s["file"] for s in sidecar["skipped"]] == ["dog/broken.png"]
    # decoded copies of someone's images: private, as before the writes became atomic
    assert tensors.stat().st_mode & 0o777 == tensors.with_suffix(".json").stat().st_mode \
        & 0o777 == 0o600

    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded again although the cache is valid")

    with monkeypatch.context() as m:
        m.setattr(folder_mod, "decode_image", must_not_decode)
        second, warned = load(tree)  # warnings are repeated from the sidecar
    assert "broken.png" in warned and "cache" in second.source
    assert torch.equal(first.train.images, second.train.images)
    assert torch.equal(first.test.labels, second.test.labels)

    # Editing an image (new mtime), asking for another size, or a cnnlab that decodes
    # differently (a new CACHE_FORMAT: 16-bit PNGs of 8-bit values were once cached
    # black) makes a new entry, which replaces the folder's old one at that size (each
    # had been kept, a whole decoded copy never read again).
    os.utime(tree / "cat" / "a.png", ns=(1, 1))
    load(tree)
    load(tree, image_size=9)
    monkeypatch.setattr(folder_cache, "CACHE_FORMAT", folder_cache.CACHE_FORMAT + 1)
    assert "(decoded 7 images)" in load(tree, image_size=9)[0].source
    entries = sorted(json.loads(p.read_text())["size"] for p in cache_dir.glob("*.json"))
    assert entries == [[8, 8], [9, 9]] and len(list(cache_dir.glob("*.safetensors"))) == 2
    assert not list(cache_dir.glob("*.tmp"))  # no temporary file left


def test_an_image_rewritten_with_its_size_and_mtime_kept_is_decoded_again(tree: Path) -> None:
    # cp -p, rsync -t, tar x: same size, same mtime, other pixels; the cache had served
    # the old ones. Its key holds the ctime too, which no copy can set.
    image = tree / "cat" / "z.bmp"
    solid((8, 8), RED).save(image)
    stat = image.stat()
    first, _ = load(tree)
    solid((8, 8), (0, 0, 250)).save(image)  # a BMP of another colour, as many bytes
    assert image.stat().st_size == stat.st_size
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second, _ = load(tree)
    assert "(decoded 8 images)" in second.source
    blue = [part.images[:, 2].sum() for part in (first.train, first.test, second.train,
                                                   second.test)]
    assert blue[2] + blue[3] > blue[0] + blue[1]  # the new pixels, not the cached ones


def test_damaged_cache_is_rebuilt(tree: Path, data_env: Path) -> None:
    first, _ = load(tree)
    (tensors,) = (data_env / "cache" / "folders").glob("*.safetensors")
    tensors.write_bytes(b"garbage")
    second, warned = load(tree)
    assert "ignoring unreadable cache" in warned
    assert torch.equal(first.train.images, second.train.images)


def test_split_is_seeded_and_stratified() -> None:
    labels = np.repeat(np.arange(3), [10, 5, 1])
    train, val = split_indices(labels, 0.2, seed=0)
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(16))
    assert np.bincount(labels[val], minlength=3).tolist() == [2, 1, 0]  # a lone sample trains
    again = split_indices(labels, 0.2, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((train, val), again, strict=True))
    other = [split_indices(labels, 0.2, seed=s)[1] for s in range(1, 6)]
    assert any(not np.array_equal(val, o) for o in other)
    # Shuffled, so a prefix (train_subset) holds every class, not the first ones alone.
    many = np.repeat(np.arange(4), 25)
    train, _ = split_indices(many, 0.2, seed=0)
    assert set(many[train[:12]].tolist()) == {0, 1, 2, 3}
    with pytest.raises(FolderDatasetError, match="val_fraction"):
        split_indices(labels, 1.0, seed=0)


def test_no_images_is_an_error(data_env: Path) -> None:
    root = data_env / "nothing"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("")
    with pytest.raises(FolderDatasetError, match="no images found"):
        load_folder(root, progress=False)
    with pytest.raises(FolderDatasetError, match="no such directory"):
        load_folder(data_env / "missing", progress=False)
    (root / "a" / "bad.jpg").write_bytes(b"nope")
    with pytest.warns(DataWarning), pytest.raises(FolderDatasetError, match="none of the 1"):
        load_folder(root, progress=False)


def test_images_without_class_folders_are_named_not_called_none(data_env: Path) -> None:
    # A folder of images, no class folders: "no images found" sent the user looking for
    # a wrong extension or path, when the images are there and the folders are missing.
    root = data_env / "flat"
    root.mkdir()
    for name in ("a.png", "b.png"):
        solid((4, 4), RED).save(root / name)
    with pytest.raises(FolderDatasetError, match=r"2 image\(s\) \(a.png, b.png\) lie in it, "
                       "outside any class folder; expected one folder per class"):
        load_folder(root, progress=False)


def test_loose_images_are_reported(tree: Path) -> None:
    solid((4, 4), RED).save(tree / "stray.png")
    _, warned = load(tree)
    assert "ignored 1 image(s) outside any class folder" in warned and "stray.png" in warned


def test_options_are_checked(tree: Path) -> None:
    with pytest.raises(FolderDatasetError, match="channels must be 1"):
        load_folder(tree, channels=2)
    with pytest.raises(FolderDatasetError, match="image_size"):
        load_folder(tree, image_size=(0, 4))
    with pytest.raises(UnknownDatasetError, match="root applies to fashion-mnist"):
        load_dataset(f"folder:{tree}", root="/tmp")
    with pytest.raises(UnknownDatasetError, match="unknown option.*size"):
        load_dataset(f"folder:{tree}", size=4)


def test_load_dataset_folder_spec(tree: Path) -> None:
    with pytest.warns(DataWarning):
        data = load_dataset(f"folder:{tree}", image_size=5, channels=1, progress=False)
    assert data.train.images.shape[1:] == (1, 5, 5) and data.classes == ["cat", "dog"]


def test_cli_info_on_a_folder(tree: Path) -> None:
    result = CliRunner().invoke(data_app, ["info", f"folder:{tree}", "--image-size", "8"])
    assert result.exit_code == 0, result.output
    assert "3 x 8 x 8" in result.stdout and "test (validation)" in result.stdout
    assert "warning:" in result.stderr and "broken.png" in result.stderr


def test_sixteen_bit_greyscale_keeps_its_range(data_env: Path) -> None:
    root = data_env / "deep"
    (root / "a").mkdir(parents=True)
    Image.fromarray(np.full((6, 6), 0x8000, np.uint16)).save(root / "a" / "x.png")
    Image.fromarray(np.full((6, 6), 0xFFFF, np.uint16)).save(root / "a" / "y.png")
    with pytest.warns(DataWarning, match="single class folder"):  # one class is enough here
        data = load_folder(root, image_size=4, channels=1, val_fraction=0.0, progress=False)
    assert data.train.images[:, 0, 0, 0].tolist() == [128, 255]  # not clipped to 255


def test_training_on_a_folder_shows_its_warnings_as_one_line_each(tree: Path,
                                                                  tmp_path: Path) -> None:
    from cnnlab.cli import app

    result = CliRunner().invoke(app, [
        "train", "lenet_d2l", "--data", f"folder:{tree}", "--resize", "28", "--epochs", "1",
        "--device", "cpu", "--quiet", "--out-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.stderr and "broken.png" in result.stderr
    assert "DataWarning" not in result.stderr and "return folder.load_folder" not in result.stderr
    assert all(line.strip() for line in result.stderr.splitlines())  # a hidden bar's blank


def test_a_folder_too_small_to_hold_out_a_test_image_is_named(data_env: Path,
                                                               tmp_path: Path) -> None:
    from cnnlab.cli import app

    root = data_env / "one-each"
    for name, colour in (("cat", RED), ("dog", BLUE)):
        (root / name).mkdir(parents=True)
        solid((8, 8), colour).save(root / name / "only.png")
    result = CliRunner().invoke(app, [
        "train", "lenet_d2l", "--data", f"folder:{root}", "--resize", "28", "--epochs", "1",
        "--device", "cpu", "--quiet", "--out-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert "the test split has no images; every class has a single image" in words
    assert "at least 2 images" in words


def test_a_tree_already_split_into_train_and_val_is_used_as_split(data_env: Path) -> None:
    root = data_env / "presplit"
    for split, counts in (("train", {"cat": 3, "dog": 2}), ("val", {"dog": 1})):
        for name, n in counts.items():
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                solid((6, 6), RED if name == "cat" else BLUE).save(root / split / name / f"{i}.png")
    (root / "__MACOSX" / "train").mkdir(parents=True)  # as unzipping a Mac's zip leaves
    with pytest.warns(DataWarning, match=r"val has no images of cat, which .*train trains "
                                         "on: the test accuracy leaves them out"):
        data = load_folder(root, image_size=4, progress=False)
    assert data.classes == ["cat", "dog"]  # not ["train", "val"]
    assert len(data.train.labels) == 5 and data.test.labels.tolist() == [1]  # dog
    assert (data.test.images[0, 2] > 250).all()  # the val image is the blue one
    assert "train from train/" in data.source and "test from val/" in data.source
    solid((6, 6), RED).save(root / "stray.png")  # beside the splits, in no class
    data, warned = load(root, image_size=4, val_fraction=0.3)
    assert len(data.train.labels) == 5 and len(data.test.labels) == 1  # its own split
    assert "already split into train/ and val/: val_fraction 0.3 is not used" in warned
    assert "ignored 1 image(s) outside any class folder" in warned and "stray.png" in warned
    (root / "stray.png").unlink()
    (root / "val" / "bird").mkdir()
    solid((6, 6), GREEN).save(root / "val" / "bird" / "0.png")
    with pytest.raises(FolderDatasetError, match="class folder.*lacks: bird"):
        load_folder(root, image_size=4, progress=False)
    lonely = data_env / "only-train"
    (lonely / "train" / "cat").mkdir(parents=True)
    solid((6, 6), RED).save(lonely / "train" / "cat" / "0.png")
    with pytest.raises(FolderDatasetError, match="only the split folder.*folder:.*train"):
        load_folder(lonely, image_size=4, progress=False)


def test_a_tree_split_into_val_and_test_says_which_it_leaves_out(data_env: Path) -> None:
    # test/ was ignored without a word: a user who put their held-out images there was
    # scored on val/.
    root = data_env / "three-way"
    for split, colour in (("train", RED), ("val", BLUE), ("test", GREEN)):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
            solid((6, 6), colour).save(root / split / name / "0.png")
    data, warned = load(root, image_size=4)
    assert (data.test.images[:, 2] > 250).all()  # val/'s blue images: val first, as before
    assert f"{root} is split into train/ and val/" in warned
    assert "test/ is not used. To score on test/ instead, move val/ out of" in warned


def test_a_folder_of_a_single_class_is_warned_about(data_env: Path) -> None:
    # `cnnlab data info` showed its table as for any dataset; only `train` refused it.
    root = data_env / "wrapped"
    for name, colour in (("cat", RED), ("dog", BLUE)):
        (root / "images" / name).mkdir(parents=True)  # one level too deep
        solid((6, 6), colour).save(root / "images" / name / "0.png")
        solid((6, 6), colour).save(root / "images" / name / "1.png")
    data, warned = load(root, image_size=4)
    assert data.classes == ["images"]
    assert f"{root} has a single class folder, images/" in warned
    assert "a classifier needs at least two" in warned
    assert f"its subfolders (cat, dog) look like the classes: give folder:{root / 'images'}" \
        in warned
    result = CliRunner().invoke(data_app, ["info", f"folder:{root}", "--image-size", "8"])
    assert result.exit_code == 0, result.output  # shown, and said
    assert "warning:" in result.stderr and "a classifier needs at least two" in " ".join(
        result.stderr.split())
    presplit = data_env / "presplit-one"
    for split in ("train", "val"):
        (presplit / split / "cat").mkdir(parents=True)
        solid((6, 6), RED).save(presplit / split / "cat" / "0.png")
    _, warned = load(presplit, image_size=4)
    assert f"{presplit / 'train'} has a single class folder, cat/" in warned
    assert "add a folder of images for each other class beside it" in warned
    two = data_env / "two"
    for name in ("cat", "dog"):
        (two / name).mkdir(parents=True)
        solid((6, 6), RED).save(two / name / "0.png")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two classes: nothing to say
        load_folder(two, image_size=4, progress=False)


def test_runs_with_different_seeds_are_scored_on_the_same_held_out_images(tree: Path) -> None:
    from cnnlab.train import TrainConfig
    from cnnlab.train.run import load_training_data

    with pytest.warns(DataWarning):  # the tree's unreadable file and empty folder
        splits = [load_training_data(TrainConfig(model="lenet_d2l", data=f"folder:{tree}",
                                                 resize=28, seed=seed)) for seed in (0, 7)]
    assert torch.equal(splits[0].test.images, splits[1].test.images)


def test_a_run_written_before_split_seed_keeps_the_split_it_trained_on(tmp_path: Path) -> None:
    import yaml

    from cnnlab.train import TrainConfig

    old = TrainConfig(model="lenet_d2l", data="folder:x", seed=7).to_dict()
    del old["split_seed"]  # as config.yaml files written before the field
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    assert TrainConfig.load(tmp_path / "config.yaml").split_seed == 7
    new = TrainConfig(model="lenet_d2l", data="folder:x", seed=7)
    new.save(tmp_path / "new.yaml")
    assert TrainConfig.load(tmp_path / "new.yaml").split_seed == 0


def test_symlinked_folders_inside_a_class_are_followed_once(data_env: Path) -> None:
    elsewhere = data_env / "photos" / "cats-2024"
    elsewhere.mkdir(parents=True)
    solid((6, 6), RED).save(elsewhere / "x.png")
    root = data_env / "linked"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        solid((6, 6), RED if name == "cat" else BLUE).save(root / name / "0.png")
        solid((6, 6), RED if name == "cat" else BLUE).save(root / name / "1.png")
    (root / "cat" / "2024").symlink_to(elsewhere, target_is_directory=True)
    (root / "cat" / "loop").symlink_to(root / "cat", target_is_directory=True)  # a cycle
    data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.train.labels.bincount().tolist() == [3, 2]  # x.png once, nothing twice


def test_a_linked_image_beside_its_target_is_one_image(data_env: Path) -> None:
    # A link to 0.png beside it had been a second image, which the split could hold out
    # for testing while training on the first.
    root = data_env / "links"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(2):
            solid((6, 6), RED if name == "cat" else BLUE).save(root / name / f"{i}.png")
    (root / "cat" / "copy-of-0.png").symlink_to(root / "cat" / "0.png")
    # Links that are no image of the folder's (hidden, no image extension) leave the image
    # in: the first version kept whichever name sorted first, then dropped it as hidden.
    (root / "dog" / ".thumbs").mkdir()
    (root / "dog" / ".thumbs" / "0.png").symlink_to(root / "dog" / "0.png")
    (root / "dog" / "0_latest").symlink_to(root / "dog" / "0.png")
    data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.train.labels.bincount().tolist() == [2, 2]
