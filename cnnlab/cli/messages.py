"""How every command speaks to the user when something is wrong.

One line on stderr that names the thing and the fix, no traceback: ``error:`` for what
stops the command, ``warning:`` for what it works around (a skipped image, ``last`` used
for lack of ``best``). Exit status 1 is for a command that could not do its work, 2 for
one that was asked for something invalid (click's code for usage errors).
"""

from __future__ import annotations

import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# Console resolves sys.stderr when it prints, so tests that swap it see the messages.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def error(message: str) -> None:
    # escape: messages may hold brackets ("pip install 'cnnlab[onnx]'"), not markup
    err.print(f"[bold red]error:[/] {escape(message)}")


def warning(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def fail(message: str, code: int = 1) -> NoReturn:
    error(message)
    raise typer.Exit(code)


_PYTHON_SHOWWARNING = warnings.showwarning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A ``warnings.showwarning`` that prints cnnlab's warnings for the user (skipped image
    files, class folders left out, ``last`` used for lack of ``best``) as one ``warning:``
    line, without Python's file name, line number and source line."""
    from cnnlab.data import DataWarning
    from cnnlab.train.run import CheckpointWarning
    from cnnlab.train.runlog import RunLogWarning

    if issubclass(category, (DataWarning, CheckpointWarning, RunLogWarning)) and file is None:
        warning(str(message))
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)
