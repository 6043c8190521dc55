"""Processes wanting one folder's cache entry at once decode it once (every torchrun rank
decoded the whole folder, each writing the same entry)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.data import folder as folder_mod

fcntl = pytest.importorskip("fcntl")  # the lock is POSIX's: elsewhere each decodes


def test_two_loads_of_a_cold_cache_decode_the_folder_once(data_env: Path, monkeypatch):
    root = data_env / "pets"
    for name, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (12, 12), colour).save(root / name / f"{i}.png")
    decodes, decode = [], folder_mod._decode_images

    def slow_decode(*args, **kwargs):  # long enough for the other load to arrive
        decodes.append(threading.get_ident())
        time.sleep(0.5)
        return decode(*args, **kwargs)

    monkeypatch.setattr(folder_mod, "_decode_images", slow_decode)
    results, errors = [], []

    def load():
        try:
            results.append(folder_mod.load_folder(root, image_size=8, channels=1,
                                                  progress=False))
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 2
    assert len(decodes) == 1  # the second waited for the first's cache entry
    first, second = (r.train.images for r in results)
    assert first.shape == second.shape and bool((first == second).all())


def test_a_cache_on_a_mount_without_locks_still_loads(data_env: Path, monkeypatch):
    # NFS mounted nolock, some CIFS and FUSE mounts: flock fails with ENOLCK. Every
    # cold-cache folder load failed with "[Errno 37] No locks available".
    import errno

    root = data_env / "pets"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        Image.new("L", (8, 8), 200 if name == "cat" else 20).save(root / name / "0.png")
        Image.new("L", (8, 8), 190 if name == "cat" else 30).save(root / name / "1.png")

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    data = folder_mod.load_folder(root, image_size=8, channels=1, progress=False,
                                  val_fraction=0.5)
    assert len(data.train) + len(data.test) == 4
