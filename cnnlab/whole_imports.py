"""torch's compiler modules, imported whole, Ctrl-C or not.

A first optimizer (torch.optim's constructor), the end of a run (restoring
``use_deterministic_algorithms``), a model built on the meta device (``load_run``) and
torch's flop counter (``summary``) import torch._dynamo and torch._inductor, and with them
triton where it is installed: seconds, once per process. A Ctrl-C in those seconds (the
stop button pressed just after a notebook cell began training) left the import half
done, and every later training cell in that kernel failed with "module
'triton.language' has no attribute 'core'" until the kernel was restarted. Imported here
first (by train, resume, load_run and summary), with the Ctrl-C held back to the
import's end, they are whole, and the Ctrl-C still stops the cell, as KeyboardInterrupt,
a moment later.
"""

from __future__ import annotations

import importlib
import sys

from cnnlab.interrupts import SigintRecorder

COMPILER_MODULES = ("torch._dynamo", "torch._inductor")


def import_whole(names: tuple[str, ...] = COMPILER_MODULES) -> None:
    """Import ``names`` (those not imported yet) to their end; a Ctrl-C meanwhile is
    raised as KeyboardInterrupt once they are (and said at once: why nothing stops yet)."""
    missing = [name for name in names if name not in sys.modules]
    if not missing:
        return
    with SigintRecorder() as sigint, sigint.deferred(on_held=_say_held):
        for name in missing:
            importlib.import_module(name)


def _say_held() -> None:
    print("Ctrl-C: stopping once torch has finished importing its compiler (a few "
          "seconds; cut off, the import would leave this Python unable to train)",
          file=sys.stderr, flush=True)
