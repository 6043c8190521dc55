"""The one-page HTML report of a run (its figures: report_figures.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.figures import embed_png


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _scope(summary: dict) -> str:
    scope = summary.get("eval_scope")
    return f" ({scope})" if scope else ""


def write_report(run_dir: Path, summary: dict, model_summary: dict | None = None) -> Path:
    """A self-contained report.html: numbers, plots (embedded) and the model's layers."""
    run_dir = Path(run_dir)
    final = summary.get("final", {})
    headline = [
        ["model", summary.get("model")],
        ["preset", summary.get("config", {}).get("preset") or "none"],
        ["epochs", final.get("epoch")],
        ["stopped", _stopped_words(summary.get("stopped"))],
        ["test accuracy" + _scope(summary), _pct(final.get("test_acc"))],
        ["best test accuracy" + _scope(summary), _pct(summary.get("best_test_acc"))],
        ["parameters", f"{summary.get('parameters', 0):,}"],
        ["train time", f"{summary.get('train_time_s', 0):.1f} s"],
        ["images/s (train, last epoch)", f"{final.get('images_per_s', 0):,.0f}"],
        ["device", summary.get("device")],
    ]
    world_size = summary.get("world_size") or 1
    if world_size > 1:
        batch = summary.get("config", {}).get("batch_size")
        headline.append(["processes (torchrun)",
                         f"{world_size}, batch {batch} each ({batch * world_size} a step)"
                         if isinstance(batch, int) else str(world_size)])
    per_class = summary.get("per_class_acc") or {}
    parts = [
        f"<h1>cnnlab run: {html.escape(str(summary.get('model')))}</h1>",
        f"<p class=muted>{html.escape(str(run_dir.resolve()))}</p>",
        _table(["", ""], headline),
    ]
    for name in ("curves.png", "confusion.png"):
        if (run_dir / "plots" / name).exists():
            parts.append(embed_png(run_dir / "plots" / name))
    if per_class:
        parts.append("<h2>Per-class test accuracy</h2>")
        parts.append(_table(["class", "accuracy"], [[k, _pct(v)] for k, v in per_class.items()]))
    if model_summary:
        parts.append("<h2>Model, layer by layer</h2>")
        if model_summary.get("flow_str"):
            parts.append(f"<p><code>{html.escape(model_summary['flow_str'])}</code></p>")
        layer_rows = [
            [r["name"] or "(model)", r["type"],
             ", ".join("x".join(map(str, shape[1:])) for shape in r.get("output_shapes", [])),
             f"{r['params']:,}", f"{r['macs']:,}"]
            for r in model_summary.get("rows", [])
        ]
        parts.append(_table(["layer", "type", "output", "params", "MACs"], layer_rows))
        lines = model_summary.get("totals_lines") or [
            [k, v] for k, v in model_summary.get("totals", {}).items()]
        parts.append(_table(["total", "value"], lines))
    parts.append("<h2>Configuration</h2>")
    parts.append(_table(["field", "value"], [[k, v] for k, v in summary.get("config", {}).items()]))
    parts.append("<h2>Environment</h2>")
    parts.append(f"<pre>{html.escape(json.dumps(summary.get('environment', {}), indent=1))}</pre>")
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>cnnlab report</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;"
        "text-align:left;font-size:14px}img{max-width:100%}.muted{color:#777}"
        "</style></head><body>" + "\n".join(parts) + "</body></html>"
    )
    out = run_dir / "report.html"
    atomic_write_text(out, page)
    return out


def _stopped_words(stopped: str | None) -> str:
    """Why training ended: its plan, or what cut it short (an epoch may be unfinished)."""
    return {None: "after every planned epoch",
            "max_time": "at its time budget (max_time), possibly mid-epoch"}.get(
        stopped, str(stopped))


def _pct(value) -> str:
    return "" if value is None or value == "" else f"{100 * float(value):.2f}%"
