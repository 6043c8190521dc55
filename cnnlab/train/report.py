"""The one-page HTML report of a run: headline numbers, the figures (embedded), which
evaluation the class-by-class results are, the model's layers, config and machine.

The figures themselves are drawn by report_figures.py (curves, confusion matrix) and
report_examples.py (misclassified test images); which evaluation the confusion matrix
and per-class table show, and the per-class table's rows, are decided in
report_evaluation.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.figures import FIGURE_STYLE, embed_png
from cnnlab.formatting import counted, seconds_text, setting_text
from cnnlab.train.outcome import best_accuracy
from cnnlab.train.report_evaluation import (
    ShownEvaluation,
    accuracy_words,
    confused_pairs,
    evaluated_weights_words,
    evaluation_words,
    per_class_tables,
    percent,
    shown_evaluation,
    test_set_words,
)

# On a phone: the page laid out at the screen's width (without the viewport line a phone
# lays it out 980 px wide and shrinks it, every word too small to read) and the text kept
# off the screen's edges (margin:auto leaves none once the screen is narrower than the
# page's max-width). A table too wide for the screen scrolls on its own (html_table),
# its box holding its margin: inside a scrolling box the table's own margin no longer
# merges with the heading's above, and the gap under the heading doubled. On paper the
# box is let go (it cut off a table's last columns, and a row split over two pages lost
# its words), and a heading kept with what follows it, not left at a page's foot.
VIEWPORT = '<meta name=viewport content="width=device-width,initial-scale=1">'
NARROW_STYLE = ("body{padding:0 1em}div>table{margin:0}"
                "@media print{div[style]{overflow:visible!important}"
                "h1,h2,h3,h4{break-after:avoid}figure{break-inside:avoid}}")


def page_head(title: str, style: str) -> str:
    """An HTML page's start, to <body>: its title, stylesheet and viewport line."""
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>{VIEWPORT}"
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    + NARROW_STYLE +
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;font-size:14px;vertical-align:top}th[scope=row]{font-weight:normal;"
    "background:#f6f6f6}.num{text-align:right;font-variant-numeric:tabular-nums}"
    "img{max-width:100%}.muted{color:#595959}.note{max-width:60em}figure{margin:1em 0}"
    "figcaption{max-width:60em;font-size:14px;color:#444}" + FIGURE_STYLE
)

# The figures a report embeds, from the run's plots/, in the order it shows them.
FIGURES = ("curves.png", "confusion.png", "misclassified.png")
# Each figure's name for a screen reader (its alt text): short, as the caption beside it,
# which the image points to (aria-describedby), says what it shows.
FIGURE_NAMES = {"curves.png": "Training curves", "confusion.png": "Confusion matrix",
                "misclassified.png": "Misclassified test images"}


def write_report(run_dir: Path, summary: dict, model_summary: dict | None = None, *,
                 shown: ShownEvaluation | None = None,
                 figures: Collection[str] | None = None, figures_note: str = "") -> Path:
    """A self-contained report.html: numbers, plots (embedded) and the model's layers.
    ``shown``: the evaluation the confusion matrix and per-class table are of (the
    best epoch's, from class_metrics.jsonl, unless given). ``figures``: which of FIGURES
    to embed, those drawn for this report (None: whichever plots/ holds).
    ``figures_note``: why there are none (skipped), said where the curves would be."""
    run_dir = Path(run_dir)
    shown = shown if shown is not None else shown_evaluation(run_dir, summary)
    plots = run_dir / "plots"
    embedded = [name for name in FIGURES
                if (name in figures if figures is not None else (plots / name).exists())]
    model = str(summary.get("model"))
    parts = [
        f"<h1>cnnlab run {html.escape(run_dir.name)}: {html.escape(model)}</h1>",
        f"<p class=muted>{html.escape(str(run_dir.resolve()))}</p>",
        _facts(_headline(summary)),
    ] + ([f"<h2>Figures</h2><p class=note>{html.escape(figures_note)}</p>"] if figures_note else [])
    if "curves.png" in embedded:  # under a heading, as every section: a screen reader's way
        parts.append("<h2>Training curves</h2>")
        parts.append(embed_png(plots / "curves.png", alt=FIGURE_NAMES["curves.png"],
                               caption=figure_caption("curves.png", summary, shown)))
    parts += _class_results(summary, shown,
                            [plots / name for name in embedded if name != "curves.png"])
    if model_summary:
        parts += _model_section(model_summary)
    parts.append("<h2>Configuration</h2>")
    config = summary.get("config", {})
    parts.append(_facts([[k, setting_words(v, k, config.get("data"))]
                         for k, v in config.items()]))
    parts.append("<h2>Environment</h2>")
    parts.append(_facts(_environment_rows(summary.get("environment") or {})))
    title = f"{run_dir.name} ({model}) - cnnlab report"
    page = page_head(title, _STYLE) + "\n".join(parts) + "</body></html>"
    out = run_dir / "report.html"
    atomic_write_text(out, page)
    return out


