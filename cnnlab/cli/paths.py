"""Checks on the paths a command will write, made before it does any work: a long run
should not end in IsADirectoryError when it saves its result."""

from __future__ import annotations

from pathlib import Path


def check_output_file(path: Path, option: str) -> None:
    """Raise ConfigError unless ``path`` can be written as a file: it is not a folder and
    no part of its folder is an existing file. Missing folders are fine (made later)."""
    from cnnlab.train import ConfigError

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name, e.g. "
                          f"{path / 'result.json'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            break
