"""How every command speaks to the user when something is wrong.

One line on stderr that names the thing and the fix, no traceback: ``error:`` for what
stops the command, ``warning:`` for what it works around (a skipped image, ``last`` used
for lack of ``best``).

Exit status, the same in every command, so scripts can tell "change the command" from
"something went wrong": 2 for a request that is invalid as given (an unknown model or
dataset, a value out of range, options that conflict, an --out the command will not
write over: click's code for usage errors); 1 for a valid request that could not be done
(data missing or damaged, a checkpoint unreadable, a model that failed in a bench); 3 for
a training run that diverged; for a command a signal stopped, 128 + its number, as a shell
gives and job schedulers (SLURM, Kubernetes, systemd) expect: 130 for Ctrl-C, 143 for
SIGTERM (:func:`cnnlab.interrupts.interrupted_status`).

Under torchrun every process runs the command, and most of what it has to say (a
refused request, a data warning, a stop the ranks agreed on) every process meets alike:
rank 0 says it, once. An error that ends another rank is still said, after a pause,
with its rank (see :func:`fail`).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from cnnlab.formatting import as_written


class _NoSpinner:
    """What :meth:`WrittenConsole.status` gives where no one watches a spinner: a
    ``with`` block (and a Status's ``update``) that draws nothing."""

    def __enter__(self) -> _NoSpinner:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def update(self, *args, **kwargs) -> None:
        return None


class WrittenConsole(Console):
    """A rich Console that lays text out as its output will write it: where the output
    cannot encode a character (an ASCII locale, Windows' cp1252), its look-alike ("+/-"
    for "±", "?" for "猫") is put in before rich measures a table's cells, so the borders
    line up. (Every str rich renders, a cell, a header, a title or a line, passes here.)
    Its spinners (:meth:`status`) spin only where someone watches them."""

    def render_str(self, text: str, **options):
        errors = getattr(self.file, "errors", None) or "strict"
        return super().render_str(as_written(text, self.encoding, errors), **options)

    def status(self, status, **options):
        """rich's spinner ("timing convolutions ..."), drawn where a progress bar would be
        (:func:`cnnlab.progress.shows_live`), else nothing: a log that FORCE_COLOR has rich
        take for a terminal got a frame of it ten times a second, "\r\x1b[2K⠙ timing
        convolutions ...", as the bars once did."""
        from cnnlab.progress import shows_live  # rich.progress: loaded where a spinner is

        if not shows_live(self):
            return _NoSpinner()
        return super().status(status, **options)


# Console resolves sys.stderr when it prints, so tests that swap it see the messages.
# No emoji codes: a path or value with colons (runs/a:ok: ...) printed an emoji for ":ok:".
err = WrittenConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def output_console(**options) -> Console:
    """A command's console for results: lines never cut at the width (a log's lines stay
    whole for grep), and tables, where the output is a file or a pipe, laid out in 160
    columns rather than squeezed into 80. Text goes in as the output will write it
    (:class:`WrittenConsole`), and without emoji codes, as ``err``: a run named "r:ok:2"
    was printed `run: runs/r🆗2`, a folder not there, and so in predict's and compare's
    tables."""
    console = WrittenConsole(soft_wrap=True, emoji=False, **options)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    return console


def print_table(console: Console, table, caption=None) -> None:
    """Print ``table`` (or any renderable), then below it ``caption``, or else the
    table's own caption (the table itself is left as it was): at the console's width,
    wrapped at words in a terminal, each line whole in a file or a pipe, as the console
    keeps them. Printed as the table's caption under the console's soft wrap, a caption
    went out as one line, which a terminal cut mid-word at its width; wrapped as a
    caption, it would be squeezed into a narrow table's width, centred. (A long title
    wraps over the table in a terminal for the same reason.)"""
    own = getattr(table, "caption", None)
    if own is not None:
        import copy

        table = copy.copy(table)
        table.caption = None
    caption = own if caption is None else caption
    soft_wrap = not console.is_terminal
    console.print(table, soft_wrap=soft_wrap)
    if caption:  # plain words: a bracket in one is no markup
        console.print(caption, soft_wrap=soft_wrap, markup=False, highlight=False)


def launched_rank() -> int:
    """This process's rank in a torchrun launch (0 without torchrun), from torchrun's
    environment, as ``launched_as_main`` reads it: known before any process group is
    joined, and without loading torch."""
    # A RANK without WORLD_SIZE > 1 is no torchrun launch (some job launchers set it);
    # one that is no number is refused by the command itself, not here.
    rank, world = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
    return int(rank) if rank.isdigit() and world.isdigit() and int(world) > 1 else 0


def _whose() -> str:
    rank = launched_rank()
    return f"rank {rank}: " if rank else ""


def error(message: str) -> None:
    # escape: messages may hold brackets ("pip install 'cnnlab[onnx]'"), not markup
    err.print(f"[bold red]error:[/] {_whose()}{escape(message)}")


def warning(message: str) -> None:
    err.print(f"[yellow]warning:[/] {_whose()}{escape(message)}")


# How long a torchrun process other than rank 0 waits before it says the error that ends
# it. Most such errors rank 0 meets too (the same request, the same files): it says them
# at once and exits, and torchrun then stops the other processes, this one in its pause,
# so the error is said once. One this rank met alone is still said, after the pause.
# (Every rank's own line had printed each error once per process.)
OTHER_RANKS_PAUSE_S = 5.0


def fail(message: str, code: int = 1, at_once: bool = False) -> NoReturn:
    """Say ``message`` as an error and end the command; a torchrun process other than
    rank 0 first pauses (see above) unless ``at_once``: an error rank 0 cannot meet too."""
    if launched_rank() and not at_once:
        time.sleep(OTHER_RANKS_PAUSE_S)
    error(message)
    raise typer.Exit(code)


# The errors that refuse a request as given (exit 2): (module, class).
_INVALID_REQUESTS = (("cnnlab.train.config", "ConfigError"),
                     ("cnnlab.models._registry", "UnknownModelError"),
                     ("cnnlab.models._registry", "ModelOptionError"),
                     ("cnnlab.data", "UnknownDatasetError"))


def _loaded_class(module: str, name: str) -> type | None:
    """``module``'s class ``name`` where the module is loaded already, else None: an
    exception of a class not loaded cannot have been raised, and importing these loaded
    torch (5 s) before `cnnlab compare`, which reads text files only, could say that a
    run folder was missing."""
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def invalid_request(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the request as given (exit 2), rather than reporting work
    that could not be done (exit 1)."""
    return any(isinstance(exc, kind) for kind in (
        _loaded_class(module, name) for module, name in _INVALID_REQUESTS) if kind)


def fail_for(exc: BaseException, prefix: str = "") -> NoReturn:
    """End the command with ``exc``'s message and the exit status its kind calls for.
    Another process of the job lost (RankLost) is said at once on every rank: rank 0 may
    be the one lost, and torchrun stopped a survivor in its pause, so none said it."""
    rank_lost = _loaded_class("cnnlab.train.distributed", "RankLost")
    fail(prefix + str(exc), code=2 if invalid_request(exc) else 1,
         at_once=rank_lost is not None and isinstance(exc, rank_lost))


_PYTHON_SHOWWARNING = warnings.showwarning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A ``warnings.showwarning`` that prints cnnlab's warnings for the user (skipped image
    files, class folders left out, ``last`` used for lack of ``best``) as one ``warning:``
    line, without Python's file name, line number and source line."""
    from cnnlab.notices import CnnlabWarning

    if issubclass(category, CnnlabWarning) and file is None:
        # Under torchrun, rank 0's alone: every rank reads the same request and data, and
        # meets the same (the ranks' own parts of the work warn on rank 0 only).
        if not launched_rank():
            warning(str(message))
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


def named_by_its_flag(exc: BaseException, flags_given: dict) -> BaseException:
    """A bad value given by a flag (``flags_given``: each typed flag's config field ->
    its value), named by the flag (``--max-time -1: allowed: seconds > 0, or leave
    --max-time out``), not by the config's field and its "or None"; one from a --config
    file, a preset or --set keeps the field's name, as the file spells it."""
    from cnnlab.train import ConfigError

    field = getattr(exc, "field", None)
    if field not in flags_given:
        return exc
    words = by_flag(exc, "--" + field.replace("_", "-"))
    return exc if words is None else ConfigError(words)


def by_flag(exc: BaseException, flag: str) -> str | None:
    """A config's invalid value (``invalid_value``: "invalid value for max_time: -1.0;
    allowed: seconds > 0, or None") reworded for the flag a user typed: "--time-budget -1:
    allowed: seconds > 0, or leave --time-budget out". None for any other error."""
    import re

    from cnnlab.formatting import number_as_typed

    if getattr(exc, "field", None) is None:
        return None
    allowed = re.sub(r", or None\b.*", f", or leave {flag} out", exc.allowed, flags=re.S)
    value = exc.value
    # Text with nothing or spaces at an end quoted: "--optimizer 'sgd '", not "--optimizer sgd "
    shown = repr(value) if isinstance(value, str) and value.strip() != value or value == "" \
        else number_as_typed(value)
    return f"{flag} {shown}: allowed: {allowed}"
