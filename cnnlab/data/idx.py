"""The IDX file format (MNIST, Fashion-MNIST), read and written with full validation.

Layout: two zero bytes, a data-type code, the number of dimensions ``ndim``; then
``ndim`` big-endian uint32 sizes; then the values, big-endian, C order. Nothing
else in the file says how long it should be, so a truncated download or a file
with bytes appended still parses unless the reader checks the payload length
against the header -- this one does, and every failure raises
:class:`IdxFormatError` naming the file and what is wrong with it.

Files may be gzip-compressed (the ``.gz`` files as published) or raw.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from cnnlab.atomic import atomic_write_bytes
from cnnlab.data.dataset import DataError

# Data-type codes defined by the format; multi-byte values are big-endian.
IDX_DTYPES: dict[int, tuple[str, np.dtype]] = {
    0x08: ("unsigned byte", np.dtype(">u1")),
    0x09: ("signed byte", np.dtype(">i1")),
    0x0B: ("int16", np.dtype(">i2")),
    0x0C: ("int32", np.dtype(">i4")),
    0x0D: ("float32", np.dtype(">f4")),
    0x0E: ("float64", np.dtype(">f8")),
}
UINT8 = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(DataError, ValueError):
    """An IDX file is not what its header (or the caller) says it is."""


def _describe(code: int) -> str:
    name = IDX_DTYPES[code][0] if code in IDX_DTYPES else "unknown"
    return f"0x{code:02X} ({name})"


# The most bytes of values a header may declare (Fashion-MNIST's images: 47 MB).
MOST_BYTES = 8 << 30


def _read_bytes(path: Path) -> bytes:
    """The file's IDX bytes, decompressed when it is gzip data."""
    with open(path, "rb") as fh:
        is_gzip = fh.read(2) == _GZIP_MAGIC
    if path.suffix == ".gz" and not is_gzip:
        raise IdxFormatError(f"{path}: corrupt gzip stream: named .gz but not gzip data")
    if not is_gzip:
        return path.read_bytes()
    try:
        return _gunzip(path)
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a cut-off stream is an EOFError; a damaged
        # deflate block is a zlib.error. To the user they are the same problem.
        raise IdxFormatError(f"{path}: corrupt gzip stream: {exc}") from exc


def _gunzip(path: Path) -> bytes:
    """The header and as many values as it declares, decompressed; what follows them is
    counted, never held: a small .gz can expand to gigabytes (2 MB of zeros behind a
    valid header had filled 4.7 GB before the 'trailing bytes' error)."""
    with gzip.open(path) as stream:
        data = stream.read(4)
        if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_DTYPES:
            return data + stream.read(1 << 20)  # enough for _parse to say what is wrong
        data += stream.read(4 * data[3])
        if len(data) < 4 + 4 * data[3]:
            return data
        shape = np.frombuffer(data, ">u4", data[3], offset=4)
        declared = math.prod(int(d) for d in shape) * IDX_DTYPES[data[2]][1].itemsize
        if declared > MOST_BYTES:
            while stream.read(1 << 20):
                pass  # a damaged stream (most likely why) is said first, as ever
            raise IdxFormatError(f"{path}: the header declares {declared:,} bytes of values "
                                 f"(shape {tuple(int(d) for d in shape)}), more than an IDX "
                                 f"dataset holds ({MOST_BYTES >> 30} GiB at most here)")
        data += stream.read(declared)
        extra = 0
        while chunk := stream.read(1 << 20):
            extra += len(chunk)
    if extra:  # said as for a file read whole
        _check_length(path, tuple(int(d) for d in shape), IDX_DTYPES[data[2]][1].itemsize,
                      declared + extra)
    return data