def figure_caption(name: str, summary: dict, shown: ShownEvaluation) -> str:
    """What figure ``name`` (of FIGURES) shows, in words, for a reader who cannot see it
    (a screen reader reads it with the image) and one who can."""
    decimals = overall_decimals(summary.get("eval_images"))
    if name == "curves.png":
        final = summary.get("final") or {}
        words = ("Loss and accuracy (%) per epoch (and the learning rate, where the run "
                 "recorded it): train as a solid line with circles, test as a dashed line "
                 "with squares.")
        if final.get("test_acc") is not None:
            words += (f" Test accuracy after the last epoch ({final.get('epoch')}): "
                      f"{percent(final['test_acc'], decimals)}")
            best = summary.get("best_test_acc")
            words += (f"; best {percent(best, decimals)} at epoch {summary.get('best_epoch')}."
                      if best is not None and summary.get("best_epoch") is not None else ".")
        return words
    if name == "confusion.png":
        # The figure's own title is short (a third of it, on a slide, was the whole
        # description): the caption says in full which evaluation it is.
        words = (f"Confusion matrix of the {evaluation_words(summary, shown)}: a row per "
                 "true class, a column per predicted class; the colour is the share of the "
                 "row's class, the cells count test images.")
        return words + _most_confused(shown)
    return ("The first misclassified test images of the same evaluation, each titled with "
            "its true and its predicted class.")


def _most_confused(shown: ShownEvaluation) -> str:
    """" Most often confused: Shirt predicted as Pullover (21 images).", or ""."""
    names = list(shown.per_class_acc)
    if len(shown.confusion) != len(names):
        return ""
    pairs = confused_pairs(shown.confusion, 1)
    if not pairs:
        return " No test image was misclassified."
    count, true, pred = pairs[0]
    return (f" Most often confused: {names[true]} predicted as {names[pred]} "
            f"({counted(count, 'image')}).")


def _headline(summary: dict) -> list[list]:
    config = summary.get("config") or {}
    final = summary.get("final") or {}
    decimals = overall_decimals(summary.get("eval_images"))
    rows = [
        ["model", summary.get("model")],
        ["data", _data_words(summary)],
        ["preset", config.get("preset") or "none"],
        ["epochs", epochs_words(final.get("epoch"), config.get("epochs"),
                                 summary.get("cut_epoch"))],
        ["stopped", _stopped_words(summary)],
        ["test accuracy, last epoch" + _scope(summary), percent(final.get("test_acc"), decimals)],
        ["best test accuracy" + _scope(summary), _best_words(summary, decimals)],
        ["measured on", f"the {test_set_words(summary)}, {evaluated_weights_words(config)}"],
        ["parameters", f"{summary.get('parameters', 0):,}"],
        *_weights_rows(summary.get("weights_loaded")),
        ["train time", seconds_text(summary.get("train_time_s"))],
        # The first epoch pays one-time start-up (kernels chosen, caches filled): a run
        # with no other read ~2,000 img/s where later epochs did ~24,000.
        ["images/s (train, epoch 1: start-up included)" if final.get("epoch") == 1
         else "images/s (train, last epoch)", f"{final.get('images_per_s', 0):,.0f}"],
        ["device", _device_words(summary)],
    ]
    world_size = summary.get("world_size") or 1
    if world_size > 1:
        batch = config.get("batch_size")
        rows.append(["processes (torchrun)",
                     f"{world_size}, batch {batch} each ({batch * world_size} a step)"
                     if isinstance(batch, int) else str(world_size)])
    dates = _dates(summary)
    if dates:
        rows.append(["date", dates])
    return rows


def _scope(summary: dict) -> str:
    """Beside an accuracy measured on part of the test split (eval_subset): which part."""
    scope = summary.get("eval_scope")
    return f" ({scope})" if scope else ""


