"""How every command's --help is laid out: click's plain layout (cli/__init__.py says
why), each value shown by a placeholder a user reads (MODEL, N, DIR; not typer's Python
types), words never broken at a hyphen, docstrings wrapped to the terminal, and each
command's line in its group's list whole. Applied to every command and group as they
are registered (:func:`layout_help`), so a new command needs nothing of its own."""

from __future__ import annotations

import difflib
import inspect
import re
import shutil
from pathlib import Path
from typing import get_args

import click
import typer
from click.formatting import measure_table
from typer.core import TyperCommand, TyperGroup

try:  # typer 0.2x parses with a click of its own, and raises its own errors
    from typer._click.exceptions import NoSuchOption, UsageError
except ImportError:  # older typer, on click itself
    from click.exceptions import NoSuchOption, UsageError

_HYPHEN = "\u2011"  # a non-breaking hyphen: textwrap breaks a line at none of them
_GLUE = "\u00a0"  # a no-break space: textwrap breaks lines at ASCII whitespace only

# Help is never written narrower than this, whatever the terminal. click's own floor is
# 50, wider than a 40-column terminal, which then broke every line a second time.
NARROWEST_HELP = 30
# In a narrow terminal an option's description keeps at least this many columns, and
# room for its longest word where half the width allows; a longer option name goes on a
# line of its own instead (click gave the text 10 columns at 40, and at 60 broke
# "max-autotune-no-cudagraphs" mid-word).
NARROWEST_OPTION_TEXT = 24


def _unbroken(text: str, width: int) -> str:
    """``text`` with the hyphens of each word that fits ``width`` made non-breaking. A
    longer word keeps its hyphens: broken there, not mid-letter ("max-autotune-no-" /
    "cudagraphs", where textwrap had cut "m" / "ax-autotune-no-c" / "udagraphs")."""
    return re.sub(r"\S+", lambda word: word[0] if len(word[0]) > width else
                  word[0].replace("-", _HYPHEN), text)


# click's own note at the end of an option's text: "[default: 5; x>=1]", "[x>=0]".
_CLICK_EXTRA = re.compile(r"\s*\[([^\[\]]*)\]$")
_BIG_BOUND = re.compile(r"(?<=<=)(\d{10,})")  # 9223372036854775807, a seed's SQLite bound


def _defaults_as_words(text: str) -> str:
    """An option's text with click's "[default: X]" written "(default: X)", as cnnlab's
    own help texts give theirs (--help read both ways, option by option); and a range's
    bound of 2^k - 1 written so: "[0<=x<=2^63-1]", not "[0<=x<=9223372036854775807]"."""
    extra = _CLICK_EXTRA.search(text)
    if not extra:
        return text
    notes = extra[1].split("; ")
    default = [n[len("default: "):] for n in notes if n.startswith("default: ")]
    ranges = [_BIG_BOUND.sub(lambda m: _power_of_two_less_one(int(m[1])), n)
              for n in notes if "x" in n and not n.startswith("default: ")]
    if len(default) + len(ranges) != len(notes):  # not click's note: a text's own brackets
        return text
    words = text[:extra.start()] + "".join(f" (default: {d})" for d in default)
    return (words + "".join(f"  [{r}]" for r in ranges)).lstrip()


_FLAG_PAIR = re.compile(r"--([\w-]+) / --no-\1$")  # "--quick / --no-quick"


def _flag_default_as_on_off(term: str, text: str) -> str:
    """An on/off flag's default as "on" or "off", as cnnlab's own help texts say one
    (train's "--flip / --no-flip ... (default: off)"), not as click names it by the flag
    that is in effect: "(default: no-quick)", "(default: tta)", "(default: download)"
    beside it read as values to type."""
    pair = _FLAG_PAIR.search(term)
    if not pair:
        return text
    return text.replace(f"(default: no-{pair[1]})", "(default: off)").replace(
        f"(default: {pair[1]})", "(default: on)")


def _default_beside_its_value(text: str, width: int) -> str:
    """``text`` with each "(default:" kept on the line of its value's first word, where the
    two fit a line: help at 40 columns ended lines in "(default:", the value below it."""
    return re.sub(r"\(default: \S+", lambda said: said[0] if len(said[0]) > width else
                  said[0].replace(" ", _GLUE), text)


def _power_of_two_less_one(n: int) -> str:
    return f"2^{n.bit_length()}-1" if n & (n + 1) == 0 else str(n)


