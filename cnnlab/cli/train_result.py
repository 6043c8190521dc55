"""What `cnnlab train` and `resume` print when training ends: the result table, a note
where the last accuracy fell far under the best, and the run's paths."""

from __future__ import annotations

import math

from rich.markup import escape
from rich.table import Table

from .messages import err, output_console

console = output_console()


def print_result(result) -> None:
    """The result table of `cnnlab train` and `resume`, the notes it calls for, and
    the run's paths (in the main process alone under torchrun)."""
    from cnnlab.formatting import seconds_text
    from cnnlab.train.distributed import launched_as_main
    from cnnlab.train.report_evaluation import percent

    if not launched_as_main():
        return
    table = Table(title="Result", show_header=False)
    final = result.final
    scope = f" ({result.eval_scope})" if result.eval_scope else ""
    # "not evaluated" for NaN, as the report says it (it printed "nan%")
    table.add_row("test accuracy" + scope, percent(final.get("test_acc", math.nan)))
    table.add_row("best test accuracy" + scope, percent(result.best_test_acc))
    table.add_row("epochs", _epochs_trained(result))
    # As report.html and `cnnlab compare` write it: "75.4 min", where this read "4523.7 s"
    table.add_row("train time", seconds_text(result.train_time_s))
    table.add_row("images/s (last epoch)", f"{final.get('images_per_s', 0):,.0f}")
    if result.stopped:
        table.add_row("stopped", result.stopped)
    console.print(table)
    _point_at_the_best_checkpoint(result)
    if result.run_dir:  # below the table, on lines of their own: whole, ready to copy
        console.print(f"run:    {escape(str(result.run_dir))}", soft_wrap=True, highlight=False)
        console.print(f"report: {escape(str(result.run_dir / 'report.html'))}", soft_wrap=True,
                      highlight=False)
        _say_figures_skipped(result.run_dir)


# Points the last epoch's test accuracy may fall under the best before the result says
# which checkpoint eval, predict and export use.
_FALL_NOTED = 10


def _point_at_the_best_checkpoint(result) -> None:
    """A last accuracy far under the best (lenet_modern on the plain defaults: 84.8% at
    epoch 9, 39.9% at 10) is not what eval, predict and export give: say they take the
    best checkpoint, and how to have the last."""
    from cnnlab.train.report_evaluation import best_epoch

    last, best = result.final.get("test_acc"), result.best_test_acc
    if not isinstance(last, float) or not 100 * (best - last) > _FALL_NOTED:
        return  # (NaN: an epoch eval_every left out)
    epoch = best_epoch(result.history, best, result.run_dir)
    at = f", epoch {epoch}" if epoch is not None else ""
    err.print(f"note: the last epoch scored {100 * last:.2f}%, {100 * (best - last):.1f} "
              f"points under the best ({100 * best:.2f}%{at}): cnnlab eval, predict and "
              "export use the best checkpoint (--which last: the last)", highlight=False)


def _epochs_trained(result) -> str:
    """"3", "2 of 3", or for an epoch max_time cut short the share trained, as the run's
    report and `cnnlab compare` count it: "0.23 of 3 (epoch 1 stopped at step 53 of 235)"
    (summary.json records the cut and the plan)."""
    from cnnlab.train.compare_files import read_summary
    from cnnlab.train.report import epochs_words

    summary = read_summary(result.run_dir) if result.run_dir else {}
    config = summary.get("config") if isinstance(summary.get("config"), dict) else {}
    cut = summary.get("cut_epoch") if isinstance(summary.get("cut_epoch"), dict) else None
    return epochs_words(result.final.get("epoch"), config.get("epochs"), cut)


def _say_figures_skipped(run_dir) -> None:
    """Under the paths, where --no-figures (CNNLAB_NO_FIGURES) left the figures undrawn:
    that the report has none, and the command that draws them."""
    from cnnlab.figures import figures_skipped
    from cnnlab.train.compare_files import read_summary
    from cnnlab.train.run_files import resume_words

    skipped = read_summary(run_dir).get("figures_skipped")
    if skipped:
        # Exported (the flag's own setting has ended): said so, and a plain resume would
        # skip them again
        exported = figures_skipped()
        why = "CNNLAB_NO_FIGURES set" if exported else "--no-figures"
        how = resume_words(run_dir, flags="--figures" if exported else "")
        err.print(f"note: figures skipped ({why}); {escape(how)} draws them, training "
                  "nothing", soft_wrap=True, highlight=False)
