"""The `cnnlab` program's entry point: the command-line app, loaded under a Ctrl-C guard.

Loading the app (typer, rich, the command modules) takes a moment; Ctrl-C then would end
in a KeyboardInterrupt traceback, as it would anywhere before typer's own handling (which
ends the command with status 130) is in place.
"""

from __future__ import annotations

import codecs
import sys


def main() -> None:
    _replace_what_output_cannot_encode()
    try:
        from cnnlab.cli import main as run_app
    except KeyboardInterrupt:
        sys.exit(130)  # the shell's status for Ctrl-C, as the commands give
    run_app()


# What cnnlab's own tables and summaries print beyond ASCII, as the nearest ASCII.
_ASCII_LOOKALIKES = {"→": "->", "−": "-", "Δ": "d", "α": "a", "≥": ">=", "≤": "<=",
                     "σ": "s", "±": "+/-", "·": "-", "—": "-", "–": "-", "†": "*"}


def _lookalike(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    unencodable = error.object[error.start:error.end]
    return "".join(_ASCII_LOOKALIKES.get(c, "?") for c in unencodable), error.end


def _replace_what_output_cannot_encode() -> None:
    """Windows writes a pipe or a file (``cnnlab summary vgg11 > out.txt``) in its ANSI
    code page, cp1252, which has no "→", "Δ" or "α": one of them ended the command with a
    UnicodeEncodeError and an empty file. Where the output is not UTF-8, a character it
    cannot hold is written as its ASCII look-alike ("->" for "→"), else as "?"."""
    codecs.register_error("cnnlab.lookalike", _lookalike)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding not in ("utf8", "utf_8") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="cnnlab.lookalike")
