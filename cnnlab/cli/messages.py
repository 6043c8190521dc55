"""How every command speaks to the user when something is wrong.

One line on stderr that names the thing and the fix, no traceback: ``error:`` for what
stops the command, ``warning:`` for what it works around (a skipped image, ``last`` used
for lack of ``best``).

Exit status, the same in every command, so scripts can tell "change the command" from
"something went wrong": 2 for a request that is invalid as given (an unknown model or
dataset, a value out of range, options that conflict, an --out the command will not
write over: click's code for usage errors); 1 for a valid request that could not be done
(data missing or damaged, a checkpoint unreadable, a model that failed in a bench); 3 for
a training run that diverged; 130 for Ctrl-C.
"""

from __future__ import annotations

import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# Console resolves sys.stderr when it prints, so tests that swap it see the messages.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def output_console(**options) -> Console:
    """A command's console for results: lines never cut at the width (a log's lines stay
    whole for grep), and tables, where the output is a file or a pipe, laid out in 160
    columns rather than squeezed into 80."""
    console = Console(soft_wrap=True, **options)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    return console


def error(message: str) -> None:
    # escape: messages may hold brackets ("pip install 'cnnlab[onnx]'"), not markup
    err.print(f"[bold red]error:[/] {escape(message)}")


def warning(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def fail(message: str, code: int = 1) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def invalid_request(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the request as given (exit 2), rather than reporting work
    that could not be done (exit 1). Imported here, on an error only: the classes' modules
    load torch, and the command that raised them has loaded it already."""
    from cnnlab.data import UnknownDatasetError
    from cnnlab.models import UnknownModelError
    from cnnlab.models._registry import ModelOptionError
    from cnnlab.train.config import ConfigError

    return isinstance(exc, (ConfigError, UnknownModelError, ModelOptionError,
                            UnknownDatasetError))


def fail_for(exc: BaseException, prefix: str = "") -> NoReturn:
    """End the command with ``exc``'s message and the exit status its kind calls for."""
    fail(prefix + str(exc), code=2 if invalid_request(exc) else 1)


_PYTHON_SHOWWARNING = warnings.showwarning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A ``warnings.showwarning`` that prints cnnlab's warnings for the user (skipped image
    files, class folders left out, ``last`` used for lack of ``best``) as one ``warning:``
    line, without Python's file name, line number and source line."""
    from cnnlab.notices import CnnlabWarning

    if issubclass(category, CnnlabWarning) and file is None:
        warning(str(message))
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)