def _data_words(summary: dict) -> str:
    data = str((summary.get("config") or {}).get("data", "?"))
    counts = []
    if isinstance(summary.get("train_images"), int):
        counts.append(f"{summary['train_images']:,} training images")
    if isinstance(summary.get("test_images"), int):
        counts.append(f"{summary['test_images']:,} test images")
    if summary.get("classes"):
        counts.append(f"{len(summary['classes'])} classes")
    return data + (f" ({', '.join(counts)})" if counts else "")


def epochs_words(done, plan, cut: dict | None = None) -> str:
    """"3 of 10"; an epoch max_time cut short counts as the share trained, as `cnnlab
    compare` counts it: "0.31 of 20 (epoch 1 stopped at step 48 of 157)"."""
    if done is None:
        return ""
    if cut:
        trained = f"{done - 1 + cut['steps'] / cut['of']:.2f}".rstrip("0").rstrip(".")
        cut_words = f" (epoch {done} stopped at step {cut['steps']} of {cut['of']})"
    else:
        trained, cut_words = str(done), ""
    of_plan = f" of {plan}" if isinstance(plan, int) and (plan != done or cut) else ""
    return trained + of_plan + cut_words


def _best_words(summary: dict, decimals: int) -> str:
    best = percent(best_accuracy(summary.get("best_test_acc")), decimals)  # -1, null: NaN
    epoch = summary.get("best_epoch")
    if not best or epoch is None:
        return best
    return (f"{best} at epoch {epoch}: the best checkpoint "
            "(checkpoints/best.safetensors), which cnnlab eval and cnnlab predict use")


def _device_words(summary: dict) -> str:
    env = summary.get("environment") or {}
    device = str(summary.get("device") or env.get("device") or "?")
    if device.startswith("cuda") and env.get("gpu"):
        return f"{device} ({env['gpu']})"
    details = [env["cpu_model"]] if env.get("cpu_model") else []
    threads = env.get("torch_threads")
    if threads:
        details.append(counted(threads, "torch thread"))
    return device + (f" ({', '.join(details)})" if details and device == "cpu" else "")


def _dates(summary: dict) -> str:
    commands = summary.get("commands") or []
    started = commands[0].get("date") if commands and isinstance(commands[0], dict) else None
    finished = (summary.get("environment") or {}).get("date")
    words = [f"started {started.replace('T', ' ')}"] if started else []
    if finished:
        words.append(f"report written {finished.replace('T', ' ')}")
    if len(commands) > 1:
        words.append(f"resumed {len(commands) - 1} time{'s' if len(commands) > 2 else ''}")
    return "; ".join(words)


def _class_results(summary: dict, shown: ShownEvaluation, figures: list[Path]) -> list[str]:
    """The confusion matrix, per-class table and misclassified images (``figures``, the
    first two), under a heading that says which evaluation they are, and a note on the
    checkpoints."""
    if not shown.per_class_acc and not figures:
        return []
    parts = [f"<h2>Class by class: {html.escape(evaluation_words(summary, shown))}</h2>",
             f"<p class=note>{html.escape(_checkpoint_note(summary, shown))}</p>"]
    parts += [embed_png(path, alt=FIGURE_NAMES.get(path.name),
                        caption=figure_caption(path.name, summary, shown))
              for path in figures]
    if shown.per_class_acc:
        parts.append(f"<h3>Per-class test accuracy, after epoch {shown.epoch}</h3>")
        parts += per_class_tables(shown, _per_class_rows(shown))
    return parts


