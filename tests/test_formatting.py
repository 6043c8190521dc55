"""cnnlab.formatting: one way to write a count and a size in bytes, everywhere."""

from __future__ import annotations

import pytest

from cnnlab.formatting import counted, format_bytes, format_count


@pytest.mark.parametrize("n, count", [
    (0, "0"),
    (999, "999"),
    (1_000, "1.00K"),
    (45_300, "45.3K"),  # summary's own formatter wrote 45.30K beside 45.3K
    (99_960, "100K"),
    (999_999, "1.00M"),  # and 1000.00K
    (2_410_000, "2.41M"),
    (3_000_000_000, "3.00G"),
])
def test_counts_have_three_significant_figures_and_never_1000_of_a_unit(n, count):
    assert format_count(n) == count


@pytest.mark.parametrize("n, size", [
    (0, "0 B"),
    (999, "999 B"),
    (1_024, "1.00 KiB"),
    (46_387, "45.3 KiB"),
    (2**20 - 100, "1.00 MiB"),  # not 1024 KiB
    # 1000 to 1023 of a unit: the next, to three figures, not four digits of this one.
    (1_000, "0.977 KiB"),
    (1_023, "0.999 KiB"),
    (999 * 2**10, "999 KiB"),
    (1_023 * 2**10, "0.999 MiB"),
    (1_000 * 2**20, "0.977 GiB"),
    (int(2.5 * 2**20), "2.50 MiB"),
    (3 * 2**30, "3.00 GiB"),
])
def test_bytes_are_in_binary_units_as_every_measured_memory_number(n, size):
    # `cnnlab summary` wrote decimal kB and MB, `bench memory`, `data info`, the peak
    # memory and BENCHMARKS.md MiB: one model's saved activations read two numbers.
    assert format_bytes(n) == size


def test_summary_and_models_write_counts_as_the_design_report_does(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app
    from cnnlab.inspect import summary
    from cnnlab.models import get_model

    # A linear layer of 999,999 parameters: 1000.00K in `summary` and `models` before.
    net = torch_linear(999_999)
    result = summary(net, (1, 1, 1))
    _, rows, footer = result.table_cells()
    linear = next(cells for _, cells in rows if cells[1] == "Linear")
    assert footer[3] == "1.00M" and linear[3] == "1.00M"
    assert dict(result.totals_lines())["MACs"].startswith("1.00M (999,999)")
    lenet = summary(get_model("lenet_d2l"), (1, 28, 28))
    assert lenet.table_cells()[2][3] == "61.7K"  # 61,706 parameters, not 61.71K

    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    listed = CliRunner().invoke(app, ["models", "lenet_d2l"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "61.7K" in listed.output and "61.71K" not in listed.output


def torch_linear(params: int):
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(1, params, bias=False))


def test_a_column_named_twice_among_those_to_leave_out_is_left_out_once():
    # bench throughput names its empty columns first and again later: at 30 columns its
    # caption had read "note, peak MiB, ..., peak MiB, note".
    from cnnlab.formatting import columns_left_out

    header = ["model", "img/s", "note", "peak MiB"]
    rows = [["a_rather_long_model_name", "1,000", "", "n/a"]]
    left = columns_left_out(header, rows, 20, ["note", "peak MiB", "img/s", "peak MiB", "note"])
    assert left == ["note", "peak MiB", "img/s"]


@pytest.mark.parametrize("n, words", [(0, "0 epochs"), (1, "1 epoch"), (2, "2 epochs")])
def test_a_count_of_one_is_singular(n, words):
    # The speedrun said "lenet_modern, 1 epochs".
    assert counted(n, "epoch") == words


def test_a_table_too_wide_keeps_its_first_column_and_fits():
    # Left to rich, a table too wide shrank every column alike: with enough columns its
    # first, what each row is, went down to nothing (`cnnlab compare`, `cnnlab models`).
    from cnnlab.formatting import FOLDED_WIDTH, fitted_widths, narrowest_widths, table_width

    header = ["setting", *(f"20261206-0500{i:02d}-lenet_bn_d2l" for i in range(9))]
    rows = [[key, *["0.0005"] * 9] for key in ("label_smoothing", "weight_decay", "lr")]
    widths = fitted_widths(header, rows, 160)
    assert widths[0] == narrowest_widths(header, rows)[0] == len("label_smoothing")
    assert table_width(widths) <= 160 and min(widths[1:]) >= FOLDED_WIDTH
    # The first gives way only once the others are down to FOLDED_WIDTH or their own.
    header, rows = ["a_long_first_column", "b", "other column"], [["x", "y", "z"]]
    assert fitted_widths(header, rows, 30) == [13, 1, 6]
    assert fitted_widths(header, rows, 23) == [FOLDED_WIDTH, 1, 6]


def test_a_table_too_wide_is_split_into_parts_as_even_as_fit():
    from cnnlab.formatting import column_groups, narrowest_widths, table_width

    header = ["setting", *(f"run-{i}-{'x' * 24}" for i in range(9))]
    rows = [["lr", *["0.1"] * 9]]
    groups = column_groups(header, rows, 160)
    assert [len(g) - 1 for g in groups] == [3, 3, 3]  # not 4, 4 and 1
    assert all(g[0] == 0 for g in groups)
    assert [i for g in groups for i in g[1:]] == list(range(1, 10))
    narrowest = narrowest_widths(header, rows)
    assert all(table_width([narrowest[i] for i in g]) <= 160 for g in groups)
    assert column_groups(header, rows, 400) == [list(range(10))]
    assert column_groups(header, rows, None) == [list(range(10))]


def test_a_number_as_typed_keeps_the_digits_a_difference_needs():
    # ":g" printed both 0.1 and 0.10000001 as "0.1": a refusal read "--lr 0.1 vs 0.1".
    from cnnlab.formatting import number_as_typed

    assert [number_as_typed(v) for v in (30.0, 0.1, 1e-5, 3, None)] == \
        ["30", "0.1", "1e-05", "3", "None"]
    assert number_as_typed(0.10000001) != number_as_typed(0.1)
