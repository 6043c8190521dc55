"""Whether this user may read a file or write in a folder, asked before a command relies
on it. On a shared machine (a class's JupyterHub, a lab server) a folder such as a
shared ``$CNNLAB_CACHE`` may hold another user's private files: reading one ended a
command in a bare PermissionError, where a readable copy of the data was found further on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from pathlib import Path

from cnnlab.data.dataset import DataError


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


def is_own(path: Path) -> bool:
    """Whether ``path`` is this user's (every file is, off POSIX); False where it cannot
    be told (a folder on the way this user may not search). :func:`owner` is None for a
    file of an owner without a name here (NFS, a container's id) too: not this user's."""
    uid = user_id()
    try:
        return uid is None or os.stat(path).st_uid == uid
    except OSError:
        return False


def user_id() -> int | None:
    """This user's id, as the system knows them; None off POSIX (Windows), where every
    file counts as this user's. The owner of the files they make is :func:`own_uid`."""
    return os.geteuid() if hasattr(os, "geteuid") else None


# own_uid's answers, by folder: one file made and removed per folder and process.
_OWN_UIDS: dict[str, int] = {}


def own_uid(folder: Path) -> int | None:
    """The owner a file this process makes in ``folder`` gets: :func:`user_id`, except on
    a mount that maps owners (NFS all_squash or anonuid, CIFS or exFAT mounted with
    ``uid=``), where every file made there is the mapped user's, and this user's own
    entries looked like another's. Found once per folder from an empty file made there
    and removed; :func:`user_id` where none can be made (no such folder yet, a folder
    this user may not write)."""
    uid = user_id()
    if uid is None or str(folder) in _OWN_UIDS:
        return _OWN_UIDS.get(str(folder), uid)
    probe = Path(folder) / f".cnnlab-owner.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return uid
    try:  # the open file's owner: no other file can be renamed over it in between
        _OWN_UIDS[str(folder)] = os.fstat(fd).st_uid
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()
    _remove_lost_probes(Path(folder), _OWN_UIDS[str(folder)])
    return _OWN_UIDS[str(folder)]


def _remove_lost_probes(folder: Path, own: int) -> None:
    """Remove the probes of :func:`own_uid` a killed process left (a kill between the
    file's making and its removal): nothing else lists or removes them. Only this
    user's, a minute old: another process may be probing now."""
    for lost in folder.glob(".cnnlab-owner.*.tmp"):
        with contextlib.suppress(OSError):
            found = lost.lstat()
            if found.st_uid == own and found.st_mtime < time.time() - 60:
                lost.unlink()


def other_users_files(paths: list[Path]) -> list[Path]:
    """Those of ``paths`` that belong to another user (a link by its own owner; a file
    not there belongs to no one): owned by another than :func:`own_uid` of its folder.
    In a folder users share, another user's file may hold anything, and is theirs to
    replace or remove."""
    others = []
    for path in paths:
        try:
            uid = os.lstat(path).st_uid
        except OSError:
            continue
        own = own_uid(Path(path).parent)
        if own is not None and uid != own:
            others.append(path)
    return others


class OthersFile(DataError, PermissionError):
    """A file another user owns, opened where only this user's own are read."""


def open_own(path: Path) -> int:
    """``path`` opened to read (never through a link), where it is this user's file (see
    :func:`other_users_files`); :class:`OthersFile` where it is another's. Checked on the open
    file, not on the name: in a shared folder another user could rename a file of theirs
    to that name between a check and the read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    own = own_uid(Path(path).parent)
    if own is not None and os.fstat(fd).st_uid != own:
        os.close(fd)
        raise OthersFile(errno.EACCES, "another user's file", str(path))
    return fd
