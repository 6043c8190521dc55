"""Examples at the foot of each command's ``--help``: the README's, where a user looks
first (`cnnlab train --help` lists some 50 options and showed no whole command).

A test checks that every flag an example uses is one its command takes.
"""

from __future__ import annotations

import typer

RUN = "runs/20261126-101500-resnet18_small"

# Command path ("train", "bench zoo") -> (example, what it does). Kept to a few each: the
# README has the rest.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "summary": [("cnnlab summary vgg11 --input 1x224x224", "layer by layer at that input"),
                ("cnnlab summary resnet18_d2l --depth 1", "stages only")],
    "models": [("cnnlab models resnet", "a pattern (substring or shell wildcard)")],
    "train": [
        ("cnnlab train lenet_bn_d2l --preset book", "the book's recipe for that model"),
        ("cnnlab train resnet18_small --preset fast", "cnnlab's modern recipe"),
        ("cnnlab train lenet_modern --preset fast --train-subset 5000 --eval-subset 1000 "
         "--threads 1", "in seconds, on a subset"),
        ("cnnlab train resnet18_small --data folder:~/photos --resize 64",
         "your own images, one folder per class"),
        ("cnnlab train --config runs/RUN/config.yaml", "a run's recipe again"),
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
    "data show": [("cnnlab data show fashion-mnist --out grid.png", "a grid of images")],
    "data info": [("cnnlab data info folder:~/photos", "your own images: classes, sizes")],
    "bench zoo": [('cnnlab bench zoo --preset book --models "lenet*"', "resumable"),
                  ('cnnlab bench zoo --preset fast --models "alexnet_d2l,vgg_d2l" '
                   "--epochs 10", "two models, cnnlab's recipe")],
    "bench throughput": [
        ("cnnlab bench throughput --models resnet18_d2l --image-size 96 --amp bf16 "
         "--channels-last", "against the fp32 eager step"),
        ("cnnlab bench throughput --models speednet_wide --profile 5",
         "where a step's time goes")],
    "design run": [("cnnlab design run --space anynetx_a --n 64 --epochs 1 --macs 1M-4M "
                    "--train-subset 10000 --workers 2 --out sweeps/anynetx_a",
                    "Ctrl-C or kill: run it again to resume")],
    "design analyze": [("cnnlab design analyze sweeps/anynetx_a sweeps/anynetx_e",
                        "EDFs, KS test, HTML report")],
}


def epilog(examples: list[tuple[str, str]]) -> str:
    # "\b": click's help keeps the paragraph's lines as they are, where it would join them
    # and wrap a command mid-way. What each does on a line above it: a command is long
    # enough for an 80-column line on its own.
    return "Examples:\n\n\b\n" + "\n".join(f"  # {what}\n  {command}"
                                             for command, what in examples)


def add_examples(app: typer.Typer, prefix: str = "") -> None:
    """Give each registered command of ``app`` (and its groups') its examples' epilog."""
    for command in app.registered_commands:
        name = prefix + (command.name or command.callback.__name__)
        if name in EXAMPLES and command.epilog is None:
            command.epilog = epilog(EXAMPLES[name])
    for group in app.registered_groups:
        add_examples(group.typer_instance, f"{prefix}{group.name} ")
