"""Checks on the paths a command will write, made before it does any work: a long run
should not end in IsADirectoryError when it saves its result."""

from __future__ import annotations

from pathlib import Path

import typer


def check_output_file(path: Path, option: str, example: str = "result.json") -> None:
    """Raise ConfigError unless ``path`` can be written as a file: it is not a folder and
    no part of its folder is an existing file. Missing folders are fine (made later).
    ``example``: a file name to suggest inside a folder given instead."""
    from cnnlab.train import ConfigError

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name, e.g. "
                          f"{path / example}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            break


def output_file(*suffixes: str, what: str = "the rows"):
    """An --out callback: the file checked before anything is measured (it was refused
    only at the end), its suffix one the command writes (rows.csv holding JSON misled).
    ``what`` the file holds, for the message refusing another suffix."""
    def check(path: Path | None) -> Path | None:
        from cnnlab.train import ConfigError

        if path is None:
            return path
        try:
            check_output_file(path, "--out", example=f"result{suffixes[0]}")
        except ConfigError as exc:
            raise typer.BadParameter(str(exc).removeprefix("--out ")) from None
        if path.suffix.lower() not in suffixes:
            kinds = " or ".join(suffixes)
            raise typer.BadParameter(f"{path}: this command writes {what} as {kinds}; give a "
                                     f"name ending in {kinds}")
        return path

    return check
