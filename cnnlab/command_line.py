"""The `cnnlab` program's entry point: the command-line app, loaded under a Ctrl-C guard.

Loading the app (typer, rich, the command modules) takes a moment; Ctrl-C then would end
in a KeyboardInterrupt traceback, as it would anywhere before typer's own handling (which
ends the command with status 130) is in place. A command a signal stopped exits 128 + its
number (:func:`cnnlab.interrupts.interrupted_status`): 130 for Ctrl-C, 143 for SIGTERM,
also where the interrupt reached typer's own 130 uncaught.
"""

from __future__ import annotations

import sys

from cnnlab.formatting import LOOKALIKE_ERRORS, lookalike_errors
from cnnlab.interrupts import interrupted_status


def main() -> None:
    _replace_what_output_cannot_encode()
    try:
        from cnnlab.cli import main as run_app
    except KeyboardInterrupt:
        sys.exit(interrupted_status())  # the shell's status for Ctrl-C, as the commands give
    try:
        run_app()
    except SystemExit as stop:
        # typer ends an interrupt no command caught with 130, SIGTERM's too (one that came
        # as a sweep put its trials back, say): the status of the signal it was.
        if stop.code == 130:
            stop.code = interrupted_status(stop)
        raise


def _replace_what_output_cannot_encode() -> None:
    """Windows writes a pipe or a file (``cnnlab summary vgg11 > out.txt``) in its ANSI
    code page, cp1252, which has no "→", "Δ" or "α": one of them ended the command with a
    UnicodeEncodeError and an empty file. Where the output is not UTF-8, a character it
    cannot hold is written as its ASCII look-alike ("->" for "→"); any other as the stream
    wrote it before ("\\u4e2d" on stderr, escaped bytes of an undecodable file name), or,
    where that was to fail, as "?". (The commands' consoles put the look-alikes in before
    rich lays out a table, so that its borders line up: cnnlab.cli.messages.)"""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding in ("utf8", "utf_8") or not hasattr(stream, "reconfigure"):
            continue
        before = getattr(stream, "errors", None) or "strict"
        if not before.startswith(LOOKALIKE_ERRORS):  # else done already
            stream.reconfigure(errors=lookalike_errors(before))