def _parse(path: Path, data: bytes, dtype_code: int | None, ndim: int | None) -> np.ndarray:
    if len(data) < 4:
        raise IdxFormatError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(
            f"{path}: bad magic number 0x{data[:4].hex().upper()}: "
            "an IDX file starts with two zero bytes"
        )
    code, dims_count = data[2], data[3]
    if code not in IDX_DTYPES:
        valid = ", ".join(_describe(c) for c in IDX_DTYPES)
        raise IdxFormatError(f"{path}: unknown data type code 0x{code:02X} (valid: {valid})")
    if dtype_code is not None and code != dtype_code:
        raise IdxFormatError(
            f"{path}: wrong data type: expected {_describe(dtype_code)}, "
            f"header says {_describe(code)}"
        )
    if ndim is not None and dims_count != ndim:
        # Fashion-MNIST's images are 3-dimensional and its labels 1: the other count is
        # most likely the other file under this one's name.
        kind = {1: " (a labels file's: are the files' names swapped?)",
                3: " (an images file's: are the files' names swapped?)"}.get(dims_count, "")
        raise IdxFormatError(
            f"{path}: wrong number of dimensions: expected {ndim}, header says {dims_count}"
            f"{kind if ndim in (1, 3) else ''}"
        )
    header_len = 4 + 4 * dims_count
    if len(data) < header_len:
        raise IdxFormatError(
            f"{path}: truncated header: {dims_count} dimensions need {header_len} bytes, "
            f"file holds {len(data)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", dims_count, offset=4))
    dtype = IDX_DTYPES[code][1]
    _check_length(path, shape, dtype.itemsize, len(data) - header_len)
    values = np.frombuffer(data, dtype, math.prod(shape), offset=header_len).reshape(shape)
    # One copy, which also makes the array writable and native-endian (torch wants both).
    return values.astype(dtype.newbyteorder("="), copy=True)


def _check_length(path: Path, shape: tuple[int, ...], itemsize: int, payload: int) -> None:
    if not shape:  # a 0-d file holds one value
        shape = (1,)
    count = shape[0]
    item_bytes = math.prod(shape[1:]) * itemsize
    expected = count * item_bytes
    if payload < expected:
        held, partial = divmod(payload, item_bytes)
        tail = f" and {partial} bytes of the next" if partial else ""
        raise IdxFormatError(
            f"{path}: truncated: header says {count} items, file holds {held}{tail}"
        )
    if payload > expected:
        raise IdxFormatError(
            f"{path}: {payload - expected} trailing bytes after the {count} items "
            "the header declares"
        )


def read_idx(
    path: str | Path, *, dtype_code: int | None = None, ndim: int | None = None
) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a native-endian numpy array.

    Args:
        path: the file; gzip data is detected by content, and a ``.gz`` name must
            hold gzip data.
        dtype_code: when given, the header's type code must equal it (0x08 for uint8).
        ndim: when given, the header's number of dimensions must equal it.

    Raises:
        IdxFormatError: bad magic, unknown or unexpected type code, unexpected number
            of dimensions, truncated or over-long payload, corrupt gzip stream.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    return _parse(path, _read_bytes(path), dtype_code, ndim)


def read_idx_images(path: str | Path) -> np.ndarray:
    """uint8 images, shape (N, H, W)."""
    return read_idx(path, dtype_code=UINT8, ndim=3)


def read_idx_labels(path: str | Path, num_classes: int | None = None) -> np.ndarray:
    """uint8 labels, shape (N,); with ``num_classes`` each must lie in 0..num_classes-1."""
    labels = read_idx(path, dtype_code=UINT8, ndim=1)
    if num_classes is not None:
        bad = np.flatnonzero(labels >= num_classes)
        if bad.size:
            first = int(bad[0])
            raise IdxFormatError(
                f"{path}: label out of range: item {first} has label {int(labels[first])}, "
                f"expected 0..{num_classes - 1} ({bad.size} such items)"
            )
    return labels


def read_idx_pair(
    images_path: str | Path, labels_path: str | Path, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) from two IDX files that must agree on N."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path, num_classes)
    if len(images) != len(labels):
        raise IdxFormatError(
            f"{images_path}: count mismatch: holds {len(images)} images but "
            f"{labels_path} holds {len(labels)} labels"
        )
    return images, labels


def _code_for(dtype: np.dtype) -> int:
    for code, (_, idx_dtype) in IDX_DTYPES.items():
        if idx_dtype.kind == dtype.kind and idx_dtype.itemsize == dtype.itemsize:
            return code
    valid = ", ".join(str(d.newbyteorder("=")) for _, d in IDX_DTYPES.values())
    raise ValueError(f"IDX cannot store dtype {dtype}; it stores {valid}")


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes (uncompressed) of an array."""
    array = np.asarray(array)
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    code = _code_for(array.dtype)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, IDX_DTYPES[code][1]).tobytes()


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file at ``path``, gzip-compressed when the name ends in
    ``.gz``."""
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        # mtime=0 keeps the output byte-identical for identical input.
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(path, lambda tmp: Path(tmp).write_bytes(data))
