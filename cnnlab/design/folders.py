"""What is already in a folder a design command would write into (a sweep's, a report's):
named before anything is written, so another tool's files are never mixed with ours."""

from __future__ import annotations

from pathlib import Path


def others_files(folder: Path, own: tuple[str, ...] = ()) -> str:
    """The entries of ``folder`` a command would mix its own files into, as "a, b, c,
    d, e and 3 more" ("" when none): those not in ``own``, and not the hidden ``*.tmp``
    files a killed atomic write or store creation leaves (they belong to no one)."""
    names = sorted(p.name for p in folder.iterdir() if p.name not in own
                   and not (p.name.startswith(".") and p.name.endswith(".tmp")))
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
