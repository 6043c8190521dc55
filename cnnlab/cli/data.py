"""`cnnlab data ...`: where the data came from, what it looks like."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    format_bytes,
    left_out_caption,
    without_columns,
)

from .messages import fail, fail_for, output_console, print_table, show_warning
from .paths import check_output_file, dataset_name, folder_text

if TYPE_CHECKING:  # the data package (and torch) load in the commands, not for --help
    from cnnlab.data import DatasetSplits

app = typer.Typer(help="Datasets: info, show (a grid of images), locate, download, verify; "
                       "cache (the decoded image folders kept).",
                  no_args_is_help=True)

# What `data show` writes: formats matplotlib saves without extra software (not pgf or
# eps), and a grid size that stays quick and readable (one subplot per image: 256
# took ~30 s on 2 busy cores; 100,000 ran for minutes and took GBs).
GRID_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")
MAX_GRID = 256
# Below figures.DPI: a cell of 1.3 inches is 130 pixels, several times a 28-pixel image,
# and a 16 x 16 grid stays a 2,000-pixel PNG that draws in seconds.
GRID_DPI = 100

DATASET_HELP = '"fashion-mnist", "folder:PATH" (one folder of images per class) or "synthetic".'
ROOT_HELP = ("Fashion-MNIST: the directory holding the four files; the only place looked "
             "in when given (default: $CNNLAB_DATA, the cache, the system copy).")


def _out() -> Console:
    # Made per call, so output goes to whatever sys.stdout is now (tests swap it).
    return output_console(highlight=False)


def _print_fitted(out: Console, header: list[str], rows: list[list[str | Text]],
                  leave_out_first: tuple[str, ...] = (), wraps: tuple[str, ...] = (),
                  title: str | None = None) -> None:
    """A table fitted to ``out``'s width with every cell folded, never cut: left to rich,
    `data info` in 40 columns read "60,0…" for 60,000 images and `data verify`
    "train-image…". Where even folded it would not fit, it goes without the columns
    ``leave_out_first`` (as few as fit, in order), and its caption names them (a pipe
    lays tables out in 160 columns). ``wraps``: columns whose text may wrap at spaces.
    A cell is plain text, or a coloured Text measured as its words."""
    plain = [[str(cell) for cell in row] for row in rows]
    left_out = columns_left_out(header, plain, out.width, list(leave_out_first), wraps)
    rows = without_columns(header, rows, left_out)[1]
    header, plain = without_columns(header, plain, left_out)
    table = Table(title=title and escape(title),
                  caption=left_out_caption(left_out, out.width, "pipe the output to `less -S`"))
    for name, width in zip(header, fitted_widths(header, plain, out.width, wraps), strict=True):
        table.add_column(name, width=width, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) if isinstance(cell, str) else cell for cell in row))
    print_table(out, table)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Data errors end the command with one line and exit 1, no traceback. Every skipped
    file is named (the CLI prints data warnings as "warning:" lines)."""
    from cnnlab.data import DataError, DataWarning
    from cnnlab.train.config import ConfigError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = show_warning  # also when this app runs on its own
            yield
    except (DataError, OSError, ConfigError) as exc:
        # OSError too: an unwritable --out or --root is the user's to fix, not a bug.
        fail_for(exc)


def _load(dataset: str, root: str | None, download: bool, **folder_options) -> DatasetSplits:
    from cnnlab.data import load_dataset, parse_spec

    kind, _ = parse_spec(dataset)
    if kind == "fashion-mnist":
        return load_dataset(dataset, root, download=download)
    if kind == "synthetic":
        return load_dataset(dataset, root)
    return load_dataset(dataset, root, **folder_options)


# `cnnlab train` has no --image-size: it decodes a folder at the model's input, so the
# size and channels to look at a run's images with were a guess.
IMAGE_SIZE_HELP = ("Folder: decode images to this square size (`cnnlab train` decodes at "
                   "its --resize, else the model's input size: see `cnnlab models`).")
CHANNELS_HELP = ("Folder: 3 (RGB) or 1 (greyscale) (`cnnlab train`: its --channels, else "
                 "the model's: see `cnnlab models`).")


def _check_folder_options(image_size: int, channels: int,
                          val_fraction: float | None = None) -> None:
    """The folder options' ranges, as a request refused (exit 2, naming the flag) before
    any image is decoded: they failed as data errors (exit 1) naming the Python field."""
    if image_size < 1:
        fail(f"--image-size {image_size}: give the square side in pixels, 1 or more", code=2)
    if channels not in (1, 3):
        fail(f"--channels {channels}: 1 (greyscale) or 3 (RGB)", code=2)
    if val_fraction is not None and not 0 < val_fraction < 1:
        fail(f"--val-fraction {val_fraction:g}: a share of each class, more than 0 and "
             "less than 1 (0.2 holds out a fifth)", code=2)


