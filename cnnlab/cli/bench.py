"""`cnnlab bench ...`: benchmarks that print a table and a ratio against a baseline.

Each command measures the baseline in the same run, on the same machine, and can
write its rows as JSON for BENCHMARKS.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline.",
                  no_args_is_help=True)
console = Console()


def _write_json(rows, out: Path | None, extra: dict | None = None) -> None:
    if out is None:
        return
    from cnnlab.train.runlog import environment_info

    payload = {"rows": rows, "environment": environment_info(), **(extra or {})}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, default=str))
    console.print(f"rows written to {out}")


@app.command("memory")
def memory(
    model: str = typer.Option("densenet121", help="A DenseNet with a memory_efficient option."),
    batch_size: int = typer.Option(8),
    image_size: int = typer.Option(64),
    steps: int = typer.Option(5, help="Timed training steps per variant (median is shown)."),
    threads: int = typer.Option(1, help="torch threads; 1 is steadiest on a shared CPU."),
    out: Path = typer.Option(None, help="Also write the rows as JSON here."),
) -> None:
    """Memory-efficient DenseNet: saved activation bytes and time per step vs plain."""
    from cnnlab.bench.memory import run_densenet_memory_bench

    with console.status(f"training {model} both ways ..."):
        rows = run_densenet_memory_bench(model=model, batch_size=batch_size,
                                         image_size=image_size, steps=steps,
                                         num_threads=threads)
    table = Table(title=f"{model}, batch {batch_size}, {image_size}x{image_size}, "
                        f"{threads} thread(s)")
    for col in ("variant", "saved activations", "vs plain", "step time", "vs plain",
                "max |logit diff|", "max |grad diff|"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["variant"], f"{r['saved_mib']:.1f} MiB", f"{r['memory_vs_plain']:.3f}",
                      f"{1000 * r['step_s']:.0f} ms", f"{r['time_vs_plain']:.3f}",
                      f"{r['max_abs_logit_diff']:.1e}", f"{r['max_abs_grad_diff']:.1e}")
    console.print(table)
    eff = rows[1]
    console.print(
        f"memory-efficient: {100 * (1 - eff['memory_vs_plain']):.0f}% fewer saved bytes "
        f"(goal >= 40%), {100 * (eff['time_vs_plain'] - 1):+.0f}% time per step (goal <= +35%)"
    )
    _write_json(rows, out)
