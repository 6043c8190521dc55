"""Warnings meant for the person running cnnlab: the work went on, and they should know.

The command line prints each as one ``warning:`` line, without Python's file name, line
number and source line (cnnlab/cli/messages.py); a script sees ordinary warnings, which
it can filter or turn into errors by these classes.
"""

from __future__ import annotations


class CnnlabWarning(UserWarning):
    """Base of every warning cnnlab gives its user."""


class SetupWarning(CnnlabWarning):
    """A setting that works, but likely not as meant: a model shown inputs far from the
    size it was designed for, a GPU index torchrun overrides, a light background on
    light-on-dark data, weights expecting an input transform the model cannot apply (or
    that may expect one they do not record), a layer left to PyTorch by the from-scratch
    conversion, an EMA decay the run is too short to reach."""


class LockWarning(CnnlabWarning):
    """A lock cnnlab takes so that two commands cannot work on one run, sweep or bench
    folder at once could not be taken (a file system without locks): it went on without
    it, and a second command there would not be refused."""


class FigureWarning(CnnlabWarning, RuntimeWarning):
    """A figure could not be drawn; the report goes on without it."""


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn``, attributed to the first caller outside cnnlab: a script or a
    notebook sees the line of its own that led to the warning (its ``train(...)``), not
    a line of cnnlab's, however deep in cnnlab the warning was found. The frames of a
    ``with`` block's entry and exit (contextlib's) are passed over too: a warning from
    inside one of cnnlab's context managers was told at contextlib.py's line."""
    import sys
    import warnings

    frame, level = sys._getframe(1), 2  # level 2: warn_user's caller
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
            "cnnlab", "contextlib"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
