"""Whether this user may read a file or write in a folder, asked before a command relies
on it. On a shared machine (a class's JupyterHub, a lab server) a folder such as a
shared ``$CNNLAB_CACHE`` may hold another user's private files: reading one ended a
command in a bare PermissionError, where a readable copy of the data was found further on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def file_state(path: Path) -> str:
    """"file": a file this user can read; "missing": nothing there, or no file;
    "unreadable": one there (or maybe there: its folder may not be searched) that this
    user may not read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "missing"
    except PermissionError:  # a folder on the way this user may not search
        return "unreadable"
    except (OSError, ValueError):
        return "missing"
    return "file" if os.access(path, os.R_OK) else "unreadable"


def owner(path: Path) -> str | None:
    """The name of the user ``path`` belongs to, where that is another user and the name
    can be told (POSIX); None otherwise. For messages on a shared machine: the owner is
    who can share a file, or let others write in a folder."""
    try:
        import pwd  # POSIX only

        uid = os.stat(path).st_uid
        return None if uid == user_id() else pwd.getpwuid(uid).pw_name
    except (ImportError, OSError, KeyError):
        return None


def user_id() -> int | None:
    """This user's id, as files they make are owned; None off POSIX (Windows), where
    every file counts as this user's."""
    return os.geteuid() if hasattr(os, "geteuid") else None


def others_files(paths: list[Path]) -> list[Path]:
    """Those of ``paths`` that belong to another user (a link by its own owner; a file
    not there belongs to no one). In a folder users share, another user's file may hold
    anything, and is theirs to replace or remove."""
    uid = user_id()
    if uid is None:
        return []
    others = []
    for path in paths:
        try:
            if os.lstat(path).st_uid != uid:
                others.append(path)
        except OSError:
            pass
    return others
