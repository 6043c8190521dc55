"""The `cnnlab` program's entry point: the command-line app, loaded under a Ctrl-C guard.

Loading the app (typer, rich, the command modules) takes a moment; Ctrl-C then would end
in a KeyboardInterrupt traceback, as it would anywhere before typer's own handling (which
ends the command with status 130) is in place. A command a signal stopped exits 128 + its
number (:func:`cnnlab.interrupts.interrupted_status`): 130 for Ctrl-C, 143 for SIGTERM,
also where the interrupt reached typer's own 130 uncaught.
"""

from __future__ import annotations

import codecs
import sys

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


# What cnnlab's own tables and summaries print beyond ASCII, as the nearest ASCII.
_ASCII_LOOKALIKES = {"→": "->", "−": "-", "Δ": "d", "α": "a", "≥": ">=", "≤": "<=",
                     "σ": "s", "±": "+/-", "·": "-", "—": "-", "–": "-", "†": "*"}


def _lookalike_else(fallback: str):
    """An encoding error handler: a character the output cannot hold becomes its ASCII
    look-alike, else whatever ``fallback`` (an error handler's name) makes of it."""
    otherwise = codecs.lookup_error(fallback)

    def handler(error: UnicodeError) -> tuple[str, int]:
        if not isinstance(error, UnicodeEncodeError):
            raise error
        first = error.object[error.start]  # one at a time: the codec calls again for the rest
        if first in _ASCII_LOOKALIKES:
            return _ASCII_LOOKALIKES[first], error.start + 1
        return otherwise(UnicodeEncodeError(error.encoding, error.object, error.start,
                                            error.start + 1, error.reason))
    return handler


def _replace_what_output_cannot_encode() -> None:
    """Windows writes a pipe or a file (``cnnlab summary vgg11 > out.txt``) in its ANSI
    code page, cp1252, which has no "→", "Δ" or "α": one of them ended the command with a
    UnicodeEncodeError and an empty file. Where the output is not UTF-8, a character it
    cannot hold is written as its ASCII look-alike ("->" for "→"); any other as the stream
    wrote it before ("\\u4e2d" on stderr, escaped bytes of an undecodable file name), or,
    where that was to fail, as "?"."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding in ("utf8", "utf_8") or not hasattr(stream, "reconfigure"):
            continue
        before = getattr(stream, "errors", None) or "strict"
        if before.startswith("cnnlab.lookalike."):
            continue  # done already
        fallback = "replace" if before == "strict" else before
        name = f"cnnlab.lookalike.{fallback}"
        try:
            codecs.lookup_error(name)
        except LookupError:
            codecs.register_error(name, _lookalike_else(fallback))
        stream.reconfigure(errors=name)
