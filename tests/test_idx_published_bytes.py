"""IDX files built byte by byte as the format publishes them, read as their bytes say;
damaged headers refused naming the file (mutation7, s36)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data.idx import IdxFormatError, read_idx, read_idx_labels

# Every multi-byte type code of the format, its struct letter, and values that tell the
# byte orders apart.
TYPES = [(0x0B, "h", [1, -2, 300]), (0x0C, "i", [1, -2, 70000]),
         (0x0D, "f", [1.5, -2.25, 3e5]), (0x0E, "d", [1.5, -2.25, 3e100])]


@pytest.mark.parametrize("name", ["v-idx1", "v-idx1.gz"])
@pytest.mark.parametrize("code, letter, values", TYPES)
def test_big_endian_values_of_every_type_read_as_written(tmp_path: Path, name, code, letter,
                                                         values):
    data = bytes([0, 0, code, 1]) + struct.pack(">I", 3) + struct.pack(f">3{letter}", *values)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    back = read_idx(path)
    assert back.shape == (3,) and back.dtype.isnative
    np.testing.assert_array_equal(back, values)


@pytest.mark.parametrize("start", [b"\x00\x01", b"\x00\xff", b"\x01\x00"])
def test_either_nonzero_magic_byte_is_refused_naming_the_file(tmp_path: Path, start):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(start + bytes([0x08, 1]) + struct.pack(">I", 2) + b"\x01\x02")
    with pytest.raises(IdxFormatError, match="t10k-labels-idx1-ubyte: bad magic number"):
        read_idx_labels(path)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x08"])
def test_a_file_shorter_than_a_header_is_refused_naming_the_file(tmp_path: Path, data):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IdxFormatError, match=f"labels-idx1-ubyte: too short for an IDX header "
                                             f"\\({len(data)} bytes\\)"):
        read_idx(path)


@pytest.mark.parametrize("cut", [1, 2])
def test_a_file_a_byte_or_two_short_says_how_many_items_it_holds(tmp_path: Path, cut):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes((bytes([0, 0, 0x08, 1]) + struct.pack(">I", 5) + bytes(5))[:-cut])
    with pytest.raises(IdxFormatError, match=f"train-labels-idx1-ubyte: truncated: header says "
                                             f"5 items, file holds {5 - cut}$"):
        read_idx_labels(path)


@pytest.mark.parametrize("name", ["x-idx1", "x-idx1.gz"])
def test_an_unknown_type_code_is_refused_by_name_raw_or_gzip(tmp_path: Path, name):
    data = bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 2) + b"\x01\x02"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(IdxFormatError, match=f"{name}: unknown data type code 0x0A"):
        read_idx(path)
