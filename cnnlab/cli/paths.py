"""Checks on the paths a command will write, made before it does any work: a long run
should not end in IsADirectoryError when it saves its result."""

from __future__ import annotations

from pathlib import Path

import typer

from .messages import fail


def check_output_file(path: Path, option: str, example: str = "result.json") -> None:
    """Raise ConfigError unless ``path`` can be written as a file: it is not a folder, no
    part of its folder is an existing file, and the nearest folder that exists takes a
    new file (a read-only or forbidden place failed with a traceback after all the work).
    Missing folders are fine (made later). ``example``: a file name to suggest inside a
    folder given instead."""
    from cnnlab.train import ConfigError

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name, e.g. "
                          f"{path / example}")
    check_writable_place(path, option)


def check_writable_place(path: Path, option: str, shown: Path | None = None) -> None:
    """Raise ConfigError unless a file can be written at ``path``: its nearest existing
    folder is a folder, and takes a new file, tried with one made and removed at once.
    ``shown``: the path the message names (the folder a command was given, where ``path``
    is a file it will write there)."""
    from cnnlab.atomic import write_problem
    from cnnlab.train import ConfigError

    shown = path if shown is None else shown

    folder = next(p for p in (*Path(path).absolute().parents, Path("/")) if p.exists())
    if not folder.is_dir():
        raise ConfigError(f"{option} {shown}: {folder} is a file, not a folder")
    problem = write_problem(folder)
    if problem:
        raise ConfigError(f"{option} {shown}: cannot write in {folder} ({problem}); "
                          "choose another place")


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


# Where a command looks for Fashion-MNIST when --data-root is not given, as each help says.
DATA_ROOT_DEFAULT = "$CNNLAB_DATA, the cache, then the system copy"


def folder_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """A folder option (``--data-root``) as the configs' text fields hold it; blank text
    refused, naming the option: typed as a path, '' arrived as '.', the current folder,
    where Fashion-MNIST was then looked for, and downloaded into, without a word. (The
    option is text, not a Path, for that: typer turns '' into '.' before a callback sees
    it; --help still shows it as DIR, by its name.)"""
    if value is None:
        return None
    if not value.strip():
        name = "/".join(param.opts)
        fail(f"{name} {value!r}: give a folder (. for the current one), or leave {name} "
             "out", code=2)
    return str(Path(value))  # "data/" as "data", as a Path option gave it


def dataset_name(left_out: str = "fashion-mnist"):
    """A callback for a dataset option or argument (``--data``): its value in cnnlab's
    spelling, whatever the case it was typed in (``dataset_spelling``: Fashion-MNIST,
    Synthetic and Folder:PATH are accepted by every command alike, and stored as one
    name); blank text refused, naming the option and ``left_out``, what the command
    takes without it (design run trained on Fashion-MNIST for --data '' without a word)."""
    def check(param: typer.CallbackParam, value: str | None) -> str | None:
        from cnnlab.dataset_names import dataset_spelling

        if value is not None and not value.strip():
            option = param.param_type_name == "option"
            name = "/".join(param.opts) if option else "DATASET"
            fail(f"{name} {value!r}: give a dataset (fashion-mnist, folder:PATH or "
                 f"synthetic), or leave {name if option else 'it'} out for {left_out}", code=2)
        return None if value is None else dataset_spelling(value)

    return check
