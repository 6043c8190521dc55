"""`cnnlab summary --latex`: the layer table and totals as booktabs tables that pdflatex
compiles as they are. (No TeX here: the output is checked for what breaks a compile.)"""

from __future__ import annotations

import re
from collections import OrderedDict

from torch import nn
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.inspect import summary

runner = CliRunner()


def _compiles(latex: str) -> None:
    """What pdflatex chokes on: non-ASCII, an unescaped special character, unbalanced
    braces, a row with another number of cells than its tabular has columns."""
    assert latex.isascii(), latex
    body = "\n".join(line for line in latex.splitlines() if not line.startswith("%"))
    unescaped = re.findall(r"(?<!\\)[_%#&$]", re.sub(r"\$\\[a-z]+\$", "", body))
    # Left: only the column separators "&" of the tabulars' rows.
    assert set(unescaped) <= {"&"}, unescaped
    assert body.count("{") - body.count(r"\{") == body.count("}") - body.count(r"\}")
    for spec, rows in re.findall(r"\\begin\{tabular\}\{(.*?)\}\n(.*?)\\end\{tabular\}",
                                 body, flags=re.S):
        columns = len(re.findall(r"[lrc]|p\{[^}]*\}", spec))
        for row in rows.splitlines():
            if row.endswith(r"\\"):
                assert len(re.findall(r"(?<!\\)&", row)) == columns - 1, row


def test_cli_summary_latex_gives_booktabs_tables_with_the_total_under_a_rule():
    result = runner.invoke(app, ["summary", "lenet_d2l", "--latex"], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    latex = result.output
    _compiles(latex)
    assert latex.startswith("% cnnlab summary lenet_d2l: needs \\usepackage{booktabs}")
    assert r"\textbf{lenet\_d2l  $\cdot$  input 1x28x28" in latex
    assert r"\begin{tabular}{lllrrr}" in latex  # every column: a slide is not a terminal
    assert r"features.0 & Conv2d & [1, 6, 28, 28] & 156 & 118K & 18.4 KiB \\" in latex
    assert ("\\midrule\n\\textbf{Total} &  &  & \\textbf{61.7K} & \\textbf{417K} & "
            "\\textbf{57.0 KiB} \\\\\n\\bottomrule") in latex
    # The totals' words wrap: GoogLeNet's flow line is 250 characters long.
    assert r"\begin{tabular}{lp{0.62\linewidth}}" in latex
    assert r"1x28x28 $\rightarrow$ 6x14x14 $\rightarrow$" in latex


def test_latex_escapes_what_layer_names_may_hold():
    net = nn.Sequential(OrderedDict([("conv_1", nn.Conv2d(1, 2, 3)), ("50%", nn.ReLU()),
                                     ("a&b", nn.Flatten()), ("#3", nn.Linear(8, 2))]))
    latex = summary(net, (1, 4, 4)).to_latex()
    _compiles(latex)
    for escaped in (r"conv\_1 & Conv2d", r"50\% & ReLU", r"a\&b & Flatten", r"\#3 & Linear"):
        assert escaped in latex


def test_latex_is_one_format_among_json_and_markdown():
    for other in ("--json", "--markdown"):
        result = runner.invoke(app, ["summary", "lenet_d2l", "--latex", other])
        assert result.exit_code == 2 and "give one of them" in result.output, result.output
