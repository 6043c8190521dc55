"""What a call warns, as the messages' text: for tests of a warning's words."""

from __future__ import annotations

import warnings


def warned(call, *args, **kwargs) -> list[str]:
    """The messages of every warning ``call(*args, **kwargs)`` gives, each one even if
    given before (``simplefilter("always")``: a filter of "once" would hide repeats)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(*args, **kwargs)
    return [str(w.message) for w in caught]