def _require_fashion(dataset: str, command: str) -> None:
    from cnnlab.data import DataError, parse_spec

    try:
        kind = parse_spec(dataset)[0]
    except DataError:  # its list of every dataset is not what this command accepts
        kind = None
    if kind != "fashion-mnist":
        fail(f"`cnnlab data {command}` applies to fashion-mnist only, not {dataset!r}", code=2)


def _split_row(name: str, split, data: DatasetSplits) -> list[str]:
    c, h, w = data.channels, *data.image_size
    # One byte a value (uint8), written as every size is ("392 KiB"): "0.4 MiB" read
    # "0.0 MiB" for a small folder's split
    return [name, f"{len(split):,}", f"{c} x {h} x {w}", "uint8",
            format_bytes(split.images.numel() * split.images.element_size())]


@app.command()
def info(
    dataset: str = typer.Argument("fashion-mnist", callback=dataset_name(), help=DATASET_HELP),
    root: str | None = typer.Option(None, "--root", "--data-root", callback=folder_text,
                                    help=ROOT_HELP),
    download: bool = typer.Option(True, help="Fashion-MNIST: download when not found."),
    image_size: int = typer.Option(64, help=IMAGE_SIZE_HELP),
    channels: int = typer.Option(3, help=CHANNELS_HELP),
    val_fraction: float | None = typer.Option(
        None, help="Folder: share of each class held out (default: 0.2, the share `cnnlab "
                   "train` holds out; a tree already split into train/ and val/ keeps its "
                   "own)."),
    seed: int = typer.Option(0, min=0, help="Folder: seed of the train/validation split."),
) -> None:
    """Where the data came from, its size, shapes and class balance."""
    _check_folder_options(image_size, channels, val_fraction)
    with _user_errors():
        data = _load(
            dataset, root, download, image_size=image_size, channels=channels,
            val_fraction=val_fraction, seed=seed,
        )  # fmt: skip
    out = _out()
    out.print(f"[bold]{escape(data.name)}[/bold]: {escape(data.source)}")
    test_name = "test (validation)" if data.name.startswith("folder:") else "test"
    # A narrow terminal goes without the dtype (always uint8) first; the counts stay.
    _print_fitted(out, ["split", "images", "shape", "dtype", "memory"],
                  [_split_row("train", data.train, data), _split_row(test_name, data.test, data)],
                  ("dtype", "memory", "shape"), wraps=("split", "shape", "memory"))
    train_counts = data.train.class_counts(data.num_classes)
    test_counts = data.test.class_counts(data.num_classes)
    _print_fitted(out, ["label", "class", "train", "test"],
                  [[str(i), name, f"{train_counts[i]:,}", f"{test_counts[i]:,}"]
                   for i, name in enumerate(data.classes)], wraps=("class",), title="Class balance")
    if data.name.startswith("folder:"):
        from cnnlab.data import parse_spec

        out.print(_cache_line(Path(parse_spec(dataset)[1]).expanduser().resolve()))


def _cache_line(root: Path | None = None) -> str:
    """What the decoded folders kept take (``root``'s entries first: the line gave only
    the whole cache's, every folder's and user's), and where to see them."""
    from cnnlab.data.folder_cache import CacheFolderError, cache_entries, entries_folder

    try:
        entries = cache_entries()
    except CacheFolderError as exc:  # it read "holds 0 entries": it could not be read
        return f"cache: {escape(str(exc))}"
    total = sum(e.nbytes for e in entries)
    line = (f"{escape(str(entries_folder()))} holds {_entries(len(entries))} "
            f"({format_bytes(total)}); see them with `cnnlab data cache`")
    if root is None:
        return f"cache: {line}"
    # A split tree's entries are its train/ and val/ folders': below root.
    own = [e for e in entries if e.folder and Path(e.folder).is_relative_to(root)]
    return (f"cache: this folder's {_entries(len(own))} take{'s' if len(own) == 1 else ''} "
            f"{format_bytes(sum(e.nbytes for e in own))}; in all, {line}")


