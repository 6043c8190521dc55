"""The one-page HTML report of a run (its figures: report_figures.py; which evaluation
the class-by-class results are: report_evaluation.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.figures import embed_png
from cnnlab.train.report_evaluation import (
    ShownEvaluation,
    evaluation_words,
    shown_evaluation,
)


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _scope(summary: dict) -> str:
    scope = summary.get("eval_scope")
    return f" ({scope})" if scope else ""


def write_report(run_dir: Path, summary: dict, model_summary: dict | None = None, *,
                 shown: ShownEvaluation | None = None) -> Path:
    """A self-contained report.html: numbers, plots (embedded) and the model's layers.
    ``shown``: the evaluation the confusion matrix and per-class table are of (the
    best epoch's, from class_metrics.jsonl, unless given)."""
    run_dir = Path(run_dir)
    shown = shown if shown is not None else shown_evaluation(run_dir, summary)
    final = summary.get("final", {})
    decimals = overall_decimals(summary.get("eval_images"))
    headline = [
        ["model", summary.get("model")],
        ["preset", summary.get("config", {}).get("preset") or "none"],
        ["epochs", final.get("epoch")],
        ["stopped", _stopped_words(summary.get("stopped"))],
        ["test accuracy, last epoch" + _scope(summary),
         _pct(final.get("test_acc"), decimals)],
        ["best test accuracy" + _scope(summary), _best_words(summary, decimals)],
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
    parts = [
        f"<h1>cnnlab run: {html.escape(str(summary.get('model')))}</h1>",
        f"<p class=muted>{html.escape(str(run_dir.resolve()))}</p>",
        _table(["", ""], headline),
    ]
    plots = run_dir / "plots"
    if (plots / "curves.png").exists():
        parts.append(embed_png(plots / "curves.png"))
    parts += _class_results(summary, shown, plots)
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


def _best_words(summary: dict, decimals: int) -> str:
    best = _pct(summary.get("best_test_acc"), decimals)
    epoch = summary.get("best_epoch")
    if not best or epoch is None:
        return best
    return (f"{best} at epoch {epoch}: the best checkpoint "
            "(checkpoints/best.safetensors), which cnnlab eval and cnnlab predict use")


def _class_results(summary: dict, shown: ShownEvaluation, plots: Path) -> list[str]:
    """The confusion matrix, per-class table and misclassified images, under a heading
    that says which evaluation they are, and a note on the checkpoints."""
    if not shown.per_class_acc and not (plots / "confusion.png").exists():
        return []
    parts = [f"<h2>Class by class: {html.escape(evaluation_words(summary, shown))}</h2>",
             f"<p class=note>{html.escape(_checkpoint_note(summary, shown))}</p>"]
    for name in ("confusion.png", "misclassified.png"):
        if (plots / name).exists():
            parts.append(embed_png(plots / name))
    if shown.per_class_acc:
        parts.append(f"<h3>Per-class test accuracy, after epoch {shown.epoch}</h3>")
        parts.append(_table(["class", "correct", "test images", "accuracy"],
                            _per_class_rows(shown)))
    return parts


def _checkpoint_note(summary: dict, shown: ShownEvaluation) -> str:
    decimals = overall_decimals(summary.get("eval_images"))
    best, best_epoch = summary.get("best_test_acc"), summary.get("best_epoch")
    final = summary.get("final") or {}
    last_epoch, last_acc = final.get("epoch"), final.get("test_acc")
    if shown.is_best and best_epoch == last_epoch:
        return (f"Epoch {best_epoch} is both the last epoch and the best one "
                f"({_pct(best, decimals)}): its weights are the best checkpoint, which "
                "cnnlab eval and cnnlab predict use.")
    if shown.is_best:
        return (f"These are the best checkpoint's results (epoch {best_epoch}, "
                f"{_pct(best, decimals)}), the weights cnnlab eval and cnnlab predict use. "
                f"The last epoch ({last_epoch}) scored {_pct(last_acc, decimals)}; its "
                "weights are the last checkpoint (cnnlab eval --which last).")
    if best_epoch is not None:
        return (f"These are the last epoch's results ({last_epoch}, "
                f"{_pct(last_acc, decimals)}): class_metrics.jsonl lacks the best epoch's. "
                f"The best checkpoint (epoch {best_epoch}, {_pct(best, decimals)}) is what "
                "cnnlab eval and cnnlab predict use.")
    return (f"These are the last evaluation's results; the best checkpoint "
            f"({_pct(best, decimals)}) is what cnnlab eval and cnnlab predict use.")


def _per_class_rows(shown: ShownEvaluation) -> list[list]:
    matrix = shown.confusion
    rows = []
    for i, (name, acc) in enumerate(shown.per_class_acc.items()):
        if i < len(matrix):
            rows.append([name, f"{matrix[i][i]:,}", f"{sum(matrix[i]):,}", _pct(acc, 1)])
        else:
            rows.append([name, "", "", _pct(acc, 1)])
    return rows


def _stopped_words(stopped: str | None) -> str:
    """Why training ended: its plan, or what cut it short (an epoch may be unfinished)."""
    return {None: "after every planned epoch",
            "max_time": "at its time budget (max_time), possibly mid-epoch"}.get(
        stopped, str(stopped))


def overall_decimals(images: int | None) -> int:
    """Decimals of an accuracy over ``images``: 2 from 10,000 up (0.01% is one image),
    else 1 (128 images move it by 0.8% each; a second decimal is noise)."""
    return 2 if isinstance(images, int) and images >= 10_000 else 1


def _pct(value, decimals: int = 2) -> str:
    return "" if value is None or value == "" else f"{100 * float(value):.{decimals}f}%"
