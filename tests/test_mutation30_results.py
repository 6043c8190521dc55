"""How bench rows are stored (cnnlab.bench.results), on small hand-made rows: what JSON
cannot hold, the columns a CSV keeps, and the machine columns each CSV row carries."""

from __future__ import annotations

import csv
import json
import math

from cnnlab.bench import results


def test_infinities_and_nans_in_tuples_are_written_as_null_too():
    # A speed over zero seconds is inf; rows may hold tuples (a shape, a pair of numbers).
    safe = results.json_safe({"speed": math.inf, "slow": -math.inf, "pair": (1.5, math.nan)})
    assert safe == {"speed": None, "slow": None, "pair": [1.5, None]}
    json.dumps(safe, allow_nan=False)


def test_a_csv_leaves_out_the_columns_asked_even_when_named(tmp_path):
    path = tmp_path / "rows.csv"
    results.write_csv(path, [{"a": 1, "trace": "long", "b": 2}], leave_out=["trace"],
                      columns=["a", "trace", "b"])
    assert path.read_text(encoding="utf-8").splitlines() == ["a,b", "1,2"]


def _fake_environment(device="cpu", threads=None):
    return {"torch_threads": threads if threads is not None else 99, "torch": "9.9",
            "cnnlab": "0.0", "date": "2026-12-07", "cuda": "12.8", "device": device}


def _read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_cpu_row_names_no_cuda_and_the_threads_it_timed_with(tmp_path, monkeypatch):
    # The torch build's CUDA version says nothing of a timing on the CPU; the threads are
    # the bench's own, not the machine's core count.
    monkeypatch.setattr(results, "bench_environment", _fake_environment)
    path = tmp_path / "ops.CSV"  # the suffix in any case
    results.write_rows(path, [{"op": "conv", "ms": 1.5}], device="cpu", threads=7)
    (row,) = _read(path)
    assert row["cuda"] == "" and row["torch_threads"] == "7"
    assert list(row) == ["op", "ms", *results.MACHINE_COLUMNS]


def test_a_row_holding_a_machine_column_keeps_it_once_at_the_end(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "bench_environment", _fake_environment)
    path = tmp_path / "ops.csv"
    results.write_rows(path, [{"date": "old", "op": "conv"}], device="cpu")
    (row,) = _read(path)
    assert list(row) == ["op", *results.MACHINE_COLUMNS]
    assert row["date"] == "2026-12-07"
