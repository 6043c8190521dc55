"""`cnnlab compare`: runs side by side, their results, the settings they differ in, and
their curves on shared axes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .messages import err, fail, fail_for, output_console, print_table, warning
from .paths import output_file

console = output_console()

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def compare(
    runs: list[Path] = typer.Argument(..., help="Run folders, or folders of runs (runs/: "
                                      "every run in it)."),
    target: float = typer.Option(None, help="A test accuracy (e.g. 0.9): adds the seconds "
                                 "each run took to reach it, and draws it on the figure."),
    plot: Path = typer.Option(None, help="Write the runs' test accuracy and test loss curves "
                              "to this figure (.png, .svg or .pdf).",
                              callback=output_file(*FIGURE_SUFFIXES, what="the figure")),
    x: str = typer.Option("epoch", metavar="AXIS",  # not "X", the placeholder of --x
                          help="The figure's x axis: epoch, or time (seconds of training "
                               "and evaluation: which run got there first)."),
    csv_out: Path = typer.Option(None, "--csv", help="Write the table to this CSV file, "
                                 "one column per differing setting too.",
                                 callback=output_file(".csv", what="the table")),
) -> None:
    """Compare runs: test accuracy, epochs, parameters, time and speed side by side, and
    the settings in which they differ.

    Reads each run's small files (config.yaml, metrics.csv, summary.json, data.json,
    the last checkpoint's .json), no weights or data: runs still training, stopped or
    whose data moved compare too."""
    from cnnlab.train.compare import compare_runs
    from cnnlab.train.compare_figure import X_AXES
    from cnnlab.train.config import check_target_accuracy

    if x not in X_AXES:
        fail(f"--x {x!r}: give one of {', '.join(X_AXES)}", code=2)
    try:
        check_target_accuracy(target, "--target")
        comparison = compare_runs(runs, target=target)
    except (ValueError, OSError) as exc:  # ConfigError (exit 2), a damaged file (1)
        fail_for(exc)
    for table in comparison.to_tables(console.width):
        print_table(console, table)
    if not comparison.differences and comparison.same_data:
        console.print("The runs' settings are the same (seeds too): they differ by chance "
                      "alone, or by the machine.")
    for note in comparison.notes():
        warning(note)
    if csv_out is not None:
        from cnnlab.atomic import atomic_write_text

        atomic_write_text(csv_out, comparison.to_csv())
        err.print(f"table written to {escape(str(csv_out))}", highlight=False)
    if plot is not None:
        from cnnlab.figures import save_figure

        save_figure(comparison.figure(x), plot, layout=False)
        err.print(f"figure written to {escape(str(plot))}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
