"""`cnnlab data` in a narrow terminal, and what `data cache --clear/--prune` says of an
entry it leaves: a table cut no count ("60,0…" images at 40 columns), a left entry is
named with its owner, or its writer, and the way to remove it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app


def _data(width: int, *args: str) -> str:
    """`cnnlab data ARGS` in a ``width``-column terminal (FORCE_COLOR: a terminal, so
    COLUMNS is its width; NO_COLOR and the escapes stripped: the words alone)."""
    result = CliRunner().invoke(app, ["data", *args], env={
        "FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.output)


def _cells(text: str) -> list[str]:
    return re.findall(r"[^\s│┃]+", text)


@pytest.mark.parametrize("width", [40, 80, 200])
def test_data_info_cuts_no_count_nor_header(width):
    # At 40 columns the headers read "imag…" and "mem…", and Fashion-MNIST's counts
    # "60,0…": now the dtype (uint8 for all) goes first, named under the table.
    out = _data(width, "info", "synthetic")
    assert "…" not in out, out
    assert all(len(line) <= width for line in out.splitlines() if line[:1] in "┏┃│└"), out
    cells = _cells(out)
    for word in ("images", "512", "128", "memory", "class9", "52"):
        assert word in cells, (word, out)
    assert ("not shown at 40 columns: dtype" in " ".join(out.split())) == (width == 40), out


def test_data_verify_names_each_file_whole_in_40_columns(data_env):
    from cnnlab.data import fashion_mnist as fm

    root = data_env / "fmnist"
    root.mkdir()
    for name in fm.FILES:  # each named BAD, with its md5 beside the published one
        (root / f"{name}.gz").write_bytes(b"\x1f\x8b" + bytes(40))
    result = CliRunner().invoke(app, ["data", "verify", "--root", str(root)], env={
        "FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "40"})
    out = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.output)
    assert "…" not in out, out
    files = "".join(line.split("│")[1].strip() for line in out.splitlines()
                    if line.startswith("│"))  # the first column's folded lines, joined
    assert "train-images-idx3-ubyte.gz" in files and "BAD" in out, out


def _pets(data_env: Path) -> Path:
    from cnnlab.data.folder import load_folder

    root = data_env / "pets"
    for name, level in (("cat", 30), ("dog", 220)):
        (root / name).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), level + i).save(root / name / f"{i}.png")
    load_folder(root, image_size=8, channels=1, progress=False, val_fraction=0.5)
    return data_env / "cache" / "folders"


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
def test_clear_names_the_owner_of_an_entry_it_leaves_and_how_to_remove_it(data_env,
                                                                         monkeypatch):
    # It said "left 1 being written by another process now, or not yours to remove" and
    # "left: KEY (another user's)": whose, and what to do, the user had to find out.
    import pwd

    from cnnlab.data import access, folder_cache

    folder = _pets(data_env)
    (key,) = {p.name.split(".")[0] for p in folder.iterdir()}
    me = pwd.getpwuid(os.geteuid()).pw_name
    other = os.geteuid() + 4242  # this process plays another user: the entry is not theirs
    monkeypatch.setattr(os, "geteuid", lambda: other)
    monkeypatch.setitem(access._OWN_UIDS, str(folder), other)  # the owner their files get
    monkeypatch.setattr(folder_cache, "_told_not_readable", set())
    out = " ".join(CliRunner().invoke(app, ["data", "cache", "--clear"]).output.split())
    assert f"another user's ({me}): ask them to remove it (rm {folder / key}.*)" in out, out
    assert "left 1" in out and "not yours to remove" not in out


def test_clear_says_who_writes_an_entry_it_leaves(data_env):
    fcntl = pytest.importorskip("fcntl")
    from cnnlab import file_lock

    (lock,) = _pets(data_env).glob("*.lock")
    with open(lock, "r+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        file_lock.name_holder(held, "pid 4321 on lab-server")
        out = " ".join(CliRunner().invoke(app, ["data", "cache", "--clear"]).output.split())
    assert "being written now by pid 4321 on lab-server: run this again once it has " \
           "finished" in out, out
