"""The `cnnlab` command: a thin Typer app.

Each command group lives in its own module and only parses arguments, calls the
library and renders the result with rich.
"""

from __future__ import annotations

import inspect
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

app = typer.Typer(
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


def _reflowed(doc: str) -> str:
    """A docstring as help text: paragraphs kept, each one's line breaks (the source's
    wrapping) joined, so the terminal wraps them to its own width."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _first_paragraph(help_text: str | None) -> str | None:
    """A command's line in its group's list: the first paragraph of its help, whole. Left
    to click, it was cut to fit one line ("Per-layer output shape, parameters, MACs and
    activation...")."""
    return help_text.split("\n\n")[0] if help_text else None


def _reflow_command_help(group: typer.Typer) -> None:
    """Each command's help from its docstring (:func:`_reflowed`) and its line in the
    group's list (:func:`_first_paragraph`), and plain help for every group, wherever
    it was registered."""
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
        command.short_help = command.short_help or _first_paragraph(command.help)
    for sub in group.registered_groups:
        sub.typer_instance.rich_markup_mode = None  # as the app's (see there)
        sub.short_help = sub.short_help or _first_paragraph(
            sub.help or sub.typer_instance.info.help)
        _reflow_command_help(sub.typer_instance)


_reflow_command_help(app)
examples.add_examples(app)


def main() -> None:
    app()
