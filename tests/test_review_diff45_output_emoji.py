"""A run name or image path with colons is printed as written in a command's results
too, not only in its messages: rich read ":ok:" in `--run-name r:ok:2` as an emoji code,
and `cnnlab train` printed `run: runs/r🆗2`, a folder not there (predict's and compare's
tables alike)."""

from __future__ import annotations

import io

from rich.table import Table

from cnnlab.cli.messages import output_console, print_table


def test_results_keep_colons_as_written():
    out = output_console(file=io.StringIO())
    out.print("run:    runs/r:ok:2")
    table = Table("image")
    table.add_row("a:ok:b.png")
    print_table(out, table)
    said = out.file.getvalue()
    assert "runs/r:ok:2" in said and "a:ok:b.png" in said, said

