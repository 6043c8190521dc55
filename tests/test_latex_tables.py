"""cnnlab's Markdown tables as LaTeX (python -m cnnlab.latex_tables): what pdflatex needs
escaped is escaped, the symbols cnnlab prints become LaTeX's, columns keep their
alignment. (No TeX here to compile with: the output is checked for what breaks a compile.)"""

from __future__ import annotations

import subprocess
import sys

from cnnlab.formatting import markdown_table
from cnnlab.latex_tables import escape, markdown_to_latex

SUMMARY_MD = (
    "**lenet_d2l  ·  input 1x28x28  ·  batch 1  ·  float32**\n\n"
    + markdown_table(["Layer", "Type", "Output shape", "Params"],
                     [["features.0", "Conv2d", "[1, 6, 28, 28]", "156"],
                      ["**Total**", "", "", "**61.7K**"]], right=("Params",))
    + "\n" + markdown_table(["Totals", ""], [["Resolution flow", "1x28x28 → 6x14x14 → 10"]]))


def test_a_summary_becomes_booktabs_tables_in_ascii():
    latex = markdown_to_latex(SUMMARY_MD)
    assert latex.isascii()  # pdflatex without inputenc tricks: no →, no ·
    assert r"\begin{tabular}{lllr}" in latex and r"\begin{tabular}{ll}" in latex
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert r"\textbf{lenet\_d2l  $\cdot$  input 1x28x28" in latex
    assert r"features.0 & Conv2d & [1, 6, 28, 28] & 156 \\" in latex
    assert r"\textbf{Total} &  &  & \textbf{61.7K} \\" in latex
    assert r"1x28x28 $\rightarrow$ 6x14x14 $\rightarrow$ 10" in latex
    assert "|" not in latex and "**" not in latex


def test_special_characters_are_escaped_and_a_pipe_stays_in_its_cell():
    # A failed zoo model's error message holding "|" (markdown_table escapes it as \|),
    # and a class folder called "$5 & 10% off_#1".
    md = markdown_table(["model", "test acc"], [["lenet", "failed: a | b"],
                                                 ["$5 & 10% off_#1", "91.2% †"]])
    latex = markdown_to_latex(md)
    assert r"lenet & failed: a \textbar{} b \\" in latex
    assert r"\$5 \& 10\% off\_\#1 & 91.2\% \dag{} \\" in latex
    assert escape("a{b}~c^d\\e") == (r"a\{b\}\textasciitilde{}c\textasciicircum{}d"
                                     r"\textbackslash{}e")


def test_a_row_starting_with_a_bracket_is_not_read_as_the_rows_spacing():
    # "\\ [1, 6]" is LaTeX's \\[length]: the compile fails on "1, 6".
    latex = markdown_to_latex(markdown_table(["shape", "n"], [["[1, 6]", "2"]]))
    assert r"{}[1, 6] & 2 \\" in latex


def test_headings_lists_and_paragraphs_come_along():
    md = "## Notes\n\n- Error: top-1 `test` error.\n- KS D: 50% of it\n\nA paragraph."
    latex = markdown_to_latex(md)
    assert latex.splitlines() == [
        r"\subsection*{Notes}", "", r"\begin{itemize}",
        r"  \item Error: top-1 \texttt{test} error.", r"  \item KS D: 50\% of it",
        r"\end{itemize}", "", "A paragraph."]


def test_the_module_runs_on_a_file_and_on_standard_input(tmp_path):
    md = tmp_path / "zoo-book.md"
    md.write_text(markdown_table(["model", "acc"], [["lenet_bn", "88.5%"]]), encoding="utf-8")
    command = [sys.executable, "-m", "cnnlab.latex_tables"]
    from_file = subprocess.run([*command, str(md)], capture_output=True, text=True,
                               encoding="utf-8", check=True).stdout
    piped = subprocess.run(command, input=md.read_text(encoding="utf-8"), capture_output=True,
                           text=True, encoding="utf-8", check=True).stdout
    assert from_file == piped and r"lenet\_bn & 88.5\% \\" in from_file
    missing = subprocess.run([*command, str(tmp_path / "none.md")], capture_output=True,
                             text=True, encoding="utf-8")
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_file_not_in_utf8_and_a_dash_for_standard_input(tmp_path, monkeypatch, capsys):
    # A Latin-1 file ended in a traceback, and "-" was opened as a file named "-".
    import io
    import sys

    from cnnlab.latex_tables import main

    latin = tmp_path / "t.md"
    latin.write_bytes("| a | b |\n|---|---|\n| caf\xe9 | 1 |\n".encode("latin-1"))
    assert main([str(latin)]) == 1
    assert "is not UTF-8 text" in capsys.readouterr().err
    piped = io.TextIOWrapper(io.BytesIO(b"| a | b |\n|---|---|\n| x | 1 |\n"), encoding="ascii")
    monkeypatch.setattr(sys, "stdin", piped)
    assert main(["-"]) == 0
    assert "\\toprule" in capsys.readouterr().out