def _checkpoint_note(summary: dict, shown: ShownEvaluation) -> str:
    decimals = overall_decimals(summary.get("eval_images"))
    best, best_epoch = best_accuracy(summary.get("best_test_acc")), summary.get("best_epoch")
    final = summary.get("final") or {}
    last_epoch, last_acc = final.get("epoch"), final.get("test_acc")
    if shown.is_best and best_epoch == last_epoch:
        return (f"Epoch {best_epoch} is both the last epoch and the best one "
                f"({percent(best, decimals)}): its weights are the best checkpoint, which "
                "cnnlab eval and cnnlab predict use.")
    if shown.is_best:
        return (f"These are the best checkpoint's results (epoch {best_epoch}, "
                f"{percent(best, decimals)}), the weights cnnlab eval and cnnlab predict use. "
                f"The last epoch ({last_epoch}) scored {percent(last_acc, decimals)}; its "
                "weights are the last checkpoint (cnnlab eval --which last).")
    if best_epoch is not None:
        return (f"These are the last epoch's results ({last_epoch}, "
                f"{percent(last_acc, decimals)}): class_metrics.jsonl lacks the best epoch's. "
                f"The best checkpoint (epoch {best_epoch}, {percent(best, decimals)}) is what "
                "cnnlab eval and cnnlab predict use.")
    # No row of the history is the best checkpoint's evaluation (a resume trains a
    # time-boxed epoch again and replaces the row of its mid-epoch evaluation, which may
    # have been the best, and a later row may tie it): no epoch is named for it.
    return (f"These are the last evaluation's results (epoch {last_epoch}, "
            f"{percent(last_acc, decimals)}). The best checkpoint ({percent(best, decimals)}) "
            "is what cnnlab eval and cnnlab predict use; no row of the run's history "
            "(metrics.csv) is its evaluation (a time budget's, mid-epoch, whose epoch a "
            "resume trained again), so its results class by class are not known here.")


def _per_class_rows(shown: ShownEvaluation) -> list[list]:
    matrix = shown.confusion
    return [[name, *([f"{matrix[i][i]:,}", f"{sum(matrix[i]):,}"] if i < len(matrix)
                     else ["", ""]), accuracy_words(acc, 1)]
            for i, (name, acc) in enumerate(shown.per_class_acc.items())]


def _model_section(model_summary: dict) -> list[str]:
    parts = ["<h2>Model, layer by layer</h2>"]
    if model_summary.get("flow_str"):
        parts.append(f"<p><code>{html.escape(model_summary['flow_str'])}</code></p>")
    layer_rows = [
        [r["name"] or "(model)",
         r["type"] + (f" ({r['calls']} calls)" if r.get("calls", 1) > 1 else ""),
         _output_cell(r), f"{r['params']:,}", f"{r['macs']:,}"]
        for r in model_summary.get("rows", [])
    ]
    parts.append(html_table(["layer", "type", "output", "params", "MACs"], layer_rows))
    lines = model_summary.get("totals_lines") or [
        [k, v] for k, v in model_summary.get("totals", {}).items()]
    parts.append(_facts([_fact_not_advice(label, words, model_summary)
                         for label, words in lines]))
    return parts


def _output_cell(row: dict) -> str:
    """A layer's output shapes, batch left out: its first call's, or where a module run
    several times output different shapes (torchvision's bottleneck ReLU) each dim's
    values, "64|256x56x56", as `cnnlab summary` gives them: the first alone read as all."""
    from cnnlab.inspect._layout import each_dims_values  # torch: compare reads this module

    calls = [tuple(shape[1:]) for shape in row.get("call_shapes") or []]
    if len(set(calls)) < 2:
        return ", ".join("x".join(map(str, shape[1:])) for shape in row.get("output_shapes", []))
    dims = each_dims_values(calls)
    if dims is None:  # of different ranks: each written out
        return " / ".join("x".join(map(str, shape)) for shape in dict.fromkeys(calls))
    return "x".join(dims)


def _fact_not_advice(label: str, words: str, model_summary: dict) -> list[str]:
    """A totals line as a fact about this model. The terminal's training-activations line
    ends, for a batch of 1 in eval mode, in advice for `cnnlab summary` (--batch-size 2);
    the report measured at batch 1 for its own reasons, and says only that."""
    totals = model_summary.get("totals") or {}
    if (label == "Training activations" and totals.get("training_pass_mode") == "eval"
            and isinstance(totals.get("training_activation_bytes"), int)):
        from cnnlab.formatting import format_bytes

        batch = model_summary.get("batch_size", 1)
        words = (f"{format_bytes(totals['training_activation_bytes'])} (saved for backward, "
                 f"per batch of {batch}, measured with the model in eval mode)")
    return [label, words]


def _weights_rows(loaded) -> list[list]:
    """The starting weights and what fitting them to the model changed, in the words the
    run's console said at its start; none from scratch."""
    # Imported here: model_setup needs torch, and `cnnlab compare` reads this module without.
    from cnnlab.train.model_setup import weights_loaded_words

    words = weights_loaded_words(loaded)
    return [["starting weights", "; ".join(words)]] if words else []


