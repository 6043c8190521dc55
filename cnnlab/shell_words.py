"""Paths and arguments as one types them in this platform's shell, for the commands and
fixes cnnlab prints (``chmod -R a+rX '/home/me/my photos'``): a path with a space or a
quote pasted as printed named another file, or none."""

from __future__ import annotations

import re
import shlex
import sys

# What cmd.exe or PowerShell would read otherwise than as a plain argument's text.
_WINDOWS_SPECIAL = re.compile(r"""[\s"&|<>^%;,()'`$@{}#]""")


def shell_quote(arg: str) -> str:
    """``arg`` as one argument to type in this platform's shell. POSIX: shlex.quote's
    single quotes. Windows: double quotes, read alike by cmd.exe and PowerShell, escaped
    by the C runtime's rules (as subprocess.list2cmdline's): cmd.exe keeps single quotes
    as part of the argument, and shlex.quote put them around any path with a backslash,
    which is every Windows path (`cnnlab resume 'runs\\x'` named no run there). Inside
    them cmd.exe still expands %VAR% and PowerShell $name and backticks: no one quoting
    holds for both, and the paths and options cnnlab prints rarely hold those."""
    if sys.platform != "win32":
        return shlex.quote(arg)
    if arg and not _WINDOWS_SPECIAL.search(arg):
        return arg
    # Backslashes are doubled only before a quote (an escaped one, or the closing one).
    return '"' + re.sub(r'(\\*)("|$)', lambda m: m[1] * 2 + ('\\"' if m[2] else ""),
                        arg) + '"'
