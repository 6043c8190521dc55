"""Which cnnlab code this process runs: its version, which is 0.1.0 for every commit,
and a digest of its sources, which tells commits apart, with torch's version.

A sweep's trials carry it so a Ray node with other code trains nothing
(:mod:`cnnlab.design.code_check`); a training checkpoint records it so a resume by other
code can say that it may not continue bit for bit (:mod:`cnnlab.train.resume_checks`).
Imports nothing of cnnlab's at import time: training reads it without loading the design
package.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def sources_digest(package: Path) -> str:
    """SHA-256 over the package's ``.py`` files: each one's path inside the package, then
    its bytes (CRLF read as LF, so a Windows checkout of the same commit agrees). Its
    version alone says nothing: it is 0.1.0 for every commit."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix()):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> dict:
    """This process's cnnlab (version, and the digest of the sources of the package it
    imported) and torch version, with where that package is (shown, not compared: nodes
    may install it in different places). Computed once per process, when its first
    trial starts, the driver sends its first, or a checkpoint is first written: about
    5 ms (135 files, 1.7 MB), then 1 us."""
    import torch

    import cnnlab

    return {"cnnlab": cnnlab.__version__,
            "sources": sources_digest(Path(cnnlab.__file__).resolve().parent),
            "torch": torch.__version__,
            "path": str(Path(cnnlab.__file__).resolve().parent)}


def short(code: dict) -> str:
    """One fingerprint as a report names it, without where the package was (nodes differ
    there, not in their code): ``cnnlab 0.1.0 (sources 3f2a9c01b7de), torch 2.5.1``."""
    return (f"cnnlab {code.get('cnnlab')} (sources {str(code.get('sources'))[:12]}), "
            f"torch {code.get('torch')}")