def _why_left(entry) -> str:
    """Why ``--clear`` or ``--prune`` left ``entry``, and the way out: whose it is, or who
    writes it now (the line had said only "being written by another process now, or not
    yours to remove", and "another user's" without the user)."""
    from cnnlab.data.access import other_users_files, owner
    from cnnlab.file_lock import held_by

    # An entry's files: KEY.json, KEY.safetensors, KEY.lock, and .KEY.json.XXXXXXXX.tmp
    # while a write goes on (folder_cache._files_by_entry).
    folder, key = entry.stem.parent, entry.stem.name
    names = [f"{folder / key}.*", *([f"{folder}/.{key}.*"] if any(
        p.name.startswith(".") for p in entry.files) else [])]
    others = other_users_files(entry.files)
    if others:
        who = owner(others[0])  # None where the name cannot be told
        return (f"another user's{f' ({who})' if who else ''}: ask them to remove it "
                f"(rm {' '.join(names)})")
    writer = held_by(entry.stem.with_suffix(".lock"))
    if writer is not None:
        return (f"being written now by {writer or 'another process'}: run this again once "
                "it has finished")
    return (f"{entry.state}, and not removed: check that you may delete files in {folder}, "
            f"then rm {' '.join(names)}")


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"  # formatting.counted adds an s


@app.command()
def cache(
    clear: bool = typer.Option(False, "--clear", help="Remove every entry (those being "
                               "written by another process now, and other users' in a shared "
                               "cache, are left)."),
    prune: bool = typer.Option(False, "--prune", help="Remove the entries no run reads again: "
                               "of folders deleted since, and writes cut short (a killed one's "
                               "after ten minutes, an hour where locks cannot tell)."),
) -> None:
    """List the image folders kept decoded: one entry per folder, image size and channels,
    with its images, disk space and state. --prune and --clear remove entries; a folder
    decodes again when next used."""
    from cnnlab.data.folder_cache import cache_entries, entries_folder, remove_entry

    if clear and prune:
        fail("--clear removes every entry, --prune those no run reads again: give one", code=2)
    with _user_errors():  # no home, no $CNNLAB_CACHE: said, not a traceback
        where, entries = entries_folder(), cache_entries()
    if clear or prune:
        chosen = [e for e in entries if clear or e.state in ("folder gone", "unfinished")]
        removed = [e for e in chosen if remove_entry(e)]
        left = [e for e in chosen if e not in removed]
        freed = format_bytes(sum(e.nbytes for e in removed))
        line = f"removed {_entries(len(removed))} ({freed}) from {escape(str(where))}"
        if left:
            line += f"; left {len(left)}, each below with why and what would remove it"
        _out().print(line)
        for entry in left:
            _out().print(f"  left: {escape(entry.folder or f'? ({entry.stem.name})')}: "
                         f"{escape(_why_left(entry))}")
        return
    if not entries:
        _out().print(f"the folder cache {escape(str(where))} is empty")
        return
    rows = []
    for e in entries:
        side = e.sidecar or {}
        size = side.get("size")
        shape = f"{size[0]}x{size[1]}" if isinstance(size, list) and len(size) == 2 else "?"
        images = e.images() if e.sidecar is not None else None
        rows.append([e.folder or f"? ({e.stem.name})", shape, str(side.get("channels", "?")),
                     "?" if images is None else f"{images:,}", format_bytes(e.nbytes), e.state])
    out = _out()
    # The size (and the channels) tell a folder's entries apart: the image count goes first.
    _print_fitted(out, ["folder", "size", "channels", "images", "disk", "state"], rows,
                  ("images", "channels"), wraps=("disk", "state"))
    out.print(f"{escape(str(where))}: {_entries(len(entries))}, "
              f"{format_bytes(sum(e.nbytes for e in entries))}. --prune removes those no run reads "
              "again, --clear all of them (a folder decodes again when next used)")


@app.command()
def show(
    dataset: str = typer.Argument("fashion-mnist", callback=dataset_name(), help=DATASET_HELP),
    out: Path = typer.Option(Path("grid.png"), "--out", "-o",
                             help="Image file to write: .png, .jpg, .pdf or .svg."),
    n: int = typer.Option(64, "--n", "-n", min=1, max=MAX_GRID,
                          help=f"How many images (at most {MAX_GRID}: a 16 x 16 grid)."),
    split: str = typer.Option("train", help='"train" or "test".'),
    root: str | None = typer.Option(None, "--root", "--data-root", callback=folder_text,
                                    help=ROOT_HELP),
    download: bool = typer.Option(True, help="Fashion-MNIST: download when not found."),
    image_size: int = typer.Option(64, help=IMAGE_SIZE_HELP),
    channels: int = typer.Option(3, help=CHANNELS_HELP),
    seed: int = typer.Option(0, min=0, help="Seeds which images are shown (and a folder's split)."),
) -> None:
    """Write a grid of sample images, each titled with its class."""
    import torch

    from cnnlab.data import DataError
    from cnnlab.figures import fitted, image_grid

    _check_folder_options(image_size, channels)
    with _user_errors():
        if split not in ("train", "test"):
            fail(f'--split must be "train" or "test", got {split!r}', code=2)
        if out.suffix.lower() not in GRID_SUFFIXES:  # before the data is loaded
            kind = f"a {out.suffix} file" if out.suffix else "a file without an extension"
            fail(f"--out {out}: cannot write the grid as {kind}; end the name in one of "
                 f"{', '.join(GRID_SUFFIXES)}", code=2)
        check_output_file(out, "--out", example="grid.png")
        _check_grid_outside_the_images(dataset, out)
        data = _load(dataset, root, download, image_size=image_size, channels=channels, seed=seed)
        part = data.train if split == "train" else data.test
        if len(part) == 0:
            raise DataError(f"{data.name}: the {split} split is empty")
        generator = torch.Generator().manual_seed(seed)
        pick = torch.randperm(len(part), generator=generator)[: min(n, len(part))]
        title = f"{data.name} ({split}, {len(pick)} of {len(part):,})"
        # 9 pt, cnnlab's least (7 pt was 10 pixels at GRID_DPI), a long folder class name
        # broken to its cell (1.3 inches: image_grid's) so as not to run into the next.
        names = [fitted(data.classes[int(label)], 1.3 - 0.12) for label in part.labels[pick]]
        image_grid(part.images[pick], names, out, title, dpi=GRID_DPI)
    _out().print(f"wrote {escape(str(out))} ({len(pick)} images)")


