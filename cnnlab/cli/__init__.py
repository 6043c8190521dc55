"""The `cnnlab` command: a thin Typer app.

Each command group lives in its own module and only parses arguments, calls the
library and renders the result with rich:

- ``models`` (``cnnlab models``, ``summary``; what summary asks of memory:
  ``summary_memory``), ``train`` (``train``, ``resume``, ``eval``;
  what it says before a run: ``train_notes``, after: ``train_result``), ``predict``,
  ``compare``, ``export``, ``data``, ``design`` (``design run``'s steps:
  ``design_run``; its sample table: ``design_sample``),
  ``speedrun`` (its options checked and planned: ``speedrun_plan``; its tables:
  ``speedrun_tables``), ``bench`` (with ``throughput``);
- shared by them: ``messages`` (how every error reaches the user), ``paths`` (what a
  command will write, checked first), ``hints`` (notes about the machine before long
  work), ``help_layout`` and ``examples`` (every ``--help``: its layout, its examples).
"""

from __future__ import annotations

import warnings

import typer

from cnnlab.cli import (
    bench,
    compare,
    data,
    design,
    examples,
    export,
    messages,
    models,
    predict,
    speedrun,
    throughput,
    train,
)
from cnnlab.cli.help_layout import HelpGroup, layout_help

app = typer.Typer(
    cls=HelpGroup,
    name="cnnlab",
    help="Classic and modern CNNs: build, inspect, train fast, compare, explore design spaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help, not typer's rich panels: their six-column table cut long option
    # names at 80 columns ("--no-channels-l…", "--pad-stem,--pad…") and squeezed the help
    # to some 17 characters; plain help never cuts a name and wraps the text below it.
    rich_markup_mode=None,
    # Help as wide as the terminal, to 120 columns (click's own stops at 80); wider text
    # is harder to read than it saves lines.
    context_settings={"max_content_width": 120},
)


def _print_version(asked: bool) -> None:
    if asked:
        from cnnlab import __version__

        typer.echo(f"cnnlab {__version__}")
        raise typer.Exit()


@app.callback()
def _before_every_command(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print cnnlab's version and exit."),
) -> None:
    # Runs before any command: --version (eager, so it answers alone), then the warning
    # printer. Every CnnlabWarning (skipped image files, class folders left out, "last"
    # used for lack of "best") is for the user: one line, not Python's file name, line
    # number and source line; other warnings print as Python prints them.
    warnings.showwarning = messages.show_warning


app.add_typer(data.app, name="data")
throughput.register(bench.app)  # `cnnlab bench throughput`, in a module of its own
app.add_typer(bench.app, name="bench")
app.add_typer(design.app, name="design")
models.register(app)
train.register(app)
predict.register(app)
compare.register(app)
export.register(app)
speedrun.register(app)


layout_help(app)
examples.add_examples(app)


def main() -> None:
    app()
