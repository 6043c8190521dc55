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
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
    for sub in group.registered_groups:
        _reflow_command_help(sub.typer_instance)


_reflow_command_help(app)
examples.add_examples(app)


def main() -> None:
    app()
