"""What :func:`~cnnlab.design.report.analyze` returns: its summary, a dict, shown short.

A notebook cell ending in ``analyze(...)`` printed the whole summary dict, about 90
lines of nested setup words, bins and pairs. :class:`Analysis` is that dict (summary.json
holds the same; code indexes it as before) shown as `design analyze` prints it: the
spaces' and comparisons' brief tables, each pair's verdict and the files written."""

from __future__ import annotations

import html

from cnnlab.design.report_text import brief_tables, verdict_lines
from cnnlab.formatting import markdown_table


class Analysis(dict):
    """The summary ``analyze`` wrote (``["spaces"]``, ``["pairs"]``, ``["files"]``, ...:
    summary.json's keys), as a plain dict is; only its display differs."""

    def __repr__(self) -> str:
        parts = [f"{title}:\n{markdown_table(header, rows).rstrip()}"
                 for title, header, rows in brief_tables(self)]
        parts += verdict_lines(self)
        parts.append("files: " + ", ".join(self.get("files", [])))
        keys = ", ".join(map(repr, self))
        return "\n".join(["Analysis (a dict; keys " + keys + ")", *parts])

    def _repr_html_(self) -> str:
        from cnnlab.train.report import html_table  # as the report's page draws them

        parts = [f"<h4>{html.escape(title)}</h4>{html_table(header, rows, inline_style=True)}"
                 for title, header, rows in brief_tables(self)]
        verdicts = verdict_lines(self)
        if verdicts:
            parts.append("<ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in verdicts)
                         + "</ul>")
        files = ", ".join(f"<code>{html.escape(f)}</code>" for f in self.get("files", []))
        parts.append(f"<p>Written: {files} (the whole summary: this dict's keys, "
                     f"{html.escape(', '.join(self))})</p>")
        return "".join(parts)