def _check_grid_outside_the_images(dataset: str, out: Path) -> None:
    """Refuse to write the grid, an image, inside the image folder shown: over one of its
    images it was written in place of the user's picture, and beside them it was one
    more picture of that class the next time the folder trained."""
    from cnnlab.data import parse_spec
    from cnnlab.data.folder import folder_root
    from cnnlab.data.folder_files import IMAGE_EXTENSIONS

    kind, path = parse_spec(dataset)
    if kind != "folder" or out.suffix.lower() not in IMAGE_EXTENSIONS:
        return
    root, target = folder_root(path), out.expanduser().resolve()
    if target.is_relative_to(root):
        fix = root.parent / f"{root.name}-grid{out.suffix}"
        fail(f"--out {out} is inside {root}, the image folder shown: the grid would "
             f"{'replace that image' if target.exists() else 'be mixed with its images'}. "
             f"Write it outside the folder, e.g. --out {fix}", code=2)


@app.command()
def locate(
    dataset: str = typer.Argument("fashion-mnist", callback=dataset_name(),
                                  help="Only fashion-mnist."),
    root: str | None = typer.Option(None, "--root", "--data-root", callback=folder_text,
                                    help=ROOT_HELP),
) -> None:
    """Print the directory holding the data; exit 1 when there is none (nothing is downloaded)."""
    from cnnlab.data import fashion_mnist as fm

    with _user_errors():
        _require_fashion(dataset, "locate")
        location = fm.locate(root)
        if location is None:
            raise fm.DatasetNotFoundError(fm.not_found_message(root))
    # Plain print: scripts read this line, and rich might wrap a long path.
    typer.echo(str(location.path))


@app.command()
def download(
    dataset: str = typer.Argument("fashion-mnist", callback=dataset_name(),
                                  help="Only fashion-mnist."),
    root: str | None = typer.Option(None, "--root", "--data-root", callback=folder_text,
                                    help="Directory to download into (default: "
                                         "fashion-mnist/ in cnnlab's cache, ~/.cache/cnnlab "
                                         "or $CNNLAB_CACHE)."),
    force: bool = typer.Option(False, help="Download again even when valid files are there."),
) -> None:
    """Download from the official mirrors, each file checked against its published md5."""
    from cnnlab.data import fashion_mnist as fm

    with _user_errors():
        _require_fashion(dataset, "download")
        target = fm.download(root, force=force)
    _out().print(f"Fashion-MNIST is in {escape(str(target))} (md5 verified)")


@app.command()
def verify(
    dataset: str = typer.Argument("fashion-mnist", callback=dataset_name(),
                                  help="Only fashion-mnist."),
    root: str | None = typer.Option(None, "--root", "--data-root", callback=folder_text,
                                    help=ROOT_HELP),
) -> None:
    """Check the md5 of each file's content against the published one; exit 1 on a mismatch."""
    from cnnlab.data import fashion_mnist as fm

    with _user_errors():
        _require_fashion(dataset, "verify")
        location, checks = fm.verify(root)
    rows = [[check.path.name if check.path else check.name,
             Text("ok", "green") if check.ok else Text("BAD", "red"), check.detail]
            for check in checks]
    _print_fitted(_out(), ["file", "status", "detail"], rows, wraps=("detail",),
                  title=f"{location.path} ({location.origin})")
    if not all(check.ok for check in checks):
        fail("some files do not match; delete them and download again")