def _environment_rows(env: dict) -> list[list]:
    # The sources' digest as cnnlab names code elsewhere (12 of its 64 hex digits): the
    # whole one, unbreakable, widened the table past a phone's screen.
    return [[k, str(v)[:12] if k == "cnnlab_sources" else setting_words(v)]
            for k, v in env.items()]


# What a setting left unset (None) does, where "none" would read as none at all:
# `cnnlab compare` of a grey folder run beside --channels 3 showed "channels none".
# (resize stays "none": no resize for Fashion-MNIST, the model's size for a folder.)
UNSET_SETTING_WORDS = {"channels": "the model's", "channels_last": "on for CUDA only",
                       "threads": "one per core", "train_subset": "all", "eval_subset": "all"}


def setting_words(value, key: str | None = None, data: str | None = None) -> str:
    """A setting as the report's tables and `cnnlab compare` show it: as config.yaml
    writes it (true/false, [...] and {...} as JSON), except a setting not set, which reads
    as what it then does (UNSET_SETTING_WORDS; channels of ``data`` that is no folder: the
    data's), else "none" as in the headline's preset row (config.yaml's "null" there had a
    reader see two words for one thing)."""
    if value is None:
        # channels decodes a folder; Fashion-MNIST keeps its one channel whatever the model
        # (every such report read "channels the model's", a 3 for resnet18's reader)
        if key == "channels" and data is not None and not str(data).startswith("folder:"):
            return "the data's"
        return UNSET_SETTING_WORDS.get(key, "none")
    return setting_text(value)


# A number as a table shows it: 1,234 | 0.0005 | 89.2% | 3.1 s | 12.5 min | 3.2 h | 1.52T
# | 1e-05 | 2.38 MiB (up to EiB) | 2.05 kB (a summary written before sizes were binary)
_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?\s?(%|s|min|h|[KMGTPE]B?|[KMGTPE]iB|kB|B)?$")


def html_table(headers: list[str], rows: list[list], inline_style: bool = False) -> str:
    """A table with a header row; a column whose cells are all numbers (or blank: "" or
    "-") is right-aligned, by the page's ``num`` class, or with ``inline_style`` by each
    cell's own style (a notebook's output has no stylesheet of ours, and JupyterLab
    right-aligns every cell: text columns are then set left)."""
    numeric = [bool(rows) and all(_NUMBER.match(str(row[i])) or str(row[i]) in ("", "-")
                                  for row in rows) for i in range(len(headers))]
    if inline_style:
        aligned = [' style="text-align:right"' if n else ' style="text-align:left"'
                   for n in numeric]
    else:
        aligned = [" class=num" if n else "" for n in numeric]
    # scope=col: a screen reader names each cell by its column's header.
    head = "".join(f"<th scope=col{aligned[i]}>{html.escape(str(h))}</th>"
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{aligned[i]}>{html.escape(str(c))}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    # In a box of its own that scrolls sideways: a table wider than a phone's screen
    # otherwise made the whole page scroll sideways, its text running off the screen.
    # tabindex: a box that scrolls must take the keyboard's focus, or its hidden columns
    # are out of reach of anyone without a mouse or a touch screen.
    # role and label: a screen reader names the box it has focused, not "group".
    return (f'<div tabindex=0 role=region aria-label="table, scrolls sideways" '
            f'style="overflow-x:auto;margin:1em 0"><table><thead><tr>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _facts(rows: list[list]) -> str:
    """A two-column table of label and value, labels as row headers (no header row).
    Its values stay left-aligned: one column of unlike things, not numbers to compare."""
    body = "".join(f"<tr><th scope=row>{html.escape(str(label))}</th>"
                   f"<td>{html.escape(str(value))}</td></tr>" for label, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _stopped_words(summary: dict) -> str:
    """Why training ended: its plan, or what cut it short (and whether mid-epoch)."""
    stopped = summary.get("stopped")
    if stopped is None:
        return "after every planned epoch"
    if stopped != "max_time":
        return str(stopped)
    if "cut_epoch" not in summary:  # written before cnnlab recorded it
        return "at its time budget (max_time), possibly mid-epoch"
    return "at its time budget (max_time), " + (
        "mid-epoch" if summary["cut_epoch"] else "at an epoch's end")


def overall_decimals(images: int | None) -> int:
    """Decimals of an accuracy over ``images``: 2 from 10,000 up (0.01% is one image),
    else 1 (128 images move it by 0.8% each; a second decimal is noise)."""
    return 2 if isinstance(images, int) and images >= 10_000 else 1

