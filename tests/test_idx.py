"""The IDX reader: round trips, agreement with torchvision, and one specific error per defect."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from cnnlab.data import DataError
from cnnlab.data.idx import (
    IdxFormatError,
    encode_idx,
    read_idx,
    read_idx_images,
    read_idx_labels,
    read_idx_pair,
    write_idx,
)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
@pytest.mark.parametrize(
    "array",
    [
        RNG.integers(0, 256, (7, 5, 3), dtype=np.uint8),
        RNG.integers(-128, 128, (4,), dtype=np.int8),
        RNG.integers(-(2**15), 2**15, (3, 2), dtype=np.int16),
        RNG.integers(-(2**31), 2**31, (2, 2, 2, 2), dtype=np.int32),
        RNG.standard_normal((6, 4)).astype(np.float32),
        RNG.standard_normal((5,)).astype(np.float64),
        np.zeros((0, 28, 28), np.uint8),
    ],
    ids=["uint8", "int8", "int16", "int32", "float32", "float64", "empty"],
)
def test_round_trip(tmp_path: Path, name: str, array: np.ndarray) -> None:
    path = tmp_path / name
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable  # torch.from_numpy needs a writable array
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_header_layout_is_the_published_one() -> None:
    data = encode_idx(np.arange(6, dtype=np.int32).reshape(2, 3))
    # zero, zero, type 0x0C (int32), 2 dims; sizes 2 and 3 big-endian; values big-endian.
    assert data[:12] == bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    assert data[12:16] == bytes([0, 0, 0, 0]) and data[-4:] == bytes([0, 0, 0, 5])


def test_agrees_with_torchvision_reader(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, (9, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, 9, dtype=np.uint8)
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", labels)
    ours_images, ours_labels = read_idx_pair(tmp_path / "images", tmp_path / "labels", 10)
    assert torch.equal(torch.from_numpy(ours_images), read_image_file(str(tmp_path / "images")))
    assert torch.equal(
        torch.from_numpy(ours_labels).long(), read_label_file(str(tmp_path / "labels"))
    )


def test_raw_file_holding_gzip_data_is_read(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "labels").write_bytes(gzip.compress(encode_idx(labels)))
    np.testing.assert_array_equal(read_idx_labels(tmp_path / "labels", 10), labels)


# --------------------------------------------------------------------------- defects


def labels_bytes(n: int = 10) -> bytes:
    return encode_idx((np.arange(n) % 10).astype(np.uint8))


def images_bytes(n: int = 10) -> bytes:
    return encode_idx(np.zeros((n, 4, 4), np.uint8))


def expect_error(path: Path, data: bytes, reader, *fragments: str) -> IdxFormatError:
    path.write_bytes(data)
    with pytest.raises(IdxFormatError) as info:
        reader(path)
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message
    return info.value


def test_bad_magic(tmp_path: Path) -> None:
    data = b"\x01" + labels_bytes()[1:]
    expect_error(tmp_path / "l-idx1-ubyte", data, read_idx_labels, "bad magic number 0x01000801")


def test_unknown_dtype_code(tmp_path: Path) -> None:
    data = bytearray(labels_bytes())
    data[2] = 0x07
    expect_error(tmp_path / "l", bytes(data), read_idx, "unknown data type code 0x07")


def test_wrong_dtype_for_images(tmp_path: Path) -> None:
    data = encode_idx(np.zeros((2, 4, 4), np.float32))
    expect_error(
        tmp_path / "i", data, read_idx_images, "wrong data type", "0x08", "header says 0x0D"
    )


def test_wrong_ndim(tmp_path: Path) -> None:
    # the other file under this one's name, most likely: said so
    expect_error(tmp_path / "l", labels_bytes(), read_idx_images, "expected 3, header says 1 "
                 "(a labels file's: are the files' names swapped?)")
    expect_error(tmp_path / "i", images_bytes(), read_idx_labels, "expected 1, header says 3 "
                 "(an images file's: are the files' names swapped?)")


def test_truncated_payload_message_counts_items(tmp_path: Path) -> None:
    data = labels_bytes(10000)[: 8 + 9000]
    path = tmp_path / "t10k-labels-idx1-ubyte"
    expect_error(path, data, read_idx_labels, "truncated: header says 10000 items, file holds 9000")


def test_truncated_gz_payload_names_the_gz_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = gzip.compress(labels_bytes(10000)[: 8 + 9000])
    error = expect_error(path, data, read_idx_labels)
    assert str(error) == f"{path}: truncated: header says 10000 items, file holds 9000"


def test_truncated_within_an_item(tmp_path: Path) -> None:
    data = images_bytes(3)[:-5]  # 16 bytes per image: 2 whole and 11 bytes of the third
    expect_error(tmp_path / "i", data, read_idx_images, "holds 2 and 11 bytes of the next")


def test_truncated_header(tmp_path: Path) -> None:
    expect_error(tmp_path / "i", images_bytes()[:9], read_idx_images, "truncated header")
    expect_error(tmp_path / "j", b"\x00\x00", read_idx_images, "too short")


def test_trailing_bytes(tmp_path: Path) -> None:
    data = labels_bytes() + b"\x00" * 5
    expect_error(tmp_path / "l", data, read_idx_labels, "5 trailing bytes after the 10 items")


def test_label_out_of_range(tmp_path: Path) -> None:
    labels = (np.arange(10) % 10).astype(np.uint8)
    labels[3] = 10
    labels[7] = 200
    expect_error(
        tmp_path / "l",
        encode_idx(labels),
        lambda p: read_idx_labels(p, num_classes=10),
        "label out of range: item 3 has label 10, expected 0..9 (2 such items)",
    )
    # Without num_classes the same file is fine.
    assert read_idx_labels(tmp_path / "l")[7] == 200


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "imgs").write_bytes(images_bytes(10))
    (tmp_path / "lbls").write_bytes(labels_bytes(9))
    with pytest.raises(IdxFormatError, match="count mismatch") as info:
        read_idx_pair(tmp_path / "imgs", tmp_path / "lbls", 10)
    assert "imgs" in str(info.value) and "lbls" in str(info.value)
    assert "10 images" in str(info.value) and "9 labels" in str(info.value)


@pytest.mark.parametrize(
    "damage",
    [
        lambda gz: gz[: len(gz) // 2],  # cut off: stream ends early
        lambda gz: gz[:20] + bytes(b ^ 0xFF for b in gz[20:40]) + gz[40:],  # bad deflate data
        lambda gz: gz[:-8] + b"\x00" * 8,  # CRC and length trailer wrong
        lambda gz: b"not gzip at all",  # named .gz but is not gzip
    ],
    ids=["cut", "flipped", "crc", "not-gzip"],
)
def test_corrupt_gzip(tmp_path: Path, damage) -> None:
    good = gzip.compress(encode_idx(RNG.integers(0, 256, (50, 8, 8), dtype=np.uint8)))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    expect_error(path, damage(good), read_idx_images, "corrupt gzip stream")


def test_a_gzip_bomb_is_refused_without_being_held(tmp_path: Path) -> None:
    # 2 MB of gzip behind a valid header held 2 GiB of zeros: decompressed whole, it had
    # filled 4.7 GB before the error. Now what follows the declared values is counted.
    import tracemalloc

    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb") as out:
        out.write(encode_idx(np.zeros(10, np.uint8)))
        for _ in range(64):
            out.write(bytes(1 << 20))  # 64 MiB of zeros after the 10 labels
    tracemalloc.start()
    try:
        with pytest.raises(IdxFormatError, match=f"{64 << 20} trailing bytes after the 10"):
            read_idx_labels(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    with gzip.open(path, "wb") as out:  # 65,536 cubed bytes declared: refused, not read
        out.write(bytes([0, 0, 0x08, 3]) + (1 << 16).to_bytes(4, "big") * 3)
    with pytest.raises(IdxFormatError, match="more than an IDX dataset holds"):
        read_idx(path)


def test_error_is_value_error_and_data_error(tmp_path: Path) -> None:
    error = expect_error(tmp_path / "l", b"\x01\x02\x03\x04", read_idx)
    assert isinstance(error, ValueError) and isinstance(error, DataError)


def test_write_idx_refuses_unstorable_dtype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot store dtype"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))
