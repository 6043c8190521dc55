"""A summary as a notebook shows it: the table, in text or HTML, never the dataclass dump."""

from __future__ import annotations

import io
import re

import pytest
import torch
from rich.console import Console

from cnnlab.inspect import summary
from cnnlab.models import get_model


@pytest.fixture(scope="module")
def lenet_summary():
    model = get_model("lenet_d2l")
    model.cnnlab_name = "lenet<d2l>"  # HTML must escape what it shows
    return summary(model, (1, 28, 28), depth=1)


def test_repr_is_the_table(lenet_summary):
    text = repr(lenet_summary)
    assert text == str(lenet_summary)
    assert "LayerRow(" not in text
    assert "Total" in text and lenet_summary.flow_str() in text


def test_the_text_is_a_string_in_a_notebook_too(lenet_summary, monkeypatch):
    # rich saw Jupyter and sent the table to the notebook's display: str() was ''.
    import rich.console

    from cnnlab.formatting import rich_as_text

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    assert Console().is_jupyter  # the stand-in works
    text = str(lenet_summary)
    assert "Total" in text and lenet_summary.flow_str() in text
    assert rich_as_text("a", "[b]bold[/b]") == "a\nbold"


def test_html_is_a_table_with_a_row_per_layer_and_the_totals(lenet_summary):
    page = lenet_summary._repr_html_()
    assert page.startswith("<table><caption>lenet&lt;d2l&gt;  ·  input 1x28x28")
    body = re.search(r"<tbody>(.*)</tbody>", page).group(1)
    assert body.count("<tr>") == len(lenet_summary.rows) == 2
    assert ">features<" in body and ">classifier<" in body
    assert re.search(r"<tfoot>.*>Total<.*>61\.7K<.*</tfoot>", page)  # format_count's
    assert ">Parameters</th>" in page and "61,706 (61,706 trainable)" in page


def test_rich_renders_the_same_table(lenet_summary):
    buf = io.StringIO()
    Console(file=buf, width=200, no_color=True).print(lenet_summary)
    assert "classifier" in buf.getvalue() and "LayerRow(" not in buf.getvalue()


def test_memory_is_quoted_in_binary_units_as_bench_memory_quotes_it(lenet_summary):
    # The summary's training activations are the bytes `bench memory` counts (one
    # counter): it wrote them in kB and MB, the bench (and BENCHMARKS.md) in MiB.
    from cnnlab.formatting import format_bytes

    assert [format_bytes(n) for n in (999, 1_536, int(2.5 * 2**20), 3 * 2**30)] == [
        "999 B", "1.50 KiB", "2.50 MiB", "3.00 GiB"]
    text = str(lenet_summary)
    assert "KiB" in text and " kB" not in text and " MB" not in text


def test_a_module_run_more_than_once_says_so_beside_its_summed_activations():
    from cnnlab import get_model, summary

    rows = {cells[0].strip(): cells for _, cells in
            summary(get_model("resnet18", num_classes=10), (3, 32, 32)).table_cells()[1]}
    assert rows["layer1.0.relu"][1] == "ReLU (2 calls)"  # after bn1, and after the add
    assert rows["layer1.0.conv1"][1] == "Conv2d"


def test_a_registered_model_names_its_source_and_a_module_of_ones_own_does_not():
    # The registry has kept each network's paper since the first session; nothing showed it.
    s = summary(get_model("resnet18_d2l", in_channels=1), (1, 96, 96))
    assert dict(s.totals_lines())["Source"] == ("He et al. 2016, Deep Residual Learning for "
                                                "Image Recognition; as Dive into Deep Learning "
                                                "8.6 builds it")
    assert s.to_dict()["source"] == s.source and "Deep Residual Learning" in s._repr_html_()
    plain = summary(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), (1, 8, 8))
    assert "Source" not in dict(plain.totals_lines()) and plain.source == ""


def test_a_narrow_console_gets_whole_shapes_and_is_told_what_was_left_out():
    # At 80 columns rich had folded every shape into a column of numbers ("[1," / "64,").
    result = summary(get_model("resnet18_d2l"), (1, 96, 96), depth=2)
    buf = io.StringIO()
    Console(file=buf, width=80, no_color=True).print(result)
    text = buf.getvalue()
    table = text.split("Parameters ")[0]
    assert all(len(line.rstrip()) <= 80 for line in table.splitlines()), text
    assert re.search(r"stages\.b2 +Sequential +\[1, 64, 24, 24\] +148K +84\.9M", table), text
    assert "not shown at 80 columns: Activations" in text
    wide = io.StringIO()
    Console(file=wide, width=200, no_color=True).print(result)
    assert "not shown" not in wide.getvalue() and "Activations" in wide.getvalue()
