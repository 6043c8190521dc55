"""The `cnnlab` command: a thin Typer app.

Each command group lives in its own module and only parses arguments, calls the
library and renders the result with rich.
"""

from __future__ import annotations

import inspect
import warnings

import typer
from typer.core import TyperCommand, TyperGroup

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


def _no_type_beside_flags(params) -> None:
    """An on/off flag takes no value, so its help shows none: typer 0.2x writes
    "<bool>" beside every flag (--help, --version, --compile/--no-compile), a type the
    user never types. An empty metavar is what its help prints in that place."""
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""


class _NoTypeBesideFlags:
    """Made with its parameters' flags, and its --help, as :func:`_no_type_beside_flags`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _no_type_beside_flags(self.params)

    def get_help_option(self, ctx):
        help_option = super().get_help_option(ctx)  # made on demand, so not in params
        _no_type_beside_flags([help_option] if help_option is not None else [])
        return help_option


class _Command(_NoTypeBesideFlags, TyperCommand):
    """Every cnnlab command."""


class _Group(_NoTypeBesideFlags, TyperGroup):
    """Every cnnlab command group, and the program itself."""


app = typer.Typer(
    cls=_Group,
    name="cnnlab",
    help="Classic and modern CNNs: build, inspect, train fast, compare, explore design spaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def _reflow_command_help(group: typer.Typer) -> None:
    """Each command's help from its docstring (:func:`_reflowed`), and each command and
    group made as :class:`_Command` and :class:`_Group`, wherever it was registered."""
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
        if command.cls in (None, TyperCommand):  # typer's own, not one a module chose
            command.cls = _Command
    for sub in group.registered_groups:
        sub.cls = _Group
        _reflow_command_help(sub.typer_instance)


_reflow_command_help(app)
examples.add_examples(app)


def main() -> None:
    app()
