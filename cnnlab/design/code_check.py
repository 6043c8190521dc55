"""Which code trains a sweep's trials: the same everywhere, or no trial is trained.

cnnlab's version is static (0.1.0 whatever the commit), so a Ray node holding an older
checkout, or another torch, trained trials with other code and the sweep mixed their
numbers silently. The driver sends its :func:`code_fingerprint` with every trial; the
worker compares its own before training (:func:`code_mismatch`), and the driver checks
the one each result comes back with (a worker whose cnnlab predates this check returns
none). Each finished trial stores the fingerprint of the code that trained it.
"""

from __future__ import annotations

import json
import re

# Which code runs is told by cnnlab/code_version.py (training's checkpoints say it too);
# these names stay importable from here.
from cnnlab.code_version import code_fingerprint, short, sources_digest

__all__ = ["checked", "code_fingerprint", "code_mismatch", "describe", "fix", "not_run",
           "short", "sources_digest"]


def fix(driver: dict) -> str:
    """What makes every node run the driver's code (``driver``: its fingerprint). Ray
    applies a job's runtime_env to all its tasks; a local package in py_modules comes
    first on the workers' path, before the node's own cnnlab."""
    env = json.dumps({"py_modules": [driver.get("path")]})
    return ("install this same cnnlab and torch on every node (the same wheel, or a "
            "checkout of the same commit), or have Ray ship this cnnlab to every worker "
            f"with the runtime_env {env}: `ray job submit --runtime-env-json '{env}' -- "
            "python -m cnnlab design run ...` (from Python: ray.init(runtime_env=...) "
            "before run_sweep)")


def describe(code: dict) -> str:
    """One fingerprint in words: ``cnnlab 0.1.0 (sources 3f2a9c01b7de, /opt/cnnlab),
    torch 2.5.1``."""
    return (f"cnnlab {code.get('cnnlab')} (sources {str(code.get('sources'))[:12]}, "
            f"{code.get('path')}), torch {code.get('torch')}")


def _torch_release(version) -> str:
    # "2.5.1+cu121" and "2.5.1+cpu" are one release built for another device: a laptop
    # driving a GPU cluster has the one, its nodes the other, and trains nothing itself.
    return str(version).partition("+")[0]


def checked(result: dict, sent: dict | None) -> dict:
    """``result``, as a worker returned it for a task sent with the driver's fingerprint
    ``sent``: unchanged where it came back with that code (or none was sent, or it was
    not trained); else 'refused', why in its message, its numbers dropped. A worker
    refuses other code itself; this catches one too old to (no fingerprint back: it
    trained what it was sent with its own code) or checking otherwise."""
    if sent is None or result.get("status") in ("refused", "interrupted"):
        return result
    worker = result.get("worker") or "a worker"
    why = code_mismatch(sent, result.get("code"), worker)
    if why is None:
        return result
    return {"id": result.get("id"), "worker": worker, "code": result.get("code"),
            "status": "refused", "message": why}


def not_run(exc: Exception, sent: dict) -> dict:
    """A 'refused' outcome for a Ray task that raised ``exc``. run_trial never raises, so
    the node could not load it: no cnnlab there, or one without this module (Ray: "The
    remote function failed to import on the worker"). Taken for a lost worker, it was
    retried, then stored 'failed' as "worker process died 2 times (out of memory?)", and
    such a node failed every trial it was given, one after another."""
    text = str(exc).strip()
    at = re.search(r"pid=(\d+), ip=([^)\s]+)", text)
    worker = f"{at[2]}:{at[1]}" if at else "a Ray worker"
    error = text.splitlines()[-1] if text else type(exc).__name__
    return {"worker": worker, "status": "refused", "message": (
        f"{worker} could not run cnnlab's trial ({error}): its cnnlab is missing or not "
        f"this driver's {describe(sent)}. Nothing of it was stored: {fix(sent)}")}


def code_mismatch(expected: dict, got: dict | None, worker: str) -> str | None:
    """Why the code at ``worker`` (``got``: its fingerprint, None where it sent none)
    must not train this sweep's trials, naming both and the fix; None when it may."""
    if got is None:
        return (f"{worker} runs a cnnlab older than this driver's code check: it sent back no "
                "fingerprint of its code, and trains with whatever code it has, unchecked "
                f"against this driver's {describe(expected)}. Its result was not stored: "
                f"{fix(expected)}")
    differ = [k for k in ("cnnlab", "sources") if got.get(k) != expected.get(k)]
    if _torch_release(got.get("torch")) != _torch_release(expected.get("torch")):
        differ.append("torch")
    if not differ:
        return None
    return (f"{worker} runs other code than this driver ({' and '.join(differ)} differ): "
            f"there {describe(got)}; here {describe(expected)}. Its trials would be mixed "
            f"with trials trained by other code: {fix(expected)}")
