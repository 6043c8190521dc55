"""The `cnnlab` program's entry point: the command-line app, loaded under a Ctrl-C guard.

Loading the app (typer, rich, the command modules) takes a moment; Ctrl-C then would end
in a KeyboardInterrupt traceback, as it would anywhere before typer's own handling (which
ends the command with status 130) is in place.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from cnnlab.cli import main as run_app
    except KeyboardInterrupt:
        sys.exit(130)  # the shell's status for Ctrl-C, as the commands give
    run_app()
