"""The data layer's files, where the other tests leave them unpinned: a $CNNLAB_DATA
that does not exist is told how to fill it, and a written .gz is byte-identical for
identical arrays."""

from __future__ import annotations

import gzip
import warnings

import numpy as np

from cnnlab.data import fashion_mnist as fm
from cnnlab.data.idx import read_idx, write_idx


def test_a_cnnlab_data_folder_not_made_yet_is_told_how_to_fill_it(data_env, tiny_fashion,
                                                                  monkeypatch) -> None:
    # Set before the first download, which went to the cache: the folder was never made.
    absent = data_env / "datasets" / "fashion"
    tiny_fashion(data_env / "cache" / "fashion-mnist")
    monkeypatch.setenv(fm.ENV_VAR, str(absent))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fm.locate().origin == "cnnlab cache"
    said = [str(w.message) for w in caught if "$CNNLAB_DATA" in str(w.message)]
    assert len(said) == 1 and f"({absent}) is passed over: does not exist" in said[0], said
    assert f"cnnlab data download --root {absent})" in said[0], said


def test_a_gz_written_twice_is_the_same_bytes(tmp_path, monkeypatch) -> None:
    # The gzip header's time stamp is zero: a written file's md5 depends on its content
    # alone (the published archives' md5s are checked the same way).
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte.gz", array)
    first = (tmp_path / "a-idx3-ubyte.gz").read_bytes()
    assert first[4:8] == bytes(4)  # MTIME
    monkeypatch.setattr(gzip.time, "time", lambda: 1_700_000_000.0)
    write_idx(tmp_path / "b-idx3-ubyte.gz", array)
    assert (tmp_path / "b-idx3-ubyte.gz").read_bytes() == first
    assert np.array_equal(read_idx(tmp_path / "b-idx3-ubyte.gz"), array)
