"""Folder names that file systems match otherwise than Linux does: macOS and Windows
match names whatever their case ("Cat" and "cat" are one folder there), and macOS
whatever the encoding of their accents ("\u00e9cole" composed, or "e" and a combining
accent, as macOS's HFS+ and archives made from it write names: "decomposed"). On Linux
such names are two folders, and two decomposed/composed ones look the same everywhere."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from cnnlab.data.dataset import DataWarning
from cnnlab.data.folder_files import readable_name
from cnnlab.notices import warn_user


def composed(name: str) -> str:
    """``name`` with its accents composed (NFC), as a keyboard types them."""
    return unicodedata.normalize("NFC", name)


def names_alike(names: Iterable[str]) -> list[list[str]]:
    """The groups of ``names`` that differ only in case or in how an accent is encoded:
    one folder on macOS (on Windows: those that differ in case), two on Linux."""
    groups = defaultdict(list)
    for name in names:
        groups[composed(name).lower()].append(name)
    return [group for group in groups.values() if len(group) > 1]


def _shown(groups: list[list[str]]) -> str:
    """Each group's names, a decomposed one marked: "\u00e9cole/ and \u00e9cole/" told
    nothing apart."""
    def one(name: str) -> str:
        marked = " (decomposed accents)" if composed(name) != name else ""
        return f"{readable_name(name)}/{marked}"

    return "; ".join(" and ".join(map(one, group)) for group in groups)


def names_alike_problem(root: Path, folders: Iterable[Path], classes: bool = False) -> str | None:
    """What is wrong with ``folders``, below ``root``, that are one folder on macOS or
    Windows, with the fix; None where no two are so. Splits (train/ and Train/): cnnlab
    used one and passed over the other. Class folders (``classes``): those that differ in
    their accents' encoding alone are refused (one class name, shown alike, for two
    folders); those that differ in case are two classes that load here, and are only
    warned of (a copy on a Mac would merge them; runs trained on them go on working)."""
    alike = names_alike(p.name for p in folders)
    if classes:
        by_case = [g for g in alike if len({composed(n) for n in g}) == len(g)]
        if by_case:
            warn_user(f"{root}: the class folders {_shown(by_case)} differ only in case: two "
                      "classes here, one folder on macOS and Windows, where a copy of this "
                      "dataset merges them; rename one, or merge them if they are one class",
                      DataWarning)
        alike = [g for g in alike if g not in by_case]
    if not alike:
        return None
    return (f"{root}: the folders {_shown(alike)} differ only in case or in how an accent "
            "is encoded: one folder on macOS (and, differing in case, on Windows), and "
            f"{'one class name' if classes else 'one split, the other unused'} here. Merge "
            "them if they hold the same images' kind, else rename one")


def reencoded_names_problem(have: Sequence[str], trained: Sequence[str]) -> str | None:
    """Where the class names ``have`` are those ``trained`` on, in the same order, with
    their accents encoded otherwise: None, they are the same classes. Where the encoding
    also sorted them otherwise (a decomposed "e\u0301" before "f", a composed "\u00e9"
    after it), why their labels would mean other classes, and the fix. Else (other
    names): None, for the caller's own words."""
    if list(have) == list(trained) or sorted(map(composed, have)) != sorted(
            map(composed, trained)) or list(map(composed, have)) == list(map(composed, trained)):
        return None
    return ("its class folders are the run's with their accents encoded otherwise (a copy "
            "made on a Mac, or by a tool that re-encodes names), which sorts them in another "
            "order, so their labels would mean other classes: use the folder the run trained "
            "on, or one whose class folders' names are encoded as its own were")


def same_names(have: Sequence[str], trained: Sequence[str]) -> bool:
    """Whether ``have`` are the class names ``trained``, in order, whatever the encoding
    of their accents (a copy made on a Mac holds them decomposed)."""
    return list(map(composed, have)) == list(map(composed, trained))