class _HelpFormatter(typer.Context.formatter_class):
    """click's help formatter, but a word is never broken at its hyphen: click wrapped
    "[default: no-quick]", "max-autotune" and "fashion-mnist" after the hyphen, values
    a user types. The text is wrapped with non-breaking hyphens, written back as "-".
    And the help fits a narrow terminal (:data:`NARROWEST_HELP`,
    :data:`NARROWEST_OPTION_TEXT`)."""

    def __init__(self, indent_increment: int = 2, width: int | None = None,
                 max_width: int | None = None) -> None:
        if width is None and click.formatting.FORCED_WIDTH is None:
            columns = shutil.get_terminal_size().columns  # $COLUMNS first, as click reads
            width = max(min(columns, max_width or 80) - 2, NARROWEST_HELP)
        super().__init__(indent_increment, width, max_width)

    def write_text(self, text: str) -> None:
        super().write_text(_unbroken(text, self.width - self.current_indent))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        longest_word = max((len(w) for _, text in rows for w in text.split()), default=0)
        wanted = max(NARROWEST_OPTION_TEXT, min(longest_word, self.width // 2))
        col_max = min(col_max, max(self.width - col_spacing - 2 - wanted, 8))
        # As click lays it out: the names' column, then the text's, to the width.
        first_col = min(measure_table(rows)[0], col_max) + col_spacing if rows else 0
        text_width = max(self.width - first_col - 2, 10)
        super().write_dl([(term, _default_beside_its_value(_unbroken(
            _flag_default_as_on_off(term, _defaults_as_words(text)), text_width), text_width))
            for term, text in rows], col_max, col_spacing)

    def getvalue(self) -> str:
        return super().getvalue().replace(_HYPHEN, "-").replace(_GLUE, " ")


class _Context(typer.Context):
    formatter_class = _HelpFormatter


def _help_flag_off(option):
    """``option`` (a command's --help) with False, not None, as its value when not given.
    typer 0.2x passes a flag's None through pydantic, and so imported pydantic (0.3 s and
    more) before ``cnnlab compare --help`` printed anything, for the program's --help flag
    that was not given; a flag that is False it takes as it is. Shown and acted on the
    same: the flag prints help only when given."""
    if option is not None and option.default is None:
        option.default = False
    return option


class HelpGroup(TyperGroup):
    """Every cnnlab command group, and the program itself: help as :class:`_HelpFormatter`
    writes it; its --help flag off when not given (:func:`_help_flag_off`)."""

    context_class = _Context

    def get_help_option(self, ctx):
        return _help_flag_off(super().get_help_option(ctx))

    def resolve_command(self, ctx, args):
        """A mistyped command with the closest ones named: typer does so since 0.20 or
        so; the oldest one cnnlab takes (0.16) said only "No such command 'trian'.".
        Compared in lower case: "TRAIN" (Caps Lock) was told of no command."""
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            close = difflib.get_close_matches(args[0].lower(), list(self.commands)) \
                if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = (f"{exc.message.rstrip('.')}. Did you mean "
                               f"{', '.join(map(repr, close))}?")
            raise


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


class _ClosestFirst(NoSuchOption):
    """A mistyped option, answered with the closest name first: click lists the close
    ones alphabetically, so `cnnlab speedrun --run 2` offered "--lr, --runs, --warmup",
    --lr first, and `bench zoo --model` offered --help before --models."""

    def __init__(self, exc: NoSuchOption) -> None:
        typed, names = exc.option_name, list(exc.possibilities or [])
        names.sort(key=lambda name: -difflib.SequenceMatcher(None, typed, name).ratio())
        if names[:1] != ["--help"]:  # "--model": --models was meant, not --help
            names = [name for name in names if name != "--help"]
        super().__init__(typed, exc.message, names, exc.ctx)

    def format_message(self) -> str:
        if not self.possibilities:
            return self.message
        best, *others = self.possibilities
        also = f" (or {', '.join(others)})" if others else ""
        return f"{self.message}. Did you mean {best}?{also}"


class _Command(TyperCommand):
    """Every cnnlab command: each parameter that takes a value gets its
    :func:`_placeholder` where it has none of its own, and an argument is shown by it
    alone, as click shows one: "MODEL" and "[PATTERN]" in the usage line, where typer
    writes "{model}", and "IMAGE..." in the list, where it writes "images...
    <list[Path]>". Its --help flag is off when not given, as a group's."""

    context_class = _Context  # its help as _HelpFormatter writes it

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None:
                param.metavar = _placeholder(param)

    def get_help_option(self, ctx):
        return _help_flag_off(super().get_help_option(ctx))

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as exc:
            raise _ClosestFirst(exc) from None

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


def layout_help(group: typer.Typer) -> None:
    """Each command's help from its docstring (:func:`_reflowed`) and its line in the
    group's list (:func:`_first_paragraph`), each command made as :class:`_Command`, and
    plain help for every group, made as :class:`HelpGroup`, wherever it was registered."""
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
        command.short_help = command.short_help or _first_paragraph(command.help)
        if command.cls in (None, TyperCommand):  # typer's own, not one a module chose
            command.cls = _Command
    for sub in group.registered_groups:
        sub.cls = HelpGroup
        sub.typer_instance.rich_markup_mode = None  # as the app's (cli/__init__.py)
        sub.short_help = sub.short_help or _first_paragraph(
            sub.help or sub.typer_instance.info.help)
        layout_help(sub.typer_instance)
