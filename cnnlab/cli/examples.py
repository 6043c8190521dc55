"""Examples at the foot of each command's ``--help``: the README's, where a user looks
first (`cnnlab train --help` lists some 50 options and showed no whole command).

A test checks that every flag an example uses is one its command takes.
"""

from __future__ import annotations

import textwrap

import typer
from typer.core import TyperCommand

RUN = "runs/20261126-101500-resnet18_small"

# Command path ("train", "bench zoo") -> (example, what it does). Kept to a few each: the
# README has the rest.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "summary": [("cnnlab summary vgg11 --input 1x224x224", "layer by layer at that input"),
                # --depth 1 would roll resnet18_d2l's stages into one "stages" row
                ("cnnlab summary resnet18_d2l --depth 2",
                 "one row per stage: fits a slide")],
    "models": [("cnnlab models resnet", "a pattern (substring or shell wildcard)"),
               ("cnnlab models --variant book", "the book's networks, chapter by chapter"),
               ("cnnlab models lenet_bn_d2l", "one model: what it is, its section, inputs")],
    "train": [
        ("cnnlab train lenet_bn_d2l --preset book", "the book's recipe for that model"),
        ("cnnlab train resnet18_small --preset fast", "cnnlab's modern recipe"),
        ("cnnlab train lenet_modern --preset fast --train-subset 5000 --eval-subset 1000 "
         "--threads 1", "in seconds, on a subset"),
        ("cnnlab train resnet18 --data folder:~/photos --resize 64",
         "your own photos, one folder per class, in colour"),
        ("cnnlab train --config runs/RUN/config.yaml", "a run's recipe again"),
        ("cnnlab train tv:resnet18 --weights resnet18.pth --data folder:~/photos "
         "--resize 96 --freeze-backbone", "fine-tune pretrained weights on your images"),
    ],
    "resume": [(f"cnnlab resume {RUN}", "on from its last checkpoint"),
               (f"cnnlab resume {RUN} --epochs 5", "5 epochs more than its plan")],
    "eval": [(f"cnnlab eval {RUN}", "its best checkpoint on its test split"),
             (f"cnnlab eval {RUN} --which last --threads 1", "the last one")],
    "predict": [(f"cnnlab predict {RUN} shirt.jpg boot.png", "top classes of each image"),
                (f"cnnlab predict {RUN} ~/new-photos --out predictions.csv", "a folder"),
                (f"cnnlab predict {RUN}/export/model.onnx cat.jpg", "with onnxruntime")],
    "compare": [("cnnlab compare runs/", "every run in runs/"),
                ("cnnlab compare runs/*lenet* --target 0.9 --plot lenet.png --x time "
                 "--csv lenet.csv", "time to 90%, curves, a CSV")],
    "export": [(f"cnnlab export {RUN} --format onnx", "checked against PyTorch")],
    "speedrun": [("cnnlab speedrun --runs 10 --target 0.92", "time to a target accuracy"),
                 ("cnnlab speedrun --ablate --runs 2 --out ab.json",
                  "what each ingredient is worth"),
                 ('cnnlab speedrun --runs 2 --candidate "lr=0.05" --candidate "lr=0.1 '
                  'epochs=16" --confirm 10', "recipes raced, the best confirmed")],
    "data download": [("cnnlab data download fashion-mnist",
                       "into ~/.cache/cnnlab/fashion-mnist, each file's md5 checked")],
    "data locate": [("cnnlab data locate fashion-mnist", "the folder in use (exit 1: none)")],
    "data verify": [("cnnlab data verify fashion-mnist", "each file's content against its md5")],
    "data show": [("cnnlab data show fashion-mnist --out grid.png", "a grid of images")],
    "data info": [("cnnlab data info folder:~/photos", "your own images: classes, sizes")],
    "data cache": [("cnnlab data cache --prune", "remove entries no run reads again")],
    "bench loader": [("cnnlab bench loader --repeats 3",
                      "the book's DataLoader against DeviceLoader, best of 3")],
    "bench memory": [("cnnlab bench memory", "DenseNet-121, plain and memory-efficient")],
    "bench ops": [("cnnlab bench ops --quick", "a smoke run on tiny cases, not numbers"),
                  ("cnnlab bench ops --repeats 7 --threads 1",
                   "from-scratch convolution and pooling against PyTorch's")],
    "bench zoo": [('cnnlab bench zoo --preset book --models "lenet*"', "resumable"),
                  ('cnnlab bench zoo --preset fast --models "alexnet_d2l,vgg_d2l" '
                   "--epochs 10", "two models, cnnlab's recipe")],
    "bench throughput": [
        ("cnnlab bench throughput --models resnet18_d2l --image-size 96 --amp bf16 "
         "--channels-last", "against the fp32 eager step"),
        ("cnnlab bench throughput --models speednet_wide --profile 5",
         "where a step's time goes")],
    "design sample": [("cnnlab design sample --space anynetx_e --n 5 --macs 1M-4M",
                       "networks drawn, their complexity, no training")],
    "design status": [("cnnlab design status sweeps/anynetx_a",
                       "trials done, failed, pending; the best so far")],
    "design run": [("cnnlab design run --space anynetx_a --n 64 --epochs 1 --macs 1M-4M "
                    "--train-subset 10000 --workers 2 --out sweeps/anynetx_a",
                    "Ctrl-C or kill: run it again to resume")],
    "design analyze": [("cnnlab design analyze sweeps/anynetx_a sweeps/anynetx_e",
                        "EDFs, KS test, HTML report")],
}


