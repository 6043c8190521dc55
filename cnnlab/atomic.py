"""Atomic file writes: a process killed at any moment leaves the old file or the new
one under the real name, never a half-written one.

The content goes to a temporary name in the same directory, is fsynced, then
``os.replace``d over the old file, and the directory is fsynced. No torch here: the
config module, which reads and writes YAML without torch, uses it too.

Work that fails before writing anything leaves no empty folders behind either:
:func:`first_missing_folder` notes what it is about to make, and
:func:`remove_empty_folders_made` takes those folders away again.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import time
from pathlib import Path

# A full disk, or a user's quota spent (EDQUOT, where the platform defines it): freeing
# space is the fix, not the permissions or another folder.
DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def atomic_write_bytes(path: Path, write, mode: int | None = None) -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` atomically. ``mode``:
    the file's permissions (default: what a plain write would give, or the old file's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # os.replace's error named the temporary file, and no fix
        raise IsADirectoryError(f"{path} is a folder, so the file of that name cannot be "
                                "written: move the folder away, then run the command again")
    if mode is None and path.exists():
        mode = path.stat().st_mode & 0o7777
    # Made no more open than its final mode while ``write`` fills it (a private file is
    # never readable by others, even as a temporary one), but writable by its owner: a
    # read-only old file's mode (0444) made the temporary one refuse ``write`` and the
    # fsync, so a user other than root could not replace it (a resume ended at its first
    # checkpoint, its epoch trained for nothing); root, whom modes never stop, could.
    tmp = new_temp_file(path, 0o666 if mode is None else mode | stat.S_IWUSR)
    try:
        if mode is None:  # a plain write's, as the new file was made
            mode = os.stat(tmp).st_mode & 0o7777
        write(tmp)
        os.chmod(tmp, mode | stat.S_IWUSR)  # whatever ``write`` did (replaced it, say)
        fsync_file(tmp)
        os.chmod(tmp, mode)  # the final mode once written: read-only stays read-only
        replace_file(tmp, path)
    except BaseException as exc:
        _remove_temp_file(tmp)
        if isinstance(exc, OSError) and exc.errno and exc.filename in (None, tmp):
            # A full disk's write or fsync names no file (or the temporary one): named
            # by the file meant ("[Errno 28] No space left on device" said neither).
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        raise
    fsync_folder(path.parent)


# Windows refuses to replace or delete a file another program has open (an antivirus scan
# of the file just written, a viewer, TensorBoard, a OneDrive sync) with PermissionError,
# WinError 32 or 5, until that program lets go: often within a second. Waits before each
# new try, growing: 1.55 s in all, short beside a checkpoint's save.
WINDOWS_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8)


def replace_file(src: Path | str, dst: Path | str) -> None:
    """``os.replace(src, dst)``; on Windows tried again for a moment while another program
    holds either file (see WINDOWS_WAITS), then refused with that program and the fix
    said. ``dst`` is unchanged whenever it fails. Elsewhere a refusal is a real one (a
    folder's permissions) and is raised at once."""
    if sys.platform != "win32":
        os.replace(src, dst)
        return
    for wait in (*WINDOWS_WAITS, None):
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            # A read-only file is refused just the same, and stays refused: no waiting.
            if wait is None or read_only(dst):
                raise PermissionError(exc.errno, _held_words(dst), str(dst)) from exc
            time.sleep(wait)


def read_only(path: Path | str) -> bool:
    """Whether ``path`` is a file Windows' read-only attribute keeps from being replaced."""
    try:
        return not os.stat(path).st_mode & stat.S_IWRITE
    except OSError:
        return False


def _held_words(path: Path | str) -> str:
    if read_only(path):
        return ("the file is read-only, so it cannot be replaced; clear that (its "
                f"Properties, or attrib -r \"{path}\"), then run the command again")
    # WinError 5 also means a folder that denies writing: said second, as less likely
    # for a file cnnlab wrote there before.
    return (f"another program kept the file open for over {sum(WINDOWS_WAITS):.1f} s (an "
            "antivirus scan, a viewer or TensorBoard reading it, a OneDrive or other sync "
            "client), so it could not be replaced and keeps its previous content; close "
            "that program or pause its sync of this folder, then run the command again "
            f"(if none has it open: check that you may write in {Path(path).parent})")


def _remove_temp_file(tmp: str) -> None:
    """Delete a write's temporary file after a failure, without hiding that failure: on
    Windows a file with no write permission (the old file's mode, copied) is refused
    deletion, and so is one another program holds, for a moment (see replace_file)."""
    if sys.platform != "win32":
        Path(tmp).unlink(missing_ok=True)
        return
    for wait in (*WINDOWS_WAITS, None):
        try:
            if read_only(tmp):
                os.chmod(tmp, stat.S_IREAD | stat.S_IWRITE)
            Path(tmp).unlink(missing_ok=True)
            return
        except PermissionError:
            if wait is None:
                return  # left as remove_leftover_temp_files finds it; the first error says why
            time.sleep(wait)


def new_temp_file(path: Path, mode: int = 0o666) -> str:
    """An empty, new file beside ``path``, created as a plain write with ``mode`` creates
    one (0666: that less the umask, or as a default ACL says). Not mkstemp's private
    0600: the file it becomes is then readable as any other with no need to read the
    umask, which takes setting it for the whole process, other threads included."""
    for _ in range(100):
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp"))
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        except OSError as exc:  # named by the file meant, not by its temporary name
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


def write_problem(folder: Path) -> str | None:
    """Why a new file cannot be made in ``folder`` ("permission denied", "read-only file
    system"), tried with one made and removed at once; None where it can. The folder
    must exist."""
    try:
        os.unlink(new_temp_file(Path(folder) / ".cnnlab-write-check"))
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return None


def remove_leftover_temp_files(folder: Path, name: str = "*") -> int:
    """Delete the temporary files in ``folder`` that writes killed before their rename
    left (``.NAME.XXXXXXXX.tmp``, new_temp_file's names; a checkpoint's is as large as
    the checkpoint); returns how many. ``name``: only those of the file of that name
    (default: every file's). Only for files no one else is writing to now: a live
    write's temporary file looks the same."""
    removed = 0
    for leftover in Path(folder).glob(f".{name}.*.tmp"):
        stem = leftover.name[1:-len(".tmp")]
        token = stem.rpartition(".")[2]
        if len(token) == 8 and all(c in "0123456789abcdef" for c in token):
            leftover.unlink(missing_ok=True)
            removed += 1
    if name == "*":
        # safetensors (0.5+, Rust) writes a checkpoint to ``.tmpXXXXXX`` beside the path it
        # is given, then renames it there: a kill during that write left a checkpoint-sized
        # file per kill that the names above do not match.
        for leftover in Path(folder).glob(".tmp??????"):
            if leftover.name[4:].isalnum() and _begins_as_safetensors(leftover):
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


def _begins_as_safetensors(path: Path) -> bool:
    """Whether ``path`` is a file a safetensors write may have left: empty, or its 8-byte
    header length then the header's "{" (it writes the header first), so that a user's
    own ``.tmpbackup`` beside a run's files is kept."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(9)
    except OSError:  # a folder of that name, or no longer there
        return False
    return not start or start[8:9] == b"{"


def fsync_file(path: Path | str) -> None:
    """Put a file's content on disk (before it is renamed into place)."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


# What a filesystem that cannot fsync a folder answers (some network and FUSE mounts,
# Windows): the rename is done, only its durability cannot be asked for.
_FOLDER_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF,
                             errno.EACCES, errno.EPERM, errno.EISDIR}


