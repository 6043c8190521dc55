"""A notebook's summary written for slides, as `cnnlab summary --markdown / --latex`."""

import re

from cnnlab import summary


def test_a_summary_from_python_gives_the_markdown_and_latex_the_cli_prints():
    s = summary("lenet_d2l")
    md = s.to_markdown()
    assert md.startswith("**lenet_d2l  ·  input 1x28x28")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert all(row.count("|") == rows[0].count("|") for row in rows[:13])  # the layers
    assert "| features.0 | Conv2d | [1, 6, 28, 28] | 156 | 118K | 18.4 KiB |" in md
    assert "| **Total** |  |  | **61.7K** | **417K** |" in md
    tex = s.to_latex()
    assert tex.startswith("% cnnlab summary lenet_d2l: needs \\usepackage{booktabs}")
    assert "\\textbf{lenet\\_d2l" in tex and "416,520" in tex
    body = re.sub(r"\\[{}]", "", tex)
    assert body.count("{") == body.count("}")
    assert s._repr_html_().startswith("<table><caption>lenet_d2l")
