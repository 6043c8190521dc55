"""`cnnlab speedrun`: the fastest route to a target Fashion-MNIST accuracy."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def speedrun(
    target: float = typer.Option(None, help="Test accuracy to reach (default: 0.94 on a "
                                            "GPU, 0.92 on a CPU)."),
    runs: int = typer.Option(1, help="Seeded runs; mean and std are reported."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, ..."),
    time_budget: float = typer.Option(None, help="Stop each run's training after S seconds."),
    model: str = typer.Option(None, help="Override the recipe's network."),
    epochs: int = typer.Option(None, help="Override the recipe's epochs."),
    batch_size: int = typer.Option(None),
    lr: float = typer.Option(None),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile (GPU)."),
    data_root: str = typer.Option(None, help="Folder holding Fashion-MNIST."),
    out: Path = typer.Option(None, help="Write every run and the summary as JSON here."),
) -> None:
    """Time to a target test accuracy on Fashion-MNIST, over N seeded runs.

    The clock covers everything after the data is loaded: model build, data to the
    device, training and every evaluation.
    """
    from cnnlab.bench.speedrun import run_once, speedrun_config, summarize
    from cnnlab.data import load_dataset
    from cnnlab.train.trainer import select_device

    dev = select_device(device)
    target = target if target is not None else (0.94 if dev.type == "cuda" else 0.92)
    data = load_dataset("fashion-mnist", root=data_root)
    results = []
    table = Table(title=f"speedrun to {100 * target:.1f}% on {dev}")
    for col in ("run", "seed", "time to target", "final acc", "best acc", "epochs", "total"):
        table.add_column(col, justify="right")
    for i in range(runs):
        cfg = speedrun_config(dev.type, seed=i, model=model, epochs=epochs,
                              batch_size=batch_size, lr=lr, max_time=time_budget,
                              compile=compile or None, device=str(dev))
        with console.status(f"run {i + 1}/{runs}: {cfg.model}, {cfg.epochs} epochs ..."):
            r = run_once(cfg, data, target)
        results.append(r)
        ttt = "not reached" if r.time_to_target_s is None else f"{r.time_to_target_s:.1f} s"
        console.print(f"run {i + 1}: {ttt}, final {100 * r.final_acc:.2f}%")
        table.add_row(str(i + 1), str(r.seed), ttt, f"{100 * r.final_acc:.2f}%",
                      f"{100 * r.best_acc:.2f}%", str(r.epochs), f"{r.total_time_s:.1f} s")
    console.print(table)
    s = summarize(results, target)
    console.print(
        f"reached {s['reached']}/{s['runs']}; time to {100 * target:.1f}%: "
        f"{s['time_to_target_mean_s']:.1f} ± {s['time_to_target_std_s']:.1f} s; "
        f"final accuracy {100 * s['final_acc_mean']:.2f} ± {100 * s['final_acc_std']:.2f}%"
    )
    if out is not None:
        from cnnlab.train.runlog import environment_info

        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"summary": s, "runs": [asdict(r) for r in results],
                                   "config": cfg.to_dict(), "environment": environment_info()},
                                  indent=1))
        console.print(f"written to {out}")


def register(app: typer.Typer) -> None:
    app.command("speedrun")(speedrun)