def fsync_folder(folder: Path | str) -> None:
    """Put a folder's entries on disk (after renames into it). A filesystem that cannot
    fsync a folder is let be; a real failure (EIO) is raised."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in _FOLDER_FSYNC_UNSUPPORTED:
            return
        raise
    try:
        os.fsync(dir_fd)
    except OSError as exc:
        if exc.errno not in _FOLDER_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """``text`` as UTF-8, its line endings as given on every OS: Windows' translation of
    "\n" to "\r\n" would turn a CSV writer's "\r\n" into "\r\r\n", a blank row."""
    atomic_write_bytes(
        path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline=""), mode)


def first_missing_folder(path: str | Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist yet: the first folder
    creating ``path`` adds (None where ``path`` exists)."""
    missing = None
    for folder in (Path(path).absolute(), *Path(path).absolute().parents):
        if folder.exists():
            break
        missing = folder
    return missing


def remove_empty_folders_made(folder: Path, made_from: Path | None) -> None:
    """Remove ``folder`` and the folders above it that were made from ``made_from`` (as
    :func:`first_missing_folder` named it before they were made), innermost first, each
    only while empty: something else may have written in one meanwhile."""
    if made_from is None:
        return
    folder = Path(folder).absolute()
    for made in (folder, *folder.parents):
        if made != made_from and made_from not in made.parents:
            return
        try:
            made.rmdir()
        except OSError:
            return


def open_to_append(path: Path | str, mode: str = "a", **options):
    """``open(path, mode)`` for appending ("a" or "a+"), except through a symlink: a link
    at the name (planted in a run folder copied in, or dangling) had the appends create
    or grow the file it named, wherever that was. Refused with the link named."""
    flags = (os.O_WRONLY if mode == "a" else os.O_RDWR) | os.O_APPEND | os.O_CREAT
    # O_BINARY: Windows' C library would turn each "\n" into "\r\n" (open() sets it too).
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if os.path.islink(path):
            raise OSError(exc.errno, f"{path} is a link to {os.readlink(path)}, not a file "
                                     "cnnlab wrote; remove the link") from None
        raise
    try:
        return os.fdopen(fd, mode, **options)
    except BaseException:
        os.close(fd)
        raise
