"""A dataset's name as cnnlab spells it, without loading the data layer.

``cnnlab.data`` imports torch (its package loads every source), and every TrainConfig
made spells its dataset's name: ``cnnlab compare``, which reads config.yaml files only,
spent 5 of its 7 seconds importing torch for it. The names live here, torch-free;
``cnnlab.data.parse_spec`` refuses what they do not name.
"""

from __future__ import annotations

# Fashion-MNIST as typed, lower-cased: every one is stored as "fashion-mnist".
FASHION_ALIASES = frozenset({"fashion-mnist", "fashion_mnist", "fashionmnist"})
FOLDER = "folder:"


def dataset_spelling(spec: str) -> str:
    """``spec`` spelled as cnnlab names its datasets, in whatever case it was typed:
    "Fashion-MNIST" and "FashionMNIST" -> "fashion-mnist", "Synthetic" -> "synthetic",
    "Folder:~/photos" -> "folder:~/photos" (the path as given: a file system may tell its
    case apart). One dataset then has one name in config.yaml, a sweep's spec and a
    comparison, where "Fashion-MNIST" and "fashion-mnist" read as two. A spec that names
    nothing comes back as given, for ``cnnlab.data.parse_spec`` to refuse."""
    prefix, colon, path = spec.partition(":")
    if colon and prefix.lower() == FOLDER[:-1]:
        return FOLDER + path
    if spec.lower() in FASHION_ALIASES:
        return "fashion-mnist"
    if spec.lower() == "synthetic":
        return "synthetic"
    return spec
