"""Run folder names that Windows can create too, and tell apart as they were meant.

Windows refuses some names outright (a ``:`` in ``tv:resnet18``), makes others into
another folder's name (its file system drops trailing dots and spaces: ``exp.`` is
``exp``), and reads some as devices (``CON``, ``NUL``, ``COM1``, with any extension). And
unless long paths are enabled it refuses a path of 260 characters or more (MAX_PATH),
which a run folder deep in a user's folders (OneDrive's, say) reaches only when a
checkpoint is written inside it, an epoch in.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_DEVICES = {"CON", "PRN", "AUX", "NUL",
            *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3")}
MAX_PATH = 260
# How long a path inside a run folder gets, beyond the folder's own: the temporary file
# of checkpoints/best-before-cut.safetensors (55 characters), TensorBoard's events file
# (its name holds the time, the host's name and the pid), with room to spare.
LONGEST_INSIDE = 64


def file_name_for(model: str) -> str:
    """``model`` as part of a file or folder name: "tv:resnet18" -> "tv_resnet18". Windows
    allows none of ``<>:"/\\|?*`` in a name (NTFS would take "tv:x" for a stream "x" of a
    file "tv")."""
    return _FORBIDDEN.sub("_", model)


def run_name_problem(name: str) -> str | None:
    """Why ``name`` (``--run-name``) cannot name a run folder directly under out_dir
    (None: it can): blank, a path here ("../x", "a/b", "/abs" would put the run
    elsewhere), "." or "..", or a control character or line break (a newline split the
    printed `run:` line and the resume command pasted from it; NUL ended in "embedded
    null byte"). Windows' own rules: :func:`windows_name_problem`."""
    if not name.strip():
        return "it is blank"
    separators = {"/", os.sep, os.altsep} - {None}
    if any(sep in name for sep in separators) or name in (".", ".."):
        return "it is a path, not a folder's name"
    control = sorted({c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")})
    if control:
        return f"it holds the control character{'s' if len(control) > 1 else ''} " + \
            " ".join(repr(c) for c in control)
    return None


def new_run_name_problem(name: str) -> str | None:
    """Why a new run cannot be named ``name``, on any system, beyond
    :func:`run_name_problem` (which validate() applies to every run read back, so it stays
    as lenient as the runs written before): a trailing space, which the printed `run:`
    line does not show ("trail " was listed as runs/trail, a folder not there). A ':' is
    kept where the system allows it (Linux, macOS: "exp: lr=0.1"); on Windows
    check_windows_run_dir refuses it. None: it can."""
    if name != name.rstrip():
        return f"it ends in a space, which the `run:` line does not show: {name.rstrip()!r}?"
    return None


def windows_name_problem(name: str) -> str | None:
    """Why Windows cannot have a folder named ``name`` as it is (None: it can)."""
    forbidden = sorted(set(_FORBIDDEN.findall(name)))
    if forbidden:
        return f"Windows allows no {' '.join(map(repr, forbidden))} in a folder's name"
    if name.endswith((".", " ")):
        return (f"Windows drops a name's trailing dots and spaces, so {name!r} would be the "
                f"folder {name.rstrip('. ')!r}")
    device = name.split(".")[0].rstrip(" ")
    if device.upper() in _DEVICES:
        return f"{device} is the name of a device on Windows (as CON, NUL, COM1), no folder's"
    return None


def windows_path_problem(path: Path) -> str | None:
    """Why the files of a run folder at ``path`` would be too long a path for Windows
    (None: they are not, or long paths are enabled)."""
    length = len(str(Path(path).absolute()))
    if length + LONGEST_INSIDE < MAX_PATH or _long_paths_enabled():
        return None
    return (f"its path is {length} characters, and the files in it take up to "
            f"{LONGEST_INSIDE} more: Windows refuses a path of {MAX_PATH} or more unless long "
            "paths are enabled (LongPathsEnabled in the registry)")


def _long_paths_enabled() -> bool:
    try:
        import winreg
    except ImportError:  # not Windows
        return False
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                            r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return winreg.QueryValueEx(key, "LongPathsEnabled")[0] == 1
    except OSError:
        return False


def check_windows_run_dir(path: Path, run_name: str | None) -> None:
    """Refuse, before it is made, a run folder at ``path`` (named ``run_name``, or None:
    cnnlab's own name) that Windows cannot create, would confuse with another, or whose
    files it would refuse as too long: a ConfigError that says which option to change."""
    problem = run_name and windows_name_problem(run_name)
    fix = "another --run-name"
    if not problem:
        problem = windows_path_problem(path)
        fix = "a shorter --out-dir" + (" or --run-name" if run_name else "")
    if problem:
        from cnnlab.train.config import ConfigError

        raise ConfigError(f"cannot create the run folder {path}: {problem}; choose {fix}")


def as_listed(folder: Path) -> Path:
    """``folder`` as its parent lists it. A Mac's or Windows' disk matches names whatever
    their case and accent encoding: "runs/resnet" is taken there by "runs/ResNet", and a
    message naming the former named a folder `ls` does not show."""
    from cnnlab.data.folder_names import names_alike

    try:
        listed = os.listdir(folder.parent)
    except OSError:
        return folder
    if folder.name in listed:
        return folder
    return next((folder.parent / entry for entry in listed
                 if names_alike([entry, folder.name])), folder)
