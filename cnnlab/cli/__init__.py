"""The `cnnlab` command: a thin Typer app.

Each command group lives in its own module and only parses arguments, calls the
library and renders the result with rich.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import get_args

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

_HYPHEN = "\u2011"  # a non-breaking hyphen: textwrap breaks a line at none of them


class _HelpFormatter(typer.Context.formatter_class):
    """click's help formatter, but a word is never broken at its hyphen: click wrapped
    "[default: no-quick]", "max-autotune" and "fashion-mnist" after the hyphen, values
    a user types. The text is wrapped with non-breaking hyphens, written back as "-"."""

    def write_text(self, text: str) -> None:
        super().write_text(text.replace("-", _HYPHEN))

    def write_dl(self, rows, *args, **kwargs) -> None:
        super().write_dl([(term, text.replace("-", _HYPHEN)) for term, text in rows],
                         *args, **kwargs)

    def getvalue(self) -> str:
        return super().getvalue().replace(_HYPHEN, "-")


class _Context(typer.Context):
    formatter_class = _HelpFormatter


class _Group(TyperGroup):
    """Every cnnlab command group, and the program itself: help as :class:`_HelpFormatter`
    writes it."""

    context_class = _Context


app = typer.Typer(
    cls=_Group,
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


def _placeholder(param) -> str | None:
    """What stands for a parameter's value in --help, where typer's plain help writes
    its Python type ("{model}", "<int range>", "<list[Path]>"): an argument by its name
    (MODEL, RUN; IMAGE for the list of images), a number by N or FLOAT, a path by FILE,
    or DIR where the option's name ends in root or dir, and other text by the last word
    of the option's name (--device DEVICE, --compile-mode MODE). None for an on/off
    flag, which takes no value. An option the rule would misname says its own
    (metavar="KEY=VALUE")."""
    if param.param_type_name == "argument":
        name = param.name.upper()
        if param.nargs != 1:  # several: the name of one (IMAGES -> IMAGE, ... -> Y)
            name = name[:-3] + "Y" if name.endswith("IES") else name.removesuffix("S")
        return name
    if param.is_flag:
        return None
    last_word = max(param.opts, key=len).lstrip("-").split("-")[-1]
    if last_word in ("root", "dir"):
        return "DIR"
    return _value_word(param) or last_word.upper()


def _value_word(param) -> str | None:
    """N, FLOAT or FILE by the type of one value (a list option's too); None for text.
    typer 0.2x records the annotation (``type_descriptor``); older ones, back to 0.16,
    only click's type, by its name."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        kind = get_args(descriptor.annotation)[0] if descriptor.is_list else \
            descriptor.annotation
        return {int: "N", float: "FLOAT", Path: "FILE"}.get(kind)
    name = getattr(getattr(param, "type", None), "name", "")
    return {"integer": "N", "integer range": "N", "float": "FLOAT", "float range": "FLOAT",
            "path": "FILE"}.get(name)


def _shown(argument) -> str:
    """An argument as help shows it: its placeholder, "..." after one that takes several."""
    return argument.metavar + ("..." if argument.nargs != 1 else "")


class _Command(TyperCommand):
    """Every cnnlab command: each parameter that takes a value gets its
    :func:`_placeholder` where it has none of its own, and an argument is shown by it
    alone, as click shows one: "MODEL" and "[PATTERN]" in the usage line, where typer
    writes "{model}", and "IMAGE..." in the list, where it writes "images...
    <list[Path]>"."""

    context_class = _Context  # its help as _HelpFormatter writes it

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None:
                param.metavar = _placeholder(param)

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces += param.get_usage_pieces(ctx)
            else:
                pieces.append(_shown(param) if param.required else f"[{_shown(param)}]")
        return pieces

    def format_options(self, ctx, formatter) -> None:
        # typer's own, each argument's name column its placeholder (typer adds the type)
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                sections["Arguments"].append((_shown(param), record[1]))
            else:
                sections["Options"].append(record)
        for title, records in sections.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def _reflow_command_help(group: typer.Typer) -> None:
    """Each command's help from its docstring (:func:`_reflowed`) and its line in the
    group's list (:func:`_first_paragraph`), each command made as :class:`_Command`, and
    plain help for every group, made as :class:`_Group`, wherever it was registered."""
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
        command.short_help = command.short_help or _first_paragraph(command.help)
        if command.cls in (None, TyperCommand):  # typer's own, not one a module chose
            command.cls = _Command
    for sub in group.registered_groups:
        sub.cls = _Group
        sub.typer_instance.rich_markup_mode = None  # as the app's (see there)
        sub.short_help = sub.short_help or _first_paragraph(
            sub.help or sub.typer_instance.info.help)
        _reflow_command_help(sub.typer_instance)


_reflow_command_help(app)
examples.add_examples(app)


def main() -> None:
    app()
