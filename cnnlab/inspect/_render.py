"""A :class:`~cnnlab.inspect.summary.ModelSummary` written out for a page: HTML for a
notebook cell, Markdown for notes and slides, LaTeX (booktabs) for slides and papers.
Each lays out the same cells (:meth:`ModelSummary.table_cells`) and totals lines as the
terminal's table; ``cnnlab summary --markdown`` and ``--latex`` print the last two."""

from __future__ import annotations

import html


def summary_html(s) -> str:
    """The table and totals as HTML, which Jupyter shows for a cell's last value."""
    header, rows, footer = s.table_cells()

    def html_row(tag: str, cells: list[str], indent: int = 0) -> str:
        out = []
        for i, cell in enumerate(cells):
            style = (f"text-align:left;padding-left:{indent + 0.5}em" if i == 0 else
                     "text-align:left" if i < 3 else "text-align:right")
            out.append(f'<{tag} style="{style}">{html.escape(cell)}</{tag}>')
        return "<tr>" + "".join(out) + "</tr>"

    totals = "".join(f'<tr><th style="text-align:left">{html.escape(label)}</th>'
                     f'<td style="text-align:left">{html.escape(words)}</td></tr>'
                     for label, words in s.totals_lines())
    return (f"<table><caption>{html.escape(s.title())}</caption>"
            f"<thead>{html_row('th', header)}</thead><tbody>"
            + "".join(html_row("td", cells, indent) for indent, cells in rows)
            + f"</tbody><tfoot>{html_row('th', footer)}</tfoot></table>"
            f"<table>{totals}</table>")


def summary_markdown(s) -> str:
    """The summary as Markdown: its title, the layer table (every column; a layer's
    qualified name says where it sits, as Markdown keeps no indent) and the totals."""
    from cnnlab.formatting import markdown_table

    header, rows, footer = s.table_cells()
    numbers = tuple(h for h in header if h not in s.TEXT_COLUMNS)
    bold_footer = [f"**{cell}**" if cell else "" for cell in footer]
    layers = markdown_table(header, [cells for _, cells in rows] + [bold_footer], numbers)
    totals = markdown_table(["Totals", ""], [list(line) for line in s.totals_lines()])
    return f"**{s.title()}**\n\n{layers}\n{totals}"


def summary_latex(s) -> str:
    """The summary as LaTeX: what the Markdown piped into ``python -m
    cnnlab.latex_tables`` gives, with the Total row under a rule of its own and the
    totals' words wrapped in a column of fixed width (GoogLeNet's resolution flow runs
    to 250 characters, and had run off the slide on one line)."""
    from cnnlab.latex_tables import escape, tabular

    header, rows, footer = s.table_cells()
    align = ["l" if h in s.TEXT_COLUMNS else "r" for h in header]
    bold_footer = [f"**{cell}**" if cell else "" for cell in footer]
    layers = tabular(header, [cells for _, cells in rows], align, bold_footer)
    totals = tabular(["Totals", ""], [list(line) for line in s.totals_lines()],
                     ["l", r"p{0.62\linewidth}"])
    # A comment first (TeX reads nothing after "%" on its line: the name stays as it is).
    return (f"% cnnlab summary {s.model_name}: needs \\usepackage{{booktabs}}\n"
            f"\\textbf{{{escape(s.title())}}}\n\n{layers}\n\n{totals}\n")