# Columns an example may take, click's indent of the epilog included, where no help is
# being written (a help wraps them at its own width, :func:`add_examples`): 80, the width
# most terminals open at.
WIDTH = 80
_INDENT = 4  # click indents the epilog by 2, and each example is 2 further in


def _wrapped_at_help_width(command_class: type[TyperCommand],
                           examples: list[tuple[str, str]]) -> type[TyperCommand]:
    """``command_class`` whose help ends with ``examples`` wrapped at the width the rest
    of the help is (the terminal's, up to 120 columns): wrapped once, at 80, an example
    ran past a 40- or 60-column terminal, which folded it mid-word."""
    class WithExamples(command_class):
        def format_epilog(self, ctx, formatter) -> None:
            formatter.write_paragraph()
            with formatter.indentation():  # click's, as it writes an epilog
                formatter.write_text(epilog(examples, formatter.width))

    return WithExamples


def _words(command: str) -> list[str]:
    """The command's words, a quoted string one word with its quotes: it may be split
    at a space between arguments, never at one inside quotes."""
    words, word, quote = [], "", ""
    for char in command:
        if char == " " and not quote:
            words.append(word)
            word = ""
            continue
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        word += char
    return [*words, word]


def _lines(command: str, width: int = WIDTH) -> list[str]:
    """``command`` in lines that fit ``width``, each but the last ending in a shell
    line continuation (" \\") and the next indented 2 further, so that it pastes as one
    command. A line breaks before an option, so that each flag keeps its value on its
    line; an option too long for a line of its own breaks between its words."""
    if _INDENT + len(command) <= width:
        return [command]
    room = width - _INDENT - len(" \\")  # the first line's; the others' is 2 less
    units: list[list[str]] = []  # the command and its arguments, then each option's
    for word in _words(command):
        if not units or word.startswith("-"):
            units.append([word])
        else:
            units[-1].append(word)
    pieces = []
    for unit in units:
        text = " ".join(unit)
        pieces += [text] if len(text) <= room - 2 else unit
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= room - (2 if len(lines) > 1 else 0):
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return [f"{line} \\" for line in lines[:-1]] + lines[-1:]


def epilog(examples: list[tuple[str, str]], width: int = WIDTH) -> str:
    # "\b": click's help keeps the paragraph's lines as they are, where it would join them
    # and wrap a command mid-way; _lines wraps a long one as a shell would read it. What
    # each does is on a line above it, which leaves the command the whole width, and
    # wraps in comment lines of its own.
    return "Examples:\n\n\b\n" + "\n".join(
        "\n".join(f"  # {line}" for line in textwrap.wrap(what, width - _INDENT - len("# ")))
        + "\n  " + "\n    ".join(_lines(command, width)) for command, what in examples)


def add_examples(app: typer.Typer, prefix: str = "") -> None:
    """Give each registered command of ``app`` (and its groups') its examples' epilog,
    wrapped at the width its help is written in (:func:`_wrapped_at_help_width`)."""
    for command in app.registered_commands:
        name = prefix + (command.name or command.callback.__name__)
        if name in EXAMPLES and command.epilog is None:
            command.epilog = epilog(EXAMPLES[name])
            command.cls = _wrapped_at_help_width(command.cls or TyperCommand, EXAMPLES[name])
    for group in app.registered_groups:
        add_examples(group.typer_instance, f"{prefix}{group.name} ")
