"""The errors the model registry raises for a name, a filter or an option it does not
know, each naming the closest it does (kept apart from ``_registry``, which re-exports
them); and what a weights file's failed ``torch.load`` means, in a few words
(:func:`why_torch_load_failed`, for :mod:`cnnlab.models.interop`)."""

from __future__ import annotations

import difflib

from cnnlab.models.own_models import HINT as OWN_MODELS_HINT


class UnknownModelError(KeyError, ValueError):
    """Raised for a model name that is not registered; lists the closest names. A
    KeyError (a lookup that failed) and a ValueError, as cnnlab's other unknown names
    (datasets, presets, design spaces) are: ``except ValueError`` catches them all."""

    def __init__(self, name: str, suggestions: list[str],
                 where: str = f"`cnnlab models` lists them all; {OWN_MODELS_HINT}"):
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown model {name!r}.{hint} ({where})")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class ModelFilterError(ValueError):
    """A family or variant no registered model has (``list_models``, ``cnnlab models``):
    ``option`` ("family" or "variant"), the ``value`` asked, the ``choices`` there are
    and the ``closest`` to it (None if none is close)."""

    def __init__(self, option: str, value: str, choices: list[str], closest: str | None):
        self.option, self.value, self.choices, self.closest = option, value, choices, closest
        hint = f" Did you mean {option}={closest!r}?" if closest else ""
        super().__init__(f"no model has {option} {value!r}.{hint} {self.listed()}")

    def listed(self) -> str:
        """The choices there are, as "Families: alexnet, ..." or "Variants: book, ..."."""
        label = "Families" if self.option == "family" else "Variants"
        return f"{label}: {', '.join(self.choices)}"


class ModelOptionError(TypeError, ValueError):
    """A keyword (``model_overrides``) that neither get_model nor the model's builder
    takes; lists the closest of those they do. A TypeError, as Python's own is, and a
    ValueError, as a bad setting is.

    Families raise it with the options they know of (``build_from_config``: the config's
    fields and the model's keywords); get_model raises it again under the model's name,
    with its own keywords added, so every model reports a wrong option alike.
    """

    def __init__(self, model: str, option: str, accepted: list[str]):
        self.model, self.option, self.accepted = model, option, list(accepted)
        close = difflib.get_close_matches(option, accepted, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        listed = f" It takes: {', '.join(accepted)}." if accepted else ""
        super().__init__(f"{model} has no option {option!r}.{hint}{listed}")


TORCHSCRIPT = "a TorchScript archive (torch.jit.save): it holds code, which cnnlab never runs"


def why_torch_load_failed(exc: Exception, damaged: bool = False) -> str:
    """torch.load's reason in a few words. Its own message advises weights_only=False,
    which would run whatever code the file holds: never repeated here. ``damaged``: the
    file begins as torch.save's zip archive does but the archive does not open, a
    cut-short copy (torch says "Invalid argument", or "failed finding central directory"
    with a paragraph about miniz)."""
    text = str(exc)
    if "TorchScript" in text:
        return TORCHSCRIPT
    if damaged:
        # An OSError's text ("[Errno 22] Invalid argument") says nothing of the file.
        detail = "" if isinstance(exc, OSError) or not text.strip() else \
            text.strip().splitlines()[0].split(". ")[0]
        detail = detail.removeprefix("PytorchStreamReader failed reading zip archive: ")
        return ("it is damaged or cut short (a download or copy that stopped part way?): "
                f"its zip archive cannot be read{f' ({detail})' if detail else ''}")
    if "Weights only load failed" not in text:
        first = text.strip().splitlines()[0] if text.strip() else ""
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    # The reason follows "WeightsUnpickler error:" (on its line or the next), or is a
    # line of its own between torch's numbered advice and its pointer to the docs.
    after = text.split("WeightsUnpickler error:", 1)[1] if "WeightsUnpickler error:" in text \
        else "\n".join(text.splitlines()[1:])
    advice = ("Weights only load failed", "(1)", "(2)", "Please file", "Check the ")
    reasons = [line.strip() for line in after.splitlines()
               if line.strip() and not line.strip().startswith(advice)]
    reason = reasons[0].split(" was not an allowed")[0] if reasons else ""
    if not reason or reason.startswith("Unsupported operand") or "invalid load key" in reason:
        return "it is not a PyTorch file (damaged, or another kind of file)"
    return f"it holds more than tensors ({reason})"
