"""Fashion-MNIST's four files: which are in a folder, and why a folder does not count.
Only what this user can read counts: on a shared machine a folder may hold another
user's private copy, which ended a command in a PermissionError where a readable copy
was found further on (the system copy, say). Such a copy is passed over, and a
``$CNNLAB_DATA`` passed over so is said (:func:`say_passed_over`)."""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.data.access import file_state, is_own, owner
from cnnlab.data.dataset import DataWarning
from cnnlab.notices import warn_user
from cnnlab.shell_words import shell_quote

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def file_in(directory: Path, name: str) -> Path | None:
    # The raw file first: it loads without decompressing. One this user may not read
    # (another's private copy in a shared folder) is passed over, as a missing one.
    for candidate in (directory / name, directory / f"{name}.gz"):
        if file_state(candidate) == "file":
            return candidate
    return None


def find_files(directory: str | Path) -> dict[str, Path] | None:
    """The four files in ``directory`` (or its ``FashionMNIST/raw``), or None if any is missing."""
    directory = Path(directory)
    for folder in (directory, directory / "FashionMNIST" / "raw"):
        found = {name: file_in(folder, name) for name in FILES}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def why_not(path: Path) -> str:
    """Why ``path`` does not count as a copy of Fashion-MNIST, in words."""
    if not os.path.isdir(path):
        return "does not exist" if not os.path.lexists(path) else "not a directory"
    missing = [n for n in FILES if file_in(path, n) is None]
    locked = [n for n in missing if "unreadable" in (file_state(path / n),
                                                     file_state(path / f"{n}.gz"))]
    reasons = []
    if len(locked) < len(missing):
        reasons.append(f"missing {_names(n for n in missing if n not in locked)}")
    if locked:  # another user's private copy, in a shared folder
        files = (path / locked[0], path / f"{locked[0]}.gz")
        who = owner(files[0]) or owner(files[1]) or "their owner"
        # This user's own (a copy they made, then chmod'ed): "their owner" was themselves.
        reasons.append(f"{_names(locked)} not readable by this user: " + (
            f"let this user read them (chmod a+r {shell_quote(str(path))}/*)"
            if any(map(is_own, files)) else f"{who} can share them (chmod a+r)"))
    return "; ".join(reasons)


def root_option(path: str | Path) -> str:
    """``--root PATH`` as typed in this platform's shell, for the commands the data's
    messages print: `cnnlab data download --root /tmp/x y` fetched into /tmp/x."""
    return f"--root {shell_quote(str(path))}"


def _names(names) -> str:
    return ", ".join(f"{n}[.gz]" for n in names)


# The $CNNLAB_DATA folders said to be passed over: a command may look for the data twice.
_told_passed_over: set[Path] = set()


def say_passed_over(places: list, found) -> None:
    """Warn, once, where ``$CNNLAB_DATA`` is among ``places`` (fashion_mnist.Location's:
    a path and an origin), does not count, and another copy (``found``) is used: which
    files, why, and the fix. A copy with one archive this user may not read was passed
    over unsaid for the system copy, and the user who set the variable was not told."""
    env = next((p for p in places if p.origin == "$CNNLAB_DATA"), None)
    if env is None or found is None or found == env or env.path in _told_passed_over:
        return
    _told_passed_over.add(env.path)
    why = why_not(env.path)
    # Downloads go to the cache, not there: a folder set for them stayed empty
    fill = (f", or put the files there (cnnlab data download {root_option(env.path)})"
            if "missing" in why or "exist" in why else "")
    warn_user(f"$CNNLAB_DATA ({env.path}) is passed over: {why}; using {found.path} "
              f"({found.origin}) instead (unset CNNLAB_DATA to use that copy without this "
              f"warning{fill})", DataWarning)
